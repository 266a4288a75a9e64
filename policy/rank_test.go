package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// burstable builds a Burstable pod with the kubelet's oom_score_adj for a
// memory request (on a memTotal node).
func burstable(name string, ws, request uint64) cgroupv2.Pod {
	return pod(name, cgroupv2.Burstable, ws, int(1000-request*1000/memTotal))
}

// selfProtected is a BestEffort pod whose main process set -1000 and holds
// held; its worker (adj 1000) holds the rest, as stress-ng run as root does.
func selfProtected(name string, ws, held uint64) cgroupv2.Pod {
	p := pod(name, cgroupv2.BestEffort, ws, -1000, 1000)
	p.Containers[1].Procs[0].RSS = held
	return p
}

func uids(cs []Candidate) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Pod.UID)
	}
	return strings.Join(names, " ")
}

func growing(rates map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, r := range rates {
		out["/kubepods.slice/"+name] = r
	}
	return out
}

func TestRank(t *testing.T) {
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB}
	g := pod("guaranteed", cgroupv2.Guaranteed, 3*GiB, -997)
	g.Max = 3 * GiB
	episode := Episode{Need: 100 * MiB, Horizon: 10 * time.Second}
	tests := []struct {
		name  string
		pods  []cgroupv2.Pod
		rates map[string]float64 // by pod name
		want  string             // pod names in rank order, protected last
	}{
		{"the kubelet's order: usage over request first, whatever the class", []cgroupv2.Pod{
			g,
			burstable("leaker", 2*GiB, 100*MiB),
			pod("idle-be", cgroupv2.BestEffort, 150*MiB, 1000),
		}, nil, "leaker idle-be guaranteed"},
		{"over request before within request, then usage over request", []cgroupv2.Pod{
			burstable("big-but-within", 1600*MiB, 1700*MiB),
			burstable("small-but-over", 1000*MiB, 500*MiB),
		}, nil, "small-but-over big-but-within"},
		{"working set breaks ties", []cgroupv2.Pod{
			pod("be-small", cgroupv2.BestEffort, 200*MiB, 1000),
			pod("be-big", cgroupv2.BestEffort, 900*MiB, 1000),
		}, nil, "be-big be-small"},
		{"a grower outranks a larger pod standing still", []cgroupv2.Pod{
			pod("big-idle", cgroupv2.BestEffort, 2*GiB, 1000),
			burstable("leaker", 400*MiB, 100*MiB),
		}, map[string]float64{"leaker": 5 * MiB}, "leaker big-idle"},
		{"a pod that cannot free enough, with a grower beside it, comes after", []cgroupv2.Pod{
			pod("idle-150", cgroupv2.BestEffort, 150*MiB, 1000),
			pod("idle-300", cgroupv2.BestEffort, 300*MiB, 1000),
			burstable("leaker", 120*MiB, 100*MiB), // over request by 20 MiB, growing 30 MiB/s
		}, map[string]float64{"leaker": 30 * MiB}, "leaker idle-300 idle-150"},
		{"too small to end it comes after those that can", []cgroupv2.Pod{
			pod("tiny", cgroupv2.BestEffort, 10*MiB, 1000),
			pod("be", cgroupv2.BestEffort, 500*MiB, 1000),
		}, nil, "be tiny"},
		{"protected never ranked", []cgroupv2.Pod{
			pod("critical", cgroupv2.BestEffort, 4*GiB, -997),
			pod("leaker", cgroupv2.BestEffort, 300*MiB, 1000),
		}, nil, "leaker critical"},
		{"a pod whose memory a -1000 process holds frees little", []cgroupv2.Pod{
			selfProtected("shielded", 1300*MiB, 1290*MiB),
			pod("be", cgroupv2.BestEffort, 500*MiB, 1000),
		}, nil, "be shielded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := episode
			e.Rates = growing(tt.rates)
			got := Rank(tt.pods, cfg, e)
			if uids(got) != tt.want {
				t.Fatalf("order = %s, want %s", uids(got), tt.want)
			}
			for i, c := range got {
				want := i + 1
				if c.Protected != "" {
					want = 0
				}
				if c.Rank != want {
					t.Errorf("%s rank = %d, want %d", c.Pod.UID, c.Rank, want)
				}
			}
		})
	}
}

