package relief

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

func TestStoreRoundTrip(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "run", "throttles.json")}
	if ts, err := s.Load(); err != nil || ts != nil {
		t.Fatalf("empty store: %v, %v", ts, err)
	}
	want := []Throttle{{Cgroup: "/kubepods.slice/x", UID: "x", QoS: "BestEffort", Original: cgroupv2.Unlimited,
		Set: 100 << 20, Current: 100 << 20, Ceiling: 1 << 30, Since: time.Unix(1700000000, 0).UTC()}}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if err := s.Save(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no throttles should leave no file: %v", err)
	}
	os.WriteFile(s.Path, []byte("{"), 0o600)
	if _, err := s.Load(); err == nil {
		t.Error("a corrupt file loads without error")
	}
}

func TestFileSetterAndVerify(t *testing.T) {
	mount := t.TempDir()
	dir := filepath.Join(mount, "kubepods", "besteffort", "pod1")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "memory.high"), []byte("max\n"), 0o644)
	s := FileSetter{Mount: mount}
	if err := s.SetHigh(context.Background(), "/kubepods/besteffort/pod1", 300<<20); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, 300<<20); err != nil {
		t.Errorf("Verify after set: %v", err)
	}
	if err := Verify(dir, 200<<20); !errors.Is(err, ErrNotInForce) {
		t.Errorf("Verify of another value: %v, want ErrNotInForce", err)
	}
	s.SetHigh(context.Background(), "/kubepods/besteffort/pod1", cgroupv2.Unlimited)
	if b, _ := os.ReadFile(filepath.Join(dir, "memory.high")); string(b) != "max" {
		t.Errorf("Unlimited wrote %q, want max", b)
	}
	if err := s.SetHigh(context.Background(), "/kubepods/besteffort/gone", 1); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("vanished pod: %v, want ErrGone", err)
	}
}

func TestReclaimWithoutKernelSupport(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("1000\n"), 0o644)
	_, err := Reclaim(context.Background(), dir, 1<<20, 4<<20, func() bool { return true })
	if !errors.Is(err, ErrNoReclaim) {
		t.Errorf("no memory.reclaim file: %v, want ErrNoReclaim", err)
	}
}

func TestReclaimChunksUntilStopped(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("1000\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memory.reclaim"), nil, 0o644)
	calls := 0
	r, err := Reclaim(context.Background(), dir, 1<<20, 10<<20, func() bool { calls++; return calls < 3 })
	if err != nil {
		t.Fatal(err)
	}
	if r.Chunks != 3 || r.Asked != 3<<20 {
		t.Errorf("Reclaim = %+v, want 3 chunks of 1 MiB (stopped by more)", r)
	}
	r, _ = Reclaim(context.Background(), dir, 3<<20, 7<<20, func() bool { return true })
	if r.Chunks != 3 || r.Asked != 7<<20 {
		t.Errorf("Reclaim = %+v, want 3+3+1 MiB up to max", r)
	}
}
