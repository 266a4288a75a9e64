package cgroupv2_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/psi"
)

func TestProbeFeatures(t *testing.T) {
	page := uint64(os.Getpagesize())
	for _, want := range []cgroupv2.Features{
		{Kernel: "6.1.0-test", PageSize: page, EventsLocal: true}, // what New makes
		{Kernel: "5.10.0-28-amd64", PageSize: page, CgroupFreeze: true, EventsLocal: true},
		{Kernel: "6.8.0-64k", PageSize: page, CgroupKill: true, CgroupFreeze: true, MemoryReclaim: true, EventsLocal: true},
		{Kernel: "4.19.0", PageSize: page},
	} {
		t.Run(want.Kernel, func(t *testing.T) {
			tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
			tree.SetFeatures(want)
			pressure, _ := os.ReadFile(filepath.Join(tree.Mount, tree.Kubepods, "memory.pressure"))
			got, err := cgroupv2.ProbeFeatures(tree.Layout(), tree.Proc)
			if err != nil || got != want {
				t.Errorf("ProbeFeatures = %+v, %v; want %+v", got, err, want)
			}
			// The fake memory.pressure is a plain file: no trigger written.
			if after, _ := os.ReadFile(filepath.Join(tree.Mount, tree.Kubepods, "memory.pressure")); !bytes.Equal(after, pressure) {
				t.Errorf("memory.pressure changed to %q", after)
			}
		})
	}
}

func TestProbeFeaturesPSITriggerWindow(t *testing.T) {
	for _, tc := range []struct {
		answer       error
		unprivileged bool
		fails        bool
	}{
		{nil, false, false},
		{fmt.Errorf("psi trigger: write: %w", unix.EINVAL), true, false},
		{fmt.Errorf("x: %w", psi.ErrNotKernelFile), false, false},
		{fmt.Errorf("psi: %w (%w)", unix.EOPNOTSUPP, psi.ErrDisabled), false, true},
		{fmt.Errorf("open: %w", unix.EACCES), false, true},
	} {
		tree := cgrouptest.New(t, cgroupv2.DriverCgroupfs)
		var tried string
		restore := cgroupv2.SetTryTrigger(func(path string) error { tried = path; return tc.answer })
		f, err := cgroupv2.ProbeFeatures(tree.Layout(), tree.Proc)
		restore()
		if want := filepath.Join(tree.Mount, tree.Kubepods, "memory.pressure"); tried != want {
			t.Errorf("trigger tried on %q, want %q", tried, want)
		}
		if f.PSITriggerUnprivileged != tc.unprivileged || (err != nil) != tc.fails {
			t.Errorf("kernel answers %v: PSITriggerUnprivileged = %v, err = %v; want %v, error %v", tc.answer, f.PSITriggerUnprivileged, err, tc.unprivileged, tc.fails)
		}
		if tc.fails && (!errors.Is(err, tc.answer) || f.Kernel != "6.1.0-test") {
			t.Errorf("err = %v, Features = %+v: want the kernel's answer and what was found before it", err, f)
		}
	}
}

func TestProbeFeaturesNoKubepods(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.Remove(tree.Kubepods)
	f, err := cgroupv2.ProbeFeatures(tree.Layout(), tree.Proc)
	if !errors.Is(err, cgroupv2.ErrNoKubepods) || !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("err = %v, want ErrNoKubepods and ErrGone", err)
	}
	if f.Kernel != "6.1.0-test" || f.PageSize == 0 {
		t.Errorf("Features = %+v: kernel and page size do not depend on kubepods", f)
	}
}

func TestFeaturesLogValue(t *testing.T) {
	var b bytes.Buffer
	f := cgroupv2.Features{Kernel: "6.1.0", PageSize: 16384, CgroupKill: true, MemoryReclaim: true, PSITriggerUnprivileged: true}
	slog.New(slog.NewJSONHandler(&b, nil)).Info("features", "features", f)
	var rec struct{ Features map[string]any }
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("%s: %v", b.String(), err)
	}
	want := map[string]any{"kernel": "6.1.0", "page_size": 16384.0, "cgroup_kill": true, "cgroup_freeze": false,
		"memory_reclaim": true, "memory_events_local": false, "psi_trigger_window_2s": true}
	if fmt.Sprint(rec.Features) != fmt.Sprint(want) {
		t.Errorf("logged %v, want %v", rec.Features, want)
	}
}

