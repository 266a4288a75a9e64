package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/psi"
)

// shieldedPod is a BestEffort pod whose main process set -1000 and forked
// a child that kept it: every process of the app is spared.
func shieldedPod(name string, ws uint64) cgroupv2.Pod {
	p := pod(name, cgroupv2.BestEffort, ws, -1000, -1000)
	p.Containers[1].Procs[0].RSS = 8 * MiB
	p.Containers[1].Procs[1].RSS = ws - 8*MiB
	p.Stat.Anon = ws - 8*MiB
	return p
}

// episodeOver samples the pods twice, a second apart, the second time
// after grow (what each pod's processes hold then), and ranks them.
func episodeOver(pods []cgroupv2.Pod, grow func([]cgroupv2.Pod), held map[string]bool, cfg RankConfig) ([]Candidate, Episode) {
	start := time.Unix(1_700_000_000, 0)
	g := Growth{}.Observe(pods, start)
	grow(pods)
	g = g.Observe(pods, start.Add(time.Second))
	e := EpisodeOf(Verdict{Figures: Figures{Need: 300 * MiB}}, g, Thresholds{Cooldown: 10 * time.Second})
	e.Held = held
	return Rank(pods, cfg, e), e
}

// TestShieldedGrowerIsContained: issue 19 item 12. A pod whose growing
// processes all protect themselves (-1000) cannot be killed: it is
// contained by memory.high, and its neighbours are not killed for it.
func TestShieldedGrowerIsContained(t *testing.T) {
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 32 * MiB, Protect: []string{"/kubepods.slice/protected-*"}}
	th := Thresholds{ThrottleBelow: 0.05, PageSize: 4096, Rank: cfg}
	gu := pod("guaranteed", cgroupv2.Guaranteed, 320*MiB, -997)
	gu.Max = 400 * MiB
	leak := func(name string, proc int) func([]cgroupv2.Pod) { // 20 MiB in a second
		return func(ps []cgroupv2.Pod) {
			for i := range ps {
				if ps[i].UID == name {
					ps[i].Stat.Anon += 20 * MiB
					ps[i].WorkingSet += 20 * MiB
					ps[i].Current += 20 * MiB
					ps[i].Containers[1].Procs[proc].RSS += 20 * MiB
				}
			}
		}
	}
	withoutSelfRSS := func(p cgroupv2.Pod) cgroupv2.Pod { // the grower is not at -1000
		p.Containers[1].Procs[1].OOMScoreAdj = 1000
		p.Containers[1].Procs[1].RSS = 0
		return p
	}
	tests := []struct {
		name     string
		pods     []cgroupv2.Pod
		grow     func([]cgroupv2.Pod)
		held     map[string]bool
		contain  string // the pod contained, or ""
		victims  string
		why      string
		noShield bool
	}{
		{"the shielded grower: contained, not a kill, not no-victim", []cgroupv2.Pod{
			shieldedPod("shielded", 600*MiB), burstable("holder", 400*MiB, 100*MiB), gu,
		}, leak("shielded", 1), nil, "shielded", "", WhyContained, false},
		{"its -1000 main process holds little and the worker grows: the pod is killed", []cgroupv2.Pod{
			withoutSelfRSS(shieldedPod("shielded", 600*MiB)), burstable("holder", 90*MiB, 80*MiB), gu,
		}, func(ps []cgroupv2.Pod) { ps[0].Stat.Anon += 20 * MiB; ps[0].WorkingSet += 20 * MiB }, nil, "", "shielded", "", true},
		{"a shielded grower beside a killable grower: the killable one dies, the shielded is contained", []cgroupv2.Pod{
			shieldedPod("shielded", 600*MiB), withoutSelfRSS(shieldedPod("leaker", 500*MiB)), burstable("holder", 400*MiB, 100*MiB), gu,
		}, func(ps []cgroupv2.Pod) {
			leak("shielded", 1)(ps)
			ps[1].Stat.Anon += 20 * MiB
			ps[1].WorkingSet += 20 * MiB
		}, nil, "shielded", "leaker", "", false},
		{"a slowly warming shielded bystander beside the real cause: only the cause is acted on", []cgroupv2.Pod{
			shieldedPod("shielded", 600*MiB), withoutSelfRSS(shieldedPod("leaker", 500*MiB)), burstable("holder", 400*MiB, 100*MiB), gu,
		}, func(ps []cgroupv2.Pod) {
			ps[0].Stat.Anon += MiB
			ps[0].WorkingSet += MiB
			ps[0].Current += MiB
			ps[0].Containers[1].Procs[1].RSS += MiB
			ps[1].Stat.Anon += 20 * MiB
			ps[1].WorkingSet += 20 * MiB
		}, nil, "", "leaker", "", false},
		{"contained and still pushing, no longer growing: bystanders stay safe", []cgroupv2.Pod{
			shieldedPod("shielded", 600*MiB), burstable("holder", 400*MiB, 100*MiB), gu,
		}, func([]cgroupv2.Pod) {}, map[string]bool{"/kubepods.slice/shielded": true}, "shielded", "", WhyContained, false},
		{"shielded but not growing: nothing to contain, nobody killed for it", []cgroupv2.Pod{
			shieldedPod("shielded", 600*MiB), burstable("holder", 90*MiB, 80*MiB), gu,
		}, func([]cgroupv2.Pod) {}, nil, "", "", "cannot free", true},
		{"a node-critical (-997) grower is never touched", []cgroupv2.Pod{
			pod("critical", cgroupv2.BestEffort, 600*MiB, -997, -1000), burstable("holder", 90*MiB, 80*MiB), gu,
		}, leak("critical", 1), nil, "", "", "cannot free", true},
		{"a kill.protect grower is never touched", []cgroupv2.Pod{
			shieldedPod("protected-one", 600*MiB), burstable("holder", 90*MiB, 80*MiB), gu,
		}, leak("protected-one", 1), nil, "", "", "cannot free", true},
		{"a Guaranteed pod is never throttled: its limit holds it", []cgroupv2.Pod{
			func() cgroupv2.Pod {
				p := shieldedPod("g-shielded", 300*MiB)
				p.QoS = cgroupv2.Guaranteed
				p.Max = 400 * MiB
				return p
			}(),
			burstable("holder", 90*MiB, 80*MiB),
		}, leak("g-shielded", 1), nil, "", "", "cannot free", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ranked, e := episodeOver(tt.pods, tt.grow, tt.held, cfg)
			victims, nv := Victims(ranked, e, cfg)
			why := nv.String()
			if uids(victims) != tt.victims {
				t.Errorf("Victims = %q (%s), want %q", uids(victims), why, tt.victims)
			}
			if !strings.Contains(why, tt.why) || (why == "") != (tt.why == "") {
				t.Errorf("why = %q, want it to say %q", why, tt.why)
			}
			highs := map[string]uint64{}
			for _, c := range ranked {
				highs[c.Pod.Path] = cgroupv2.Unlimited
			}
			plan, ok := PlanContain(ranked, highs, nil, cgroupv2.Group{Max: 4 * GiB}, cgroupv2.Meminfo{}, th)
			got := ""
			if ok {
				got = plan.Pod.UID
			}
			if got != tt.contain {
				t.Fatalf("PlanContain = %q, want %q", got, tt.contain)
			}
			if ok && (plan.Value > plan.Pod.Current || plan.Value == 0 || plan.Value%4096 != 0) {
				t.Errorf("contained at %d with usage %d: want at or under its usage, in pages", plan.Value, plan.Pod.Current)
			}
			for _, c := range ranked {
				if c.Shielded && tt.noShield {
					t.Errorf("%s counted as shielded", c.Pod.UID)
				}
			}
		})
	}
}

