package cgroupv2

import (
	"errors"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/psi"
	"golang.org/x/sys/unix"
)

// Group is what kube-oomd knows about one cgroup's memory.
type Group struct {
	Path       string // relative to the mount
	ID         uint64 // the cgroup's inode; see ID
	Current    uint64 // memory.current
	Max        uint64 // memory.max; Unlimited when "max"
	Min        uint64 // memory.min (the kubelet's MemoryQoS writes the request here)
	Stat       MemoryStat
	WorkingSet uint64       // Current minus inactive file pages
	Events     MemoryEvents // memory.events (hierarchical)
	Pressure   psi.Pressure // memory.pressure; zero when NoPressure
	// NoPressure says the cgroup has no memory.pressure: PSI is off for it
	// (cgroup.pressure set to 0 removes the *.pressure files).
	NoPressure bool
}

// Process is one process in a container, with the oom_score_adj the kubelet
// (or the process itself) gave it.
type Process struct {
	PID         int
	OOMScoreAdj int
	// RSS is the process's resident memory, read only for a process at
	// -1000 (policy.SelfProtectedAdj): it is what a kill of its pod, which
	// spares it, does not free. 0 for every other process.
	RSS uint64
}

// Container is one container cgroup of a pod.
type Container struct {
	ID      string
	Runtime Runtime
	Helper  bool   // a runtime's monitor (CRI-O conmon), not a container
	Path    string // relative to the mount
	Current uint64
	Procs   []Process
}

// Sandbox tells whether this is the pod's sandbox ("pause") container: all
// its processes run at the kubelet's sandbox oom_score_adj, -998.
func (c Container) Sandbox() bool {
	if len(c.Procs) == 0 {
		return false
	}
	for _, p := range c.Procs {
		if p.OOMScoreAdj != SandboxOOMScoreAdj {
			return false
		}
	}
	return true
}

// App tells whether this is an app container: neither the sandbox nor a
// runtime helper.
func (c Container) App() bool { return !c.Helper && !c.Sandbox() }

// SandboxOOMScoreAdj is the oom_score_adj of every pod's sandbox container.
const SandboxOOMScoreAdj = -998

// Pod is one pod cgroup and its containers.
type Pod struct {
	Group
	UID        string
	QoS        QoS
	Containers []Container // sorted by path
	Procs      []Process   // processes directly in the pod cgroup, outside any container
}

// Reader reads pods and groups of one layout. It is not safe for
// concurrent use: it reads every file into one scratch buffer.
type Reader struct {
	Layout   Layout
	ProcRoot string // usually /proc
	buf      []byte
}

// NewReader returns a Reader of the layout, with /proc at procRoot.
func NewReader(l Layout, procRoot string) *Reader {
	return &Reader{Layout: l, ProcRoot: procRoot, buf: make([]byte, readBufSize)}
}

// ReadGroup reads the memory state of one cgroup. It returns an error
// wrapping ErrGone if the cgroup vanished. A cgroup with no memory.pressure
// (cgroup.pressure set to 0) reads with NoPressure; any other file missing
// is an error wrapping ErrMissingFile that names it (see Classify).
func (r *Reader) ReadGroup(rel string) (Group, error) {
	dir := r.Layout.Abs(rel)
	fd, st, err := openDir(dir)
	if err != nil {
		return Group{}, err
	}
	defer unix.Close(fd)
	at := func(name string) file { return file{dirfd: fd, dir: dir, name: name} }
	g := Group{Path: rel, ID: st.Ino}
	if g.Current, err = readUint(r.buf, at("memory.current")); err != nil {
		return g, err
	}
	if g.Max, err = readUint(r.buf, at("memory.max")); err != nil {
		return g, err
	}
	if g.Min, err = readUint(r.buf, at("memory.min")); err != nil {
		return g, err
	}
	if g.Stat, err = readMemoryStat(r.buf, at("memory.stat")); err != nil {
		return g, err
	}
	if g.Events, err = readMemoryEvents(r.buf, at("memory.events")); err != nil {
		return g, err
	}
	switch err = parseFile(r.buf, at("memory.pressure"), func(b []byte) (err error) {
		g.Pressure, err = psi.Parse(b)
		return err
	}); {
	case errors.Is(err, ErrMissingFile): // PSI off for this cgroup
		g.NoPressure = true
	case err != nil:
		return g, err
	}
	g.WorkingSet = WorkingSet(g.Current, g.Stat)
	return g, nil
}

