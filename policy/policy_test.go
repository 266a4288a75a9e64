package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/psi"
)

const (
	MiB      = 1 << 20
	GiB      = 1 << 30
	memTotal = 16 * GiB
)

// pod builds a pod with one container whose processes run at adj, plus a
// sandbox, the way the kubelet lays it out.
func pod(name string, q cgroupv2.QoS, ws uint64, adj ...int) cgroupv2.Pod {
	p := cgroupv2.Pod{UID: name, QoS: q}
	p.Path = "/kubepods.slice/" + name
	p.WorkingSet, p.Current, p.Max = ws, ws, cgroupv2.Unlimited
	p.Containers = append(p.Containers, cgroupv2.Container{ID: "pause", Procs: []cgroupv2.Process{{PID: 1, OOMScoreAdj: -998}}})
	var procs []cgroupv2.Process
	for i, a := range adj {
		procs = append(procs, cgroupv2.Process{PID: 100 + i, OOMScoreAdj: a})
	}
	p.Containers = append(p.Containers, cgroupv2.Container{ID: "app", Procs: procs, Current: ws})
	return p
}

func TestInferRequest(t *testing.T) {
	withMin := pod("m", cgroupv2.Burstable, GiB, 500)
	withMin.Min = 300 * MiB
	guaranteed := pod("g", cgroupv2.Guaranteed, GiB, -997)
	guaranteed.Max = 2 * GiB
	twoContainers := pod("two", cgroupv2.Burstable, GiB, 900)
	twoContainers.Containers = append(twoContainers.Containers, cgroupv2.Container{ID: "side", Procs: []cgroupv2.Process{{PID: 7, OOMScoreAdj: 950}}})
	raisedChild := pod("child", cgroupv2.Burstable, GiB, 900, 1000) // a child raised its own adj
	conmon := pod("crio", cgroupv2.Burstable, GiB, 999)
	conmon.Containers = append(conmon.Containers, cgroupv2.Container{ID: "c", Helper: true, Procs: []cgroupv2.Process{{PID: 9, OOMScoreAdj: -1000}}})

	tests := []struct {
		name string
		pod  cgroupv2.Pod
		want uint64
		src  RequestSource
	}{
		{"memory.min wins", withMin, 300 * MiB, FromMemoryMin},
		{"guaranteed request is its limit", guaranteed, 2 * GiB, FromLimit},
		{"burstable adj 900 is 10% of the node", pod("b", cgroupv2.Burstable, GiB, 900), 100 * (memTotal / 1000), FromOOMScoreAdj},
		{"burstable containers add up", twoContainers, 150 * (memTotal / 1000), FromOOMScoreAdj},
		{"lowest adj of a container counts", raisedChild, 100 * (memTotal / 1000), FromOOMScoreAdj},
		{"burstable adj 999 means no request", pod("n", cgroupv2.Burstable, GiB, 999), 0, FromNone},
		{"besteffort has none", pod("be", cgroupv2.BestEffort, GiB, 1000), 0, FromNone},
		{"runtime helper ignored", conmon, 0, FromNone},
		{"no processes, no guess", pod("empty", cgroupv2.Burstable, GiB), 0, FromNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src := InferRequest(tt.pod, memTotal)
			if got != tt.want || src != tt.src {
				t.Errorf("InferRequest = %d (%s), want %d (%s)", got, src, tt.want, tt.src)
			}
		})
	}
}

