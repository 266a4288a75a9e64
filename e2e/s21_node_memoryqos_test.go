//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("21", gate, checkNodeMemoryQoS) }

// nodeMemoryQoSResult is scenario 21's result, as the guest writes it.
type nodeMemoryQoSResult struct {
	Q struct {
		MemoryHigh text `json:"memory_high"`
		MemoryMax  text `json:"memory_max"`
	} `json:"q"`
	Healthy struct {
		QHighEvents float64 `json:"q_high_events"`
		QRestarts   float64 `json:"q_restarts"`
		Seconds     any     `json:"seconds,omitempty"` // new: not in older runs
	} `json:"healthy"`
	Throttle struct {
		Throttled          bool    `json:"throttled"`
		MemoryHigh         text    `json:"memory_high"`
		Samples            float64 `json:"samples"`
		SamplesMax         float64 `json:"samples_max"`
		Seconds            any     `json:"seconds,omitempty"` // new: not in older runs
		BurstableMinBefore text    `json:"burstable_min_before"`
		BurstableMinAfter  text    `json:"burstable_min_after"`
	} `json:"throttle"`
	Release struct {
		AfterS     float64 `json:"after_s"`
		MemoryHigh text    `json:"memory_high"`
	} `json:"release"`
	Kubelet    map[string]nodePod  `json:"kubelet,omitempty"`
	Spec       map[string]nodeSpec `json:"spec,omitempty"`
	Pods       podRows             `json:"pods,omitempty"` // kube-oomd pods --json
	Containers struct {
		Changed  float64 `json:"changed"`
		Compared float64 `json:"compared"`
	} `json:"containers"`
}

// checkNodeMemoryQoS: with the kubelet's MemoryQoS on, a healthy node whose
// containers sit at their kubelet-set memory.high sees no kill; kube-oomd's
// throttle of a pod slice holds through the kubelet's syncs and is released;
// no container's memory.high is ever written by kube-oomd.
func checkNodeMemoryQoS(t *testing.T, r *R) {
	d := decodeResult[nodeMemoryQoSResult](r, "")
	t.Logf("q/hot: memory.high %s of limit %s, %v high events in the healthy %v s; hog throttled to %s, %v samples over %v s (%v at max), burstable memory.min %s -> %s; released %.1f s after hog dropped to half",
		d.Q.MemoryHigh, d.Q.MemoryMax, d.Healthy.QHighEvents, d.Healthy.Seconds, d.Throttle.MemoryHigh,
		d.Throttle.Samples, d.Throttle.Seconds, d.Throttle.SamplesMax, d.Throttle.BurstableMinBefore,
		d.Throttle.BurstableMinAfter, d.Release.AfterS)
	// The kubelet's MemoryQoS: request + 0.9 x (limit - request), to the page.
	want := float64(64<<20) + 0.9*float64(192<<20)
	if h := d.Q.MemoryHigh.num(t, "q.memory_high"); h > want || want-h >= 4096 {
		t.Errorf("q/hot memory.high = %.0f, want the kubelet's %.0f (to the page)", h, want)
	}
	atLeast(t, "healthy.q_high_events", d.Healthy.QHighEvents, 1)
	eq(t, "healthy.q_restarts", d.Healthy.QRestarts, 0)
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
		uid := entry(t, d.Kubelet, "kubelet", name).UID
		m := d.Pods.row(uid)
		spec := entry(t, d.Spec, "spec", name)
		switch {
		case m == nil:
			t.Errorf("pod %s (uid %s): not in kube-oomd pods --json", name, uid)
		case m["request_source"] != "memory.min" || m["request_bytes"] != spec.Request:
			t.Errorf("pod %s: request %v from %v, want %.0f from memory.min", name, m["request_bytes"], m["request_source"], spec.Request)
		}
	}
	// 2. the throttle held through the kubelet's writes, then went.
	isTrue(t, "throttle.throttled", d.Throttle.Throttled)
	eq(t, "throttle.samples_max", d.Throttle.SamplesMax, 0)
	atLeast(t, "throttle.samples", d.Throttle.Samples, 10) // every 0.5 s, or slower under TCG
	if d.Throttle.BurstableMinBefore == d.Throttle.BurstableMinAfter {
		t.Errorf("the kubelet did not rewrite kubepods-burstable.slice's memory.min when a Burstable pod came (%s): the test proved nothing",
			d.Throttle.BurstableMinAfter)
	}
	match(t, "release.memory_high", d.Release.MemoryHigh, "^max$")
	// Released because the pressure cleared, not because hog was killed.
	hog := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str(recMessage), "throttled pod") {
			hog = k.str(vocab.PodUID)
		}
	}
	released := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str(recMessage), "throttle released") && k.str(vocab.PodUID) == hog {
			released = k.str(vocab.Reason)
		}
	}
	if hog == "" || released != "pressure-cleared" {
		t.Errorf("throttle of pod %q released with reason %q, want pressure-cleared", hog, released)
	}
	// No container's memory.high or memory.min changed.
	eq(t, "containers.changed", d.Containers.Changed, 0)
	atLeast(t, "containers.compared", d.Containers.Compared, 4)
	for _, k := range r.records("run", "kill") {
		t.Errorf("throttle phase: kube-oomd killed %s/%s", k.str(vocab.PodNamespace), k.str(vocab.PodName))
	}
}
