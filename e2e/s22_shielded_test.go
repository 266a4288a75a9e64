//go:build e2e

package e2e

import (
	"slices"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("22", gateAndCompare, checkShielded) }

// leakRate: how fast S's child leaks (shielded.py 2 MiB every 100 ms).
const leakRate float64 = 20 << 20

// shieldedRun is what scenario 22 adds to its episode run, as the guest
// writes it: pod S's memory.high, usage and processes at the end.
type shieldedRun struct {
	SMemoryHigh   text    `json:"s_memory_high"`
	SCurrentBytes float64 `json:"s_current_bytes"`
	SHighEvents   float64 `json:"s_high_events"`
	SMainAdj      text    `json:"s_main_adj"`
	SChildAdj     text    `json:"s_child_adj"`
	SChildAlive   bool    `json:"s_child_alive"`
	OOMKillDelta  float64 `json:"kubepods_oom_kill_delta"`
}

// shieldedResult: scenario 22's own top-level fact.
type shieldedResult struct {
	HoldS float64 `json:"hold_s"` // how long S's leak is held
}

// checkShielded: scenario 22 (issue 19 item 12). A BestEffort pod whose
// growing processes are all at oom_score_adj -1000 is contained at a
// memory.high at or under its usage, held while it pushes, and nobody dies:
// no kill, no kernel OOM kill, the bystanders alive and never throttled.
func checkShielded(t *testing.T, r *R) {
	hold := decodeResult[shieldedResult](r, "").HoldS
	e := episodeOf(t, r, "daemon")
	x := e.x
	d := decodeResult[shieldedRun](r, "daemon")
	printEpisodeTable(t, "scenario 22: a BestEffort pod at -1000 whose child leaks 20 MiB/s",
		withKernel(t, r, "kernel", e)...)

	if !need(t, "daemon.daemon_survived", x.DaemonSurvived) {
		t.Errorf("daemon: kube-oomd did not survive the run")
	}
	if !x.Alive["B-app"] || !x.Alive["G-app"] || !x.PodAlive["B"] || !x.PodAlive["G"] {
		t.Errorf("daemon: a bystander died: B-app %v, G-app %v, pod B %v, pod G %v", x.Alive["B-app"], x.Alive["G-app"], x.PodAlive["B"], x.PodAlive["G"])
	}
	if timedOut, allDead := need(t, "daemon.ep.timed_out", x.Ep.TimedOut), need(t, "daemon.ep.all_dead", x.Ep.AllDead); !timedOut || allDead {
		t.Errorf("daemon: the episode ended early (timed_out %v, all_dead %v): the bystanders died", timedOut, allDead)
	}
	if d.OOMKillDelta != 0 {
		t.Errorf("daemon: the kernel OOM-killed %v processes in kubepods", d.OOMKillDelta)
	}
	for _, k := range r.records("daemon", "kill") {
		t.Errorf("daemon: kube-oomd killed %s (%s), reason %s: a shielded pod must be contained, not killed", k.str(vocab.PodUID), r.podName("daemon", k.str(vocab.PodUID)), k.str(vocab.Reason))
	}
	// The containment record, naming S, at or under its usage; after it,
	// no "left to the kernel".
	sUID := x.Pods.of(t, "daemon.pods", "S").UID
	first := -1.0
	for _, k := range r.records("daemon", "other") {
		if k.str(vocab.Reason) != "shielded-pod-contained" || k.str(vocab.PodUID) != sUID || k.str(vocab.HighBytes) == "" {
			continue
		}
		if first < 0 {
			first = k.num(recMonotonic)
			if hi, cur := k.num(vocab.HighBytes), k.num(vocab.PodCurrent); cur > 0 && hi > cur {
				t.Errorf("daemon: contained at memory.high %.0f, above the pod's usage %.0f", hi, cur)
			}
			t.Logf("daemon: %s", k.str(recMessage))
		}
	}
	if first < 0 {
		t.Fatalf("daemon: no record with reason shielded-pod-contained names pod S %s", sUID)
	}
	for _, k := range r.records("daemon", "other") {
		if k.str(vocab.Reason) == "no-killable-pod" && k.num(recMonotonic) > first {
			t.Errorf("daemon: %q after the containment", k.str(recMessage))
		}
	}
	// Held from soon after the leak's start to the end, at or under its
	// usage; the bystanders never throttled.
	s := x.Ep.Pods["S"]
	if s.First == nil || s.ThrottledS < hold-20 {
		t.Errorf("daemon: pod S's memory.high was other than max for %.1f s of the %.0f s hold (first at %v)", s.ThrottledS, hold, orNil(s.First))
	}
	for _, pod := range []string{"B", "G"} {
		if v := x.Ep.Pods[pod].Values; !slices.Equal(v, []text{"max"}) {
			t.Errorf("daemon: bystander %s's pod memory.high was %v, want only max", pod, v)
		}
	}
	if d.SMemoryHigh == "max" {
		t.Errorf("daemon: pod S's memory.high is max at the end: released while it pushed")
	} else if hi := d.SMemoryHigh.num(t, "daemon.s_memory_high"); d.SCurrentBytes-hi > 0.25*leakRate*s.ThrottledS {
		// memory.high throttles, it does not cap: the kernel lets usage
		// creep over it with a penalty on every allocation. Held, S must
		// grow at most a quarter as fast as it leaks.
		t.Errorf("daemon: pod S grew %.0f MiB over its memory.high %.0f MiB in %.1f s held: more than a quarter of its leak (%.0f MiB/s)",
			(d.SCurrentBytes-hi)/(1<<20), hi/(1<<20), s.ThrottledS, leakRate/(1<<20))
	}
	// kube-oomd killed none of S's -1000 processes.
	if d.SMainAdj != "-1000" || d.SChildAdj != "-1000" || !d.SChildAlive {
		t.Errorf("daemon: S's main process at %s, its child at %s (alive %v): want both at -1000, the child alive", d.SMainAdj, d.SChildAdj, d.SChildAlive)
	}
	t.Logf("daemon: S held at %s (usage %.0f MiB), memory.high not max for %.1f s of %.0f s; S's high events %.0f",
		mib(string(d.SMemoryHigh)), d.SCurrentBytes/(1<<20), s.ThrottledS, hold, d.SHighEvents)
}
