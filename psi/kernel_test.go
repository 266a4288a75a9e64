package psi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests use the running kernel. They need root and a writable cgroup2
// mount, and skip otherwise.
//
// What they showed on the development machine (Linux 6.18, cgroup v1 memory
// controller, a cgroup2 mount without controllers at /sys/fs/cgroup/unified,
// root without CAP_SYS_RESOURCE):
//   - "some 150000 1000000" fails with EINVAL; OpenTrigger retries with
//     "some 300000 2000000", which the kernel accepts.
//   - rmdir of the cgroup succeeds at once although a trigger file is open
//     (no EBUSY). The open file then polls as EPOLLPRI|EPOLLERR within
//     milliseconds, level-triggered for as long as it stays open, and reads
//     fail with ENODEV. The Watcher sends one Event{Gone: true}.
//   - Writing 0 to cgroup.pressure does the same to open triggers, hides the
//     pressure files (ENOENT) and fails trigger writes with ENODEV.

// requireRoot skips the test unless it runs as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
}

// cgroup2Mounts returns the mount points of cgroup2 file systems, from
// /proc/self/mountinfo, /sys/fs/cgroup/unified first.
func cgroup2Mounts(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("cannot read mountinfo: %v", err)
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
		before, after, ok := strings.Cut(sc.Text(), " - ")
		pre, post := strings.Fields(before), strings.Fields(after)
		if !ok || len(pre) < 5 || len(post) < 1 || post[0] != "cgroup2" {
			continue
		}
		mnt := unescapeMountinfo(pre[4])
		if mnt == "/sys/fs/cgroup/unified" {
			mounts = append([]string{mnt}, mounts...)
		} else {
			mounts = append(mounts, mnt)
		}
	}
	return mounts
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for space).
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// testCgroup creates a uniquely named child of a writable cgroup2 mount that
// has memory.pressure, removed again when the test ends. It skips the test
// when there is none.
func testCgroup(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	mounts := cgroup2Mounts(t)
	if len(mounts) == 0 {
		t.Skip("no cgroup2 mount")
	}
	var tried []string
	for _, mnt := range mounts {
		dir := filepath.Join(mnt, fmt.Sprintf("psi-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		t.Cleanup(func() {
			if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
				t.Errorf("cleanup: rmdir %s: %v", dir, err)
			}
		})
		if _, err := os.Stat(filepath.Join(dir, "memory.pressure")); err != nil {
			tried = append(tried, err.Error())
			continue
		}
		return dir
	}
	t.Skipf("no writable cgroup2 with memory.pressure: %s", strings.Join(tried, "; "))
	return ""
}

// hasSysResource reports whether CAP_SYS_RESOURCE is in the effective set,
// for the log only: in a user namespace the kernel may still say no.
func hasSysResource() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	return false
}