// An existing throttle is made a containment: lowered to the pod's usage
// if it is above it; one already contained at or under it needs nothing.
func TestPlanContainAnExistingThrottle(t *testing.T) {
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 32 * MiB}
	th := Thresholds{ThrottleBelow: 0.05, PageSize: 4096, Rank: cfg}
	ranked, _ := episodeOver([]cgroupv2.Pod{shieldedPod("shielded", 600*MiB)}, func(ps []cgroupv2.Pod) {
		ps[0].Stat.Anon += 20 * MiB
		ps[0].Current += 20 * MiB
		ps[0].WorkingSet += 20 * MiB
		ps[0].Containers[1].Procs[1].RSS += 20 * MiB
	}, nil, cfg)
	path := "/kubepods.slice/shielded"
	highs := map[string]uint64{path: 700 * MiB}
	plan, ok := PlanContain(ranked, highs, []ThrottleState{{Path: path, Set: 700 * MiB, Current: 700 * MiB, Ceiling: GiB}}, cgroupv2.Group{Max: 4 * GiB}, cgroupv2.Meminfo{}, th)
	if !ok || plan.Value > 620*MiB || plan.Ceiling != GiB {
		t.Fatalf("plan = %+v, %v; want the throttle lowered to at most the usage (620 MiB), its ceiling kept", plan, ok)
	}
	if _, ok := PlanContain(ranked, highs, []ThrottleState{{Path: path, Set: 600 * MiB, Current: 610 * MiB, Ceiling: GiB, Contained: true}}, cgroupv2.Group{Max: 4 * GiB}, cgroupv2.Meminfo{}, th); ok {
		t.Errorf("a pod contained under its usage was planned again")
	}
	plan, ok = PlanContain(ranked, highs, []ThrottleState{{Path: path, Set: 600 * MiB, Current: 610 * MiB, Ceiling: GiB}}, cgroupv2.Group{Max: 4 * GiB}, cgroupv2.Meminfo{}, th)
	if !ok || plan.Value != 610*MiB {
		t.Errorf("throttled under its usage: plan %+v, %v; want it contained where it is, at 610 MiB", plan, ok)
	}
}

