package killer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
)

// OOMWait bounds the method oom: how long it waits, from its first write
// to memory.max, for the lowered containers to empty (or keep only spared
// processes) before the fallback kills the signal way. Killer.Timeout,
// when shorter, bounds it instead. The same bound, in real time, cuts short
// a memory.max write that is still busy in the kernel (interrupt.Write).
const OOMWait = 2 * time.Second

// oomRules are the rules of the method oom that issue 22 added, each
// switchable so that a run in the VM can measure one against the other.
// A Killer uses defaultOOMRules() unless Killer.rules says otherwise.
type oomRules struct {
	// group sets memory.oom.group to 1 on each container before its
	// memory.max is lowered (recorded, and put back with the limit), so
	// that the kernel's first OOM kill takes every process of the
	// container at once (but those at -1000), with one report, instead
	// of one process per kill, each kill waiting for the last victim to
	// be torn down (mm/oom_kill.c).
	group bool
	// unkillable leaves alone a container whose every process is spared
	// by the kill or at oom_score_adj -1000 (read from ProcRoot right
	// before the lowering, not only at Vet): the kernel's OOM killer
	// would find nothing to kill there and print a second full report,
	// "Out of memory and no killable processes" (mm/oom_kill.c,
	// out_of_memory). The -1000 ones found are spared by the fallback
	// too. Off: only Vet's spare set counts.
	unkillable bool
}

// defaultOOMRules are the rules a Killer uses: the ones measured best.
func defaultOOMRules() oomRules {
	return oomRules{group: true, unkillable: true}
}

func (k Killer) oomRules() oomRules {
	if k.rules != nil {
		return *k.rules
	}
	return defaultOOMRules()
}

// oomWait is the method oom's deadline: min(Killer.Timeout, OOMWait).
func (k Killer) oomWait() time.Duration { return min(k.timeout(), OOMWait) }

// oomOutcome is what the method oom did.
type oomOutcome struct {
	lowered   int   // containers whose memory.max was lowered (and put back)
	pids      int   // processes in them, not spared, when they were lowered
	spared    int   // spared processes in the containers
	leftAlone int   // containers not lowered: empty, or every process spared
	confirmed bool  // every lowered container emptied or kept only spared processes, and none was left out
	waitErr   error // ctx ended the wait: no fallback
	err       error // a limit not recorded, not put back or not cleared from the record
}

// lowered is one container whose memory.max oomKill lowered.
type loweredCgroup struct {
	dirfd int // pins the cgroup: the limit is put back through it
	entry limitEntry
}

// oomKill is the method oom: for each container of t.OOM that is still the
// one chosen and has processes to kill, it records the container's
// memory.max in k.Limits, then writes 0 to it, so that the kernel's OOM
// killer kills in it as for a container over its limit (every process but
// those at -1000, with memory.oom.group). It waits, at most k.oomWait()
// from start on clk, for each lowered container to empty or to keep only
// spared processes, puts every original memory.max back and drops it from
// the record. It lowers nothing (lowered 0) without a LimitLog or when the
// first record fails; a container it had to leave out (unreadable, or no
// record for it) leaves the kill unconfirmed, for the fallback.
func (k Killer) oomKill(ctx context.Context, clk clock.Clock, start time.Time, t Target, procs *procSet) (o oomOutcome) {
	if k.Limits == nil {
		return o
	}
	wait := k.oomWait()
	// Real time: it bounds writes that block in the kernel, which no fake
	// clock can step. The wait below runs on clk.
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var (
		lowered []loweredCgroup
		leftOut bool
	)
	defer func() {
		for _, l := range lowered {
			unix.Close(l.dirfd)
		}
	}()
	for _, c := range t.OOM {
		ct := Target{Cgroup: c.Cgroup, ID: c.ID}
		dirfd, err := verify(ct)
		if errors.Is(err, ErrChanged) {
			continue // emptied, gone, or another cgroup: not the one chosen
		}
		if err != nil {
			// Left to the fallback; the error names the container.
			o.err = errors.Join(o.err, err)
			leftOut = true
			continue
		}
		pids, spared, err := k.count(ct, procs)
		o.spared += spared
		if err != nil && !errors.Is(err, cgroupv2.ErrGone) {
			o.err = errors.Join(o.err, fmt.Errorf("%s: %w", c.Cgroup, err))
			leftOut = true
		}
		if err == nil && pids == 0 {
			o.leftAlone++ // none, or only spared ones: nothing for the OOM killer
		}
		if err != nil || pids == 0 {
			unix.Close(dirfd)
			continue
		}
		e, err := k.lower(wctx, dirfd, c)
		if errors.Is(err, cgroupv2.ErrGone) {
			unix.Close(dirfd) // emptied and removed meanwhile: nothing to kill
			continue
		}
		if err != nil {
			o.err = errors.Join(o.err, err)
			leftOut = true
			unix.Close(dirfd)
			if errors.Is(err, errNotRecorded) {
				break // no more without a record
			}
			continue
		}
		lowered = append(lowered, loweredCgroup{dirfd: dirfd, entry: e})
		o.pids += pids
	}
	o.lowered = len(lowered)
	if o.lowered == 0 {
		o.pids, o.spared = 0, 0
		return o
	}
	if !leftOut {
		o.confirmed, o.waitErr = clock.Poll(ctx, clk, pollInterval, wait-clk.Now().Sub(start), func() bool {
			for _, l := range lowered {
				if procs.leftover(Target{Cgroup: l.entry.Cgroup, ID: l.entry.ID}) != nil {
					return false
				}
			}
			return true
		})
	}
	for _, l := range lowered {
		o.err = errors.Join(o.err, k.putBack(l))
	}
	return o
}