func TestKernelCgroupTriggerGoneOnRmdir(t *testing.T) {
	dir := testCgroup(t)
	path := filepath.Join(dir, "memory.pressure")

	req := TriggerSpec{Some, 150 * time.Millisecond, time.Second}
	tr, err := OpenTrigger(path, req)
	if err != nil {
		t.Fatalf("OpenTrigger: %v", err)
	}
	t.Logf("CAP_SYS_RESOURCE effective: %v; requested %q, in force %q", hasSysResource(), tr.Requested, tr.Spec)
	switch {
	case tr.Requested != req:
		t.Errorf("Requested = %v, want %v", tr.Requested, req)
	case tr.Spec == req && !tr.Adjusted():
		// The kernel took the 1s window: we have the capability.
	case tr.Spec == (TriggerSpec{Some, 300 * time.Millisecond, 2 * time.Second}) && tr.Adjusted():
		// EINVAL, then the 2s window.
	default:
		t.Errorf("trigger in force %v (Adjusted %v), want %v or the 2s adjustment", tr.Spec, tr.Adjusted(), req)
	}

	w := newWatcher(t)
	if err := w.Add("child", tr); err != nil {
		t.Fatalf("Add: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan Event, 10)
	done := startRun(t, w, ctx, events)

	// rmdir does not wait for the open trigger file.
	removed := time.Now()
	if err := unix.Rmdir(dir); err != nil {
		t.Fatalf("rmdir %s with a trigger open: %v", dir, err)
	}
	t.Logf("rmdir with the trigger open took %v", time.Since(removed))
	select {
	case e := <-events:
		if e.Key != "child" || !e.Gone {
			t.Errorf("event = %+v, want Gone for child", e)
		}
		t.Logf("Gone arrived %v after rmdir started", e.Time.Sub(removed))
	case <-time.After(guard):
		t.Fatalf("no event within %v of rmdir", guard)
	}
	select {
	case e := <-events:
		t.Errorf("second event %+v after Gone", e)
	case <-time.After(500 * time.Millisecond):
	}

	cancel()
	if err := waitErr(t, done, guard); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// TryTrigger reports the kernel's own answer: a 1 s window needs
// CAP_SYS_RESOURCE, a 2 s one does not.
func TestKernelTryTrigger(t *testing.T) {
	path := filepath.Join(testCgroup(t), "memory.pressure")
	err := TryTrigger(path, TriggerSpec{Some, 100 * time.Millisecond, time.Second})
	t.Logf("CAP_SYS_RESOURCE effective: %v; 1s window: %v", hasSysResource(), err)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		t.Errorf("1s window: %v, want nil or EINVAL", err)
	}
	if hasSysResource() && errors.Is(err, unix.EINVAL) {
		t.Log("EINVAL despite CAP_SYS_RESOURCE in the effective set (a user namespace?)")
	}
	if err := TryTrigger(path, TriggerSpec{Some, 200 * time.Millisecond, 2 * time.Second}); err != nil {
		t.Errorf("2s window: %v, want nil", err)
	}
}

func TestKernelPressureSwitchedOffIsGone(t *testing.T) {
	dir := testCgroup(t)
	knob := filepath.Join(dir, "cgroup.pressure")
	if _, err := os.Stat(knob); err != nil {
		t.Skipf("no cgroup.pressure (Linux 6.3+): %v", err)
	}
	tr, err := OpenTrigger(filepath.Join(dir, "memory.pressure"), TriggerSpec{Full, 300 * time.Millisecond, 2 * time.Second})
	if err != nil {
		t.Fatalf("OpenTrigger: %v", err)
	}
	w := newWatcher(t)
	if err := w.Add("child", tr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan Event, 10)
	startRun(t, w, ctx, events)

	if err := os.WriteFile(knob, []byte("0"), 0); err != nil {
		t.Fatalf("switch PSI off: %v", err)
	}
	select {
	case e := <-events:
		if !e.Gone {
			t.Errorf("event = %+v, want Gone", e)
		}
	case <-time.After(guard):
		t.Fatalf("no event within %v of writing 0 to cgroup.pressure", guard)
	}
}

func TestKernelProcTrigger(t *testing.T) {
	const path = "/proc/pressure/memory"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	// A 2s window needs no adjustment from anyone. /proc/pressure files
	// overwrite the last byte written with a terminator; if OpenTrigger did
	// not supply one, the kernel would read a 200000µs window and, without
	// CAP_SYS_RESOURCE, fail with EINVAL.
	spec := TriggerSpec{Some, 150 * time.Millisecond, 2 * time.Second}
	tr, err := OpenTrigger(path, spec)
	if err != nil {
		t.Fatalf("OpenTrigger(%s, %v): %v", path, spec, err)
	}
	defer tr.Close()
	if tr.Adjusted() {
		t.Errorf("a 2s window was adjusted to %v", tr.Spec)
	}
	// One trigger per open file: the kernel refuses a second.
	if err := install(tr.fd, spec); !errors.Is(err, unix.EBUSY) {
		t.Errorf("second trigger on the same file = %v, want EBUSY", err)
	}
}

func TestKernelTriggerFires(t *testing.T) {
	if testing.Short() {
		t.Skip("burns CPU for a few seconds")
	}
	// Memory pressure cannot be made to order here, but CPU pressure can,
	// and trigger files work the same for every resource.
	const path = "/proc/pressure/cpu"
	tr, err := OpenTrigger(path, TriggerSpec{Some, time.Millisecond, 2 * time.Second})
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no %s", path)
	}
	if err != nil {
		t.Fatalf("OpenTrigger: %v", err)
	}
	w := newWatcher(t)
	if err := w.Add("cpu", tr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan Event, 1)
	startRun(t, w, ctx, events)

	// More busy processes than CPUs: some task always waits for one.
	for range runtime.NumCPU() + 1 {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start busy loop: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	select {
	case e := <-events:
		if e.Key != "cpu" || e.Gone {
			t.Errorf("event = %+v, want a pressure event", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no pressure event within 10s of saturating the CPUs")
	}
}
