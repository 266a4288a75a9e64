package cgroupv2

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/psi"
)

// Features is what the running kernel offers kube-oomd. ProbeFeatures
// finds it once, at start; it is then passed around as a value, so that
// every package asks the same question once and gets the same answer, and
// tests can hand any kernel to the code they test.
//
// The zero Features means "not probed".
type Features struct {
	// Kernel is the kernel release (procRoot/sys/kernel/osrelease), or
	// "unknown".
	Kernel string
	// PageSize is the kernel's page size in bytes: 4 KiB on x86, 4, 16 or
	// 64 KiB on arm64. The kernel rounds a memory limit written to
	// memory.high or memory.max down to it (see RoundLimit).
	PageSize uint64
	// CgroupKill: cgroup.kill (5.14+) kills every process of a cgroup in
	// one write. Without it, the killer freezes and signals each process.
	CgroupKill bool
	// CgroupFreeze: cgroup.freeze (5.2+), the killer's fallback. Without
	// it (probed), CanFreeze and Freeze fail with ErrNoFreezer naming the
	// cgroup, before anything is recorded or written.
	CgroupFreeze bool
	// MemoryReclaim: memory.reclaim (5.19+), proactive reclaim.
	MemoryReclaim bool
	// EventsLocal: memory.events.local (5.2+), a cgroup's own limit hits,
	// without its children's. Without it the daemon counts no throttle
	// hits (the hierarchical memory.events would count the containers'
	// MemoryQoS hits as the throttle's), so no throttled pod is found
	// leaking under it.
	EventsLocal bool
	// PSITriggerUnprivileged: the kernel refused a PSI trigger with a 1 s
	// window (EINVAL) because this process lacks CAP_SYS_RESOURCE; trigger
	// windows must be multiples of 2 s. psi.OpenTrigger adjusts for it.
	PSITriggerUnprivileged bool
}

// LogValue logs Features as a group with the keys kernel, page_size,
// cgroup_kill, cgroup_freeze, memory_reclaim, memory_events_local and
// psi_trigger_window_2s (true: PSITriggerUnprivileged).
func (f Features) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kernel", f.Kernel),
		slog.Uint64("page_size", f.PageSize),
		slog.Bool("cgroup_kill", f.CgroupKill),
		slog.Bool("cgroup_freeze", f.CgroupFreeze),
		slog.Bool("memory_reclaim", f.MemoryReclaim),
		slog.Bool("memory_events_local", f.EventsLocal),
		slog.Bool("psi_trigger_window_2s", f.PSITriggerUnprivileged),
	)
}

// ProbeFeatures probes the kernel once: the kernel release from procRoot,
// the page size from the OS, which interface files the kubepods cgroup of l
// has (the kernel creates every file it supports in every non-root cgroup
// with the controller enabled), and whether a PSI trigger with a 1 s window
// is accepted on kubepods' memory.pressure (it is removed at once).
//
// A kubepods cgroup that is gone is ErrNoKubepods (and ErrGone). Any other
// error is returned with the Features found so far. On a tree that is not
// cgroup2 (a test's fake tree) no trigger is written and
// PSITriggerUnprivileged stays false.
func ProbeFeatures(l Layout, procRoot string) (Features, error) {
	f := Features{Kernel: procfs.KernelRelease(procRoot), PageSize: PageSize()}
	dir := l.Abs(l.Kubepods)
	fd, _, err := openDir(dir)
	if errors.Is(err, ErrGone) {
		return f, fmt.Errorf("%w: %w", ErrNoKubepods, err)
	}
	if err != nil {
		return f, err
	}
	defer unix.Close(fd)
	for _, file := range []struct {
		name string
		has  *bool
	}{
		{"cgroup.kill", &f.CgroupKill},
		{"cgroup.freeze", &f.CgroupFreeze},
		{"memory.reclaim", &f.MemoryReclaim},
		{"memory.events.local", &f.EventsLocal},
	} {
		var st unix.Stat_t
		switch err := unix.Fstatat(fd, file.name, &st, 0); {
		case err == nil:
			*file.has = true
		case err != unix.ENOENT:
			return f, Classify("stat", filepath.Join(dir, file.name), err)
		}
	}
	// A missing file means "not supported" only while the cgroup is still
	// there: cgroup.procs is in every cgroup (see Classify).
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "cgroup.procs", &st, 0); err != nil {
		err = Classify("stat", filepath.Join(dir, "cgroup.procs"), err)
		if errors.Is(err, ErrGone) {
			err = fmt.Errorf("%w: %w", ErrNoKubepods, err)
		}
		return f, err
	}

	switch err := tryTrigger(filepath.Join(dir, "memory.pressure")); {
	case err == nil:
	case errors.Is(err, unix.EINVAL):
		f.PSITriggerUnprivileged = true
	case errors.Is(err, psi.ErrNotKernelFile):
		// A fake tree: nothing to learn, and nothing written.
	default:
		return f, fmt.Errorf("probe PSI trigger windows: %w", err)
	}
	return f, nil
}

// tryTrigger installs and removes a trigger with a 1 s window, which the
// kernel takes only from a process with CAP_SYS_RESOURCE. Tests replace it
// to play the kernel's answers.
var tryTrigger = func(path string) error {
	return psi.TryTrigger(path, psi.TriggerSpec{Kind: psi.Some, Stall: 100 * time.Millisecond, Window: time.Second})
}
