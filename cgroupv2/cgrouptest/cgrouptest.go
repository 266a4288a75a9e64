// Package cgrouptest builds fake cgroup v2 trees and proc file systems in a
// temporary directory, laid out exactly as the kubelet and the kernel lay
// them out, for tests and benchmarks.
package cgrouptest

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Tree is a fake cgroup2 mount with a kubepods tree, and a fake /proc.
type Tree struct {
	Mount    string // the fake cgroup2 mount
	Proc     string // the fake /proc
	Driver   cgroupv2.Driver
	Kubepods string // relative to Mount
	tb       testing.TB
	nextPID  int
}

// Pod describes a pod to create.
type Pod struct {
	UID          string
	QoS          cgroupv2.QoS
	Runtime      cgroupv2.Runtime // containerd if empty
	Current      uint64
	InactiveFile uint64
	Anon         uint64
	Max          uint64 // 0: "max"
	Min          uint64
	NoSandbox    bool
	Containers   []Container
	Pressure     string // memory.pressure text; a calm one if empty
	Events       string // memory.events text; all zero if empty
	// Other are subdirectories of the pod that are no container, with
	// processes (they count like processes directly in the pod).
	Other []Cgroup
}

// Container describes one container of a Pod.
type Container struct {
	Current uint64
	Max     uint64 // 0: "max"
	Adj     []int  // oom_score_adj of each process
	Helper  bool   // CRI-O conmon instead of a container
	// Nested are cgroups below the container's own (systemd or Docker
	// inside the container, a kind node), with their processes.
	Nested []Cgroup
}

// Cgroup is a cgroup nested below a container or a pod.
type Cgroup struct {
	// Path is below the container or pod, e.g. "init.scope" or
	// "system.slice/docker-1.scope"; every directory on the way is made a
	// cgroup too, with no process of its own.
	Path string
	Adj  []int // oom_score_adj of each process
}

// Calm is a memory.pressure with no stall.
const Calm = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"

// ZeroEvents is a memory.events with every counter at zero.
const ZeroEvents = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"

// firstPID is above the largest pid_max Linux allows (2^22), so no fake
// process is ever a real one: a kill path that a test drives to a fake
// tree can open no pidfd and signal nothing.
const firstPID = 1<<22 + 1000

