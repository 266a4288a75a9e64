package relief

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/policy"
)

// failingSetter fails its first n calls, then writes the file.
type failingSetter struct {
	FileSetter
	n int
}

func (s *failingSetter) SetHigh(ctx context.Context, cgroup string, v uint64) error {
	if s.n > 0 {
		s.n--
		return errors.New("systemd: timeout")
	}
	return s.FileSetter.SetHigh(ctx, cgroup, v)
}

func ladderOn(t *testing.T, tree *cgrouptest.Tree, store Store, setter Setter) *Ladder {
	t.Helper()
	if setter == nil {
		setter = FileSetter{Mount: tree.Mount}
	}
	return NewLadder(LadderConfig{Layout: tree.Layout(), Setter: setter, Store: store, PageSize: 4096, Clock: clock.NewFake(time.Unix(1_700_000_000, 0))})
}

func podRead(t *testing.T, tree *cgrouptest.Tree, uid string, q cgroupv2.QoS) *cgroupv2.Pod {
	t.Helper()
	p, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(cgroupv2.PodRef{UID: uid, QoS: q, Path: tree.PodPath(uid, q)})
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

func high(t *testing.T, tree *cgrouptest.Tree, rel string) string {
	b, _ := os.ReadFile(filepath.Join(tree.Mount, rel, "memory.high"))
	return string(b)
}

// Issue 10 item 4: the throttle is recorded before memory.high is lowered;
// if the record cannot be written, nothing is throttled.
func TestLadderThrottlesOnlyWhatItRecorded(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	l := ladderOn(t, tree, Store{Path: filepath.Join(blocker, "throttles.json")}, nil) // a file where a directory must be
	be := podRead(t, tree, "be", cgroupv2.BestEffort)
	r := l.Throttle(context.Background(), policy.ThrottlePlan{Pod: be, Original: cgroupv2.Unlimited, Value: 200 << 20, Ceiling: 1 << 30})
	if r.Err == nil || high(t, tree, be.Path) != "max" || len(l.Throttles()) != 0 {
		t.Fatalf("unrecordable throttle: err %v, memory.high %q, throttles %v; want an error and nothing set", r.Err, high(t, tree, be.Path), l.Throttles())
	}
}

// Issue 10 item 4: a restore that fails stays in the file and is retried.
func TestLadderRestoreThatFailsIsKeptAndRetried(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	be := podRead(t, tree, "be", cgroupv2.BestEffort)
	tree.Write(be.Path, "memory.high", "209715200")
	store := Store{Path: filepath.Join(t.TempDir(), "throttles.json")}
	store.Save([]Throttle{{Cgroup: be.Path, ID: be.ID, UID: "be", Original: cgroupv2.Unlimited, Set: 200 << 20, Current: 200 << 20, Ceiling: 1 << 30}})
	l := ladderOn(t, tree, store, &failingSetter{FileSetter: FileSetter{Mount: tree.Mount}, n: 1})
	rs, err := l.Restore(context.Background())
	if err != nil || len(rs) != 1 || rs[0].Kind != StepLift || rs[0].Err == nil {
		t.Fatalf("Restore = %+v, %v; want one failed lift", rs, err)
	}
	if ts, _ := store.Load(); len(ts) != 1 || len(l.Throttles()) != 1 {
		t.Fatalf("after a failed restore: file %+v, in force %+v; want it kept", ts, l.Throttles())
	}
	// Release retries it: the throttle is in force and gets its steps.
	got := l.Release(context.Background(), []policy.ReleaseStep{{Path: be.Path, Next: 1 << 30, Done: true}})
	if len(got) != 1 || got[0].Err != nil || high(t, tree, be.Path) != "max" {
		t.Fatalf("release = %+v, memory.high %q; want max given back", got, high(t, tree, be.Path))
	}
	if _, err := os.Stat(store.Path); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
}

// Issue 10 item 6: the state file is not trusted. An entry that names a
// cgroup outside the pods, or a pod cgroup that is another one now, is
// ignored and reported; memory.high there is never written.
func TestLadderRestoreTrustsOnlyItsOwnPodThrottles(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	kubelet := "/system.slice/kubelet.service"
	tree.Write(kubelet, "memory.high", "104857600")
	be := podRead(t, tree, "be", cgroupv2.BestEffort)
	tree.Write(be.Path, "memory.high", "104857600")
	bu := podRead(t, tree, "bu", cgroupv2.Burstable)
	tree.Write(bu.Path, "memory.high", "104857600")
	store := Store{Path: filepath.Join(t.TempDir(), "throttles.json")}
	store.Save([]Throttle{
		{Cgroup: kubelet, UID: "x", Original: cgroupv2.Unlimited},
		{Cgroup: tree.Kubepods, UID: "y", Original: cgroupv2.Unlimited},
		{Cgroup: be.Path, ID: be.ID + 1, UID: "be", Original: cgroupv2.Unlimited}, // the path is another cgroup now
		{Cgroup: bu.Path, ID: bu.ID, UID: "bu", Original: cgroupv2.Unlimited},
	})
	l := ladderOn(t, tree, store, nil)
	rs, err := l.Restore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]StepKind{}
	for _, r := range rs {
		kinds[r.Throttle.UID] = r.Kind
		if r.Kind == StepIgnore && r.Err == nil {
			t.Errorf("ignored %s without saying why", r.Throttle.Cgroup)
		}
	}
	if kinds["x"] != StepIgnore || kinds["y"] != StepIgnore || kinds["be"] != StepIgnore || kinds["bu"] != StepLift {
		t.Errorf("restore steps = %v", kinds)
	}
	if high(t, tree, kubelet) != "104857600" || high(t, tree, be.Path) != "104857600" {
		t.Errorf("wrote memory.high of cgroups that were not ours: kubelet %q, be %q", high(t, tree, kubelet), high(t, tree, be.Path))
	}
	if high(t, tree, bu.Path) != "max" {
		t.Errorf("bu's throttle not given back: %q", high(t, tree, bu.Path))
	}
	if _, err := os.Stat(store.Path); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
}

