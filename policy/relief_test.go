package policy

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

func TestReliefCandidatesSkipGuaranteedAndProtected(t *testing.T) {
	g := pod("g", cgroupv2.Guaranteed, 3*GiB, -997)
	ranked := Rank([]cgroupv2.Pod{g,
		pod("crit", cgroupv2.BestEffort, 2*GiB, -997),
		pod("be", cgroupv2.BestEffort, GiB, 1000),
		pod("bu", cgroupv2.Burstable, GiB, 999),
	}, RankConfig{MemTotal: memTotal})
	var got []string
	for _, c := range ReliefCandidates(ranked) {
		got = append(got, c.Pod.UID)
	}
	if len(got) != 2 || got[0] != "be" || got[1] != "bu" {
		t.Errorf("ReliefCandidates = %v, want [be bu]", got)
	}
}

func TestThrottleValue(t *testing.T) {
	tests := []struct {
		name                 string
		usage, unreclaimable uint64
		want                 uint64
	}{
		{"page cache to squeeze: 5 % below usage", 1000 * MiB, 200 * MiB, 950 * MiB},
		{"all anonymous: not below it, or a steady pod would stall", 1000 * MiB, 990 * MiB, 990 * MiB},
		{"rounded to a page", 10001, 0, 8192},
	}
	for _, tt := range tests {
		if got := ThrottleValue(tt.usage, tt.unreclaimable, 0.05); got != tt.want {
			t.Errorf("%s: ThrottleValue = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestReleaseSteps(t *testing.T) {
	set, ceiling := uint64(400*MiB), uint64(600*MiB)
	var steps []uint64
	cur := set
	for range 10 {
		next, done := ReleaseStep(cur, set, 0.25, ceiling)
		if done {
			if next != ceiling {
				t.Fatalf("done at %d, want the ceiling", next)
			}
			break
		}
		if next <= cur {
			t.Fatalf("step went from %d down to %d", cur, next)
		}
		steps = append(steps, next)
		cur = next
	}
	if len(steps) != 1 || steps[0] != 500*MiB {
		t.Errorf("steps = %v, want [500 MiB] then done", steps)
	}
	if next, done := ReleaseStep(set, set, 1, cgroupv2.Unlimited); next != 800*MiB || done {
		t.Errorf("100%% step under no ceiling = %d, %v", next, done)
	}
}

func TestWatchThrottled(t *testing.T) {
	strained := Verdict{Strained: 1, Near: true}
	var w ThrottleWatch
	var kill bool
	for i, tc := range []struct {
		high uint64
		v    Verdict
		kill bool
	}{
		{10, strained, false},            // first window: rose from 0
		{20, strained, true},             // second window rising: still the problem
		{20, strained, false},            // stopped pushing
		{30, Verdict{Near: true}, false}, // rising, but kubepods calm
		{40, strained, false},
	} {
		w, kill = WatchThrottled(w, tc.high, tc.v, th)
		if kill != tc.kill {
			t.Fatalf("window %d: kill=%v, want %v (%+v)", i, kill, tc.kill, w)
		}
	}
}
