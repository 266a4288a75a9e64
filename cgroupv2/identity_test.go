package cgroupv2_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Same, OpenSame and Changed are the one identity rule: the same
// directory, another at the same path, or none.
func TestSame(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pod.slice")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := cgroupv2.ID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if now, err := cgroupv2.Same(dir, id); err != nil || now != id || cgroupv2.Changed(dir, id) {
		t.Errorf("Same = %d, %v; Changed = %v: want the same cgroup", now, err, cgroupv2.Changed(dir, id))
	}
	fd, err := cgroupv2.OpenSame(dir, id)
	if err != nil {
		t.Fatalf("OpenSame: %v", err)
	}
	defer unix.Close(fd)
	if cgroupv2.GoneAt(fd) {
		t.Error("GoneAt: a live cgroup is gone")
	}

	if _, err := cgroupv2.Same(dir, id+1); !errors.Is(err, cgroupv2.ErrReplaced) || errors.Is(err, cgroupv2.ErrGone) || !strings.Contains(err.Error(), dir) {
		t.Errorf("another ID: %v, want ErrReplaced naming %s", err, dir)
	}
	if _, err := cgroupv2.OpenSame(dir, id+1); !errors.Is(err, cgroupv2.ErrReplaced) {
		t.Errorf("OpenSame, another ID: %v, want ErrReplaced", err)
	}
	if !cgroupv2.Changed(dir, id+1) {
		t.Error("Changed: another ID is no change")
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := cgroupv2.Same(dir, id); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("removed: %v, want ErrGone", err)
	}
	if _, err := cgroupv2.OpenSame(dir, id); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("OpenSame, removed: %v, want ErrGone", err)
	}
	if !cgroupv2.Changed(dir, id) || !cgroupv2.GoneAt(fd) {
		t.Errorf("removed: Changed = %v, GoneAt = %v; want both", cgroupv2.Changed(dir, id), cgroupv2.GoneAt(fd))
	}
}

// The write side's errnos: a kernel without the file is said so, naming
// the cgroup, never a bare ENOENT.
func TestWritesOnAKernelWithout(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	if _, err := cgroupv2.OpenReclaim(dir); !errors.Is(err, cgroupv2.ErrNoReclaim) || !strings.Contains(err.Error(), dir) {
		t.Errorf("OpenReclaim without memory.reclaim: %v, want ErrNoReclaim naming %s", err, dir)
	}
	if _, err := cgroupv2.OpenReclaim(filepath.Join(dir, "gone")); !errors.Is(err, cgroupv2.ErrGone) || errors.Is(err, cgroupv2.ErrNoReclaim) {
		t.Errorf("OpenReclaim of a cgroup that is gone: %v, want ErrGone", err)
	}

	// cgroup.kill: missing, or probed absent, calls for the freezer.
	if err := cgroupv2.Kill(fd, cgroupv2.Features{}); !errors.Is(err, cgroupv2.ErrNoCgroupKill) {
		t.Errorf("Kill without cgroup.kill: %v, want ErrNoCgroupKill", err)
	}
	if err := cgroupv2.Kill(fd, cgroupv2.Features{Kernel: "5.10", CgroupFreeze: true}); !errors.Is(err, cgroupv2.ErrNoCgroupKill) {
		t.Errorf("Kill, probed without: %v, want ErrNoCgroupKill", err)
	}

	// cgroup.freeze: probed absent fails before any write; missing on an
	// unprobed kernel is the same error.
	probed := cgroupv2.Features{Kernel: "5.1", PageSize: 4096}
	if err := cgroupv2.CanFreeze(dir, probed); !errors.Is(err, cgroupv2.ErrNoFreezer) || !strings.Contains(err.Error(), dir) {
		t.Errorf("CanFreeze, probed without: %v, want ErrNoFreezer naming %s", err, dir)
	}
	if err := cgroupv2.Freeze(fd, dir, cgroupv2.Features{}); !errors.Is(err, cgroupv2.ErrNoFreezer) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Freeze without cgroup.freeze: %v, want ErrNoFreezer naming %s", err, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cgroupv2.Freeze(fd, dir, cgroupv2.Features{CgroupFreeze: true, Kernel: "6.1"}); err != nil {
		t.Errorf("Freeze: %v", err)
	}
	if err := cgroupv2.Thaw(fd, dir); err != nil {
		t.Errorf("Thaw: %v", err)
	}

	// memory.max: written as the kernel reads it back; a write that fails
	// names the file.
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cgroupv2.SetMaxAt(fd, dir, cgroupv2.Unlimited); err != nil {
		t.Errorf("SetMaxAt: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "memory.max")); string(b) != "max" {
		t.Errorf("memory.max = %q, want max", b)
	}
	if err := cgroupv2.SetSwapMaxAt(fd, dir, 0); err == nil || errors.Is(err, cgroupv2.ErrGone) || !strings.Contains(err.Error(), "memory.swap.max") {
		t.Errorf("SetSwapMaxAt without the file: %v, want an error naming it", err)
	}
}
