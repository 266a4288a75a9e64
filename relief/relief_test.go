package relief

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	if err := Verify(dir, 300<<20, 4096); err != nil {
		t.Errorf("Verify after set: %v", err)
	}
	if err := Verify(dir, 200<<20, 4096); !errors.Is(err, ErrNotInForce) {
		t.Errorf("Verify of another value: %v, want ErrNotInForce", err)
	}
	if err := Verify(dir, 300<<20, 0); err == nil || errors.Is(err, ErrNotInForce) {
		t.Errorf("Verify with page size 0: %v, want a usage error", err)
	}
	s.SetHigh(context.Background(), "/kubepods/besteffort/pod1", cgroupv2.Unlimited)
	if b, _ := os.ReadFile(filepath.Join(dir, "memory.high")); string(b) != "max" {
		t.Errorf("Unlimited wrote %q, want max", b)
	}
	err := Verify(dir, 300<<20, 4096)
	if !errors.Is(err, ErrNotInForce) || !strings.Contains(err.Error(), "reads max, not 314572800") {
		t.Errorf("Verify of max: %v, want ErrNotInForce saying max", err)
	}
	if err := s.SetHigh(context.Background(), "/kubepods/besteffort/gone", 1); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("vanished pod: %v, want ErrGone", err)
	}
	if _, err := os.Stat(filepath.Join(mount, "kubepods/besteffort/gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SetHigh on a vanished pod created something: %v", err)
	}
}

// The kernel keeps memory.high in pages: what reads back is the value
// rounded down to the kernel's page size, which is not 4 KiB everywhere.
func TestVerifyPageSize(t *testing.T) {
	dir := t.TempDir()
	const asked = 300<<20 + 5000 // not a multiple of any page size
	for _, tc := range []struct {
		page  uint64
		reads uint64 // what the kernel would keep
	}{
		{4096, 300<<20 + 4096},
		{16384, 300 << 20},
		{65536, 300 << 20},
	} {
		os.WriteFile(filepath.Join(dir, "memory.high"), []byte(strconv.FormatUint(tc.reads, 10)+"\n"), 0o644)
		if err := Verify(dir, asked, tc.page); err != nil {
			t.Errorf("%d-byte pages, reads %d: %v", tc.page, tc.reads, err)
		}
		if tc.page != 4096 {
			if err := Verify(dir, asked, 4096); !errors.Is(err, ErrNotInForce) {
				t.Errorf("%d-byte pages checked as 4096: %v, want ErrNotInForce", tc.page, err)
			}
		}
	}
}

// A write that fails for another reason than a vanished cgroup is a real
// error, not ErrGone: the pod is still there and still unthrottled.
func TestFileSetterRealError(t *testing.T) {
	mount := t.TempDir()
	dir := filepath.Join(mount, "pod1")
	os.MkdirAll(filepath.Join(dir, "memory.high"), 0o755) // EISDIR on open for writing
	err := FileSetter{Mount: mount}.SetHigh(context.Background(), "/pod1", 1<<30)
	if err == nil || errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("SetHigh = %v, want EISDIR, not ErrGone", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, "memory.high")) {
		t.Errorf("error %q does not name the file", err)
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

func TestReclaimGoneAndRealErrors(t *testing.T) {
	more := func() bool { return true }
	gone := filepath.Join(t.TempDir(), "pod-gone")
	if _, err := Reclaim(context.Background(), gone, 1<<20, 4<<20, more); !errors.Is(err, cgroupv2.ErrGone) || errors.Is(err, ErrNoReclaim) {
		t.Errorf("vanished cgroup: %v, want ErrGone", err)
	}

	// memory.reclaim cannot be opened (EISDIR here; EACCES, EMFILE in
	// life): neither gone nor a kernel without reclaim.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("1000\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "memory.reclaim"), 0o755)
	_, err := Reclaim(context.Background(), dir, 1<<20, 4<<20, more)
	if !errors.Is(err, syscall.EISDIR) || errors.Is(err, cgroupv2.ErrGone) || errors.Is(err, ErrNoReclaim) {
		t.Errorf("unopenable memory.reclaim: %v, want EISDIR only", err)
	}
}

// A kill that falls due ends the relief job's context: a reclaim not yet
// begun writes nothing, says it was interrupted, and is no error.
func TestReclaimInterrupted(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("1000\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memory.reclaim"), nil, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Reclaim(ctx, dir, 1<<20, 4<<20, func() bool { return true })
	if err != nil || !r.Interrupted || r.Chunks != 0 {
		t.Errorf("Reclaim after the context ended = %+v, %v; want interrupted, no chunk, no error", r, err)
	}
}

// GiveBackDirect writes each earlier run's throttle back to memory.high,
// checked as Restore checks it. On the cgroupfs driver an entry given back
// or gone leaves the store; one that is not a pod cgroup of the layout (a
// guess, before the config) stays for Restore, and is not written.
func TestGiveBackDirect(t *testing.T) {
	mount := t.TempDir()
	layout := cgroupv2.Layout{Mount: mount, Kubepods: "/kubepods", Driver: cgroupv2.DriverCgroupfs}
	pod, other := "/kubepods/besteffort/pod1", "/elsewhere/pod2"
	for _, p := range []string{pod, other} {
		os.MkdirAll(filepath.Join(mount, p), 0o755)
		os.WriteFile(filepath.Join(mount, p, "memory.high"), []byte("104857600\n"), 0o644)
	}
	id, err := cgroupv2.ID(filepath.Join(mount, pod))
	if err != nil {
		t.Fatal(err)
	}
	s := Store{Path: filepath.Join(t.TempDir(), "throttles.json")}
	s.Save([]Throttle{
		{Cgroup: pod, ID: id, UID: "1", Original: cgroupv2.Unlimited, Set: 100 << 20},
		{Cgroup: other, UID: "2", Original: cgroupv2.Unlimited, Set: 100 << 20},
		{Cgroup: "/kubepods/besteffort/pod3", UID: "3", Original: cgroupv2.Unlimited, Set: 100 << 20},
	})
	res, err := GiveBackDirect(context.Background(), layout, s)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []StepKind{}
	for _, r := range res {
		kinds = append(kinds, r.Kind)
	}
	if len(res) != 3 || res[0].Kind != StepLift || res[0].Err != nil || res[0].Why != LiftEarlierRun || res[1].Kind != StepIgnore || res[2].Kind != StepForget {
		t.Errorf("results %v (%+v); want lift, ignore, forget", kinds, res)
	}
	if b, _ := os.ReadFile(filepath.Join(mount, pod, "memory.high")); strings.TrimSpace(string(b)) != "max" {
		t.Errorf("memory.high of the pod = %q, want max", b)
	}
	if b, _ := os.ReadFile(filepath.Join(mount, other, "memory.high")); strings.TrimSpace(string(b)) != "104857600" {
		t.Errorf("memory.high of a cgroup not a pod's = %q: written", b)
	}
	if ts, err := s.Load(); err != nil || len(ts) != 1 || ts[0].Cgroup != other {
		t.Errorf("store after = %+v, %v; want only the entry not checked against the config's layout", ts, err)
	}
}
