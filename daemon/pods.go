package daemon

import "github.com/kube-oomd/kube-oomd/cgroupv2"

// podTracker follows the pods as they come and go (inotify, with the rescan
// as a safety net) and each pod's count of kernel OOM kills.
//
// A kill with kill.method oom makes the kernel OOM-kill in its victim: that
// rise of oom_kill is kube-oomd's own, not the kernel's. The loop marks the
// victim's pod (induce) when it submits the kill, before any limit is
// lowered, and takes the count (settle) when the kill reports, after every
// limit is back: whatever rises in between, whether the loop reads it on an
// inotify event while the kill runs or at settle, goes to the kill (a
// kernel OOM kill of its own in the victim in that time, or just before it
// and not read yet, counts as the kill's too: the victim is being killed).
type podTracker struct {
	layout   cgroupv2.Layout
	watcher  *cgroupv2.Watcher
	oomKills map[string]uint64 // memory.events oom_kill of each pod, by path
	induced  map[string]uint64 // pods a kill with kill.method oom is on, by path: the OOM kills it induced so far
}

// podSource follows the pods of a layout: inotify (inotifyPods), or the
// rescan alone (pollPods).
type podSource interface {
	watch(l cgroupv2.Layout) (*cgroupv2.Watcher, []cgroupv2.PodRef, error)
}

// inotifyPods follows the pods through inotify, or, where the kernel's
// inotify limits are reached, by the rescan alone.
type inotifyPods struct{}

func (inotifyPods) watch(l cgroupv2.Layout) (*cgroupv2.Watcher, []cgroupv2.PodRef, error) {
	return cgroupv2.NewWatcher(l)
}

// pollPods follows the pods by the rescan alone, as where inotify's limits
// are reached, for why.
type pollPods struct{ why error }

func (p pollPods) watch(l cgroupv2.Layout) (*cgroupv2.Watcher, []cgroupv2.PodRef, error) {
	return cgroupv2.NewPollingWatcher(l, p.why)
}

// newPodTracker follows the pods of l from src (inotify when nil).
func newPodTracker(l cgroupv2.Layout, src podSource) (*podTracker, error) {
	if src == nil {
		src = inotifyPods{}
	}
	w, refs, err := src.watch(l)
	if err != nil {
		return nil, err
	}
	t := &podTracker{layout: l, watcher: w, oomKills: map[string]uint64{}, induced: map[string]uint64{}}
	for _, r := range refs {
		t.add(r)
	}
	return t, nil
}

// add starts following a pod's kernel OOM kills from its current count.
func (t *podTracker) add(r cgroupv2.PodRef) {
	ev, err := cgroupv2.ReadMemoryEvents(t.layout.Abs(r.Path))
	if err != nil {
		return // gone already
	}
	t.oomKills[r.Path] = ev.OOMKill
}

func (t *podTracker) remove(r cgroupv2.PodRef) { delete(t.oomKills, r.Path) }

// newOOMKills re-reads a pod's memory.events and returns the kernel OOM
// kills since the last look, but none while a kill is inducing them
// there: those are counted aside, for settle.
func (t *podTracker) newOOMKills(r cgroupv2.PodRef) (kills, total uint64) {
	kills, total = t.readOOMKills(r.Path)
	if n, ok := t.induced[r.Path]; ok {
		t.induced[r.Path] = n + kills
		return 0, total
	}
	return kills, total
}

// induce marks the pod at path as the victim of a kill with kill.method
// oom: from now until settle, its new OOM kills are the kill's.
func (t *podTracker) induce(path string) {
	if _, ok := t.induced[path]; !ok {
		t.induced[path] = 0
	}
}

// settle ends induce for the pod at path, once its kill reported: it reads
// the pod's count once more and returns the OOM kills since induce (the
// kill's, if it lowered a limit) and the pod's count.
func (t *podTracker) settle(path string) (kills, total uint64) {
	k, total := t.readOOMKills(path)
	n := t.induced[path] + k
	delete(t.induced, path)
	return n, total
}

// readOOMKills re-reads the oom_kill count of the pod at path and returns
// its rise since the last look, and the count.
func (t *podTracker) readOOMKills(path string) (kills, total uint64) {
	ev, err := cgroupv2.ReadMemoryEvents(t.layout.Abs(path))
	if err != nil {
		return 0, 0
	}
	last, known := t.oomKills[path]
	if known && ev.OOMKill <= last {
		// The kernel's counters never fall while the cgroup lives: a
		// lower reading is not one to start counting from again.
		return 0, last
	}
	t.oomKills[path] = ev.OOMKill
	if !known {
		return 0, ev.OOMKill
	}
	return ev.OOMKill - last, ev.OOMKill
}

// refs returns the pods known now.
func (t *podTracker) refs() []cgroupv2.PodRef { return t.watcher.Pods() }

// count is how many pods are known.
func (t *podTracker) count() int { return len(t.refs()) }

// byClass is how many pods of each class are known.
func (t *podTracker) byClass() map[cgroupv2.QoS]int {
	n := map[cgroupv2.QoS]int{}
	for _, r := range t.refs() {
		n[r.QoS]++
	}
	return n
}

// sync compares the pods known with the tree: the slow safety net. It only
// lists directories; memory.events changes come through inotify, except
// for the pods in unwatched.
func (t *podTracker) sync() []cgroupv2.Change { return t.watcher.Sync() }

// unwatched are the pods whose memory.events inotify does not report (all
// of them when polling): the rescan reads their counters.
func (t *podTracker) unwatched() []cgroupv2.PodRef { return t.watcher.Unwatched() }

// polling says why the pods are followed by the rescan alone, or nil.
func (t *podTracker) polling() error { return t.watcher.Polling() }

func (t *podTracker) close() { t.watcher.Close() }
