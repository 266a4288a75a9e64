package policy

import (
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/psi"
)

// planTh is a ladder with throttling on: a kill verdict may contain.
var planTh = Thresholds{Kind: psi.Full, Stall: 100 * time.Millisecond, Window: time.Second, Windows: 2,
	ReliefStall: 30 * time.Millisecond, Reclaim: true, Throttle: true, ThrottleAfter: 2, ReleaseAfter: 3 * time.Second,
	ReclaimChunk: 4 * MiB, ReclaimMax: 64 * MiB, ThrottleBelow: 0.05, ReleaseStep: 0.25,
	NearLimit: 0.9, Cooldown: 10 * time.Second, PageSize: 4096,
	Rank: RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB}, Rescan: 10 * time.Second}

var planStart = time.Unix(1_700_000_000, 0)

// killDecision is a kill verdict for reason (victim: the throttled pod of
// a leak under throttle), as Decide would hand it over.
func killDecision(reason Reason, victim string, th Thresholds) Decision {
	v := Verdict{Outcome: Outcome{Kill: true, Reason: reason, Victim: victim}, Figures: Figures{Need: 100 * MiB, Near: true}}
	o := Observation{Now: planStart}
	o.Kubepods.Max = 4 * GiB
	return Decision{Verdict: v, Observation: o, Need: killNeed(v, th)}
}

// The victim of a leak under throttle is the throttled pod, ranked alone:
// never another pod, even one ranked first, and no one when it may not be
// killed.
func TestChooseLeakUnderThrottleVictim(t *testing.T) {
	protected := pod("critical", cgroupv2.BestEffort, 600*MiB, -997)
	shielded := shieldedPod("shielded", 600*MiB)
	leaker := burstable("leaker", 500*MiB, 100*MiB)
	bigger := pod("bigger", cgroupv2.BestEffort, 3*GiB, 1000)
	withContainer := pod("ctr", cgroupv2.BestEffort, 500*MiB, 1000)
	withContainer.Containers[1].Path = withContainer.Path + "/app"
	withContainer.Containers[1].Current = 200 * MiB
	containerMode := planTh
	containerMode.Container = true
	tests := []struct {
		name   string
		victim *cgroupv2.Pod // read on its own; nil: unreadable
		th     Thresholds
		want   string // the pod killed; "" for none
		why    Why
		target string
		frees  uint64
	}{
		{"the throttled pod, not the largest", &leaker, planTh, "leaker", Chosen, "pod", 500 * MiB},
		{"container mode: its largest container, what that holds", &withContainer, containerMode, "ctr", Chosen, "container " + withContainer.Path + "/app", 200 * MiB},
		{"protected: no one", &protected, planTh, "", AllProtected, "", 0},
		{"unreadable: no one", nil, planTh, "", AllProtected, "", 0},
		{"a shielded grower: contained, no one killed", &shielded, planTh, "", NoneGrows, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/kubepods.slice/gone"
			if tt.victim != nil {
				path = tt.victim.Path
			}
			d := killDecision(ReasonThrottled, path, tt.th)
			if d.Need.Victim != path || d.Need.Pods != AllPods || !d.Need.Highs {
				t.Fatalf("Need = %+v, want the throttled pod on its own, every pod and their memory.high (containment)", d.Need)
			}
			var s State
			if tt.victim != nil { // it grows: 20 MiB in a second, in its -1000 process if it has one
				before := *tt.victim
				before.Containers = append([]cgroupv2.Container(nil), before.Containers...)
				before.Containers[1].Procs = append([]cgroupv2.Process(nil), before.Containers[1].Procs...)
				before.Stat.Anon -= min(before.Stat.Anon, 20*MiB)
				if before.Containers[1].Procs[len(before.Containers[1].Procs)-1].OOMScoreAdj == SelfProtectedAdj {
					before.Containers[1].Procs[len(before.Containers[1].Procs)-1].RSS -= 20 * MiB
				}
				s.growth = Growth{}.Observe([]cgroupv2.Pod{before}, planStart.Add(-time.Second)).Observe([]cgroupv2.Pod{*tt.victim}, planStart)
			}
			s, p := Choose(s, d, Read{Now: planStart, Pods: []cgroupv2.Pod{bigger}, Victim: tt.victim}, tt.th)
			if p.Kill == nil || p.Kill.Reason != ReasonThrottled {
				t.Fatalf("Kill = %+v, want a leak-under-throttle plan", p.Kill)
			}
			got := ""
			for _, v := range p.Kill.Victims {
				got += v.Pod.UID
			}
			if got != tt.want || p.Kill.NoVictim.Why != tt.why {
				t.Fatalf("victims %q (no victim: %d %q), want %q (%d)", got, p.Kill.NoVictim.Why, p.Kill.NoVictim, tt.want, tt.why)
			}
			if tt.want != "" && (p.Kill.Victims[0].Target.String() != tt.target || p.Kill.Victims[0].Frees != tt.frees) {
				t.Errorf("target %q frees %d MiB, want %q %d MiB", p.Kill.Victims[0].Target, p.Kill.Victims[0].Frees/MiB, tt.target, tt.frees/MiB)
			}
			if s.LastKill != planStart {
				t.Errorf("LastKill = %v: a kill verdict starts the cooldown, victim or not", s.LastKill)
			}
		})
	}
}