// New builds a tree with kubepods and both QoS parents, and a /proc with
// 16 GiB of memory, half of it available.
func New(tb testing.TB, d cgroupv2.Driver) *Tree {
	tb.Helper()
	root := tempDir(tb)
	t := &Tree{Mount: filepath.Join(root, "cgroup"), Proc: filepath.Join(root, "proc"), Driver: d, tb: tb, nextPID: firstPID}
	t.write("/", "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
	t.Kubepods = "/kubepods.slice"
	if d == cgroupv2.DriverCgroupfs {
		t.Kubepods = "/kubepods"
	}
	t.group(t.Kubepods, 8<<30, 0, 10<<30)
	t.write(t.Kubepods, "memory.events.local", ZeroEvents)
	for _, q := range []cgroupv2.QoS{cgroupv2.BestEffort, cgroupv2.Burstable} {
		t.group(t.qosDir(q), 0, 0, 0)
	}
	t.WriteProc("meminfo", "MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:    8388608 kB\n")
	t.WriteProc("pressure/memory", Calm)
	t.WriteProc("sys/kernel/osrelease", "6.1.0-test\n")
	return t
}

// Layout is the layout cgroupv2.DetectLayout should find.
func (t *Tree) Layout() cgroupv2.Layout {
	return cgroupv2.Layout{Mount: t.Mount, Kubepods: t.Kubepods, Driver: t.Driver}
}

func (t *Tree) qosDir(q cgroupv2.QoS) string {
	name := strings.ToLower(q.String())
	switch {
	case q == cgroupv2.Guaranteed:
		return t.Kubepods
	case t.Driver == cgroupv2.DriverSystemd:
		return path.Join(t.Kubepods, "kubepods-"+name+".slice")
	}
	return path.Join(t.Kubepods, name)
}

// PodPath is where the kubelet puts a pod of class q.
func (t *Tree) PodPath(uid string, q cgroupv2.QoS) string {
	if t.Driver == cgroupv2.DriverCgroupfs {
		return path.Join(t.qosDir(q), "pod"+uid)
	}
	prefix := "kubepods-"
	if q != cgroupv2.Guaranteed {
		prefix += strings.ToLower(q.String()) + "-"
	}
	return path.Join(t.qosDir(q), prefix+"pod"+strings.ReplaceAll(uid, "-", "_")+".slice")
}

// AddPod creates a pod, its sandbox and its containers with their processes
// and returns the pod's path relative to the mount.
func (t *Tree) AddPod(p Pod) string {
	t.tb.Helper()
	rel := t.PodPath(p.UID, p.QoS)
	t.group(rel, p.Current, p.InactiveFile, p.Max)
	t.write(rel, "memory.min", fmt.Sprint(p.Min))
	if p.Pressure != "" {
		t.write(rel, "memory.pressure", p.Pressure)
	}
	if p.Events != "" {
		t.write(rel, "memory.events", p.Events)
	}
	t.write(rel, "memory.stat", fmt.Sprintf("anon %d\nfile %d\nactive_file 0\ninactive_file %d\nshmem 0\n", p.Anon, p.InactiveFile, p.InactiveFile))
	containers := p.Containers
	if !p.NoSandbox {
		containers = append([]Container{{Current: 1 << 20, Adj: []int{cgroupv2.SandboxOOMScoreAdj}}}, containers...)
	}
	for i, c := range containers {
		id := fmt.Sprintf("%064x", uint64(len(p.UID))<<32+uint64(i)+uint64(t.nextPID))
		crel := path.Join(rel, t.containerDir(p.Runtime, id, c.Helper))
		t.group(crel, c.Current, 0, c.Max)
		t.procs(crel, c.Adj)
		t.nested(crel, c.Nested)
	}
	t.nested(rel, p.Other)
	return rel
}

// nested creates cgroups below the cgroup rel, with their processes.
func (t *Tree) nested(rel string, cgs []Cgroup) {
	for _, cg := range cgs {
		dir := rel
		for _, name := range strings.Split(path.Clean(cg.Path), "/") {
			dir = path.Join(dir, name)
			if _, err := os.Stat(filepath.Join(t.Mount, dir)); err != nil {
				t.group(dir, 0, 0, 0)
			}
		}
		t.procs(dir, cg.Adj)
	}
}

// procs starts a process for each oom_score_adj and puts them in the
// cgroup rel.
func (t *Tree) procs(rel string, adjs []int) {
	var lines []string
	for _, adj := range adjs {
		t.nextPID++
		t.WriteProc(fmt.Sprintf("%d/oom_score_adj", t.nextPID), fmt.Sprintf("%d\n", adj))
		// 1,024 resident pages: what a spared (-1000) process holds.
		t.WriteProc(fmt.Sprintf("%d/statm", t.nextPID), "4096 1024 512 1 0 2048 0\n")
		lines = append(lines, fmt.Sprint(t.nextPID))
	}
	t.write(rel, "cgroup.procs", strings.Join(lines, "\n")+"\n")
}

func (t *Tree) containerDir(rt cgroupv2.Runtime, id string, helper bool) string {
	if helper {
		return "crio-conmon-" + id + ".scope"
	}
	switch {
	case t.Driver == cgroupv2.DriverCgroupfs:
		return id
	case rt == cgroupv2.CRIO:
		return "crio-" + id + ".scope"
	case rt == cgroupv2.Docker:
		return "docker-" + id + ".scope"
	}
	return "cri-containerd-" + id + ".scope"
}

// group creates a cgroup directory with the interface files kube-oomd reads.
func (t *Tree) group(rel string, current, inactiveFile, max uint64) {
	limit := "max"
	if max > 0 {
		limit = fmt.Sprint(max)
	}
	files := map[string]string{
		"memory.current":  fmt.Sprint(current),
		"memory.max":      limit,
		"memory.min":      "0",
		"memory.high":     "max",
		"memory.stat":     fmt.Sprintf("anon %d\nfile %d\nactive_file 0\ninactive_file %d\nshmem 0\n", current-min(current, inactiveFile), inactiveFile, inactiveFile),
		"memory.events":   ZeroEvents,
		"memory.pressure": Calm,
		"cgroup.events":   "populated 1\nfrozen 0\n",
		"cgroup.procs":    "",
	}
	for name, text := range files {
		t.write(rel, name, text)
	}
}

// Write sets a file of a cgroup (rel is relative to the mount).
func (t *Tree) Write(rel, name, text string) { t.tb.Helper(); t.write(rel, name, text) }

func (t *Tree) write(rel, name, text string) {
	p := filepath.Join(t.Mount, rel, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.tb.Fatal(err)
	}
}

// WriteProc sets a file of the fake /proc.
func (t *Tree) WriteProc(name, text string) {
	t.tb.Helper()
	p := filepath.Join(t.Proc, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.tb.Fatal(err)
	}
}

// SetFeatures makes the kubepods cgroup look like one of a kernel with
// features f, for cgroupv2.ProbeFeatures: it creates or removes
// cgroup.kill, cgroup.freeze, memory.reclaim and memory.events.local, and
// writes f.Kernel (if set) as the kernel release. PageSize always comes
// from the OS, and a fake tree takes no PSI trigger, so ProbeFeatures
// leaves PSITriggerUnprivileged false. New's tree has only
// memory.events.local.
func (t *Tree) SetFeatures(f cgroupv2.Features) {
	t.tb.Helper()
	for name, has := range map[string]bool{
		"cgroup.kill":         f.CgroupKill,
		"cgroup.freeze":       f.CgroupFreeze,
		"memory.reclaim":      f.MemoryReclaim,
		"memory.events.local": f.EventsLocal,
	} {
		p := filepath.Join(t.Mount, t.Kubepods, name)
		if !has {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.tb.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(p); err == nil {
			continue
		}
		text := ""
		switch name {
		case "cgroup.freeze":
			text = "0\n"
		case "memory.events.local":
			text = ZeroEvents
		}
		t.write(t.Kubepods, name, text)
	}
	if f.Kernel != "" {
		t.WriteProc("sys/kernel/osrelease", f.Kernel+"\n")
	}
}

// Remove deletes a cgroup and everything below it, as the kubelet does when
// a pod goes away.
func (t *Tree) Remove(rel string) {
	t.tb.Helper()
	if err := os.RemoveAll(filepath.Join(t.Mount, rel)); err != nil {
		t.tb.Fatal(err)
	}
}

// tempDir is a temporary directory on tmpfs where there is one, like the
// real cgroupfs in memory and much faster than a disk for trees of
// thousands of files; else the test's usual temporary directory.
func tempDir(tb testing.TB) string {
	dir, err := os.MkdirTemp("/dev/shm", "cgrouptest-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Node is a fake node as most daemon and command tests want it: a
// BestEffort pod (300 MiB), a Burstable one (500 MiB, limit 2 GiB), a
// Guaranteed one (900 MiB, the largest killable, limit 1 GiB) and a
// node-critical pod (-997) in the BestEffort slice, on a kernel with
// cgroup.kill.
func Node(tb testing.TB, d cgroupv2.Driver) *Tree {
	tb.Helper()
	const mib = 1 << 20
	t := New(tb, d)
	t.AddPod(Pod{UID: "be", QoS: cgroupv2.BestEffort, Current: 300 * mib,
		Containers: []Container{{Current: 299 * mib, Adj: []int{1000}}}})
	// Request 2 % of 16 GiB (328 MiB): 172 MiB over it, less than the
	// BestEffort pod's 300, so the kubelet's order puts be first.
	t.AddPod(Pod{UID: "bu", QoS: cgroupv2.Burstable, Current: 500 * mib, Max: 2048 * mib,
		Containers: []Container{{Current: 499 * mib, Adj: []int{980}}}})
	t.AddPod(Pod{UID: "gu", QoS: cgroupv2.Guaranteed, Current: 900 * mib, Max: 1024 * mib,
		Containers: []Container{{Current: 899 * mib, Adj: []int{-997}}}})
	t.AddPod(Pod{UID: "crit", QoS: cgroupv2.BestEffort, Current: 4096 * mib,
		Containers: []Container{{Current: 4095 * mib, Adj: []int{-997}}}})
	t.Write(t.Kubepods, "cgroup.kill", "") // Linux 5.14+
	return t
}
