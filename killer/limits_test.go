package killer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// noZeroOriginal is a kernel.onLower that fails the test if the limits
// record, when the kernel sees a container lowered, holds 0 as an
// original: the value the daemon lowers to is never one to put back.
func noZeroOriginal(t *testing.T, log *LimitLog) func(string) {
	return func(sub string) {
		entries, err := statefile.Load[limitEntry](log.Path, limitsHint)
		if err != nil {
			t.Errorf("limits record: %v", err)
		}
		for _, e := range entries {
			if e.Original == 0 {
				t.Errorf("limits record names %s with original 0: %v", e.Cgroup, entries)
			}
		}
	}
}

// Issue 19 item 4: a put-back that failed left container a at memory.max
// 0, still in the limits record with its original. A second kill of the
// same container keeps that original (it does not record the 0 it reads),
// and puts it back.
func TestKillOOMAgainKeepsRecordedOriginal(t *testing.T) {
	f := newFake(t, true)
	kl := f.oomKiller(t, 5*time.Second)
	const scope = "cri-containerd-aaaaaaaaaaaa.scope"
	dir := filepath.Join(f.dir, scope)
	id, err := cgroupv2.ID(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := cgroupv2.ParseUint([]byte(originalMax[scope]))
	if err := kl.Limits.add(limitEntry{Cgroup: dir, ID: id, Original: orig}); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(dir, "memory.max"), "0\n")
	k := &kernel{f: f, oom: true, onLower: noZeroOriginal(t, kl.Limits)}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if res.Method != MethodOOM || !res.Confirmed || res.Containers != 2 {
		t.Errorf("Method/Confirmed/Containers = %q/%v/%d, want %q/true/2", res.Method, res.Confirmed, res.Containers, MethodOOM)
	}
	limitsPutBack(t, f, kl.Limits)
}

// A container at memory.max 0 that the record does not name has no
// original kube-oomd could put back: it is not recorded (never 0), not
// lowered, and left to the fallback; the error says what to do.
func TestKillOOMNeverRecordsZero(t *testing.T) {
	f := newFake(t, true)
	kl := f.oomKiller(t, 200*time.Millisecond)
	const scope = "cri-containerd-aaaaaaaaaaaa.scope"
	writeAtomic(t, filepath.Join(f.dir, scope, "memory.max"), "0\n")
	k := &kernel{f: f, onLower: noZeroOriginal(t, kl.Limits)}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	t.Logf("%v; %+v", err, res)
	if err == nil {
		t.Error("no error: the container left out is not told")
	}
	if res.Method != MethodOOMCgroupKill || res.Containers != 1 || !res.Confirmed {
		t.Errorf("Method/Containers/Confirmed = %q/%d/%v, want %q/1/true (b lowered, a left to the fallback)", res.Method, res.Containers, res.Confirmed, MethodOOMCgroupKill)
	}
	if got := f.read(filepath.Join(scope, "memory.max")); got != "0" {
		t.Errorf("%s memory.max = %q, want 0 as it was: nothing to put back", scope, got)
	}
}

// Issue 19, swap: on a node with swap, memory.max 0 alone makes the kernel
// swap the victim's anonymous memory out before its OOM killer kills.
// The method oom sets memory.swap.max to 0 first (its original recorded
// with memory.max's, in the same entry), and puts both back.
func TestKillOOMSwapOffFirst(t *testing.T) {
	f := newFake(t, true)
	kl := f.oomKiller(t, 5*time.Second)
	const scope = "cri-containerd-aaaaaaaaaaaa.scope"
	swap := filepath.Join(scope, "memory.swap.max")
	writeAtomic(t, filepath.Join(f.dir, swap), "1073741824\n")
	var atLower string
	var entries []limitEntry
	k := &kernel{f: f, oom: true, onLower: func(sub string) {
		if sub == scope {
			atLower = f.read(swap)
			entries, _ = statefile.Load[limitEntry](kl.Limits.Path, limitsHint)
		}
	}}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil || !res.Confirmed || res.Method != MethodOOM {
		t.Fatalf("Kill = %+v, %v; want the method oom, confirmed", res, err)
	}
	if atLower != "0" {
		t.Errorf("memory.swap.max = %q when memory.max was lowered, want 0 first", atLower)
	}
	found := false
	for _, e := range entries {
		if e.Cgroup == filepath.Join(f.dir, scope) && e.Swap == 1<<30 {
			found = true
		}
		if e.Cgroup == filepath.Join(f.dir, "cri-containerd-bbbbbbbbbbbb.scope") && e.Swap != 0 {
			t.Errorf("entry %+v: a container without memory.swap.max records none", e)
		}
	}
	if !found {
		t.Errorf("limits record %+v does not hold memory.swap.max's original", entries)
	}
	if got := f.read(swap); got != "1073741824" {
		t.Errorf("memory.swap.max = %q after the kill, want 1073741824 put back", got)
	}
	limitsPutBack(t, f, kl.Limits)
}
