package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

func TestReliefCandidatesSkipGuaranteedAndProtected(t *testing.T) {
	g := pod("g", cgroupv2.Guaranteed, 3*GiB, -997)
	ranked := Rank([]cgroupv2.Pod{g,
		pod("crit", cgroupv2.BestEffort, 2*GiB, -997),
		pod("be", cgroupv2.BestEffort, GiB, 1000),
		pod("bu", cgroupv2.Burstable, GiB, 999),
	}, RankConfig{MemTotal: memTotal}, Episode{})
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
		page                 uint64
		want                 uint64
	}{
		{"page cache to squeeze: 5 % below usage", 1000 * MiB, 200 * MiB, 4096, 950 * MiB},
		{"all anonymous: not below it, or a steady pod would stall", 1000 * MiB, 990 * MiB, 4096, 990 * MiB},
		{"rounded to a page", 10001, 0, 4096, 8192},
		{"rounded to a 64K page (arm64)", 1000*MiB + 12345, 0, 65536, 15200 * 65536},
		{"anon floor rounded up to a 16K page", 1000 * MiB, 990*MiB + 1, 16384, 990*MiB + 16384},
	}
	for _, tt := range tests {
		if got := ThrottleValue(tt.usage, tt.unreclaimable, 0.05, tt.page); got != tt.want {
			t.Errorf("%s: ThrottleValue = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestPlanRelease(t *testing.T) {
	th := Thresholds{ReleaseStep: 0.25, PageSize: 4096}
	tests := []struct {
		name string
		in   ThrottleState
		want ReleaseStep
	}{
		{"one step up", ThrottleState{Path: "/a", Set: 400 * MiB, Current: 400 * MiB, Ceiling: 600 * MiB}, ReleaseStep{Path: "/a", Next: 500 * MiB}},
		{"reaching the ceiling gives the original back", ThrottleState{Path: "/a", Set: 400 * MiB, Current: 500 * MiB, Ceiling: 600 * MiB}, ReleaseStep{Path: "/a", Next: 600 * MiB, Done: true}},
		{"a step that cannot rise ends it", ThrottleState{Path: "/a", Set: 0, Current: 8192, Ceiling: 600 * MiB}, ReleaseStep{Path: "/a", Next: 600 * MiB, Done: true}},
	}
	for _, tt := range tests {
		got := PlanRelease([]ThrottleState{tt.in}, th)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: PlanRelease = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestReleaseNeverAboveTheOriginal(t *testing.T) {
	tests := []struct {
		name                                 string
		original, podMax, kubepodsMax, total uint64
		want                                 uint64
	}{
		{"a number set by someone else is the ceiling", 700 * MiB, GiB, 4 * GiB, memTotal, 700 * MiB},
		{"max: the pod's limit", cgroupv2.Unlimited, GiB, 4 * GiB, memTotal, GiB},
		{"max, no pod limit: kubepods'", cgroupv2.Unlimited, cgroupv2.Unlimited, 4 * GiB, memTotal, 4 * GiB},
		{"no limit anywhere: the node's memory", cgroupv2.Unlimited, cgroupv2.Unlimited, cgroupv2.Unlimited, memTotal, memTotal},
	}
	for _, tt := range tests {
		if got := releaseCeiling(tt.original, tt.podMax, tt.kubepodsMax, tt.total); got != tt.want {
			t.Errorf("%s: ceiling %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestPlanThrottle(t *testing.T) {
	th := Thresholds{ThrottleBelow: 0.05, PageSize: 4096, Rank: RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB}}
	kp := cgroupv2.Group{Max: 4 * GiB}
	host := cgroupv2.Meminfo{MemTotal: memTotal}
	be := pod("be", cgroupv2.BestEffort, 300*MiB, 1000)
	be.Current = 500 * MiB
	bu := pod("bu", cgroupv2.Burstable, 900*MiB, 999)
	bu.Current = 900 * MiB
	g := pod("g", cgroupv2.Guaranteed, 2*GiB, -997)
	g.Current = 2 * GiB
	tiny := pod("tiny", cgroupv2.BestEffort, MiB, 1000)
	still := pod("still", cgroupv2.BestEffort, 3*GiB, 1000) // the largest, but standing still
	still.Current = 3 * GiB
	all := map[string]uint64{be.Path: cgroupv2.Unlimited, bu.Path: cgroupv2.Unlimited, g.Path: cgroupv2.Unlimited, tiny.Path: cgroupv2.Unlimited, still.Path: cgroupv2.Unlimited}
	// Every pod grows, but still.
	growing := Episode{Rates: map[string]float64{be.Path: 2 * MiB, bu.Path: 2 * MiB, g.Path: 2 * MiB, tiny.Path: 2 * MiB}}
	tests := []struct {
		name      string
		pods      []cgroupv2.Pod
		highs     map[string]uint64
		throttled int
		want      string
		value     uint64
	}{
		{"the largest relief candidate by usage", []cgroupv2.Pod{be, bu, g, tiny}, all, 0, "bu", 855 * MiB},
		{"never a pod that did not grow", []cgroupv2.Pod{be, bu, still}, all, 0, "bu", 855 * MiB},
		{"never a Guaranteed pod", []cgroupv2.Pod{g}, all, 0, "", 0},
		{"never one too small", []cgroupv2.Pod{tiny}, all, 0, "", 0},
		{"skip a pod already held lower", []cgroupv2.Pod{be, bu}, map[string]uint64{be.Path: cgroupv2.Unlimited, bu.Path: 100 * MiB}, 0, "be", 475 * MiB},
		{"skip a pod whose memory.high could not be read", []cgroupv2.Pod{be, bu}, map[string]uint64{be.Path: cgroupv2.Unlimited}, 0, "be", 475 * MiB},
	}
	for _, tt := range tests {
		p, ok := PlanThrottle(Rank(tt.pods, th.Rank, growing), tt.highs, kp, host, th)
		got := ""
		if ok {
			got = p.Pod.UID
		}
		if got != tt.want || (ok && p.Value != tt.value) {
			t.Errorf("%s: PlanThrottle = %q value %d, want %q value %d", tt.name, got, p.Value, tt.want, tt.value)
		}
		if ok && (p.Original != cgroupv2.Unlimited || p.Ceiling != 4*GiB) {
			t.Errorf("%s: original %d ceiling %d, want max and kubepods' limit", tt.name, p.Original, p.Ceiling)
		}
	}
}

func TestPlanReclaim(t *testing.T) {
	th := Thresholds{ReclaimChunk: 32 * MiB, ReclaimMax: 256 * MiB, Rank: RankConfig{MemTotal: memTotal}}
	be := pod("be", cgroupv2.BestEffort, 300*MiB, 1000)
	be.Stat.File = 1000 * MiB
	bu := pod("bu", cgroupv2.Burstable, 300*MiB, 999)
	bu.Stat.File = 100 * MiB
	little := pod("little", cgroupv2.Burstable, 100*MiB, 999)
	little.Stat.File = 10 * MiB
	g := pod("g", cgroupv2.Guaranteed, 300*MiB, -997)
	g.Stat.File = GiB
	shm := pod("shm", cgroupv2.BestEffort, 900*MiB, 1000) // a memfd: file, but shmem
	shm.Stat.File, shm.Stat.Shmem = 800*MiB, 790*MiB
	p := PlanReclaim(Rank([]cgroupv2.Pod{g, little, bu, be, shm}, th.Rank, Episode{}), th)
	var got []string
	for _, o := range p.Orders {
		got = append(got, fmt.Sprintf("%s:%d", o.Pod.UID, o.Max/MiB))
	}
	if want := "be:256 bu:100"; strings.Join(got, " ") != want || p.Chunk != 32*MiB || p.Budget != 256*MiB {
		t.Errorf("PlanReclaim = %v (chunk %d budget %d), want %s", got, p.Chunk, p.Budget, want)
	}
}

func TestReclaimEnoughCountsPageCache(t *testing.T) {
	th := Thresholds{NearLimit: 0.9, HostFloor: 512 * MiB}
	g := cgroupv2.Group{Max: GiB, Current: 950 * MiB, WorkingSet: 300 * MiB}
	if ReclaimEnough(g, cgroupv2.Meminfo{}, th) {
		t.Error("950 MiB of 1 GiB, mostly cache: not enough yet")
	}
	g.Current = 800 * MiB
	if !ReclaimEnough(g, cgroupv2.Meminfo{}, th) {
		t.Error("800 MiB of 1 GiB: enough")
	}
	noLimit := cgroupv2.Group{Max: cgroupv2.Unlimited, Current: 100 * GiB}
	if ReclaimEnough(noLimit, cgroupv2.Meminfo{MemAvailable: 100 * MiB}, th) {
		t.Error("no kubepods limit, host below its floor: not enough")
	}
	if !ReclaimEnough(noLimit, cgroupv2.Meminfo{MemAvailable: GiB}, th) {
		t.Error("no kubepods limit, host above its floor: enough")
	}
}

func TestKillTarget(t *testing.T) {
	p := pod("p", cgroupv2.Burstable, GiB, 999)
	p.Containers = append(p.Containers, cgroupv2.Container{ID: "big", Path: "/k/p/big", Current: 2 * GiB, Procs: []cgroupv2.Process{{PID: 5, OOMScoreAdj: 999}}})
	c := Candidate{Pod: &p}
	if got := KillTarget(c, Thresholds{}); got.Path != p.Path || got.String() != "pod" {
		t.Errorf("pod mode: %+v", got)
	}
	if got := KillTarget(c, Thresholds{Container: true}); got.Path != "/k/p/big" || got.Container != "big" {
		t.Errorf("container mode: %+v, want the largest container", got)
	}
	empty := cgroupv2.Pod{Group: cgroupv2.Group{Path: "/k/e"}}
	if got := KillTarget(Candidate{Pod: &empty}, Thresholds{Container: true}); got.Path != "/k/e" {
		t.Errorf("container mode, no container: %+v, want the pod", got)
	}
}