// ReadPod reads one pod, its containers and their processes: every
// process of the pod's subtree, as cgroup.kill would reach it. A
// container's processes are those of its whole subtree (cgroups nested in
// it at any depth: systemd or Docker inside the container); processes in a
// subdirectory of the pod that is no container count as the pod's own
// (Pod.Procs). A pod that vanished returns an error wrapping ErrGone;
// processes, containers and nested cgroups that vanish during the read are
// left out. Other errors (see Classify) fail the read: a pod is never taken
// for gone because a directory could not be listed or a file is missing
// (ErrMissingFile; but for memory.pressure, see ReadGroup), nor judged
// without the processes of a directory that could not be listed.
//
// It is what a kill re-reads just before it acts, to vet the victim again
// (policy.Protection) on what the pod holds now.
func (r *Reader) ReadPod(ref PodRef) (Pod, error) {
	g, err := r.ReadGroup(ref.Path)
	if err != nil {
		return Pod{}, err
	}
	p := Pod{Group: g, UID: ref.UID, QoS: ref.QoS}
	dir := r.Layout.Abs(ref.Path)
	entries, err := listDir(dir)
	if err != nil {
		return Pod{}, err
	}
	var others []string // subdirectories that are no container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		id, rt, helper, ok := ContainerName(e.Name())
		if !ok {
			others = append(others, e.Name())
			continue
		}
		c, err := r.readContainer(path.Join(ref.Path, e.Name()))
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return Pod{}, err
		}
		c.ID, c.Runtime, c.Helper = id, rt, helper
		p.Containers = append(p.Containers, c)
	}
	sort.Slice(p.Containers, func(i, j int) bool { return p.Containers[i].Path < p.Containers[j].Path })
	if p.Procs, err = r.readProcs(pathFile(filepath.Join(dir, "cgroup.procs")), nil); err != nil {
		return Pod{}, err
	}
	for _, name := range others {
		procs, err := r.readSubtree(filepath.Join(dir, name), p.Procs)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return Pod{}, err
		}
		p.Procs = procs
	}
	return p, nil
}

// Ref is the reference a pod was read by, to read it again (ReadPod).
func (p Pod) Ref() PodRef { return PodRef{UID: p.UID, QoS: p.QoS, Path: p.Path} }

// readContainer reads a container's memory.current and the processes of
// its whole subtree.
func (r *Reader) readContainer(rel string) (Container, error) {
	dir := r.Layout.Abs(rel)
	fd, st, err := openDir(dir)
	if err != nil {
		return Container{}, err
	}
	defer unix.Close(fd)
	c := Container{Path: rel}
	if c.Current, err = readUint(r.buf, file{dirfd: fd, dir: dir, name: "memory.current"}); err != nil {
		return c, err
	}
	if c.Procs, err = r.readProcs(file{dirfd: fd, dir: dir, name: "cgroup.procs"}, nil); err != nil {
		return c, err
	}
	if c.Procs, err = r.readBelow(dir, uint64(st.Nlink), c.Procs); err != nil {
		return c, err
	}
	return c, nil
}

// readSubtree appends the processes of the cgroup dir and of every cgroup
// below it to procs. dir itself vanishing is ErrGone (procs may then hold
// some of its processes); cgroups below it that vanish are left out. A
// directory with no cgroup.procs (ErrMissingFile) is no cgroup (cgroupfs
// has none such): it has no process of its own, and the cgroups below it
// are read still.
func (r *Reader) readSubtree(dir string, procs []Process) ([]Process, error) {
	fd, st, err := openDir(dir)
	if err != nil {
		return procs, err
	}
	defer unix.Close(fd)
	pids, err := readProcs(r.buf, file{dirfd: fd, dir: dir, name: "cgroup.procs"})
	if err != nil && !errors.Is(err, ErrMissingFile) {
		return procs, err
	}
	if procs, err = r.withAdj(pids, procs); err != nil {
		return procs, err
	}
	return r.readBelow(dir, uint64(st.Nlink), procs)
}

// readBelow appends the processes of every cgroup below dir, whose link
// count is nlink, to procs, depth first in name order.
func (r *Reader) readBelow(dir string, nlink uint64, procs []Process) ([]Process, error) {
	if nlink == 2 {
		// A directory's link count is 2 plus its subdirectories on
		// cgroupfs (kernfs), as on tmpfs: none here, nothing to list. Any
		// other count is listed, also the 1 that some file systems give
		// every directory.
		return procs, nil
	}
	entries, err := listDir(dir)
	if err != nil {
		return procs, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		more, err := r.readSubtree(filepath.Join(dir, e.Name()), procs)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return procs, err
		}
		procs = more
	}
	return procs, nil
}

// readProcs appends the processes of a cgroup.procs file, with their
// oom_score_adj, to procs. Processes that exit meanwhile are left out.
func (r *Reader) readProcs(f file, procs []Process) ([]Process, error) {
	pids, err := readProcs(r.buf, f)
	if err != nil {
		return procs, err
	}
	return r.withAdj(pids, procs)
}

// selfProtectedAdj is the oom_score_adj of a process that asked never to be
// killed; only such a process's RSS is read (policy.SelfProtectedAdj owns
// what it means).
const selfProtectedAdj = -1000

// withAdj appends the processes pids, with their oom_score_adj, to procs.
// Processes that exit meanwhile are left out.
func (r *Reader) withAdj(pids []int, procs []Process) ([]Process, error) {
	procs = slices.Grow(procs, len(pids))
	for _, pid := range pids {
		adj, err := procfs.ReadOOMScoreAdj(r.buf, r.ProcRoot, pid)
		if errors.Is(err, procfs.ErrNoProcess) {
			continue
		}
		if err != nil {
			return procs, err
		}
		pr := Process{PID: pid, OOMScoreAdj: adj}
		if adj == selfProtectedAdj {
			rss, err := procfs.ReadRSS(r.buf, r.ProcRoot, pid, PageSize())
			if errors.Is(err, procfs.ErrNoProcess) {
				continue
			}
			if err != nil {
				return procs, err
			}
			pr.RSS = rss
		}
		procs = append(procs, pr)
	}
	return procs, nil
}
