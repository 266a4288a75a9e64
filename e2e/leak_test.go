//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// leakRow is one column of scenario 01's table.
type leakRow struct {
	act, firstStallToAct, stallMs, worst, base float64
	victim                                     string
	oomKills                                   int
}

// leakRun is one run of guest/leak.sh, as it writes it under its prefix.
type leakRun struct {
	alive
	oomBeforeAfter
	Pods                 pods       `json:"pods"`
	DaemonSurvived       *bool      `json:"daemon_survived"` // kube-oomd's runs only
	Watch                watchFacts `json:"watch"`
	LeakStartS           float64    `json:"leak_start_s"`
	GFullStallUS         float64    `json:"g_full_stall_us"`
	Passes               passes     `json:"passes"`
	KubepodsOOMKillDelta float64    `json:"kubepods_oom_kill_delta"`
}

// leakSummary: run x, under prefix p, as a column of the leak table.
func leakSummary(t *testing.T, r *R, p string, x leakRun) leakRow {
	t.Helper()
	var row leakRow
	start := x.LeakStartS
	if x.Watch.Died {
		row.act = need(t, p+".watch.death_s", x.Watch.DeathS) - start
		if fs := x.Watch.FirstStallS; fs != nil {
			row.firstStallToAct = need(t, p+".watch.death_s", x.Watch.DeathS) - *fs
		}
	} else {
		row.act = -1
	}
	row.stallMs = x.GFullStallUS / 1000
	row.worst = x.Passes.WorstS
	row.base = x.Passes.BaselineS
	row.oomKills = int(x.KubepodsOOMKillDelta)
	var victims []string
	for _, k := range r.records(p, "kill") {
		victims = append(victims, fmt.Sprintf("%s (kube-oomd, %s)", r.podName(p, k.str(vocab.PodUID)), k.str(vocab.Reason)))
	}
	for _, pod := range []string{"G", "B", "BE"} {
		if d := x.After.PodOOMKill.num(t, p+".after.pod_oom_kill", pod) - x.Before.PodOOMKill.num(t, p+".before.pod_oom_kill", pod); d > 0 {
			victims = append(victims, pod+" (kernel OOM)")
		}
	}
	row.victim = strings.Join(victims, ", ")
	if row.victim == "" {
		row.victim = "none"
	}
	return row
}

// leakDaemonChecks: kube-oomd killed the BestEffort pod slice, before any
// kernel OOM kill, and nothing else.
func leakDaemonChecks(t *testing.T, r *R, p string, x leakRun) {
	t.Helper()
	isTrue(t, p+".daemon_survived", need(t, p+".daemon_survived", x.DaemonSurvived))
	isTrue(t, p+".watch.died", x.Watch.Died)
	eq(t, p+".kubepods_oom_kill_delta", x.KubepodsOOMKillDelta, 0)
	be := x.Pods.of(t, p+".pods", "BE").UID
	kills := r.records(p, "kill")
	if len(kills) == 0 {
		t.Errorf("%s: no kill record (MESSAGE_ID=%s) in kube-oomd's journal", p, midKill)
	}
	seen := false
	for _, k := range kills {
		if k.str(vocab.PodUID) == be {
			seen = true
			if q := k.str(vocab.QoS); q != "BestEffort" {
				t.Errorf("%s: kill record for the BestEffort pod says QOS=%q", p, q)
			}
		} else {
			t.Errorf("%s: kube-oomd killed pod %s (%s), not the leaker %s", p, k.str(vocab.PodUID), r.podName(p, k.str(vocab.PodUID)), be)
		}
	}
	if len(kills) > 0 && !seen {
		t.Errorf("%s: no kill record names the BestEffort pod %s", p, be)
	}
	// A pod kill (cgroup.kill on the slice) takes its pause container too.
	x.Alive.isFalse(t, p+".alive", "leaker")
	x.Alive.isFalse(t, p+".alive", "BE-pause")
	x.PodAlive.isTrue(t, p+".pod_alive", "G")
	x.PodAlive.isTrue(t, p+".pod_alive", "B")
}

// leakCol is one column of a leak table: its heading and its run.
type leakCol struct {
	head string
	leakRow
}

// printLeakTable prints leak.sh's runs side by side, one column each.
func printLeakTable(t *testing.T, title string, cols ...leakCol) {
	var b strings.Builder
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	fmt.Fprintf(&b, "\n%s\n  %-34s", title, "")
	for _, c := range cols {
		fmt.Fprintf(&b, " %-34s", c.head)
	}
	b.WriteString("\n")
	row := func(name string, f func(leakRow) string) {
		fmt.Fprintf(&b, "  %-34s", name)
		for _, c := range cols {
			fmt.Fprintf(&b, " %-34s", f(c.leakRow))
		}
		b.WriteString("\n")
	}
	row("time to act (leak start -> dead)", func(x leakRow) string { return secs(x.act) })
	row("first kubepods stall -> dead", func(x leakRow) string { return secs(x.firstStallToAct) })
	row("victim", func(x leakRow) string { return x.victim })
	row("kernel OOM kills (kubepods)", func(x leakRow) string { return strconv.Itoa(x.oomKills) })
	row("Guaranteed full stall", func(x leakRow) string { return fmt.Sprintf("%.0f ms", x.stallMs) })
	row("worst pass (baseline)", func(x leakRow) string { return fmt.Sprintf("%.2f s (%.2f s)", x.worst, x.base) })
	t.Log(b.String())
	if !testing.Verbose() {
		fmt.Println(b.String()) // t.Log shows only with -v or on failure
	}
}