func TestProtection(t *testing.T) {
	conmon := pod("crio", cgroupv2.Burstable, GiB, 999)
	conmon.Containers = append(conmon.Containers, cgroupv2.Container{ID: "c", Helper: true, Procs: []cgroupv2.Process{{PID: 9, OOMScoreAdj: -1000}}})
	loose := pod("loose", cgroupv2.BestEffort, GiB, 1000)
	loose.Procs = []cgroupv2.Process{{PID: 5, OOMScoreAdj: -1000}}
	// What the reader makes of nested cgroups: a container's processes
	// include those of its subtree; the pod's those outside any container.
	nested := pod("nested", cgroupv2.Burstable, GiB, 900, 900, -1000) // systemd in a container, a service at -1000
	nestedCritical := pod("kind", cgroupv2.Burstable, GiB, 900)
	nestedCritical.Procs = []cgroupv2.Process{{PID: 6, OOMScoreAdj: -999}} // a kubelet in a subdirectory of the pod
	underSandbox := pod("s", cgroupv2.BestEffort, GiB, 1000)
	underSandbox.Containers[0].Procs = append(underSandbox.Containers[0].Procs, cgroupv2.Process{PID: 2, OOMScoreAdj: -1000})
	conmonNested := pod("crio", cgroupv2.Burstable, GiB, 999)
	conmonNested.Containers = append(conmonNested.Containers, cgroupv2.Container{ID: "c", Helper: true,
		Procs: []cgroupv2.Process{{PID: 9, OOMScoreAdj: -1000}, {PID: 10, OOMScoreAdj: -1000}}})
	tests := []struct {
		name      string
		pod       cgroupv2.Pod
		globs     []string
		protected bool
	}{
		{"plain besteffort", pod("be", cgroupv2.BestEffort, GiB, 1000), nil, false},
		{"critical in besteffort slice", pod("crit", cgroupv2.BestEffort, GiB, -997), nil, true},
		{"critical in burstable slice", pod("crit", cgroupv2.Burstable, GiB, 500, -997), nil, true},
		{"guaranteed at -997 is normal", pod("g", cgroupv2.Guaranteed, GiB, -997), nil, false},
		{"-1000 is a process's own: it spares the process, not the pod", pod("g", cgroupv2.Guaranteed, GiB, -1000), nil, false},
		{"sandbox -998 does not protect", pod("s", cgroupv2.BestEffort, GiB), nil, false},
		{"conmon -1000 does not protect", conmon, nil, false},
		{"-1000 outside containers spares the process only", loose, nil, false},
		{"nested -1000 in a container spares the process only", nested, nil, false},
		{"nested critical outside containers protects", nestedCritical, nil, true},
		{"-1000 below a sandbox's pause spares the process only", underSandbox, nil, false},
		{"conmon's subtree does not protect", conmonNested, nil, false},
		{"nested -997 in a guaranteed pod is normal", pod("g", cgroupv2.Guaranteed, GiB, -997, -997), nil, false},
		{"glob match", pod("be", cgroupv2.BestEffort, GiB, 1000), []string{"/kubepods.slice/b*"}, true},
		{"glob miss", pod("be", cgroupv2.BestEffort, GiB, 1000), []string{"/kubepods.slice/x*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := Protection(tt.pod, tt.globs)
			if (why != "") != tt.protected {
				t.Errorf("Protection = %q, want protected=%v", why, tt.protected)
			}
		})
	}
}

func TestLargestContainerSkipsSandboxAndHelper(t *testing.T) {
	p := pod("p", cgroupv2.Burstable, GiB, 900)
	p.Containers[0].Current = 5 * GiB // the sandbox, oddly large
	p.Containers = append(p.Containers,
		cgroupv2.Container{ID: "conmon", Helper: true, Current: 4 * GiB, Procs: []cgroupv2.Process{{PID: 3}}},
		cgroupv2.Container{ID: "side", Current: 2 * GiB, Procs: []cgroupv2.Process{{PID: 4, OOMScoreAdj: 900}}})
	c, ok := LargestContainer(p)
	if !ok || c.ID != "side" {
		t.Fatalf("LargestContainer = %q %v, want side", c.ID, ok)
	}
}

// --- Decide ---

var th = Thresholds{
	Kind: psi.Full, Stall: 100 * time.Millisecond, TriggerStall: 100 * time.Millisecond, Window: time.Second, Windows: 2,
	NearLimit: 0.9, HostFloor: 512 * MiB, OnImminentOOM: true, Cooldown: 10 * time.Second,
}