// count counts the processes of the container ct that the method oom is
// to kill, and those it spares (marking them spared in procs). With the
// rule unkillable, a process at oom_score_adj -1000 now is spared too,
// and added to procs' spare set: the kernel never kills it, and neither
// will the fallback. A process whose oom_score_adj cannot be read (but
// for one that exited) counts as one to kill: the kernel spares it
// anyway if it is at -1000, and the fallback looks again (Vet).
func (k Killer) count(ct Target, procs *procSet) (kill, spared int, err error) {
	pids, err := cgroupv2.Procs(ct.Cgroup, true)
	if err != nil {
		return 0, 0, err
	}
	unkillable := k.oomRules().unkillable
	for _, pid := range pids {
		if !procs.spare[pid] && unkillable {
			adj, err := procfs.ReadOOMScoreAdj(nil, k.procRoot(), pid)
			if errors.Is(err, procfs.ErrNoProcess) {
				continue // exited: nothing to kill
			}
			if err == nil && adj == procfs.OOMScoreAdjMin {
				procs.setSpare([]int{pid})
			}
		}
		if procs.spare[pid] {
			procs.spared[pid] = true
			spared++
		} else {
			kill++
		}
	}
	return kill, spared, nil
}

// errNotRecorded: the limit could not be written to the LimitLog, so it
// was not lowered.
var errNotRecorded = errors.New("memory.max not recorded")