// Dry-run is a threshold: a kill is chosen as it would be, and starts the
// cooldown; relief reads nothing and is only said; a containment is
// planned as it would be, flagged dry-run.
func TestChooseDryRun(t *testing.T) {
	leaker := burstable("leaker", 700*MiB, 100*MiB)
	idle := pod("idle", cgroupv2.BestEffort, 150*MiB, 1000)
	shielded := shieldedPod("shielded", 600*MiB)
	for _, dry := range []bool{false, true} {
		th := planTh
		th.DryRun = dry
		t.Run("kill", func(t *testing.T) {
			d := killDecision(ReasonPressure, "", th)
			s, p := Choose(State{}, d, Read{Now: planStart, Pods: []cgroupv2.Pod{idle, leaker}}, th)
			if p.DryRun != dry || p.Kill == nil || len(p.Kill.Victims) != 1 || p.Kill.Victims[0].Pod.UID != "leaker" {
				t.Fatalf("dry run %v: plan %+v, want leaker chosen either way", dry, p)
			}
			if s.LastKill != planStart {
				t.Errorf("dry run %v: the cooldown did not start", dry)
			}
		})
		t.Run("relief", func(t *testing.T) {
			o := Observation{Now: planStart}
			o.Kubepods.Max = 4 * GiB
			var s State
			s, d := Decide(s, o, th)
			d.Verdict = Verdict{Steps: Steps{Reclaim: true, Throttle: true}, Figures: Figures{Strained: 3, Near: true}}
			d.Need, d.Sample = Need{}, false
			if !dry {
				d.Need = reliefNeed(d, th)
			}
			if dry != (d.Need.Pods == NoPods) {
				t.Fatalf("dry run %v: Need %+v", dry, d.Need)
			}
			s, p := Choose(s, d, Read{Now: planStart}, th)
			if dry != (p.WouldRelieve == Steps{Reclaim: true, Throttle: true}) || (dry && !p.Relief.Empty()) {
				t.Errorf("dry run %v: would relieve %+v, relief %+v", dry, p.WouldRelieve, p.Relief)
			}
		})
		t.Run("contain", func(t *testing.T) {
			pods := []cgroupv2.Pod{shielded, burstable("holder", 400*MiB, 100*MiB)}
			g := Growth{}.Observe(pods, planStart.Add(-time.Second))
			pods[0].Stat.Anon += 20 * MiB
			pods[0].WorkingSet += 20 * MiB
			pods[0].Current += 20 * MiB
			pods[0].Containers[1].Procs[1].RSS += 20 * MiB
			s := State{growth: g}
			d := killDecision(ReasonPressure, "", th)
			highs := map[string]uint64{pods[0].Path: cgroupv2.Unlimited, pods[1].Path: cgroupv2.Unlimited}
			_, p := Choose(s, d, Read{Now: planStart, Pods: pods, Highs: highs}, th)
			if p.Contain == nil || p.Contain.Pod.UID != "shielded" || p.DryRun != dry {
				t.Fatalf("dry run %v: contain %+v, want shielded", dry, p.Contain)
			}
			if p.Kill.NoVictim.Why != NoneGrows {
				t.Errorf("no victim %d, want NoneGrows", p.Kill.NoVictim.Why)
			}
		})
	}
}