// step is one observation in a Decide sequence.
type step struct {
	at        time.Duration // since start
	stall     time.Duration // full stall accumulated since start
	triggered bool
	ws        uint64 // kubepods working set (memory.max is 1 GiB)
	cur       uint64 // kubepods memory.current
	anon      uint64
	shmem     uint64
	report    string            // before this look, the last kill reports: "confirmed", "unconfirmed" or "nothing"
	max, oom  uint64            // kubepods memory.events.local counters
	high      map[string]uint64 // throttled pods' high counters, by path
	wantKill  Reason            // "" for no kill
	victim    string            // the throttled pod a leak-under-throttle kill names
	want      string            // relief steps expected: any of "reclaim", "throttle", "release"
}

func run(t *testing.T, th Thresholds, steps []step) {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	var s State
	for i, st := range steps {
		o := Observation{Now: start.Add(st.at), Triggered: st.triggered}
		o.Kubepods.Max = GiB
		o.Kubepods.WorkingSet = st.ws
		o.Kubepods.Stat.Anon, o.Kubepods.Stat.Shmem = st.anon, st.shmem
		o.Kubepods.Current = st.cur
		if st.report != "" {
			s = Record(s, Action{Kind: ActKillDone, At: o.Now, Killed: st.report != "nothing", Confirmed: st.report == "confirmed"})
		}
		o.Kubepods.Pressure.Full.Total = st.stall
		o.Local = cgroupv2.MemoryEvents{Max: st.max, OOM: st.oom}
		o.Host = cgroupv2.Meminfo{MemTotal: memTotal, MemAvailable: 8 * GiB}
		o.Throttled = st.high
		var v Decision
		s, v = Decide(s, o, th)
		got := Reason("")
		if v.Kill {
			got = v.Reason
			s = Record(s, Action{Kind: ActKill, At: o.Now, Pod: v.Victim})
		}
		if got != st.wantKill || v.Victim != st.victim {
			t.Fatalf("step %d (t=%v): kill=%q victim %q, want %q victim %q (verdict %+v)", i, st.at, got, v.Victim, st.wantKill, st.victim, v)
		}
		var steps []string
		for _, s := range []struct {
			on   bool
			name string
		}{{v.Reclaim, "reclaim"}, {v.Throttle, "throttle"}, {v.Release, "release"}} {
			if s.on {
				steps = append(steps, s.name)
			}
		}
		if got := strings.Join(steps, ","); got != st.want {
			t.Fatalf("step %d (t=%v): relief %q, want %q (verdict %+v)", i, st.at, got, st.want, v)
		}
		if v.Throttle {
			s = Record(s, Action{Kind: ActThrottle, At: o.Now})
		}
	}
}

// ladder is th with the relief ladder on: the trigger sits at the relief
// stall, 30 ms of full stall per 1 s window.
var ladder = func() Thresholds {
	l := th
	l.ReliefStall, l.TriggerStall = 30*time.Millisecond, 30*time.Millisecond
	l.Reclaim, l.Throttle, l.ThrottleAfter, l.ReleaseAfter = true, true, 2, 3*time.Second
	return l
}()

// th3 is th with pressure.windows 3.
var th3 = func() Thresholds {
	t := th
	t.Windows = 3
	return t
}()