func TestRankFigures(t *testing.T) {
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB}
	pods := []cgroupv2.Pod{
		pod("idle", cgroupv2.BestEffort, 150*MiB, 1000),
		burstable("leaker", 800*MiB, 100*MiB),
		selfProtected("shielded", 1300*MiB, 100*MiB),
	}
	e := Episode{Need: 50 * MiB, Horizon: 10 * time.Second, Rates: growing(map[string]float64{"leaker": 20 * MiB})}
	byName := map[string]Candidate{}
	for _, c := range Rank(pods, cfg, e) {
		byName[c.Pod.UID] = c
	}
	leaker, idle, shielded := byName["leaker"], byName["idle"], byName["shielded"]
	if !leaker.Growing || leaker.Growth != 20*MiB || !leaker.CanEnd || leaker.Frees != 800*MiB {
		t.Errorf("leaker: %+v", leaker)
	}
	if want := 800*MiB - leaker.Request; leaker.AboveRequest() != want || leaker.RequestSource != FromOOMScoreAdj {
		t.Errorf("leaker above request = %d (%s), want %d", leaker.AboveRequest(), leaker.RequestSource, want)
	}
	// 150 MiB frees less than the 50 MiB to shed plus 200 MiB the leaker
	// grows over the horizon.
	if idle.Growing || idle.CanEnd {
		t.Errorf("idle: growing %v, can end %v; want neither", idle.Growing, idle.CanEnd)
	}
	if shielded.Protected != "" || shielded.Frees != 1200*MiB || !slices.Equal(shielded.Spared, []int{100, 1}) {
		t.Errorf("shielded: protected %q, frees %d MiB, spared %v; want killable, 1200 MiB, [100 1]", shielded.Protected, shielded.Frees/MiB, shielded.Spared)
	}
}

func TestVictims(t *testing.T) {
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB}
	g := pod("guaranteed", cgroupv2.Guaranteed, 2*GiB, -997)
	g.Max = 2 * GiB
	tests := []struct {
		name  string
		pods  []cgroupv2.Pod
		rates map[string]float64
		need  uint64
		want  string // pod names killed, in order; "" for none
		why   string // part of the reason when none
	}{
		{"the grower that can end it, not the idle BestEffort pod", []cgroupv2.Pod{
			pod("idle-be", cgroupv2.BestEffort, 150*MiB, 1000),
			burstable("leaker", 700*MiB, 100*MiB),
			g,
		}, map[string]float64{"leaker": 20 * MiB}, 60 * MiB, "leaker", ""},
		{"two leakers, neither enough alone: both, at once", []cgroupv2.Pod{
			pod("be-leaker", cgroupv2.BestEffort, 300*MiB, 1000),
			burstable("bu-leaker", 400*MiB, 100*MiB),
			pod("idle", cgroupv2.BestEffort, 100*MiB, 1000),
			g,
		}, map[string]float64{"be-leaker": 40 * MiB, "bu-leaker": 40 * MiB}, 200 * MiB, "bu-leaker be-leaker", ""},
		{"a Guaranteed pod is never killed to make room for a pod over its request", []cgroupv2.Pod{
			burstable("over", 300*MiB, 100*MiB),
			g,
		}, nil, 400 * MiB, "", "within their request are not killed"},
		{"the memory is held by a -1000 process: no one, not the bystanders", []cgroupv2.Pod{
			selfProtected("shielded", 1300*MiB, 1290*MiB),
			burstable("holder", 90*MiB, 80*MiB),
			g,
		}, nil, 300 * MiB, "", "cannot free"},
		{"the -1000 process holds little: its pod's other processes go", []cgroupv2.Pod{
			selfProtected("shielded", 1300*MiB, 8*MiB),
			burstable("holder", 300*MiB, 100*MiB),
			g,
		}, map[string]float64{"shielded": 200 * MiB}, 300 * MiB, "shielded", ""},
		{"nothing to shed and nothing grows (page cache at the limit): no one, not the Guaranteed pod", []cgroupv2.Pod{
			pod("streamer", cgroupv2.BestEffort, 8*MiB, 1000),
			g,
		}, nil, 0, "", "nothing to shed"},
		{"nothing to shed, but a pod grows: it goes", []cgroupv2.Pod{
			pod("grower", cgroupv2.BestEffort, 300*MiB, 1000),
			g,
		}, map[string]float64{"grower": 20 * MiB}, 0, "grower", ""},
		{"nothing over its request: the kubelet's next pods", []cgroupv2.Pod{
			burstable("within", 300*MiB, 400*MiB),
			g,
		}, nil, 100 * MiB, "guaranteed", ""},
		{"a growing node-critical pod: nothing kube-oomd may kill can end it", []cgroupv2.Pod{
			pod("critical", cgroupv2.BestEffort, GiB, -997),
			pod("be", cgroupv2.BestEffort, 200*MiB, 1000),
		}, map[string]float64{"critical": 100 * MiB}, 100 * MiB, "", "cannot free"},
		{"every pod protected", []cgroupv2.Pod{
			pod("critical", cgroupv2.BestEffort, GiB, -997),
		}, nil, 100 * MiB, "", "every pod is protected"},
		{"calm node (nothing to shed), nothing grows: no one", []cgroupv2.Pod{
			pod("tiny", cgroupv2.BestEffort, 10*MiB, 1000),
			pod("be", cgroupv2.BestEffort, 200*MiB, 1000),
		}, nil, 0, "", "nothing to shed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Episode{Need: tt.need, Horizon: 10 * time.Second, Rates: growing(tt.rates)}
			got, nv := Victims(Rank(tt.pods, cfg, e), e, cfg)
			why := nv.String()
			if uids(got) != tt.want {
				t.Fatalf("Victims = %q (%s), want %q", uids(got), why, tt.want)
			}
			if (why == "") != (tt.why == "") || !strings.Contains(why, tt.why) {
				t.Errorf("why = %q, want it to say %q", why, tt.why)
			}
		})
	}
}

