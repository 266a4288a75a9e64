package killer

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// FreezeLog is the freezer path's write-ahead record: a JSON file (usually
// /run/kube-oomd/frozen.json) listing the cgroups that a kill in progress
// has frozen. A cgroup is added before 1 is written to its cgroup.freeze
// and removed once it is thawed, so that a daemon that crashed in between
// leaves it named there, and the next one thaws it at start
// (ThawLeftovers). A pod slice left frozen would freeze every container
// started in it.
//
// If the record cannot be written, nothing is frozen: never freeze what a
// restart could not thaw. It is written atomically (a temporary file, then
// a rename), so a crash leaves the old record or the new one, never half of
// one; it is not synced to disk, as a crash of the node thaws every cgroup
// anyway. No entry left removes the file.
//
// One FreezeLog may serve several Killers in one process, not several
// processes.
type FreezeLog struct {
	Path string // absolute
	// Layout is the kubelet's: ThawLeftovers trusts only the entries
	// that name one of its pods or containers (trusted). Without it
	// (Kubepods ""), ThawLeftovers leaves the record as it is.
	Layout cgroupv2.Layout
	// Guessed says Layout is a guess (the kubelet's default kubepods,
	// before the config is read): ThawLeftovers keeps an entry it does
	// not trust, untouched, for a check against the config's layout.
	Guessed bool

	mu sync.Mutex // each change reads, edits and writes the whole file
}

// frozenEntry is one cgroup in the record.
type frozenEntry struct {
	Cgroup string `json:"cgroup"` // absolute directory
	ID     uint64 `json:"id"`     // its cgroupv2.ID when it was frozen
}

// ThawResult is a cgroup of the record that ThawLeftovers found still
// there, the same cgroup as when it was frozen.
type ThawResult struct {
	Cgroup string // the cgroup's absolute directory
	Err    error  // nil: 0 was written to its cgroup.freeze; else it stays in the record
}

// ThawLeftovers thaws what a kill left frozen: for each cgroup in the
// record that still exists and is still the cgroup that was frozen (its
// ID; a new cgroup at the same path is not touched), it writes 0 to
// cgroup.freeze and reports it. The record is not trusted: an entry that
// names no pod or container of l.Layout (a kill freezes nothing else) is
// reported with an error wrapping ErrUntrusted, not touched, and dropped
// (kept, with Guessed). Then the record keeps only the cgroups that
// could not be thawed (ThawResult.Err), for the next start to try again;
// with none it is removed. No record is no leftovers.
//
// The daemon calls it at start, before any kill. An error is about the
// record itself: one that cannot be read is left as it is (it may name
// frozen cgroups: check them by hand, then remove it), and until then
// nothing is frozen.
func (l *FreezeLog) ThawLeftovers() ([]ThawResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries, err := l.load()
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	if err := checkable(l.Path, l.Layout); err != nil {
		return nil, err
	}
	var results []ThawResult
	check := func(e frozenEntry) error { return trusted(l.Layout, e.Cgroup, true) }
	kept := undoLeftovers(entries, check, l.Guessed, thawLeftover, func(e frozenEntry, err error) {
		results = append(results, ThawResult{Cgroup: e.Cgroup, Err: err})
	})
	if err := l.save(kept); err != nil {
		return results, fmt.Errorf("%s: %w", l.Path, err)
	}
	return results, nil
}

// undoLeftovers undoes what each entry of a write-ahead record names, with
// undo, which says whether the entry's cgroup is still the one recorded
// (ours), and reports each one that is. An entry that check refuses is
// reported with check's error and never undone; it is dropped, or kept
// when guessed (check's layout is a guess: the entry waits for the check
// against the config's). It returns the entries to keep: those whose undo
// failed, for the next try, and the refused ones when guessed.
func undoLeftovers[E any](entries []E, check func(E) error, guessed bool, undo func(E) (ours bool, err error), report func(E, error)) (kept []E) {
	for _, e := range entries {
		if err := check(e); err != nil {
			if guessed {
				report(e, fmt.Errorf("%w; kept in the record for the check against the config's cgroup.kubepods", err))
				kept = append(kept, e)
				continue
			}
			report(e, fmt.Errorf("%w; dropped from the record", err))
			continue
		}
		ours, err := undo(e)
		if !ours {
			continue
		}
		report(e, err)
		if err != nil {
			kept = append(kept, e)
		}
	}
	return kept
}