func TestDecide(t *testing.T) {
	const near, far = 950 * MiB, 500 * MiB
	ms := time.Millisecond
	tests := []struct {
		name  string
		th    Thresholds
		steps []step
	}{
		{"sustained pressure near the limit kills after two windows", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, triggered: true, ws: near},
			{at: 2000 * ms, stall: 600 * ms, triggered: true, ws: near, wantKill: ReasonPressure},
		}},
		{"pressure but memory not near the limit: no kill", th, []step{
			{at: 0, ws: far},
			{at: 1000 * ms, stall: 500 * ms, triggered: true, ws: far},
			{at: 2000 * ms, stall: 1000 * ms, triggered: true, ws: far},
			{at: 3000 * ms, stall: 1500 * ms, triggered: true, ws: far},
			{at: 4000 * ms, stall: 2000 * ms, triggered: true, ws: far},
		}},
		{"a calm window in between resets the count", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 310 * ms, ws: near}, // 1 % stall: calm
			{at: 3000 * ms, stall: 600 * ms, ws: near},
			{at: 4000 * ms, stall: 900 * ms, ws: near, wantKill: ReasonPressure},
		}},
		{"hitting the limit under sustained pressure counts as near, whatever the working set", th, []step{
			{at: 0, ws: far},
			{at: 1000 * ms, stall: 300 * ms, ws: far, max: 10},
			{at: 2000 * ms, stall: 600 * ms, ws: far, max: 20, wantKill: ReasonPressure},
		}},
		{"near the limit without pressure: no kill", th, []step{
			{at: 0, ws: near}, {at: 1000 * ms, ws: near}, {at: 2000 * ms, ws: near}, {at: 3000 * ms, ws: near},
		}},
		{"observations inside one window count once", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, triggered: true, ws: near},
			{at: 1200 * ms, stall: 400 * ms, triggered: true, ws: near},
			{at: 1500 * ms, stall: 500 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
		}},
		{"a long silence breaks the streak", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, triggered: true, ws: near},
			{at: 30000 * ms, stall: 600 * ms, triggered: true, ws: near}, // one window, not two
			{at: 31000 * ms, stall: 900 * ms, triggered: true, ws: near, wantKill: ReasonPressure},
		}},
		{"a slow leak (1 MiB/s, 380 MiB left): two windows, the relief ladder first", th, []step{
			{at: 0, ws: near, anon: 600 * MiB},
			{at: 1000 * ms, stall: 300 * ms, ws: near, anon: 601 * MiB},
			{at: 2000 * ms, stall: 600 * ms, ws: near, anon: 602 * MiB, wantKill: ReasonPressure},
		}},
		{"a pressured window near the limit while unreclaimable memory grows (a fast leak): one window is enough", th, []step{
			{at: 0, ws: near, anon: 600 * MiB},
			{at: 1000 * ms, stall: 300 * ms, ws: near, anon: 620 * MiB, wantKill: ReasonPressure},
		}},
		{"a pressured window near the limit, unreclaimable memory steady (busy, no leak): two windows", th, []step{
			{at: 0, ws: near, anon: 600 * MiB},
			{at: 1000 * ms, stall: 370 * ms, ws: near, anon: 600 * MiB},
			{at: 2000 * ms, stall: 740 * ms, ws: near, anon: 600 * MiB, wantKill: ReasonPressure},
		}},
		{"growth slower than GrowingRate over the window is steady", th, []step{
			{at: 0, ws: near, anon: 600 * MiB},
			{at: 1000 * ms, stall: 300 * ms, ws: near, anon: 600*MiB + 200<<10},
			{at: 2000 * ms, stall: 600 * ms, ws: near, anon: 600*MiB + 400<<10, wantKill: ReasonPressure},
		}},
		{"pressure.windows 3 with a leak: one window fewer", th3, []step{
			{at: 0, ws: near, anon: 600 * MiB},
			{at: 1000 * ms, stall: 300 * ms, ws: near, anon: 620 * MiB},
			{at: 2000 * ms, stall: 600 * ms, ws: near, anon: 640 * MiB, wantKill: ReasonPressure},
		}},
		{"cooldown, then pressure must build again", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 3000 * ms, stall: 900 * ms, ws: near},
			{at: 11000 * ms, stall: 3300 * ms, ws: near},
			{at: 12000 * ms, stall: 3600 * ms, ws: near},
			{at: 13000 * ms, stall: 3900 * ms, ws: near, wantKill: ReasonPressure},
		}},
		{"after a confirmed kill, the cooldown does not hold an imminent OOM", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 2500 * ms, stall: 700 * ms, ws: near, anon: 950 * MiB, max: 5},              // the victim is dying: held
			{at: 3000 * ms, stall: 800 * ms, ws: near, anon: 950 * MiB, report: "confirmed"}, // freed, still at the limit
			{at: 3050 * ms, stall: 800 * ms, ws: near, anon: 950 * MiB, max: 6, wantKill: ReasonImminentOOM},
		}},
		{"after a confirmed kill, at the limit by memory.current alone, unreclaimable near it", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 3000 * ms, stall: 700 * ms, ws: near, cur: 1020 * MiB, anon: 700 * MiB, shmem: 250 * MiB, report: "confirmed", wantKill: ReasonImminentOOM},
		}},
		{"after a confirmed kill, one pressured window near the limit is enough", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 2800 * ms, stall: 900 * ms, ws: near, report: "confirmed"}, // the window restarts here
			{at: 3800 * ms, stall: 1200 * ms, ws: near, wantKill: ReasonPressure},
		}},
		{"after a confirmed kill, calm windows far from the limit: nothing", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 2800 * ms, stall: 900 * ms, ws: far, report: "confirmed"},
			{at: 3800 * ms, stall: 1200 * ms, ws: far}, // pressure, but far: the victim's page cache refaulting
			{at: 4800 * ms, stall: 1210 * ms, ws: far},
		}},
		{"an unconfirmed kill keeps the whole cooldown", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 7000 * ms, stall: 900 * ms, ws: near, anon: 950 * MiB, report: "unconfirmed"},
			{at: 7050 * ms, stall: 900 * ms, ws: near, anon: 950 * MiB, max: 6},
			{at: 8050 * ms, stall: 1200 * ms, ws: near, anon: 950 * MiB},
		}},
		{"a kill that signalled nothing lifts the cooldown", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 300 * ms, ws: near},
			{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			{at: 2100 * ms, stall: 600 * ms, ws: near, anon: 950 * MiB, max: 6, report: "nothing", wantKill: ReasonImminentOOM},
		}},
		{"unreclaimable memory growing fast to the margin: predicted, before the limit", th, []step{
			{at: 0, ws: 600 * MiB, anon: 600 * MiB},
			{at: 500 * ms, ws: 700 * MiB, anon: 700 * MiB},                             // 200 MiB/s, once
			{at: 1000 * ms, ws: 810 * MiB, anon: 810 * MiB, wantKill: ReasonPredicted}, // twice: +220 MiB in a window passes 1 GiB - 20 MiB
		}},
		{"growing, but a window's growth stays under the margin: not yet", th, []step{
			{at: 0, ws: 600 * MiB, anon: 600 * MiB},
			{at: 1000 * ms, ws: 650 * MiB, anon: 650 * MiB},
			{at: 2000 * ms, ws: 700 * MiB, anon: 700 * MiB},
			{at: 3000 * ms, ws: 750 * MiB, anon: 750 * MiB},
		}},
		{"a full but steady node is not an emergency", th, []step{
			{at: 0, ws: 1000 * MiB, anon: 1000 * MiB},
			{at: 1000 * ms, ws: 1000 * MiB, anon: 1000 * MiB},
			{at: 2000 * ms, ws: 1000 * MiB, anon: 1000 * MiB},
		}},
		{"one jump is not a trend", th, []step{
			{at: 0, ws: 500 * MiB, anon: 500 * MiB},
			{at: 1000 * ms, ws: 900 * MiB, anon: 900 * MiB},
			{at: 2000 * ms, ws: 900 * MiB, anon: 900 * MiB},
		}},
		{"shared memory counts as unreclaimable", th, []step{
			{at: 0, ws: 600 * MiB, shmem: 600 * MiB},
			{at: 500 * ms, ws: 700 * MiB, shmem: 700 * MiB},
			{at: 1000 * ms, ws: 810 * MiB, shmem: 810 * MiB, wantKill: ReasonPredicted},
		}},
		{"limit hit with unreclaimable memory near it: imminent OOM", th, []step{
			{at: 0, ws: near, anon: 950 * MiB},
			{at: 100 * ms, ws: near, anon: 960 * MiB, max: 1, wantKill: ReasonImminentOOM},
		}},
		{"limit hit by page cache (busy but healthy): no kill", th, []step{
			{at: 0, ws: far, anon: 100 * MiB},
			{at: 100 * ms, ws: far, anon: 100 * MiB, max: 40},
			{at: 1100 * ms, stall: 50 * ms, ws: far, anon: 100 * MiB, max: 900},
			{at: 2100 * ms, stall: 90 * ms, ws: far, anon: 100 * MiB, max: 2000},
		}},
		{"imminent path can be switched off", func() Thresholds { t := th; t.OnImminentOOM = false; return t }(), []step{
			{at: 0, ws: near, anon: 950 * MiB},
			{at: 100 * ms, ws: near, anon: 960 * MiB, max: 1, oom: 1},
		}},
		{"some-kind thresholds read the some line", func() Thresholds { t := th; t.Kind = psi.Some; return t }(), []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 900 * ms, ws: near}, // only full moves: no some stall
			{at: 2000 * ms, stall: 1800 * ms, ws: near},
		}},
		{"strained: reclaim, then throttle once memory is near, then kill if pressure is sustained", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, triggered: true, ws: far, want: "reclaim"},
			{at: 2000 * ms, stall: 100 * ms, triggered: true, ws: far, want: "reclaim"}, // not near: no throttle
			{at: 3000 * ms, stall: 150 * ms, triggered: true, ws: near, want: "reclaim,throttle"},
			{at: 4000 * ms, stall: 200 * ms, triggered: true, ws: near, want: "reclaim"}, // throttled: streak restarts
			{at: 5000 * ms, stall: 400 * ms, triggered: true, ws: near, want: "reclaim,throttle"},
			{at: 6000 * ms, stall: 600 * ms, triggered: true, ws: near, wantKill: ReasonPressure},
		}},
		{"a throttled pod that keeps hitting its memory.high while strained near the limit is killed", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near, high: map[string]uint64{"/p": 5}, want: "reclaim"},           // baseline, not a rise
			{at: 2000 * ms, stall: 100 * ms, ws: near, high: map[string]uint64{"/p": 9}, want: "reclaim,throttle"}, // the daemon plans none: one at a time
			{at: 3000 * ms, stall: 150 * ms, ws: near, high: map[string]uint64{"/p": 20}, wantKill: ReasonThrottled, victim: "/p"},
			{at: 4000 * ms, stall: 200 * ms, ws: near}, // cooling down after the kill
		}},
		{"a throttled pod that stops pushing, or kubepods calm, or memory far: no kill", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near, high: map[string]uint64{"/p": 5}, want: "reclaim"},
			{at: 2000 * ms, stall: 100 * ms, ws: near, high: map[string]uint64{"/p": 9}, want: "reclaim,throttle"},
			{at: 3000 * ms, stall: 150 * ms, ws: near, high: map[string]uint64{"/p": 9}, want: "reclaim"}, // stopped
			{at: 4000 * ms, stall: 200 * ms, ws: near, high: map[string]uint64{"/p": 12}, want: "reclaim,throttle"},
			{at: 5000 * ms, stall: 201 * ms, ws: near, high: map[string]uint64{"/p": 15}}, // calm window
			{at: 6000 * ms, stall: 250 * ms, ws: far, high: map[string]uint64{"/p": 19}, want: "reclaim"},
			{at: 7000 * ms, stall: 300 * ms, ws: far, high: map[string]uint64{"/p": 25}, want: "reclaim,release"}, // calm or far for 3 s
		}},
		{"leak-under-throttle waits out the cooldown", ladder, func() []step {
			steps := []step{
				{at: 0, ws: near},
				{at: 1000 * ms, stall: 300 * ms, ws: near, want: "reclaim"},
				{at: 2000 * ms, stall: 600 * ms, ws: near, wantKill: ReasonPressure},
			}
			for i := uint64(1); i <= 9; i++ { // 3 s to 11 s: cooling, the throttled pod pushing
				steps = append(steps, step{at: time.Duration(2+i) * time.Second, stall: 600*ms + time.Duration(i)*50*ms, ws: near, high: map[string]uint64{"/p": i}})
			}
			return append(steps, step{at: 12 * time.Second, stall: 1100 * ms, ws: near, high: map[string]uint64{"/p": 10}, wantKill: ReasonThrottled, victim: "/p"})
		}()},
		{"a relief-level trigger alone never counts toward a kill", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 40 * ms, triggered: true, ws: near, want: "reclaim"},
			{at: 2000 * ms, stall: 80 * ms, triggered: true, ws: near, want: "reclaim,throttle"},
			{at: 3000 * ms, stall: 120 * ms, triggered: true, ws: near, want: "reclaim"},
			{at: 4000 * ms, stall: 160 * ms, triggered: true, ws: near, want: "reclaim,throttle"},
		}},
		{"calm for release_after: release each window; strain near the limit resets it (no flapping)", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near, want: "reclaim"},
			{at: 2000 * ms, stall: 50 * ms, ws: near},
			{at: 3000 * ms, stall: 50 * ms, ws: near},
			{at: 4000 * ms, stall: 50 * ms, ws: near, want: "release"},
			{at: 5000 * ms, stall: 50 * ms, ws: near, want: "release"},
			{at: 6000 * ms, stall: 90 * ms, ws: near, want: "reclaim"}, // strained again
			{at: 7000 * ms, stall: 90 * ms, ws: near},
			{at: 8000 * ms, stall: 90 * ms, ws: near},
			{at: 9000 * ms, stall: 90 * ms, ws: near, want: "release"},
		}},
		{"strained but far from the limit: the throttle is released all the same", ladder, []step{
			// Issue 12's CI run: L2 throttled, then the other leaker
			// killed; kubepods far from its limit, but strained by L2
			// stalling at its own memory.high, every window. Waiting for
			// calm held the throttle 95 s, until the daemon stopped.
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near, high: map[string]uint64{"/p": 5}, want: "reclaim"},
			{at: 2000 * ms, stall: 100 * ms, ws: far, high: map[string]uint64{"/p": 90}, want: "reclaim"},
			{at: 3000 * ms, stall: 150 * ms, ws: far, high: map[string]uint64{"/p": 180}, want: "reclaim"},
			{at: 4000 * ms, stall: 200 * ms, ws: far, high: map[string]uint64{"/p": 270}, want: "reclaim,release"},
			{at: 5000 * ms, stall: 250 * ms, ws: far, high: map[string]uint64{"/p": 360}, want: "reclaim,release"},
			// Released, it grows near the limit again: the release
			// pauses, and its pushing there is a leak under throttle.
			{at: 6000 * ms, stall: 300 * ms, ws: near, high: map[string]uint64{"/p": 450}, want: "reclaim,throttle"},
			{at: 7000 * ms, stall: 350 * ms, ws: near, high: map[string]uint64{"/p": 540}, wantKill: ReasonThrottled, victim: "/p"},
		}},
		{"a silence counts as calm windows", ladder, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near, want: "reclaim"},
			{at: 4000 * ms, stall: 50 * ms, ws: far, want: "release"}, // 3 quiet windows
		}},
		{"ladder off: no relief steps", th, []step{
			{at: 0, ws: near},
			{at: 1000 * ms, stall: 50 * ms, ws: near},
			{at: 2000 * ms, stall: 100 * ms, ws: near},
			{at: 3000 * ms, stall: 150 * ms, ws: near},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.th, tt.steps) })
	}
}

