package cgroupv2

import (
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
)

// Snapshot is the state of all pods at one moment.
type Snapshot struct {
	Kubepods Group
	// KubepodsLocal is the kubepods cgroup's own memory.events.local: limit
	// hits of kubepods' own memory.max, not those of a pod's.
	KubepodsLocal MemoryEvents
	Host          Meminfo
	Pods          []Pod
}

// ReadKubepods reads the kubepods cgroup and its local events: all a
// decision needs before it looks at any pod.
func (r *Reader) ReadKubepods() (Group, MemoryEvents, error) {
	g, err := r.ReadGroup(r.Layout.Kubepods)
	if err != nil {
		return g, MemoryEvents{}, err
	}
	local, err := readMemoryEvents(r.buf, pathFile(filepath.Join(r.Layout.Abs(r.Layout.Kubepods), "memory.events.local")))
	return g, local, err
}

// ReadPods reads the given pods, leaving out those that vanish meanwhile,
// in the order given. Reading is bound by system calls, so large sets are
// split among a few goroutines, each with its own buffer.
func (r *Reader) ReadPods(refs []PodRef) ([]Pod, error) {
	workers := min(runtime.GOMAXPROCS(0), maxReadWorkers, (len(refs)+podsPerWorker-1)/podsPerWorker)
	if workers <= 1 {
		return r.readPods(refs)
	}
	parts := make([][]Pod, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := i*len(refs)/workers, (i+1)*len(refs)/workers
		wg.Go(func() {
			w := NewReader(r.Layout, r.ProcRoot)
			parts[i], errs[i] = w.readPods(refs[lo:hi])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// Above podsPerWorker pods, ReadPods reads in parallel, with at most
// maxReadWorkers goroutines.
const (
	podsPerWorker  = 64
	maxReadWorkers = 4
)

func (r *Reader) readPods(refs []PodRef) ([]Pod, error) {
	pods := make([]Pod, 0, len(refs))
	for _, ref := range refs {
		p, err := r.ReadPod(ref)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	return pods, nil
}

// Scan reads the whole tree: kubepods, the host and every pod.
func (r *Reader) Scan() (Snapshot, error) {
	var s Snapshot
	var err error
	if s.Kubepods, s.KubepodsLocal, err = r.ReadKubepods(); err != nil {
		return s, err
	}
	if s.Host, err = ReadMeminfo(r.ProcRoot); err != nil {
		return s, err
	}
	refs, err := r.Layout.ListPods(nil)
	if err != nil {
		return s, err
	}
	s.Pods, err = r.ReadPods(refs)
	return s, err
}