// One throttle at a time: while one is in force nothing is read for a
// throttle, and none is planned.
func TestOneThrottleAtATime(t *testing.T) {
	bu := burstable("bu", 900*MiB, 100*MiB)
	g := Growth{}.Observe([]cgroupv2.Pod{bu}, planStart.Add(-time.Second))
	bu.Stat.Anon += 10 * MiB
	g = g.Observe([]cgroupv2.Pod{bu}, planStart)
	for _, n := range []int{0, 1} {
		o := Observation{Now: planStart, Throttles: make([]ThrottleState, n)}
		o.Kubepods.Max = 4 * GiB
		d := Decision{Verdict: Verdict{Steps: Steps{Throttle: true}, Figures: Figures{Near: true}}, Observation: o}
		d.Need = reliefNeed(d, planTh)
		if (d.Need.Pods == ReliefPods) != (n == 0) || d.Need.Highs != (n == 0) {
			t.Errorf("%d throttled: Need %+v", n, d.Need)
		}
		s, p := Choose(State{growth: g}, d, Read{Now: planStart, Pods: []cgroupv2.Pod{bu}, Highs: map[string]uint64{bu.Path: cgroupv2.Unlimited}}, planTh)
		if (p.Relief.Throttle != nil) != (n == 0) {
			t.Errorf("%d throttled: throttle %+v", n, p.Relief.Throttle)
		}
		if n == 0 && s.Strained != 0 {
			t.Errorf("a throttle did not reset the strained count")
		}
	}
}

// Relief reads only the pods it may touch; a kill reads them all.
func TestNeedReads(t *testing.T) {
	for _, tt := range []struct {
		pods Pods
		qos  cgroupv2.QoS
		want bool
	}{
		{ReliefPods, cgroupv2.Guaranteed, false}, {ReliefPods, cgroupv2.Burstable, true}, {ReliefPods, cgroupv2.BestEffort, true},
		{AllPods, cgroupv2.Guaranteed, true}, {NoPods, cgroupv2.BestEffort, false},
	} {
		if got := tt.pods.Reads(tt.qos); got != tt.want {
			t.Errorf("%d.Reads(%s) = %v", tt.pods, tt.qos, got)
		}
	}
}

// A kill due while an action is in flight waits for it; resumed, it
// chooses on what is read then.
func TestKillWaitsForTheActionInFlight(t *testing.T) {
	d := killDecision(ReasonImminentOOM, "", planTh)
	d.Wait = true
	s, p := Choose(State{}, d, Read{Now: planStart}, planTh)
	if !p.Wait || p.Kill != nil || !s.LastKill.IsZero() {
		t.Fatalf("waiting: plan %+v, last kill %v", p, s.LastKill)
	}
	d = d.Resume(nil, planTh)
	_, p = Choose(s, d, Read{Now: planStart, Pods: []cgroupv2.Pod{pod("be", cgroupv2.BestEffort, GiB, 1000)}}, planTh)
	if p.Wait || p.Kill == nil || len(p.Kill.Victims) != 1 {
		t.Fatalf("resumed: plan %+v", p)
	}
}

func TestLooks(t *testing.T) {
	th := planTh
	for _, tt := range []struct {
		name                 string
		pressured, throttles int
		triggered, sampling  bool
		next                 time.Duration
		window               bool
		ahead                time.Duration
	}{
		{"calm, nothing ahead", 0, 0, false, false, 0, false, 0},
		{"a trigger: look at the window's end", 0, 0, true, false, 0, true, 0},
		{"already sampling: no second timer", 1, 0, true, true, 0, false, 0},
		{"a throttle in force", 0, 1, false, false, 0, true, 0},
		{"ahead of the rescan", 0, 0, false, false, 3 * time.Second, false, 3 * time.Second},
		{"not ahead of the rescan", 0, 0, false, false, 12 * time.Second, false, 0},
		{"the window's look comes first", 1, 0, false, false, 3 * time.Second, true, 0},
		{"sooner than the window's look", 1, 0, false, false, 500 * time.Millisecond, true, 500 * time.Millisecond},
	} {
		window, ahead := Looks(State{Pressured: tt.pressured}, tt.triggered, tt.sampling, tt.throttles, tt.next, th)
		if window != tt.window || ahead != tt.ahead {
			t.Errorf("%s: Looks = %v %v, want %v %v", tt.name, window, ahead, tt.window, tt.ahead)
		}
	}
}
