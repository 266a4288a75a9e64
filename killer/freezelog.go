package killer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
// cgroup.freeze and reports it. Then the record keeps only the cgroups that
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
	var (
		results []ThawResult
		kept    []frozenEntry
	)
	for _, e := range entries {
		ours, err := thawLeftover(e)
		if !ours {
			continue
		}
		results = append(results, ThawResult{Cgroup: e.Cgroup, Err: err})
		if err != nil {
			kept = append(kept, e)
		}
	}
	if err := l.save(kept); err != nil {
		return results, fmt.Errorf("%s: %w", l.Path, err)
	}
	return results, nil
}

// thawLeftover writes 0 to the cgroup.freeze of e's cgroup. ours is false
// when that cgroup is gone, or another one has taken its path.
func thawLeftover(e frozenEntry) (ours bool, err error) {
	dirfd, err := unix.Open(e.Cgroup, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		err = cgroupv2.Classify("open", e.Cgroup, err)
		return !errors.Is(err, cgroupv2.ErrGone), err
	}
	defer unix.Close(dirfd)
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		err = cgroupv2.Classify("stat", e.Cgroup, err)
		return !errors.Is(err, cgroupv2.ErrGone), err
	}
	if st.Ino != e.ID {
		return false, nil
	}
	if err := writeAt(dirfd, "cgroup.freeze", "0"); err != nil {
		if gone(dirfd) {
			return false, nil
		}
		return true, fmt.Errorf("write 0 to %s/cgroup.freeze: %w", e.Cgroup, err)
	}
	return true, nil
}

// add records e, before its cgroup is frozen.
func (l *FreezeLog) add(e frozenEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries, err := l.load()
	if err != nil {
		return err
	}
	if err := l.save(append(entries, e)); err != nil {
		return fmt.Errorf("%s: %w", l.Path, err)
	}
	return nil
}

// remove drops e, once its cgroup is thawed (or was never frozen).
func (l *FreezeLog) remove(e frozenEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	entries, err := l.load()
	if err != nil {
		return err
	}
	i := slices.Index(entries, e)
	if i < 0 {
		return nil
	}
	if err := l.save(slices.Delete(entries, i, i+1)); err != nil {
		return fmt.Errorf("%s: %w", l.Path, err)
	}
	return nil
}

// load reads the record; no file is no entries.
func (l *FreezeLog) load() ([]frozenEntry, error) {
	if !filepath.IsAbs(l.Path) {
		return nil, fmt.Errorf("freeze record %q: the path must be absolute", l.Path)
	}
	b, err := os.ReadFile(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []frozenEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w (it may name cgroups left frozen: write 0 to their cgroup.freeze, then remove it)", l.Path, err)
	}
	return entries, nil
}

// save writes the record atomically; no entries remove it.
func (l *FreezeLog) save(entries []frozenEntry) error { return statefile.Save(l.Path, entries) }