// hangingSetter never answers, as PID 1 may not under memory pressure,
// until its context ends.
type hangingSetter struct{}

func (hangingSetter) SetHigh(ctx context.Context, _ string, _ uint64) error {
	<-ctx.Done()
	return ctx.Err()
}

// Issue 10 item 14: every setter call (a D-Bus call to systemd) has a
// deadline: a hanging PID 1 fails the step, it does not hang the worker.
func TestLadderSetterCallsHaveADeadline(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	l := NewLadder(LadderConfig{Layout: tree.Layout(), Setter: hangingSetter{}, PageSize: 4096,
		Store: Store{Path: filepath.Join(t.TempDir(), "throttles.json")}, CallTimeout: 50 * time.Millisecond})
	be := podRead(t, tree, "be", cgroupv2.BestEffort)
	done := make(chan Result, 1)
	go func() {
		done <- l.Throttle(context.Background(), policy.ThrottlePlan{Pod: be, Original: cgroupv2.Unlimited, Value: 200 << 20, Ceiling: 1 << 30})
	}()
	select {
	case r := <-done:
		if !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Errorf("throttle through a hanging setter: %v, want the deadline exceeded", r.Err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a hanging setter hung the ladder")
	}
}

// Issue 19 item 12: Contain throttles a shielded grower and marks it
// contained, in the state file too; a pod already throttled keeps its
// original and ceiling, and is lowered, never raised.
func TestLadderContains(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	store := Store{Path: filepath.Join(t.TempDir(), "throttles.json")}
	l := ladderOn(t, tree, store, nil)
	be := podRead(t, tree, "be", cgroupv2.BestEffort)
	ctx := context.Background()
	if r := l.Throttle(ctx, policy.ThrottlePlan{Pod: be, Original: cgroupv2.Unlimited, Value: 290 << 20, Ceiling: 1 << 30}); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := l.Contain(ctx, policy.ThrottlePlan{Pod: be, Original: 290 << 20, Value: 280 << 20, Ceiling: 2 << 30})
	if r.Err != nil || r.Kind != StepContain || !r.Throttle.Contained {
		t.Fatalf("Contain = %+v, want a contained throttle", r)
	}
	if got := high(t, tree, be.Path); got != "293601280" {
		t.Errorf("memory.high = %s, want 280 MiB", got)
	}
	ts, _ := store.Load()
	if len(ts) != 1 || !ts[0].Contained || ts[0].Original != cgroupv2.Unlimited || ts[0].Ceiling != 1<<30 || ts[0].Current != 280<<20 {
		t.Errorf("state = %+v, want contained at 280 MiB with the original throttle's original and ceiling", ts)
	}
	if r := l.Contain(ctx, policy.ThrottlePlan{Pod: be, Original: cgroupv2.Unlimited, Value: 300 << 20, Ceiling: 1 << 30}); r.Err != nil || high(t, tree, be.Path) != "293601280" {
		t.Errorf("Contain above the throttle raised it: %+v, memory.high %s", r, high(t, tree, be.Path))
	}
	bu := podRead(t, tree, "bu", cgroupv2.Burstable)
	r = l.Contain(ctx, policy.ThrottlePlan{Pod: bu, Original: cgroupv2.Unlimited, Value: 400 << 20, Ceiling: 2 << 30})
	if r.Err != nil || !r.Throttle.Contained || high(t, tree, bu.Path) != "419430400" || len(l.Throttles()) != 2 {
		t.Errorf("Contain of a pod not throttled: %+v, memory.high %s", r, high(t, tree, bu.Path))
	}
}
