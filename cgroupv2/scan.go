package cgroupv2

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kube-oomd/kube-oomd/internal/procfs"
)

// Meminfo is the node's memory, from /proc/meminfo: procfs.Meminfo, which
// a Snapshot carries as Host. (An alias, so that policy's inputs keep their
// cgroupv2 names.)
type Meminfo = procfs.Meminfo

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

// PodError is a pod that was listed but could not be read: one of its
// files is malformed or missing, or reading it failed otherwise (see
// Classify). A pod that went away is no PodError: it is left out.
type PodError struct {
	Ref PodRef
	Err error // names the file (or directory) and what was wrong
}

func (e *PodError) Error() string {
	return fmt.Sprintf("pod %s (%s): %v", e.Ref.UID, e.Ref.QoS, e.Err)
}

func (e *PodError) Unwrap() error { return e.Err }

// PodErrors is the error of ReadPods and Scan when some pods could not be
// read: one *PodError per pod, in the order the pods were given, never
// empty. Every pod that could be read is returned beside it, so one broken
// pod does not decide for the others. Get it with errors.As.
type PodErrors []*PodError

// Error is one line per pod.
func (e PodErrors) Error() string {
	lines := make([]string, len(e))
	for i, pe := range e {
		lines[i] = pe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each *PodError, for errors.Is and errors.As.
func (e PodErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, pe := range e {
		errs[i] = pe
	}
	return errs
}

// ReadPods reads the given pods, in the order given. It returns every pod
// it could read; pods that vanish meanwhile are left out; pods that cannot
// be read are left out too, and named in the error, which is nil or a
// PodErrors (never another error). Reading is bound by system calls, so
// large sets are split among a few goroutines, each with its own buffer.
func (r *Reader) ReadPods(refs []PodRef) ([]Pod, error) {
	workers := min(runtime.GOMAXPROCS(0), maxReadWorkers, (len(refs)+podsPerWorker-1)/podsPerWorker)
	var pods []Pod
	var bad PodErrors
	if workers <= 1 {
		pods, bad = r.readPods(refs)
	} else {
		parts := make([][]Pod, workers)
		errs := make([]PodErrors, workers)
		var wg sync.WaitGroup
		for i := range workers {
			lo, hi := i*len(refs)/workers, (i+1)*len(refs)/workers
			wg.Go(func() {
				w := NewReader(r.Layout, r.ProcRoot)
				parts[i], errs[i] = w.readPods(refs[lo:hi])
			})
		}
		wg.Wait()
		pods, bad = slices.Concat(parts...), slices.Concat(errs...)
	}
	if len(bad) > 0 {
		return pods, bad
	}
	return pods, nil
}

// Above podsPerWorker pods, ReadPods reads in parallel, with at most
// maxReadWorkers goroutines.
const (
	podsPerWorker  = 64
	maxReadWorkers = 4
)

func (r *Reader) readPods(refs []PodRef) ([]Pod, PodErrors) {
	pods := make([]Pod, 0, len(refs))
	var bad PodErrors
	for _, ref := range refs {
		p, err := r.ReadPod(ref)
		switch {
		case errors.Is(err, ErrGone):
		case err != nil:
			bad = append(bad, &PodError{Ref: ref, Err: err})
		default:
			pods = append(pods, p)
		}
	}
	return pods, bad
}

// Scan reads the whole tree: kubepods, the host and every pod. When only
// some pods could not be read, the error is a PodErrors naming them and
// the Snapshot holds all the rest (see ReadPods); any other error (kubepods,
// the host, listing the pods) fails the scan.
func (r *Reader) Scan() (Snapshot, error) {
	var s Snapshot
	var err error
	if s.Kubepods, s.KubepodsLocal, err = r.ReadKubepods(); err != nil {
		return s, err
	}
	if s.Host, err = procfs.ReadMeminfo(r.ProcRoot); err != nil {
		return s, err
	}
	refs, err := r.Layout.ListPods(nil)
	if err != nil {
		return s, err
	}
	s.Pods, err = r.ReadPods(refs)
	return s, err
}
