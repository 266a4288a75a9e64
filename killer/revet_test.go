package killer

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// adjVet is a Target.Vet that reads the fake's oom_score_adj: every PID
// in protected is at -1000 and spared, as the daemon's vet re-reads the
// pod's processes each time it is called. calls counts the calls.
func adjVet(protected map[int]bool, calls *int) func() ([]int, error) {
	return func() ([]int, error) {
		*calls++
		var spare []int
		for pid := range protected {
			spare = append(spare, pid)
		}
		slices.Sort(spare)
		return spare, nil
	}
}

// fork adds a new real process to the cgroup sub of the tree, as a child
// of a process there that forked: it inherits the parent's -1000 when
// protected says so.
func (f *fakeCG) fork(t *testing.T, sub string, protected map[int]bool) *child {
	t.Helper()
	c := startChild(t)
	f.setProcs(t, sub, append(f.procsOf(sub), c.pid)...)
	f.children[c.pid] = c
	f.setProcCgroup(t, c.pid, filepath.Join(f.dir, sub))
	protected[c.pid] = true
	return c
}

// Issue 19 item 2: a spared (-1000) process forks once its container is
// lowered; the child inherits -1000 and the kernel's OOM killer spares it,
// so the method oom does not confirm. The fallback re-reads oom_score_adj
// (Vet again) right before it signals: the child is spared, never
// SIGKILLed, and a kill that cannot finish because all that is left is
// spared is not reported confirmed.
func TestKillOOMFallbackSparesNewMinus1000(t *testing.T) {
	f := newFake(t, true)
	const scope = "cri-containerd-aaaaaaaaaaaa.scope"
	parent := f.children[f.procsOf(scope)[0]]
	protected := map[int]bool{parent.pid: true}
	var forked *child
	k := &kernel{f: f, oom: true, protected: protected, onLower: func(sub string) {
		if sub == scope {
			forked = f.fork(t, scope, protected)
		}
	}}
	const timeout = 200 * time.Millisecond
	kl := f.oomKiller(t, timeout)
	tg := f.oomTarget(t)
	calls := 0
	tg.Vet = adjVet(protected, &calls)
	res, err, _ := runKill(t, context.Background(), kl, tg, k)
	t.Logf("%v; %+v", err, res)
	if forked == nil {
		t.Fatal("container a was never lowered")
	}
	parent.mustBeAlive(t)
	forked.mustBeAlive(t)
	for pid, c := range f.children {
		if !protected[pid] {
			c.waitKilled(t)
		}
	}
	if !errors.Is(err, ErrNotConfirmed) || !errors.Is(err, ErrAllSpared) {
		t.Errorf("err = %v, want ErrNotConfirmed and ErrAllSpared: only spared processes are left, the kill cannot finish", err)
	}
	if res.Confirmed || res.Method != MethodOOM || res.Spared != 2 || res.Containers != 2 {
		t.Errorf("Confirmed/Method/Spared/Containers = %v/%q/%d/%d, want false/%q/2/2", res.Confirmed, res.Method, res.Spared, res.Containers, MethodOOM)
	}
	if calls < 2 {
		t.Errorf("Vet called %d times, want again before the fallback", calls)
	}
	limitsPutBack(t, f, kl.Limits)
}

// Issue 19 item 2, the freezer path: a spared process forks between Vet
// and the freeze; the child, at -1000 too, is spared by the check the
// freezer makes once frozen, right before it signals.
func TestKillFreezeSparesChildForkedAfterVet(t *testing.T) {
	f := newFake(t, false)
	spared := f.spareOne(t)
	protected := map[int]bool{spared.pid: true}
	const scope = "cri-containerd-bbbbbbbbbbbb.scope"
	var forked *child
	k := &kernel{f: f, onFreeze: func() { forked = f.fork(t, scope, protected) }}
	tg := f.target()
	calls := 0
	tg.Vet = adjVet(protected, &calls)
	res, err, _ := runKill(t, context.Background(), f.killer(5*time.Second), tg, k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	spared.mustBeAlive(t)
	forked.mustBeAlive(t)
	for pid, c := range f.children {
		if !protected[pid] {
			c.waitKilled(t)
		}
	}
	if res.Method != MethodFreezeSigkill || !res.Confirmed || res.PIDs != 2 || res.Spared != 2 {
		t.Errorf("Method/Confirmed/PIDs/Spared = %q/%v/%d/%d, want %q/true/2/2", res.Method, res.Confirmed, res.PIDs, res.Spared, MethodFreezeSigkill)
	}
}