// lower records c's memory.max in k.Limits, then writes 0 to it through
// dirfd, c's directory. The write returns when the kernel's OOM killer is
// done in c, or when wctx ends (interrupt.Write): the limit is in force
// either way. An error means nothing is lowered, and nothing added to the
// record; it wraps cgroupv2.ErrGone when the container went meanwhile.
//
// A container the record already names (the same cgroup, by its ID) is
// one an earlier kill could not put back: its limit may still be the 0
// that kill wrote, so the recorded original is kept, and nothing added.
// Otherwise 0 is never recorded: it is the value kube-oomd lowers to,
// never one to put back; a container at 0 that the record does not name
// is not lowered (errZeroMax), and is left to the fallback.
func (k Killer) lower(wctx context.Context, dirfd int, c Container) (limitEntry, error) {
	e, recorded, err := k.Limits.find(c.Cgroup, c.ID)
	if err != nil {
		return e, fmt.Errorf("killer: %s: %w, and a limit that a restart could not put back is never lowered: %w; not lowered", c.Cgroup, errNotRecorded, err)
	}
	if !recorded {
		orig, err := cgroupv2.ReadMax(c.Cgroup)
		if err != nil {
			return limitEntry{}, fmt.Errorf("killer: %s: read memory.max: %w; not lowered", c.Cgroup, err)
		}
		if orig == 0 {
			return limitEntry{}, fmt.Errorf("killer: %s: %w: no original to put back after the kill, as the limits record %s names none; not lowered, left to the signal way. If kube-oomd left it so, write the container's limit back to its memory.max",
				c.Cgroup, errZeroMax, k.Limits.Path)
		}
		e = limitEntry{Cgroup: c.Cgroup, ID: c.ID, Original: orig}
		// On a node with swap, memory.max 0 alone swaps the victim out
		// before the OOM killer kills: swap goes to 0 first.
		swap, err := cgroupv2.ReadSwapMax(c.Cgroup) // 0 with no swap controller: nothing to swap to
		if err != nil {
			return limitEntry{}, fmt.Errorf("killer: %s: read memory.swap.max: %w; not lowered", c.Cgroup, err)
		}
		e.Swap = swap // 0: already none, nothing to put back
		if k.oomRules().group {
			// A file missing (before 4.19) leaves the kernel's default,
			// one process per kill: the kill is the same, only slower.
			on, err := cgroupv2.ReadOOMGroup(c.Cgroup)
			if err != nil && !errors.Is(err, cgroupv2.ErrMissingFile) {
				return limitEntry{}, fmt.Errorf("killer: %s: read memory.oom.group: %w; not lowered", c.Cgroup, err)
			}
			e.GroupRaised = err == nil && !on
		}
		// Write ahead: a crash while the limit is lowered must leave it
		// named for the next start to put back (LimitLog).
		if err := k.Limits.add(e); err != nil {
			return e, fmt.Errorf("killer: %s: %w, and a limit that a restart could not put back is never lowered: %w; not lowered", c.Cgroup, errNotRecorded, err)
		}
	}
	err = nil
	if e.Swap > 0 {
		err = cgroupv2.SetSwapMaxAt(dirfd, c.Cgroup, 0)
	}
	if err == nil && e.GroupRaised {
		err = cgroupv2.SetOOMGroupAt(dirfd, c.Cgroup, true)
	}
	if err == nil {
		err = cgroupv2.LowerMaxAt(wctx, dirfd, c.Cgroup)
	}
	if err != nil {
		err = fmt.Errorf("killer: %s: lower memory.swap.max and memory.max to 0: %w; not lowered", c.Cgroup, err)
		if recorded {
			return e, err // as it was: still in the record, for the retry
		}
		if (e.Swap > 0 || e.GroupRaised) && !cgroupv2.GoneAt(dirfd) {
			// memory.swap.max may be 0 already, memory.oom.group 1:
			// back, or kept in the record for the retry.
			if rerr := restoreMax(dirfd, e); rerr != nil {
				return e, errors.Join(err, fmt.Errorf("killer: %s: LEFT LOWERED, kept in the limits record for the retry: %w", c.Cgroup, rerr))
			}
		}
		if rerr := k.Limits.remove(e); rerr != nil {
			err = errors.Join(err, fmt.Errorf("killer: %s: still in the limits record (the next start will write %s to its memory.max): %w",
				c.Cgroup, cgroupv2.FormatLimit(e.Original), rerr))
		}
		return e, err
	}
	return e, nil
}

// errZeroMax: a container's memory.max is 0, and the limits record holds
// no original for it.
var errZeroMax = errors.New("memory.max is already 0")

// putBack writes l's original memory.max back, and drops it from the
// record. A container that is gone needs nothing back. One whose limit
// cannot be put back stays in the record, for the next start.
func (k Killer) putBack(l loweredCgroup) error {
	e := l.entry
	if err := restoreMax(l.dirfd, e); err != nil && !errors.Is(err, cgroupv2.ErrGone) {
		return fmt.Errorf("killer: %s: memory.max LEFT LOWERED (it stays in the limits record, for the next start): %w", e.Cgroup, err)
	}
	if err := k.Limits.remove(e); err != nil {
		return fmt.Errorf("killer: %s: memory.max put back, but still in the limits record (the next start will write %s to it again): %w",
			e.Cgroup, cgroupv2.FormatLimit(e.Original), err)
	}
	return nil
}
