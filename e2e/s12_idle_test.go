//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("12", compareOnly, checkIdle) }

// Scenario 12's bounds on kube-oomd's idle cost: 150 idle pods, built-in
// defaults, a 60 s window after 15 s of settling; CPU time in the guest's
// clock ticks (USER_HZ, 100 a second) per minute, and RSS.
//
// The daemon of commit 969012d used 70 to 90 ticks a minute (1.2 to 1.5 %
// of a CPU; issue 8 measured 73) and 9.6 to 11.6 MiB in three runs. strace
// shows where the time goes: the 10 s rescan opens, reads and closes about
// 166 files and directories each time (every pod's memory.events; ~1,000
// each of openat, read and close a minute), and the Go runtime makes its
// own system calls around each wakeup, all slow under TCG (clock_gettime
// is a system call too: the guest's clocksource is hpet, which has no
// vDSO). The daemon that leaves the pods to inotify between rescans
// measured 26.2 and 33.8 ticks a minute in two runs of the same binary;
// 969012d measured 69.5 to 90.2: TCG's run-to-run noise is about 30 %.
// 50 (0.83 % of a CPU) sits between the two with room on both sides: it
// fails the baseline's behaviour (28 % under its lowest figure) and does
// not fail the current one on noise (48 % over its highest). 32 MiB is
// about three times the baseline's RSS: room for the garbage collector,
// not for a cache per pod.
const (
	idleMaxTicksPerMin = 50
	idleMaxRSSMiB      = 32
)

// idleResult is scenario 12's result, as the guest writes it.
type idleResult struct {
	Pods   float64 `json:"pods"`
	Create struct {
		TotalS      float64 `json:"total_s"`
		SlicesS     float64 `json:"slices_s"`
		ContainersS float64 `json:"containers_s"`
	} `json:"create"`
	Run struct {
		Containers      float64 `json:"containers"`
		ContainersAlive float64 `json:"containers_alive"`
		KubepodsCgroups float64 `json:"kubepods_cgroups"`
		KubepodsBytes   float64 `json:"kubepods_bytes"`
		ElapsedS        float64 `json:"elapsed_s"`
		StartupTicks    float64 `json:"startup_ticks"`
		StartupS        float64 `json:"startup_s"`
		DaemonSurvived  bool    `json:"daemon_survived"`
		Sample          struct {
			Cgroup    text    `json:"cgroup"`
			Adj       float64 `json:"adj"`
			WantAdj   float64 `json:"want_adj"`
			OOMGroup  float64 `json:"oom_group"`
			UnitState text    `json:"unit_state"`
		} `json:"sample"`
		Before struct {
			KubepodsOOMKill float64 `json:"kubepods_oom_kill"`
		} `json:"before"`
		After struct {
			KubepodsOOMKill float64 `json:"kubepods_oom_kill"`
		} `json:"after"`
	} `json:"run"`
	Cost struct {
		WindowS        float64 `json:"window_s"`
		Ticks          float64 `json:"ticks"`
		UtimeTicks     float64 `json:"utime_ticks"`
		StimeTicks     float64 `json:"stime_ticks"`
		TicksPerMin    float64 `json:"ticks_per_min"`
		ClkTck         float64 `json:"clk_tck"`
		CPUPct         float64 `json:"cpu_pct"`
		RunMsPerMin    float64 `json:"run_ms_per_min"`
		SlicesPerMin   float64 `json:"slices_per_min"`
		VolCSPerMin    float64 `json:"vol_cs_per_min"`
		InvolCSPerMin  float64 `json:"invol_cs_per_min"`
		SyscrPerMin    float64 `json:"syscr_per_min"`
		SyscwPerMin    float64 `json:"syscw_per_min"`
		RcharPerMin    float64 `json:"rchar_per_min"`
		RSSKiB         float64 `json:"rss_kib"`
		HWMKiB         float64 `json:"hwm_kib"`
		Threads        float64 `json:"threads"`
		FDs            float64 `json:"fds"`
		InotifyWatches float64 `json:"inotify_watches"`
		JournalLines   float64 `json:"journal_lines"`
		GuestBusyPct   float64 `json:"guest_busy_pct"`
	} `json:"cost"`
	Strace struct {
		Calls   map[string]any `json:"calls,omitempty"` // strace -c: system call: count
		WindowS float64        `json:"window_s"`
		RC      any            `json:"rc,omitempty"`
	} `json:"strace"`
	Status struct {
		RC       float64        `json:"rc"`
		Pods     float64        `json:"pods"`
		Triggers map[string]any `json:"triggers,omitempty"`
	} `json:"status"`
	Metrics struct {
		RSSOffKiB   float64 `json:"rss_off_kib"`
		RSSOnKiB    float64 `json:"rss_on_kib"`
		Series      float64 `json:"series"`
		ScrapeBytes float64 `json:"scrape_bytes"`
		Pods        nums    `json:"pods,omitempty"` // kube_oomd_pods by QoS class
	} `json:"metrics"`
}

