package killer

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// LimitLog is the method oom's write-ahead record: a JSON file (usually
// /run/kube-oomd/limits.json) listing each container whose memory.max a
// kill in progress has lowered, with the value to put back. A container is
// added before its memory.max is lowered and removed once the value is
// back (or the container is gone), so that a daemon that died in between
// leaves it named there, and the next one restores it at start
// (RestoreLeftovers). A container left at memory.max 0 could not run
// anything: each process it started would be OOM-killed at once.
//
// If the record cannot be written, no limit is lowered: the kill goes the
// signal way. It is written as FreezeLog is (internal/statefile): root-only,
// atomically, not synced; no entry left removes the file. One LimitLog may
// serve several Killers in one process, not several processes.
type LimitLog struct {
	Path string // absolute
	// Layout is the kubelet's: RestoreLeftovers trusts only the entries
	// that name one of its containers (the method oom lowers nothing
	// else). Without it (Kubepods ""), RestoreLeftovers leaves the record
	// as it is.
	Layout cgroupv2.Layout
	// Guessed says Layout is a guess (the kubelet's default kubepods,
	// before the config is read): RestoreLeftovers keeps an entry it does
	// not trust, untouched, for a check against the config's layout.
	Guessed bool

	mu sync.Mutex // each change reads, edits and writes the whole file
}

// limitEntry is one lowered memory.max in the record.
type limitEntry struct {
	Cgroup   string `json:"cgroup"`   // absolute directory of the container
	ID       uint64 `json:"id"`       // its cgroupv2.ID when it was lowered
	Original uint64 `json:"original"` // memory.max before; cgroupv2.Unlimited is "max"
	// Swap is memory.swap.max before, lowered to 0 ahead of memory.max
	// (else the kernel swaps the victim out before it OOM-kills); 0: not
	// lowered (no swap controller, or already 0).
	Swap uint64 `json:"swap_original,omitempty"`
	// GroupRaised: memory.oom.group was 0 and is set to 1 ahead of
	// memory.max, so that one OOM kill takes the container whole; 0 is
	// put back with memory.max.
	GroupRaised bool `json:"oom_group_raised,omitempty"`
}

// RestoreResult is a container of the record that RestoreLeftovers found
// still there, the same cgroup as when its memory.max was lowered.
type RestoreResult struct {
	Cgroup string // the container's absolute directory
	Max    uint64 // the memory.max put back (cgroupv2.Unlimited: "max")
	Swap   uint64 // the memory.swap.max put back; 0: none was lowered
	Err    error  // nil: put back; else it stays in the record
}

// limitsHint is what to do with a limits record that cannot be read.
const limitsHint = `it may name containers left at memory.max 0: write their "original" value to their memory.max, then remove it`

// RestoreLeftovers puts back what a kill left lowered: for each container
// in the record that still exists and is still the cgroup that was lowered
// (its ID; a new cgroup at the same path is not touched), it writes the
// original memory.max and reports it. A container that is gone is dropped
// from the record, unreported. Then the record keeps only the containers
// whose limit could not be put back (RestoreResult.Err), for the next start
// to try again; with none it is removed. No record is no leftovers.
//
// The record is not trusted: an entry that names no container of
// l.Layout (the method oom lowers nothing else) is reported with an error
// wrapping ErrUntrusted, never written to, and dropped (kept, with
// Guessed: the layout is a guess, and the entry waits for the check
// against the config's).
//
// The daemon calls it at start, before any kill, and again while it runs
// when the record is there with no kill in flight: what a kill could not
// put back is retried. An error is about the
// record itself: one that cannot be read is left as it is, and until then
// no limit is lowered (the method oom falls back to the signal way).
func (l *LimitLog) RestoreLeftovers() ([]RestoreResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries, err := statefile.Load[limitEntry](l.Path, limitsHint)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	if err := checkable(l.Path, l.Layout); err != nil {
		return nil, err
	}
	var results []RestoreResult
	check := func(e limitEntry) error { return trusted(l.Layout, e.Cgroup, false) }
	kept := undoLeftovers(entries, check, l.Guessed, restoreLeftover, func(e limitEntry, err error) {
		results = append(results, RestoreResult{Cgroup: e.Cgroup, Max: e.Original, Swap: e.Swap, Err: err})
	})
	if err := statefile.Save(l.Path, kept); err != nil {
		return results, fmt.Errorf("%s: %w", l.Path, err)
	}
	return results, nil
}

// restoreLeftover writes back e's original memory.max. ours is false when
// that cgroup is gone, or another one has taken its path.
func restoreLeftover(e limitEntry) (ours bool, err error) {
	dirfd, ours, err := openLeftover(e.Cgroup, e.ID)
	if !ours || err != nil {
		return ours, err
	}
	defer unix.Close(dirfd)
	if err := restoreMax(dirfd, e); err != nil {
		return !errors.Is(err, cgroupv2.ErrGone), err
	}
	return true, nil
}

// restoreMax writes e.Original to memory.max of the cgroup dirfd, e's,
// then e.Swap, if lowered, to its memory.swap.max, then 0 to its
// memory.oom.group if it was raised. A higher limit takes at once: the
// write does not block. An error wraps cgroupv2.ErrGone when the cgroup
// went.
func restoreMax(dirfd int, e limitEntry) error {
	if err := cgroupv2.SetMaxAt(dirfd, e.Cgroup, e.Original); err != nil {
		return err
	}
	if e.Swap > 0 {
		if err := cgroupv2.SetSwapMaxAt(dirfd, e.Cgroup, e.Swap); err != nil {
			return err
		}
	}
	if e.GroupRaised {
		return cgroupv2.SetOOMGroupAt(dirfd, e.Cgroup, false)
	}
	return nil
}

// add records e, before its memory.max is lowered.
func (l *LimitLog) add(e limitEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return statefile.Add(l.Path, e, limitsHint)
}

// find returns the entry of the record for the cgroup dir with the ID id,
// if there is one: a limit an earlier kill lowered and could not put back.
func (l *LimitLog) find(dir string, id uint64) (limitEntry, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries, err := statefile.Load[limitEntry](l.Path, limitsHint)
	if err != nil {
		return limitEntry{}, false, err
	}
	for _, e := range entries {
		if e.Cgroup == dir && e.ID == id {
			return e, true, nil
		}
	}
	return limitEntry{}, false, nil
}

// remove drops e, once its memory.max is back (or its cgroup gone).
func (l *LimitLog) remove(e limitEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return statefile.Remove(l.Path, e, limitsHint)
}