func TestDecideHostFloorWithoutKubepodsLimit(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	obs := func(sec int, stall time.Duration, avail uint64) Observation {
		o := Observation{Now: start.Add(time.Duration(sec) * time.Second)}
		o.Kubepods.Max = cgroupv2.Unlimited
		o.Kubepods.Pressure.Full.Total = stall
		o.Host = cgroupv2.Meminfo{MemTotal: memTotal, MemAvailable: avail}
		return o
	}
	for _, tc := range []struct {
		avail uint64
		kill  bool
	}{{8 * GiB, false}, {100 * MiB, true}} {
		var s State
		var v Decision
		for i := 0; i <= 2; i++ {
			s, v = Decide(s, obs(i, time.Duration(i)*400*time.Millisecond, tc.avail), th)
		}
		if v.Kill != tc.kill {
			t.Errorf("MemAvailable %d MiB: kill=%v, want %v (%+v)", tc.avail/MiB, v.Kill, tc.kill, v)
		}
	}
}

func TestMargin(t *testing.T) {
	for _, tc := range []struct{ limit, want uint64 }{
		{10 * MiB, MiB},      // 2 % is 200 KiB: at least 1 MiB
		{GiB, GiB / 50},      // 20.5 MiB
		{64 * GiB, 50 * MiB}, // 2 % is 1.3 GiB: at most 50 MiB
	} {
		if got := Margin(tc.limit); got != tc.want {
			t.Errorf("Margin(%d MiB) = %d, want %d", tc.limit/MiB, got, tc.want)
		}
	}
}