func checkIdle(t *testing.T, r *R) {
	d := decodeResult[idleResult](r, "")
	pods := d.Pods
	c := d.Cost
	t.Logf("idle: %.0f pods, %.0f containers (%.0f cgroups under kubepods, %.0f MiB) created in %.1f s (slices %.1f s, containers %.1f s); the scenario took %.0f s",
		pods, d.Run.Containers, d.Run.KubepodsCgroups, d.Run.KubepodsBytes/(1<<20),
		d.Create.TotalS, d.Create.SlicesS, d.Create.ContainersS, d.Run.ElapsedS)
	t.Logf("idle: kube-oomd startup: %.0f ticks in its first %.0f s", d.Run.StartupTicks, d.Run.StartupS)
	t.Logf("idle: kube-oomd over %.1f s: %.0f ticks (user %.0f, sys %.0f) = %.1f ticks/min at %.0f Hz = %.2f %% of a CPU; "+
		"run time %.0f ms/min, %.0f time slices/min, %.0f voluntary + %.0f involuntary context switches/min, %.0f read and %.0f write syscalls/min (%.0f KiB read/min); "+
		"RSS %.1f MiB (peak %.1f MiB), %.0f threads, %.0f fds, %.0f inotify watches, %.0f journal lines; the whole guest %.1f %% busy",
		c.WindowS, c.Ticks, c.UtimeTicks, c.StimeTicks, c.TicksPerMin,
		c.ClkTck, c.CPUPct,
		c.RunMsPerMin, c.SlicesPerMin, c.VolCSPerMin, c.InvolCSPerMin,
		c.SyscrPerMin, c.SyscwPerMin, c.RcharPerMin/1024,
		c.RSSKiB/1024, c.HWMKiB/1024, c.Threads, c.FDs,
		c.InotifyWatches, c.JournalLines, c.GuestBusyPct)
	// strace -c, in its own window after the measured one.
	calls := d.Strace.Calls
	type sc struct {
		name string
		n    float64
	}
	var list []sc
	var total float64
	for k, v := range calls {
		n, _ := v.(float64)
		list = append(list, sc{k, n})
		total += n
	}
	sort.Slice(list, func(i, j int) bool {
		return list[i].n > list[j].n || list[i].n == list[j].n && list[i].name < list[j].name
	})
	var parts []string
	win := d.Strace.WindowS
	for _, c := range list {
		parts = append(parts, fmt.Sprintf("%s %.0f", c.name, c.n*60/win))
	}
	t.Logf("idle: system calls per minute (strace -c -f over %.0f s, after the window): %.0f in all: %s", win, total*60/win, strings.Join(parts, ", "))
	if len(calls) == 0 {
		t.Errorf("strace -c counted no system calls (rc %v): see %s", d.Strace.RC, "results/12-idle.strace.txt")
	}
	if tr := d.Status.Triggers; tr != nil {
		t.Logf("idle: PSI trigger events by the end: %v", tr)
	}
	// metrics.listen on: the memory it costs, and kube_oomd_pods counts
	// what the daemon follows.
	t.Logf("idle: RSS %.1f MiB with metrics off (after the window), %.1f MiB with metrics.listen on after 4 scrapes (%.0f series, %.0f bytes a scrape)",
		d.Metrics.RSSOffKiB/1024, d.Metrics.RSSOnKiB/1024, d.Metrics.Series, d.Metrics.ScrapeBytes)
	if rss := d.Metrics.RSSOnKiB / 1024; rss > idleMaxRSSMiB {
		t.Errorf("idle with metrics on: RSS %.1f MiB, want at most %d MiB", rss, idleMaxRSSMiB)
	}
	for k, q := range []string{"Guaranteed", "Burstable", "BestEffort"} { // pod i is of class i % 3
		eq(t, "metrics.pods."+q, d.Metrics.Pods.num(t, "metrics.pods", q), math.Ceil((pods-float64(k))/3))
	}

	// The fast way of starting containers (lib.sh's containers_place) made
	// the kubelet's tree: a Burstable pod's container, as in the smoke test.
	match(t, "run.sample.cgroup", d.Run.Sample.Cgroup, `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	eq(t, "run.sample.adj", d.Run.Sample.Adj, d.Run.Sample.WantAdj)
	eq(t, "run.sample.oom_group", d.Run.Sample.OOMGroup, 1)
	match(t, "run.sample.unit_state", d.Run.Sample.UnitState, `^active$`)

	// Not vacuous: the daemon ran throughout and followed every pod.
	isTrue(t, "run.daemon_survived", d.Run.DaemonSurvived)
	eq(t, "status.rc", d.Status.RC, 0)
	eq(t, "status.pods", d.Status.Pods, pods)
	eq(t, "run.containers", d.Run.Containers, 2*pods)
	eq(t, "run.containers_alive", d.Run.ContainersAlive, 2*pods)
	eq(t, "run.after.kubepods_oom_kill", d.Run.After.KubepodsOOMKill, d.Run.Before.KubepodsOOMKill)
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s on an idle node, reason=%s", k.str(vocab.PodUID), k.str(vocab.Reason))
	}
	if w := c.WindowS; w < 50 {
		t.Errorf("the measured window was %.1f s, want about 60 s", w)
	}

	// The bounds.
	if v := c.TicksPerMin; v > idleMaxTicksPerMin {
		t.Errorf("idle kube-oomd used %.1f clock ticks a minute (%.2f %% of a CPU) with %.0f pods, want at most %d",
			v, c.CPUPct, pods, idleMaxTicksPerMin)
	}
	if v := c.RSSKiB / 1024; v > idleMaxRSSMiB {
		t.Errorf("idle kube-oomd's RSS is %.1f MiB with %.0f pods, want at most %d MiB", v, pods, idleMaxRSSMiB)
	}
}
