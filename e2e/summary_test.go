//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// The summary of make compare (issue 22): one row for each kube-oomd run
// that has a kernel-alone run beside it, with the three speed figures and
// the kernel's OOM reports, each against its goal. Each scenario's check
// adds its rows (R.summarize); checkResults prints the table once every
// scenario was checked. It judges nothing: the goals are benchmarks, and a
// busy host moves them; the scenarios' own checks are the gate.

// The goals, as issue 22 sets them.
const (
	goalStallToDead = 1.5                    // s, first kubepods stall to the victim dead
	goalGShare      = 0.05                   // the Guaranteed pod's full stall, a share of the kernel alone's
	goalOOMTook     = 300 * time.Millisecond // a kill with kill.method oom: decision to every process dead
)

// summaryRow is one kube-oomd run, beside the kernel alone in the same boot.
type summaryRow struct {
	run         string  // "14-bystanders", "20-node-leak (oom)"
	stallToDead float64 // s; < 0: the victim did not die
	fast        bool    // a grab faster than one PSI window: the first goal does not apply
	gStall      float64 // ms, the Guaranteed pod's full stall, kube-oomd
	gKernel     float64 // ms, the same, the kernel alone
	kills       []rec   // kube-oomd's kill records
	reports     *float64
	unkillable  *float64 // kernel OOM reports that found no task to kill
}

// summary collects the rows, in the order the scenarios ran.
type summary struct{ rows []summaryRow }

// summarize adds a row to the run's summary (make compare only).
func (r *R) summarize(row summaryRow) {
	if r.sum != nil && comparing() {
		r.sum.rows = append(r.sum.rows, row)
	}
}

// runRow is the part of a row that every shape of run shares: the kill
// records and the kernel's reports under prefix p (lib.sh's
// daemon_journal).
func (r *R) runRow(name, p string) summaryRow {
	row := summaryRow{run: name, kills: r.records(p, "kill")}
	if v, ok := r.get(p + ".oom_reports").(float64); ok {
		row.reports = &v
	}
	if v, ok := r.get(p + ".oom_unkillable").(float64); ok {
		row.unkillable = &v
	}
	return row
}

// episodeRow: an episode.sh run, kube-oomd's d beside the kernel alone's k.
func episodeRow(name string, k, d episodeRun, fast bool) summaryRow {
	row := d.r.runRow(name, d.p)
	row.fast = fast
	row.stallToDead = -1
	if end, ok := d.ends(); ok && d.x.Ep.FirstStallS != nil {
		row.stallToDead = end - *d.x.Ep.FirstStallS
	}
	if v := d.x.GFullStallUS; v != nil {
		row.gStall = *v / 1000
	}
	if v := k.x.GFullStallUS; v != nil {
		row.gKernel = *v / 1000
	}
	return row
}

// oomTook: the longest took of the kills made with kill.method oom alone
// (not its fallback), and whether there was one.
func (s summaryRow) oomTook() (time.Duration, bool) {
	var worst time.Duration
	seen := false
	for _, k := range s.kills {
		if k.str(vocab.Method) != "oom" {
			continue
		}
		d, err := time.ParseDuration(k.str(vocab.Took))
		if err != nil {
			continue
		}
		worst, seen = max(worst, d), true
	}
	return worst, seen
}

func (s summaryRow) methods() string {
	seen := map[string]bool{}
	var m []string
	for _, k := range s.kills {
		if v := k.str(vocab.Method); !seen[v] {
			seen[v] = true
			m = append(m, v)
		}
	}
	if len(m) == 0 {
		return "no kill"
	}
	return strings.Join(m, ", ")
}

