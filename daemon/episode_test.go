package daemon

import (
	"fmt"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
)

// setUnreclaimable sets kubepods' memory.current and its anonymous memory
// (the rest of its 1 GiB limit is free).
func (h *harness) setUnreclaimable(current, anon uint64) {
	tree := h.tree
	tree.Write(tree.Kubepods, "memory.max", fmt.Sprint(1<<30))
	tree.Write(tree.Kubepods, "memory.current", fmt.Sprint(current))
	tree.Write(tree.Kubepods, "memory.stat", fmt.Sprintf("anon %d\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n", anon))
}

// hostLook makes the loop look without a kubepods trigger (a host trigger
// does not count as pressure) and returns the look.
func (h *harness) hostLook() observation {
	return h.send(psi.Event{Key: triggerHost, Time: h.clock.Now()})
}

func leakers(t *testing.T, sizes map[string]uint64) *cgrouptest.Tree {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.Write(tree.Kubepods, "cgroup.kill", "")
	for uid, size := range sizes {
		rel := tree.AddPod(cgrouptest.Pod{UID: uid, QoS: cgroupv2.BestEffort, Current: size, Anon: size,
			Containers: []cgrouptest.Container{{Current: size - MiB, Adj: []int{1000}}}})
		tree.Write(rel, "cgroup.kill", "")
	}
	return tree
}

// Issue 9 item 4: after a kill is confirmed, the daemon looks again at
// once, and kubepods still at its limit with unreclaimable memory near it
// is acted on inside the cooldown, not handed to the kernel.
func TestConfirmedKillLooksAgainAtOnce(t *testing.T) {
	tree := leakers(t, map[string]uint64{"a": 480 * MiB, "b": 460 * MiB})
	h := start(t, tree, killOnly(config.ModePod), "", "")
	h.setUnreclaimable(1020*MiB, 990*MiB) // within the 20 MiB margin of 1 GiB
	h.hostLook()
	h.settle() // kills a; its report makes the loop look again: b is killed
	got := h.logs.records(t, "", vocab.MsgKilled)
	if len(got) != 2 || got[0]["pod_uid"] != "a" || got[1]["pod_uid"] != "b" {
		t.Fatalf("kill records = %v, want a, then b at once:\n%s", got, h.logs)
	}
	for _, r := range got {
		if r["reason"] != string(policy.ReasonImminentOOM) {
			t.Errorf("kill of %v: reason %v, want %s", r["pod_uid"], r["reason"], policy.ReasonImminentOOM)
		}
	}
	k := h.snapshot().Kills
	if d := k[1].Time.Sub(k[0].Time); d >= h.cfg.Kill.Cooldown {
		t.Errorf("second kill %v after the first, want inside the cooldown (%v)", d, h.cfg.Kill.Cooldown)
	}
}

// Issue 9 item 6: with nothing to reclaim there is no stall and no PSI
// trigger; the daemon looks on its own as unreclaimable memory grows
// toward the limit, and kills the grower before it gets there.
func TestPredictedOOMWithoutPressure(t *testing.T) {
	tree := leakers(t, map[string]uint64{"leak": 300 * MiB, "idle": 200 * MiB})
	leak := tree.PodPath("leak", cgroupv2.BestEffort)
	h := start(t, tree, killOnly(config.ModePod), "", "")
	const rate = 50 * MiB // a second, of fake time: slower than policy.AssumedGrowth
	anon := uint64(500 * MiB)
	h.setUnreclaimable(anon, anon)
	o := h.hostLook()
	for i := 0; i < 200 && !o.verdict.Kill; i++ {
		next := o.verdict.NextLook
		if next <= 0 || next >= time.Hour {
			t.Fatalf("look %d: no next look (%v) while memory grows toward the limit", i, next)
		}
		grown := uint64(float64(rate) * next.Seconds())
		anon += grown
		tree.Write(leak, "memory.stat", fmt.Sprintf("anon %d\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n", anon-200*MiB))
		tree.Write(leak, "memory.current", fmt.Sprint(anon-200*MiB))
		h.setUnreclaimable(anon, anon)
		h.clock.Step(next)
		o = h.next()
	}
	h.settle()
	got := h.logs.records(t, "", vocab.MsgKilled)
	if len(got) != 1 || got[0]["pod_uid"] != "leak" || got[0]["reason"] != string(policy.ReasonPredicted) {
		t.Fatalf("kill records = %v, want the leaker, oom-predicted:\n%s", got, h.logs)
	}
	if at := got[0]["memory"].(map[string]any)["anon_bytes"].(float64); at >= float64(1<<30-policy.Margin(1<<30)) {
		t.Errorf("killed at %.0f MiB of anonymous memory: not before the margin", at/MiB)
	}
	if n := h.snapshot().Triggers[0].Events; n != 0 {
		t.Errorf("%d kubepods trigger events: the kill must not have needed PSI", n)
	}
}

// Issue 9 item 7: with the kubelet's MemoryQoS, each container has its own
// memory.high, whose hits count in the pod slice's hierarchical
// memory.events. A throttled pod is judged by its own memory.events.local.
func TestContainerHighEventsAreNotALeak(t *testing.T) {
	h, bu := throttledGrower(t)
	for i := range 4 { // the containers hit their own memory.high; the pod slice does not
		h.tree.Write(bu, "memory.events", highEvents(i))
		h.window(0.05, 1000*MiB)
	}
	if got := h.logs.records(t, "", vocab.MsgKilled); len(got) != 0 {
		t.Fatalf("kill records = %v: container memory.high hits are not the throttled pod's", got)
	}
}
