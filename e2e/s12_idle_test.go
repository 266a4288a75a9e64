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

func checkIdle(t *testing.T, r *R) {
	pods := r.num("pods")
	t.Logf("idle: %.0f pods, %.0f containers (%.0f cgroups under kubepods, %.0f MiB) created in %.1f s (slices %.1f s, containers %.1f s); the scenario took %.0f s",
		pods, r.num("run.containers"), r.num("run.kubepods_cgroups"), r.num("run.kubepods_bytes")/(1<<20),
		r.num("create.total_s"), r.num("create.slices_s"), r.num("create.containers_s"), r.num("run.elapsed_s"))
	t.Logf("idle: kube-oomd startup: %.0f ticks in its first %.0f s", r.num("run.startup_ticks"), r.num("run.startup_s"))
	t.Logf("idle: kube-oomd over %.1f s: %.0f ticks (user %.0f, sys %.0f) = %.1f ticks/min at %.0f Hz = %.2f %% of a CPU; "+
		"run time %.0f ms/min, %.0f time slices/min, %.0f voluntary + %.0f involuntary context switches/min, %.0f read and %.0f write syscalls/min (%.0f KiB read/min); "+
		"RSS %.1f MiB (peak %.1f MiB), %.0f threads, %.0f fds, %.0f inotify watches, %.0f journal lines; the whole guest %.1f %% busy",
		r.num("cost.window_s"), r.num("cost.ticks"), r.num("cost.utime_ticks"), r.num("cost.stime_ticks"), r.num("cost.ticks_per_min"),
		r.num("cost.clk_tck"), r.num("cost.cpu_pct"),
		r.num("cost.run_ms_per_min"), r.num("cost.slices_per_min"), r.num("cost.vol_cs_per_min"), r.num("cost.invol_cs_per_min"),
		r.num("cost.syscr_per_min"), r.num("cost.syscw_per_min"), r.num("cost.rchar_per_min")/1024,
		r.num("cost.rss_kib")/1024, r.num("cost.hwm_kib")/1024, r.num("cost.threads"), r.num("cost.fds"),
		r.num("cost.inotify_watches"), r.num("cost.journal_lines"), r.num("cost.guest_busy_pct"))
	// strace -c, in its own window after the measured one.
	calls, _ := r.get("strace.calls").(map[string]any)
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
	win := r.num("strace.window_s")
	for _, c := range list {
		parts = append(parts, fmt.Sprintf("%s %.0f", c.name, c.n*60/win))
	}
	t.Logf("idle: system calls per minute (strace -c -f over %.0f s, after the window): %.0f in all: %s", win, total*60/win, strings.Join(parts, ", "))
	if len(calls) == 0 {
		t.Errorf("strace -c counted no system calls (rc %v): see %s", r.get("strace.rc"), "results/12-idle.strace.txt")
	}
	if tr, ok := r.get("status.triggers").(map[string]any); ok {
		t.Logf("idle: PSI trigger events by the end: %v", tr)
	}
	// metrics.listen on: the memory it costs, and kube_oomd_pods counts
	// what the daemon follows.
	t.Logf("idle: RSS %.1f MiB with metrics off (after the window), %.1f MiB with metrics.listen on after 4 scrapes (%.0f series, %.0f bytes a scrape)",
		r.num("metrics.rss_off_kib")/1024, r.num("metrics.rss_on_kib")/1024, r.num("metrics.series"), r.num("metrics.scrape_bytes"))
	if rss := r.num("metrics.rss_on_kib") / 1024; rss > idleMaxRSSMiB {
		t.Errorf("idle with metrics on: RSS %.1f MiB, want at most %d MiB", rss, idleMaxRSSMiB)
	}
	for k, q := range []string{"Guaranteed", "Burstable", "BestEffort"} { // pod i is of class i % 3
		r.eq("metrics.pods."+q, math.Ceil((pods-float64(k))/3))
	}

	// The fast way of starting containers (lib.sh's containers_place) made
	// the kubelet's tree: a Burstable pod's container, as in the smoke test.
	r.match("run.sample.cgroup", `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	r.eq("run.sample.adj", r.num("run.sample.want_adj"))
	r.eq("run.sample.oom_group", 1)
	r.match("run.sample.unit_state", `^active$`)

	// Not vacuous: the daemon ran throughout and followed every pod.
	r.isTrue("run.daemon_survived")
	r.eq("status.rc", 0)
	r.eq("status.pods", pods)
	r.eq("run.containers", 2*pods)
	r.eq("run.containers_alive", 2*pods)
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s on an idle node, reason=%s", k.str(vocab.PodUID), k.str(vocab.Reason))
	}
	if w := r.num("cost.window_s"); w < 50 {
		t.Errorf("the measured window was %.1f s, want about 60 s", w)
	}

	// The bounds.
	if v := r.num("cost.ticks_per_min"); v > idleMaxTicksPerMin {
		t.Errorf("idle kube-oomd used %.1f clock ticks a minute (%.2f %% of a CPU) with %.0f pods, want at most %d",
			v, r.num("cost.cpu_pct"), pods, idleMaxTicksPerMin)
	}
	if v := r.num("cost.rss_kib") / 1024; v > idleMaxRSSMiB {
		t.Errorf("idle kube-oomd's RSS is %.1f MiB with %.0f pods, want at most %d MiB", v, pods, idleMaxRSSMiB)
	}
}
