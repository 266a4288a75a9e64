package cgroupv2

import (
	"errors"
	"path"
	"path/filepath"
	"sort"

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
	Pressure   psi.Pressure // memory.pressure
}

// Process is one process in a container, with the oom_score_adj the kubelet
// (or the process itself) gave it.
type Process struct {
	PID         int
	OOMScoreAdj int
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
// wrapping ErrGone if the cgroup vanished.
func (r *Reader) ReadGroup(rel string) (Group, error) {
	dir := r.Layout.Abs(rel)
	fd, id, err := openDirID(dir)
	if err != nil {
		return Group{}, err
	}
	defer unix.Close(fd)
	at := func(name string) file { return file{dirfd: fd, dir: dir, name: name} }
	g := Group{Path: rel, ID: id}
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
	if err = parseFile(r.buf, at("memory.pressure"), func(b []byte) (err error) {
		g.Pressure, err = psi.Parse(b)
		return err
	}); err != nil {
		return g, err
	}
	g.WorkingSet = WorkingSet(g.Current, g.Stat)
	return g, nil
}

// ReadPod reads one pod, its containers and their processes. A pod that
// vanished returns an error wrapping ErrGone; processes and containers that
// vanish during the read are left out. Other errors (see Classify) fail the
// read: a pod is never taken for gone because its directory could not be
// listed.
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
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		id, rt, helper, ok := ContainerName(e.Name())
		if !ok {
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
	if p.Procs, err = r.readProcs(pathFile(filepath.Join(dir, "cgroup.procs"))); err != nil {
		return Pod{}, err
	}
	return p, nil
}

func (r *Reader) readContainer(rel string) (Container, error) {
	dir := r.Layout.Abs(rel)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Container{}, Classify("open", dir, err)
	}
	defer unix.Close(fd)
	c := Container{Path: rel}
	if c.Current, err = readUint(r.buf, file{dirfd: fd, dir: dir, name: "memory.current"}); err != nil {
		return c, err
	}
	if c.Procs, err = r.readProcs(file{dirfd: fd, dir: dir, name: "cgroup.procs"}); err != nil {
		return c, err
	}
	return c, nil
}

// readProcs reads the processes of a cgroup.procs file with their
// oom_score_adj.
func (r *Reader) readProcs(f file) ([]Process, error) {
	pids, err := readProcs(r.buf, f)
	if err != nil {
		return nil, err
	}
	procs := make([]Process, 0, len(pids))
	for _, pid := range pids {
		adj, err := readOOMScoreAdj(r.buf, r.ProcRoot, pid)
		if errors.Is(err, errNoProcess) {
			continue
		}
		if err != nil {
			return nil, err
		}
		procs = append(procs, Process{PID: pid, OOMScoreAdj: adj})
	}
	return procs, nil
}
