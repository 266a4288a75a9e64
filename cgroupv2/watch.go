package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// ChangeKind says what a Change reports.
type ChangeKind int

const (
	PodAdded      ChangeKind = iota // a pod cgroup appeared
	PodRemoved                      // a pod cgroup was removed
	EventsChanged                   // a memory.events file changed: re-read its counters
	Resync                          // events were lost: rescan everything
)

func (k ChangeKind) String() string {
	return [...]string{"pod-added", "pod-removed", "events-changed", "resync"}[k]
}

// Change is one thing the Watcher saw. For EventsChanged, Pod is the pod
// whose memory.events changed, or the zero PodRef for kubepods itself.
type Change struct {
	Kind ChangeKind
	Pod  PodRef
}

// Watcher follows pods as they come and go and tells when memory.events
// files change, through inotify. Removing a cgroup raises no event on its
// files, so it watches the parent directories for create and remove.
type Watcher struct {
	layout Layout
	fs     *fsnotify.Watcher // nil when polling
	// polling says why inotify could not be used; nil when it is.
	polling error

	mu        sync.Mutex
	pods      map[string]PodRef // by absolute directory
	unwatched map[string]bool   // pods whose memory.events is not watched yet
	qos       map[string]bool   // class directories being watched, by absolute path
}

// NewWatcher starts watching layout's tree and returns the pods there now.
// Where the kernel's inotify limits are reached (EMFILE: too many inotify
// instances; ENOSPC: too many watches), it returns a polling Watcher
// instead: see NewPollingWatcher and Polling.
func NewWatcher(l Layout) (*Watcher, []PodRef, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		if inotifyLimit(err) {
			return NewPollingWatcher(l, fmt.Errorf("inotify: %w", err))
		}
		return nil, nil, fmt.Errorf("inotify: %w", err)
	}
	w := &Watcher{layout: l, fs: fw, pods: map[string]PodRef{}, unwatched: map[string]bool{}, qos: map[string]bool{}}
	root := l.Abs(l.Kubepods)
	for _, p := range []string{root, filepath.Join(root, "memory.events")} {
		if err := fw.Add(p); err != nil {
			fw.Close()
			if inotifyLimit(err) {
				return NewPollingWatcher(l, fmt.Errorf("watch %s: %w", p, err))
			}
			return nil, nil, fmt.Errorf("watch %s: %w", p, err)
		}
	}
	dirs, err := l.QoSDirs()
	if err != nil {
		fw.Close()
		return nil, nil, err
	}
	var all []PodRef
	for q, dir := range dirs {
		all = append(all, w.watchClass(q, dir)...)
	}
	return w, all, nil
}

// NewPollingWatcher returns a Watcher that uses no inotify: it delivers no
// changes, and Sync, called on the rescan, finds the pods that came and
// went; every pod is Unwatched. why says why inotify is not used.
func NewPollingWatcher(l Layout, why error) (*Watcher, []PodRef, error) {
	w := &Watcher{layout: l, polling: why, pods: map[string]PodRef{}, unwatched: map[string]bool{}, qos: map[string]bool{}}
	dirs, err := l.QoSDirs()
	if err != nil {
		return nil, nil, err
	}
	var all []PodRef
	for q, dir := range dirs {
		all = append(all, w.watchClass(q, dir)...)
	}
	return w, all, nil
}

// Polling says why the Watcher follows the tree by polling (nil when it
// uses inotify).
func (w *Watcher) Polling() error { return w.polling }

// Unwatched returns the pods whose memory.events changes the Watcher cannot
// report (all of them, when polling): their counters must be read on the
// rescan.
func (w *Watcher) Unwatched() []PodRef {
	w.mu.Lock()
	defer w.mu.Unlock()
	refs := make([]PodRef, 0, len(w.unwatched))
	for abs := range w.unwatched {
		if r, ok := w.pods[abs]; ok {
			refs = append(refs, r)
		}
	}
	return refs
}

// inotifyLimit says whether err is one of the kernel's inotify limits.
func inotifyLimit(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENOSPC)
}

// watchClass watches a class directory (not kubepods itself, which is
// always watched) and each of its pods, and returns the pods new to it.
func (w *Watcher) watchClass(q QoS, rel string) []PodRef {
	added, _, _ := w.syncClass(q, rel)
	return added
}

// syncClass is watchClass that also returns every pod listed, in one
// listing of the directory; ok is false when it could not be listed.
func (w *Watcher) syncClass(q QoS, rel string) (added, listed []PodRef, ok bool) {
	abs := w.layout.Abs(rel)
	if q != Guaranteed {
		w.mu.Lock()
		seen := w.qos[abs]
		w.qos[abs] = true
		w.mu.Unlock()
		if !seen && w.fs != nil {
			// A class directory that vanished right away holds no pods.
			if err := w.fs.Add(abs); err != nil && !inotifyLimit(err) {
				return nil, nil, true
			}
		}
	}
	refs, err := w.layout.listClass(q, rel)
	if err != nil {
		return nil, nil, false
	}
	for _, ref := range refs {
		if w.watchPod(ref) {
			added = append(added, ref)
		}
	}
	return added, refs, true
}