func TestSpared(t *testing.T) {
	if pids, rss := Spared(pod("plain", cgroupv2.BestEffort, GiB, 1000, 1000)); pids != nil || rss != 0 {
		t.Errorf("no -1000 process: spared %v (%d), want none: the whole pod goes", pids, rss)
	}
	p := selfProtected("stress", GiB, 3*MiB)
	p.Procs = []cgroupv2.Process{{PID: 7, OOMScoreAdj: -1000, RSS: MiB}, {PID: 8, OOMScoreAdj: 1000}}
	pids, rss := Spared(p)
	if fmt.Sprint(pids) != "[100 7 1]" || rss != 4*MiB {
		t.Errorf("Spared = %v, %d MiB; want [100 7 1] (the -1000 processes, then the sandbox), 4 MiB", pids, rss/MiB)
	}
}

func TestGrowth(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	leaker, idle := pod("leaker", cgroupv2.BestEffort, 0, 1000), pod("idle", cgroupv2.BestEffort, 0, 1000)
	var g Growth
	if !g.Due(start, time.Second) || len(g.Rates()) != 0 {
		t.Fatal("the zero Growth has no samples, and one is due")
	}
	for i := range 12 {
		now := start.Add(time.Duration(i) * time.Second)
		if i > 0 && g.Due(now.Add(-500*time.Millisecond), time.Second) {
			t.Fatalf("sample %d: due half a window after the last", i)
		}
		leaker.Stat.Anon = uint64(100+10*i) * MiB // 10 MiB/s
		idle.Stat.Shmem = 50 * MiB
		g = g.Observe([]cgroupv2.Pod{leaker, idle}, now)
	}
	rates := g.Rates()
	if r := rates[leaker.Path]; r < 9.99*MiB || r > 10.01*MiB {
		t.Errorf("leaker rate = %.1f MiB/s, want 10", r/MiB)
	}
	if r := rates[idle.Path]; r != 0 {
		t.Errorf("idle rate = %v, want 0", r)
	}
	// The leaker stops: after growthSamples windows it no longer grows.
	before := g
	for i := 12; i < 12+growthSamples; i++ {
		g = g.Observe([]cgroupv2.Pod{leaker, idle}, start.Add(time.Duration(i)*time.Second))
	}
	if r := g.Rates()[leaker.Path]; r != 0 {
		t.Errorf("stopped leaker rate = %v, want 0", r)
	}
	if r := before.Rates()[leaker.Path]; r < 9.99*MiB {
		t.Errorf("Observe changed an earlier Growth: rate %v", r)
	}
}
