//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func init() { register("18", gateAndCompare, checkMemoryQoS) }

func checkMemoryQoS(t *testing.T, r *R) {
	d := episodeRun{r, "daemon"}
	runs := withKernel(t, episodeRun{r, "kernel"}, d)
	printEpisodeTable(t, "scenario 18: a BestEffort leaker (20 MiB/s) beside pods with MemoryQoS container memory.high", runs...)
	for _, e := range runs {
		var parts []string
		highs, _ := r.get(e.p + ".qos_high").(map[string]any)
		var cts []string
		for ct := range highs {
			cts = append(cts, ct)
		}
		sort.Strings(cts)
		for _, ct := range cts {
			parts = append(parts, fmt.Sprintf("%s %s (high events +%.0f)", ct, mib(r.str(e.p+".qos_high."+ct)),
				r.num(e.p+".high_events_after."+ct)-r.num(e.p+".high_events_before."+ct)))
		}
		t.Logf("%s: container memory.high as the kubelet writes it: %s", e.p, strings.Join(parts, ", "))
	}
	episodeChecks(t, d, true)
	// kube-oomd never writes a container's memory.high: every value the
	// watcher saw, and the one left, is the kubelet's (or the cgroup is gone).
	highs, _ := r.get("daemon.qos_high").(map[string]any)
	if len(highs) < 5 {
		t.Errorf("daemon: %d containers with a recorded memory.high, want 5: %v", len(highs), highs)
	}
	for ct := range highs {
		want := r.str("daemon.qos_high." + ct)
		seen, _ := r.get("daemon.ep.containers." + ct + ".values").([]any)
		if len(seen) == 0 {
			t.Errorf("daemon: the watcher never read %s's memory.high", ct)
		}
		for _, v := range seen {
			if v != want && v != "gone" {
				t.Errorf("daemon: container %s's memory.high was %v during the episode, the kubelet wrote %s", ct, v, want)
			}
		}
		alive, _ := r.get("daemon.alive." + ct).(bool)
		if got := r.str("daemon.qos_high_after." + ct); alive && got != want {
			t.Errorf("daemon: container %s's memory.high is %s after the episode, the kubelet wrote %s", ct, got, want)
		}
	}
	// The premise: Q pushes against its container memory.high all along.
	if n := r.num("daemon.high_events_after.Q-app") - r.num("daemon.high_events_before.Q-app"); n <= 0 {
		t.Errorf("daemon: pod Q's container memory.events high did not tick during the episode (+%.0f): the scenario did not exercise MemoryQoS", n)
	}
}