// NextLook: how soon to look again without an event, so that growth at
// twice the measured rate, or AssumedGrowth, is seen before the margin.
func TestNextLook(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	look := func(unrecl []uint64, max uint64) time.Duration {
		var s State
		var v Decision
		for i, u := range unrecl {
			o := Observation{Now: start.Add(time.Duration(i) * time.Second)}
			o.Kubepods.Max, o.Kubepods.Stat.Anon = max, u
			o.Host = cgroupv2.Meminfo{MemTotal: memTotal, MemAvailable: 8 * GiB}
			s, v = Decide(s, o, th)
		}
		return v.NextLook
	}
	limit := uint64(GiB)
	target := limit - Margin(limit)
	tests := []struct {
		name   string
		unrecl []uint64
		max    uint64
		want   time.Duration
	}{
		{"no kubepods limit: none", []uint64{GiB}, cgroupv2.Unlimited, 0},
		{"steady: the headroom at AssumedGrowth", []uint64{200 * MiB, 200 * MiB},
			limit, time.Duration(float64(target-200*MiB) / AssumedGrowth * float64(time.Second))},
		{"growing at 50 MiB/s: the headroom at 100 MiB/s", []uint64{500 * MiB, 550 * MiB},
			limit, time.Duration(float64(target-550*MiB) / (100 * MiB) * float64(time.Second))},
		{"past the margin: every tenth of a window", []uint64{1020 * MiB}, limit, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := look(tt.unrecl, tt.max); got.Round(time.Millisecond) != tt.want.Round(time.Millisecond) {
			t.Errorf("%s: NextLook = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFastLeak(t *testing.T) {
	limitedAt := func(anon uint64) Observation {
		var o Observation
		o.Kubepods.Max, o.Kubepods.Stat.Anon = GiB, anon
		return o
	}
	unlimited := func(avail uint64) Observation {
		var o Observation
		o.Host = cgroupv2.Meminfo{MemTotal: memTotal, MemAvailable: avail}
		return o
	}
	for _, tt := range []struct {
		name string
		o    Observation
		th   Thresholds
		rate float64
		want bool
	}{
		{"20 MiB/s, 380 MiB left under the limit", limitedAt(600 * MiB), th, 20 * MiB, true},
		{"1 MiB/s, 380 MiB left", limitedAt(600 * MiB), th, 1 * MiB, false},
		{"under GrowingRate, nothing left", limitedAt(GiB), th, GrowingRate / 2, false},
		{"GrowingRate, past the margin", limitedAt(GiB), th, GrowingRate, true},
		{"no limit: 20 MiB/s, 1 GiB above the floor", unlimited(1536 * MiB), th, 20 * MiB, false},
		{"no limit: 20 MiB/s, 256 MiB above the floor", unlimited(768 * MiB), th, 20 * MiB, true},
	} {
		if got := fastLeak(tt.o, tt.th, tt.rate); got != tt.want {
			t.Errorf("%s: fastLeak = %v, want %v", tt.name, got, tt.want)
		}
	}
}
