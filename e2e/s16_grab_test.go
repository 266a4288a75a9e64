//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

func init() { register("16", gateAndCompare, checkGrab) }

// grabRun is what scenario 16 adds to each episode run: stress-ng's main
// process, as the guest writes it.
type grabRun struct {
	MainAdj     text  `json:"main_adj"` // its oom_score_adj at the end
	MainPID     *text `json:"main_pid,omitempty"`
	SScopeState text  `json:"s_scope_state"`
}

// grabResult: scenario 16's own top-level fact.
type grabResult struct {
	Grab text `json:"grab"` // stress-ng's --vm-bytes
}

func checkGrab(t *testing.T, r *R) {
	top := decodeResult[grabResult](r, "")
	d := episodeOf(t, r, "daemon")
	runs := withKernel(t, r, "kernel", d)
	printEpisodeTable(t, fmt.Sprintf("scenario 16: stress-ng --vm-bytes %s in a BestEffort pod (main process at -1000, worker at 1000)", top.Grab), runs...)
	var dg grabRun
	for _, e := range runs {
		g := decodeResult[grabRun](r, e.p)
		if e.p == "daemon" {
			dg = g
		}
		var procs []string
		for _, m := range e.x.Ep.Procs["S-app"] {
			dead := "alive"
			if ds := m.DeathS; ds != nil {
				dead = fmt.Sprintf("dead %.1f s after the start", *ds-need(t, e.p+".go_s", e.x.GoS))
			}
			procs = append(procs, fmt.Sprintf("%v %q adj %v peak RSS %.0f MiB, %s", m.PID, m.Cmd, m.Adj, m.peakRSS()/1024, dead))
		}
		t.Logf("%s: pod S's processes: %s; main process's oom_score_adj at the end %s, its scope %s", e.p, strings.Join(procs, "; "),
			g.MainAdj, g.SScopeState)
	}
	episodeChecks(t, d, false)
	// The worker that holds the memory died; the process that set -1000
	// for itself did not: it is protected per process, as by the kernel.
	if _, ok := d.x.Ep.Deaths["worker"]; !ok {
		t.Errorf("daemon: the stress-ng worker (pid %v) is not dead after %.0f s", d.x.Ep.Pids["worker"],
			need(t, "daemon.ep.end_s", d.x.Ep.EndS)-need(t, "daemon.ep.start_s", d.x.Ep.StartS))
	}
	if b, ok := d.x.Alive["S-app"]; !ok || !b {
		t.Errorf("daemon: stress-ng's main process (pid %s, oom_score_adj -1000) is dead (alive.S-app = %v); pod S %s",
			need(t, "daemon.main_pid", dg.MainPID), show(b, ok), d.hand("S"))
	}
	// The stand-in did what it stands in for: its main process ran at
	// -1000, the worker at 1000.
	adj := map[string]string{}
	for _, m := range d.x.Ep.Procs["S-app"] {
		if fmt.Sprint(m.PID) == string(need(t, "daemon.main_pid", dg.MainPID)) {
			adj["main"] = fmt.Sprint(m.Adj)
		}
		if fmt.Sprint(m.PID) == fmt.Sprint(d.x.Ep.Pids["worker"]) {
			adj["worker"] = fmt.Sprint(m.Adj)
		}
	}
	if adj["main"] != "-1000" || adj["worker"] != "1000" {
		t.Errorf("daemon: stress-ng's main process ran at oom_score_adj %q and its worker at %q, want -1000 and 1000", adj["main"], adj["worker"])
	}
}