// A contained pod that still pushes against its memory.high is not
// released: released, it would come back. One that stopped pushing is
// released as any throttle is.
func TestPlanReleaseHoldsAContainedPodThatPushes(t *testing.T) {
	th := Thresholds{ReleaseStep: 0.25, PageSize: 4096}
	ts := []ThrottleState{
		{Path: "/pushing", Set: 400 * MiB, Current: 400 * MiB, Ceiling: 600 * MiB, Contained: true, Pushing: true},
		{Path: "/quiet", Set: 400 * MiB, Current: 400 * MiB, Ceiling: 600 * MiB, Contained: true},
		{Path: "/throttled", Set: 400 * MiB, Current: 400 * MiB, Ceiling: 600 * MiB, Pushing: true},
	}
	got := PlanRelease(ts, th)
	if len(got) != 2 || got[0].Path != "/quiet" || got[1].Path != "/throttled" {
		t.Errorf("PlanRelease = %+v, want /quiet and /throttled raised, /pushing held", got)
	}
}

// A contained pod pushing against its memory.high is not a leak to kill
// (leak-under-throttle): its growing processes cannot be killed. Holds
// says so, for the release.
func TestContainedPodPushingIsNotKilled(t *testing.T) {
	th := Thresholds{Kind: psi.Full, Stall: 100 * time.Millisecond, Window: time.Second, Windows: 2,
		ReliefStall: 30 * time.Millisecond, NearLimit: 0.9, Cooldown: 10 * time.Second, ReleaseAfter: 10 * time.Second}
	start := time.Unix(1_700_000_000, 0)
	var s State
	var v Decision
	for i := range 8 {
		o := Observation{Now: start.Add(time.Duration(i) * time.Second), Triggered: i > 0}
		o.Kubepods.Max, o.Kubepods.WorkingSet = GiB, 950*MiB
		o.Kubepods.Pressure.Full.Total = time.Duration(i) * 50 * time.Millisecond // strained, not pressured
		o.Throttled = map[string]uint64{"/c": uint64(10 * i)}
		o.Contained = map[string]bool{"/c": true}
		s, v = Decide(s, o, th)
		if v.Kill && v.Reason == ReasonThrottled {
			t.Fatalf("window %d: leak-under-throttle kill of a contained pod", i)
		}
	}
	if !s.Holds("/c", 0) {
		t.Errorf("Holds(/c) = false for a pod whose high counter rose, strained near the limit")
	}
	if s.Holds("/other", GrowingRate) {
		t.Errorf("Holds of a pod not throttled")
	}
}

// A contained pod sits at its memory.high, so any page cache it charges
// raises its high counter: that alone does not hold it. It is held while
// its counter rises and kubepods is strained near its limit, or while its
// unreclaimable memory still grows.
func TestHoldsOnlyWhilePressingOrGrowing(t *testing.T) {
	th := Thresholds{Kind: psi.Full, Stall: 100 * time.Millisecond, Window: time.Second, Windows: 2,
		ReliefStall: 30 * time.Millisecond, NearLimit: 0.9, Cooldown: 10 * time.Second, ReleaseAfter: 10 * time.Second}
	tests := []struct {
		name     string
		stall    time.Duration // per window
		ws       uint64
		highStep uint64
		rate     float64
		want     bool
	}{
		{"strained near the limit, pushing", 50 * time.Millisecond, 950 * MiB, 10, 0, true},
		{"calm far from the limit, its I/O hits memory.high", 0, 500 * MiB, 10, 0, false},
		{"strained far from the limit, its I/O hits memory.high", 50 * time.Millisecond, 500 * MiB, 10, 0, false},
		{"calm, still growing", 0, 500 * MiB, 10, GrowingRate, true},
		{"strained near the limit, not hitting memory.high", 50 * time.Millisecond, 950 * MiB, 0, GrowingRate, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1_700_000_000, 0)
			var s State
			for i := range 6 {
				o := Observation{Now: start.Add(time.Duration(i) * time.Second), Triggered: tt.stall > 0 && i > 0}
				o.Kubepods.Max, o.Kubepods.WorkingSet = GiB, tt.ws
				o.Kubepods.Pressure.Full.Total = time.Duration(i) * tt.stall
				o.Throttled = map[string]uint64{"/c": tt.highStep * uint64(i)}
				o.Contained = map[string]bool{"/c": true}
				s, _ = Decide(s, o, th)
			}
			if got := s.Holds("/c", tt.rate); got != tt.want {
				t.Errorf("Holds = %v, want %v", got, tt.want)
			}
		})
	}
}
