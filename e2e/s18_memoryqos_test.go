//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func init() { register("18", gateAndCompare, checkMemoryQoS) }

// memoryQoSRun is what scenario 18 adds to each episode run: the
// containers' memory.high as the kubelet's MemoryQoS writes it, before and
// after, and their memory.events high counts.
type memoryQoSRun struct {
	QoSHigh          texts `json:"qos_high,omitempty"`
	QoSHighAfter     texts `json:"qos_high_after,omitempty"`
	HighEventsBefore nums  `json:"high_events_before,omitempty"`
	HighEventsAfter  nums  `json:"high_events_after,omitempty"`
}

func checkMemoryQoS(t *testing.T, r *R) {
	d := episodeOf(t, r, "daemon")
	runs := withKernel(t, r, "kernel", d)
	printEpisodeTable(t, "scenario 18: a BestEffort leaker (20 MiB/s) beside pods with MemoryQoS container memory.high", runs...)
	var dq memoryQoSRun
	for _, e := range runs {
		q := decodeResult[memoryQoSRun](r, e.p)
		if e.p == "daemon" {
			dq = q
		}
		var parts []string
		var cts []string
		for ct := range q.QoSHigh {
			cts = append(cts, ct)
		}
		sort.Strings(cts)
		for _, ct := range cts {
			parts = append(parts, fmt.Sprintf("%s %s (high events +%.0f)", ct, mib(string(q.QoSHigh[ct])),
				q.HighEventsAfter.num(t, e.p+".high_events_after", ct)-q.HighEventsBefore.num(t, e.p+".high_events_before", ct)))
		}
		t.Logf("%s: container memory.high as the kubelet writes it: %s", e.p, strings.Join(parts, ", "))
	}
	episodeChecks(t, d, true)
	// kube-oomd never writes a container's memory.high: every value the
	// watcher saw, and the one left, is the kubelet's (or the cgroup is gone).
	highs := dq.QoSHigh
	if len(highs) < 5 {
		t.Errorf("daemon: %d containers with a recorded memory.high, want 5: %v", len(highs), highs)
	}
	for ct := range highs {
		want := string(highs[ct])
		seen := d.x.Ep.Containers[ct].Values
		if len(seen) == 0 {
			t.Errorf("daemon: the watcher never read %s's memory.high", ct)
		}
		for _, v := range seen {
			if v != want && v != "gone" {
				t.Errorf("daemon: container %s's memory.high was %v during the episode, the kubelet wrote %s", ct, v, want)
			}
		}
		alive := d.x.Alive[ct]
		if got := dq.QoSHighAfter.str(t, "daemon.qos_high_after", ct); alive && string(got) != want {
			t.Errorf("daemon: container %s's memory.high is %s after the episode, the kubelet wrote %s", ct, got, want)
		}
	}
	// The premise: Q pushes against its container memory.high all along.
	if n := dq.HighEventsAfter.num(t, "daemon.high_events_after", "Q-app") - dq.HighEventsBefore.num(t, "daemon.high_events_before", "Q-app"); n <= 0 {
		t.Errorf("daemon: pod Q's container memory.events high did not tick during the episode (+%.0f): the scenario did not exercise MemoryQoS", n)
	}
}
