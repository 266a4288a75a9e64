//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("21", gate, checkNodeMemoryQoS) }

// checkNodeMemoryQoS: with the kubelet's MemoryQoS on, a healthy node whose
// containers sit at their kubelet-set memory.high sees no kill; kube-oomd's
// throttle of a pod slice holds through the kubelet's syncs and is released;
// no container's memory.high is ever written by kube-oomd.
func checkNodeMemoryQoS(t *testing.T, r *R) {
	t.Logf("q/hot: memory.high %s of limit %s, %v high events in the healthy %v s; hog throttled to %s, %v samples over %v s (%v at max), burstable memory.min %s -> %s; released %.1f s after hog dropped to half",
		r.str("q.memory_high"), r.str("q.memory_max"), r.get("healthy.q_high_events"), r.get("healthy.seconds"), r.str("throttle.memory_high"),
		r.get("throttle.samples"), r.get("throttle.seconds"), r.get("throttle.samples_max"), r.str("throttle.burstable_min_before"),
		r.str("throttle.burstable_min_after"), r.num("release.after_s"))
	// The kubelet's MemoryQoS: request + 0.9 x (limit - request), to the page.
	want := float64(64<<20) + 0.9*float64(192<<20)
	if h := r.num("q.memory_high"); h > want || want-h >= 4096 {
		t.Errorf("q/hot memory.high = %.0f, want the kubelet's %.0f (to the page)", h, want)
	}
	r.atLeast("healthy.q_high_events", 1)
	r.eq("healthy.q_restarts", 0)
	// 1. healthy: nothing killed, nothing throttled.
	for _, k := range r.records("healthy", "kill") {
		t.Errorf("healthy node: kube-oomd killed %s/%s", k.str(vocab.PodNamespace), k.str(vocab.PodName))
	}
	for _, k := range r.records("healthy", "other") {
		if k.str(vocab.Reason) == "relief-throttle" {
			t.Errorf("healthy node: kube-oomd throttled %s/%s", k.str(vocab.PodNamespace), k.str(vocab.PodName))
		}
	}
	// Requests from memory.min, exactly.
	for _, name := range []string{"b", "g", "q"} {
		uid := r.str("kubelet." + name + ".uid")
		m := r.podRow(uid)
		switch {
		case m == nil:
			t.Errorf("pod %s (uid %s): not in kube-oomd pods --json", name, uid)
		case m["request_source"] != "memory.min" || m["request_bytes"] != r.num("spec."+name+".request"):
			t.Errorf("pod %s: request %v from %v, want %.0f from memory.min", name, m["request_bytes"], m["request_source"], r.num("spec."+name+".request"))
		}
	}
	// 2. the throttle held through the kubelet's writes, then went.
	r.isTrue("throttle.throttled")
	r.eq("throttle.samples_max", 0)
	r.atLeast("throttle.samples", 10) // every 0.5 s, or slower under TCG
	if r.str("throttle.burstable_min_before") == r.str("throttle.burstable_min_after") {
		t.Errorf("the kubelet did not rewrite kubepods-burstable.slice's memory.min when a Burstable pod came (%s): the test proved nothing",
			r.str("throttle.burstable_min_after"))
	}
	r.match("release.memory_high", "^max$")
	// Released because the pressure cleared, not because hog was killed.
	hog := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str("message"), "throttled pod") {
			hog = k.str(vocab.PodUID)
		}
	}
	released := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str("message"), "throttle released") && k.str(vocab.PodUID) == hog {
			released = k.str(vocab.Reason)
		}
	}
	if hog == "" || released != "pressure-cleared" {
		t.Errorf("throttle of pod %q released with reason %q, want pressure-cleared", hog, released)
	}
	// No container's memory.high or memory.min changed.
	r.eq("containers.changed", 0)
	r.atLeast("containers.compared", 4)
	for _, k := range r.records("run", "kill") {
		t.Errorf("throttle phase: kube-oomd killed %s/%s", k.str(vocab.PodNamespace), k.str(vocab.PodName))
	}
}