func TestRoundLimit(t *testing.T) {
	for _, tc := range []struct{ v, page, want uint64 }{
		{300 << 20, 4096, 300 << 20},
		{300<<20 + 4095, 4096, 300 << 20},
		{300<<20 + 4095, 65536, 300 << 20},
		{100<<20 + 70000, 65536, 100<<20 + 65536},
		{4095, 4096, 0},
		{cgroupv2.Unlimited, 4096, cgroupv2.Unlimited},
		{cgroupv2.Unlimited - 1, 4096, cgroupv2.Unlimited}, // clamped to PAGE_COUNTER_MAX
		{1 << 63, 4096, cgroupv2.Unlimited},
		{(math.MaxInt64/4096 - 1) * 4096, 4096, (math.MaxInt64/4096 - 1) * 4096}, // the largest limit short of max
		{math.MaxInt64 / 4096 * 4096, 4096, cgroupv2.Unlimited},
		{12345, 0, 12345},
	} {
		if got := cgroupv2.RoundLimit(tc.v, tc.page); got != tc.want {
			t.Errorf("RoundLimit(%d, %d) = %d, want %d", tc.v, tc.page, got, tc.want)
		}
	}
}

// On the running kernel, where a cgroup2 mount is writable (root): what the
// probe says is what the directory holds, and the PSI answer is the
// kernel's own. Skipped elsewhere.
func TestKernelProbeFeatures(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a cgroup")
	}
	mnt := cgroup2Mount(t)
	name := fmt.Sprintf("/features-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := os.Mkdir(filepath.Join(mnt, name), 0o755); err != nil {
		t.Skipf("cannot create a cgroup: %v", err)
	}
	t.Cleanup(func() { unix.Rmdir(filepath.Join(mnt, name)) })
	l := cgroupv2.Layout{Mount: mnt, Kubepods: name, Driver: cgroupv2.DriverCgroupfs}
	f, err := cgroupv2.ProbeFeatures(l, "/proc")
	t.Logf("%+v", f)
	if err != nil {
		t.Fatal(err)
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	if f.Kernel != unix.ByteSliceToString(uts.Release[:]) || f.PageSize != uint64(os.Getpagesize()) {
		t.Errorf("Kernel/PageSize = %q/%d", f.Kernel, f.PageSize)
	}
	for file, has := range map[string]bool{"cgroup.kill": f.CgroupKill, "cgroup.freeze": f.CgroupFreeze, "memory.reclaim": f.MemoryReclaim, "memory.events.local": f.EventsLocal} {
		_, err := os.Stat(filepath.Join(mnt, name, file))
		if has != (err == nil) {
			t.Errorf("%s: probed %v, stat says %v", file, has, err)
		}
	}
	err = psi.TryTrigger(filepath.Join(mnt, name, "memory.pressure"), psi.TriggerSpec{Kind: psi.Some, Stall: 100 * time.Millisecond, Window: time.Second})
	if f.PSITriggerUnprivileged != errors.Is(err, unix.EINVAL) {
		t.Errorf("PSITriggerUnprivileged = %v, but a 1s trigger now gives %v", f.PSITriggerUnprivileged, err)
	}
}

// cgroup2Mount returns a cgroup2 mount point from /proc/self/mountinfo, or
// skips the test.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	defer mi.Close()
	sc := bufio.NewScanner(mi)
	for sc.Scan() {
		// 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && strings.HasPrefix(post, "cgroup2 ") && !strings.Contains(f[4], `\`) {
			return f[4]
		}
	}
	t.Skip("no cgroup2 mount")
	return ""
}

func TestReclaimRequest(t *testing.T) {
	for _, c := range []struct{ v, page, want uint64 }{
		{4 << 10, 4 << 10, 4 << 10},
		{4 << 10, 16 << 10, 16 << 10},
		{4 << 10, 64 << 10, 64 << 10},
		{100 << 10, 16 << 10, 112 << 10},
		{32 << 20, 64 << 10, 32 << 20},
		{5000, 0, 5000},
	} {
		if got := cgroupv2.ReclaimRequest(c.v, c.page); got != c.want {
			t.Errorf("ReclaimRequest(%d, %d) = %d, want %d", c.v, c.page, got, c.want)
		}
	}
}