// ErrUntrusted: an entry of a record (frozen.json, limits.json) names a
// cgroup that no kill of kube-oomd could have recorded: it is not
// touched, and dropped from the record (kept while the layout is a guess:
// FreezeLog.Guessed, LimitLog.Guessed).
var ErrUntrusted = errors.New("not a cgroup a kill records")

// checkable says whether the record at path can be checked against
// layout: without the kubelet's layout, no entry is trusted, and the
// record is left as it is, for a later call.
func checkable(path string, layout cgroupv2.Layout) error {
	if layout.Kubepods == "" || layout.Mount == "" {
		return fmt.Errorf("%s: no kubelet layout to check its entries against: left as it is", path)
	}
	return nil
}

// trusted checks that dir, a record's entry, names what a kill could have
// recorded: a clean absolute directory under layout's mount that layout
// says is a container of one of its pods, or (pods true) a pod. The one
// layout check is cgroupv2's (Layout.ContainerOf, Layout.PodOf), as for
// the throttle state file.
func trusted(layout cgroupv2.Layout, dir string, pods bool) error {
	rel, err := filepath.Rel(layout.Mount, dir)
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w: %q is not a clean absolute directory under the cgroup2 mount %s: not touched", ErrUntrusted, dir, layout.Mount)
	}
	rel = path.Join("/", filepath.ToSlash(rel))
	if _, ok := layout.ContainerOf(rel); ok {
		return nil
	}
	if _, ok := layout.PodOf(rel); ok && pods {
		return nil
	}
	what := "a container"
	if pods {
		what = "a pod or a container"
	}
	return fmt.Errorf("%w: %s is not %s of the kubelet under %s: not touched", ErrUntrusted, dir, what, layout.Kubepods)
}

// openLeftover opens the directory of a cgroup that a record names, if it
// is still that cgroup (cgroupv2.OpenSame): ours is false, and nothing
// open, when it is gone or another cgroup has taken its path (its ID
// differs); an error with ours true is one the cgroup may still be there
// behind.
func openLeftover(dir string, id uint64) (dirfd int, ours bool, err error) {
	dirfd, err = cgroupv2.OpenSame(dir, id)
	switch {
	case errors.Is(err, cgroupv2.ErrReplaced):
		return -1, false, nil
	case err != nil:
		return -1, !errors.Is(err, cgroupv2.ErrGone), err
	}
	return dirfd, true, nil
}

// thawLeftover writes 0 to the cgroup.freeze of e's cgroup. ours is false
// when that cgroup is gone, or another one has taken its path.
func thawLeftover(e frozenEntry) (ours bool, err error) {
	dirfd, ours, err := openLeftover(e.Cgroup, e.ID)
	if !ours || err != nil {
		return ours, err
	}
	defer unix.Close(dirfd)
	if err := cgroupv2.Thaw(dirfd, e.Cgroup); err != nil {
		if errors.Is(err, cgroupv2.ErrGone) {
			return false, nil
		}
		return true, err
	}
	return true, nil
}

// frozenHint is what to do with a freeze record that cannot be read.
const frozenHint = "it may name cgroups left frozen: write 0 to their cgroup.freeze, then remove it"

// add records e, before its cgroup is frozen.
func (l *FreezeLog) add(e frozenEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return statefile.Add(l.Path, e, frozenHint)
}

// remove drops e, once its cgroup is thawed (or was never frozen).
func (l *FreezeLog) remove(e frozenEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return statefile.Remove(l.Path, e, frozenHint)
}

// load reads the record; no file is no entries.
func (l *FreezeLog) load() ([]frozenEntry, error) {
	return statefile.Load[frozenEntry](l.Path, frozenHint)
}

// save writes the record atomically; no entries remove it.
func (l *FreezeLog) save(entries []frozenEntry) error { return statefile.Save(l.Path, entries) }