// watchPod records a pod and watches its memory.events; false if the pod
// was already known or its directory is gone. If memory.events cannot be
// watched yet, Sync tries again.
func (w *Watcher) watchPod(ref PodRef) bool {
	abs := w.layout.Abs(ref.Path)
	w.mu.Lock()
	_, known := w.pods[abs]
	w.mu.Unlock()
	if known {
		return false
	}
	if _, err := os.Stat(abs); errors.Is(Classify("stat", abs, err), ErrGone) {
		return false
	}
	watched := w.fs != nil && w.fs.Add(filepath.Join(abs, "memory.events")) == nil
	w.mu.Lock()
	w.pods[abs] = ref
	if !watched {
		w.unwatched[abs] = true
	}
	w.mu.Unlock()
	return true
}

// retryUnwatched watches the memory.events files that could not be watched
// when their pods appeared.
func (w *Watcher) retryUnwatched() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for abs := range w.unwatched {
		if _, known := w.pods[abs]; !known || (w.fs != nil && w.fs.Add(filepath.Join(abs, "memory.events")) == nil) {
			delete(w.unwatched, abs)
		}
	}
}

// Pods returns the pods known now.
func (w *Watcher) Pods() []PodRef {
	w.mu.Lock()
	defer w.mu.Unlock()
	refs := make([]PodRef, 0, len(w.pods))
	for _, r := range w.pods {
		refs = append(refs, r)
	}
	return refs
}

// Run delivers changes until ctx is cancelled.
func (w *Watcher) Run(ctx context.Context, out chan<- Change) error {
	if w.fs == nil { // polling: Sync does the work
		<-ctx.Done()
		return ctx.Err()
	}
	send := func(c Change) error {
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err, ok := <-w.fs.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				if err := send(Change{Kind: Resync}); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("inotify: %w", err)
		case ev, ok := <-w.fs.Events:
			if !ok {
				return nil
			}
			for _, c := range w.handle(ev) {
				if err := send(c); err != nil {
					return err
				}
			}
		}
	}
}

// handle turns one inotify event into changes.
func (w *Watcher) handle(ev fsnotify.Event) []Change {
	if filepath.Base(ev.Name) == "memory.events" {
		if !ev.Has(fsnotify.Write) {
			return nil
		}
		dir := filepath.Dir(ev.Name)
		if dir == w.layout.Abs(w.layout.Kubepods) {
			return []Change{{Kind: EventsChanged}}
		}
		w.mu.Lock()
		ref, ok := w.pods[dir]
		w.mu.Unlock()
		if !ok {
			return nil
		}
		return []Change{{Kind: EventsChanged, Pod: ref}}
	}
	rel, ok := w.rel(ev.Name)
	if !ok {
		return nil
	}
	switch {
	case ev.Has(fsnotify.Create):
		if ref, ok := w.layout.PodOf(rel); ok {
			if w.watchPod(ref) {
				return []Change{{Kind: PodAdded, Pod: ref}}
			}
			return nil
		}
		if filepath.Dir(rel) == w.layout.Kubepods {
			if q, ok := w.layout.qosParent(filepath.Base(rel)); ok {
				var out []Change
				for _, ref := range w.watchClass(q, rel) {
					out = append(out, Change{Kind: PodAdded, Pod: ref})
				}
				return out
			}
		}
	case ev.Has(fsnotify.Remove):
		abs := filepath.Clean(ev.Name)
		w.mu.Lock()
		ref, isPod := w.pods[abs]
		delete(w.pods, abs)
		delete(w.unwatched, abs)
		w.mu.Unlock()
		if isPod {
			_ = w.fs.Remove(filepath.Join(abs, "memory.events")) // the kernel may have dropped it already
			return []Change{{Kind: PodRemoved, Pod: ref}}
		}
		w.mu.Lock()
		delete(w.qos, abs)
		w.mu.Unlock()
	}
	return nil
}

// rel returns a path relative to the mount, with a leading slash.
func (w *Watcher) rel(abs string) (string, bool) {
	r, err := filepath.Rel(w.layout.Mount, abs)
	if err != nil || strings.HasPrefix(r, "..") {
		return "", false
	}
	return "/" + r, true
}

// Close stops watching.
func (w *Watcher) Close() error {
	if w.fs == nil {
		return nil
	}
	return w.fs.Close()
}

// Sync compares what the Watcher knows with the tree as it is now, starts
// watching what inotify missed, and returns the differences. It is the slow
// safety net behind the events.
func (w *Watcher) Sync() []Change {
	dirs, err := w.layout.QoSDirs()
	if err != nil {
		return nil
	}
	var out []Change
	present := map[string]bool{}
	for q, dir := range dirs {
		added, listed, ok := w.syncClass(q, dir)
		for _, ref := range added {
			out = append(out, Change{Kind: PodAdded, Pod: ref})
		}
		if !ok {
			return out // a class that cannot be listed now: remove nothing
		}
		for _, ref := range listed {
			present[w.layout.Abs(ref.Path)] = true
		}
	}
	w.retryUnwatched()
	w.mu.Lock()
	for abs, ref := range w.pods {
		if !present[abs] {
			delete(w.pods, abs)
			delete(w.unwatched, abs)
			out = append(out, Change{Kind: PodRemoved, Pod: ref})
		}
	}
	w.mu.Unlock()
	return out
}