// cells: the row's figures, each with "ok" or "MISSED" against its goal
// ("n/a" where it does not apply), and how many goals it missed.
func (s summaryRow) cells() (c []string, missed int) {
	mark := func(ok bool) string {
		if ok {
			return " ok"
		}
		missed++
		return " MISSED"
	}
	switch {
	case s.stallToDead < 0:
		c = append(c, "not dead"+mark(false))
	case s.fast:
		c = append(c, fmt.Sprintf("%.1f s n/a (grab)", s.stallToDead))
	default:
		c = append(c, fmt.Sprintf("%.1f s", s.stallToDead)+mark(s.stallToDead <= goalStallToDead))
	}
	if s.gKernel > 0 {
		share := s.gStall / s.gKernel
		c = append(c, fmt.Sprintf("%.0f / %.0f ms = %.0f %%", s.gStall, s.gKernel, 100*share)+mark(share <= goalGShare))
	} else {
		c = append(c, fmt.Sprintf("%.0f / %.0f ms n/a", s.gStall, s.gKernel))
	}
	if took, ok := s.oomTook(); ok {
		c = append(c, took.String()+mark(took <= goalOOMTook))
	} else {
		c = append(c, "n/a")
	}
	c = append(c, s.methods())
	switch {
	case s.reports == nil:
		c = append(c, "not recorded")
	default:
		extra := *s.reports > float64(len(s.kills)) && s.oomKills()
		c = append(c, fmt.Sprintf("%.0f for %d kills, %.0f with none to kill", *s.reports, len(s.kills), deref(s.unkillable))+
			mark(!extra && deref(s.unkillable) == 0))
	}
	return c, missed
}

// oomKills: whether any kill went through the kernel's OOM killer (the
// method oom), the only kind that should print a report.
func (s summaryRow) oomKills() bool {
	for _, k := range s.kills {
		if strings.HasPrefix(k.str(vocab.Method), "oom") {
			return true
		}
	}
	return false
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// print logs the table (and prints it outside -v), with how many rows met
// every goal.
func (sum *summary) print(t *testing.T) {
	if len(sum.rows) == 0 {
		return
	}
	head := []string{"run", fmt.Sprintf("first stall -> dead (<= %.1f s)", goalStallToDead),
		fmt.Sprintf("G full stall, kube-oomd / kernel (<= %.0f %%)", 100*goalGShare),
		fmt.Sprintf("oom kill took (<= %v)", goalOOMTook), "kill methods", "kernel OOM reports (<= 1 per oom kill, none with no task)"}
	lines := [][]string{head}
	met := 0
	for _, s := range sum.rows {
		c, missed := s.cells()
		lines = append(lines, append([]string{s.run}, c...))
		if missed == 0 {
			met++
		}
	}
	width := make([]int, len(head))
	for _, l := range lines {
		for j, c := range l {
			width[j] = max(width[j], len(c))
		}
	}
	var b strings.Builder
	b.WriteString("\nmake compare: issue 22's goals, kube-oomd beside the kernel alone in the same boot\n")
	for _, l := range lines {
		for j, c := range l {
			fmt.Fprintf(&b, "  %-*s", width[j], c)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d of %d runs meet every goal\n", met, len(sum.rows))
	t.Log(b.String())
	if !testing.Verbose() {
		fmt.Println(b.String())
	}
}

// leakSummaryRow: a leak.sh run (01), kube-oomd's d under prefix p beside
// the kernel alone's k.
func leakSummaryRow(r *R, p string, k, d leakRow) summaryRow {
	row := r.runRow(r.name, p)
	row.stallToDead = d.firstStallToAct
	if d.act < 0 {
		row.stallToDead = -1
	}
	row.gStall, row.gKernel = d.stallMs, k.stallMs
	return row
}

// nodeSummaryRow: a run of the real node (20), kube-oomd's d beside the
// kernel alone's k.
func nodeSummaryRow(r *R, k, d nodeRun) summaryRow {
	row := r.runRow(r.name+" ("+d.name+")", d.name)
	row.stallToDead = d.stallToAct
	row.gStall, row.gKernel = d.gStallMs, k.gStallMs
	return row
}
