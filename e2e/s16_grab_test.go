//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

func init() { register("16", gateAndCompare, checkGrab) }

func checkGrab(t *testing.T, r *R) {
	d := episodeRun{r, "daemon"}
	runs := withKernel(t, episodeRun{r, "kernel"}, d)
	printEpisodeTable(t, fmt.Sprintf("scenario 16: stress-ng --vm-bytes %s in a BestEffort pod (main process at -1000, worker at 1000)", r.str("grab")), runs...)
	for _, e := range runs {
		var procs []string
		list, _ := r.get(e.p + ".ep.procs.S-app").([]any)
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				dead := "alive"
				if ds, ok := m["death_s"].(float64); ok {
					dead = fmt.Sprintf("dead %.1f s after the start", ds-r.num(e.p+".go_s"))
				}
				procs = append(procs, fmt.Sprintf("%v %q adj %v peak RSS %.0f MiB, %s", m["pid"], m["cmd"], m["adj"], rec(m).num("peak_rss_kib")/1024, dead))
			}
		}
		t.Logf("%s: pod S's processes: %s; main process's oom_score_adj at the end %s, its scope %s", e.p, strings.Join(procs, "; "),
			r.str(e.p+".main_adj"), r.str(e.p+".s_scope_state"))
	}
	episodeChecks(t, d, false)
	// The worker that holds the memory died; the process that set -1000
	// for itself did not: it is protected per process, as by the kernel.
	if _, ok := r.get("daemon.ep.deaths.worker").(float64); !ok {
		t.Errorf("daemon: the stress-ng worker (pid %v) is not dead after %.0f s", r.get("daemon.ep.pids.worker"),
			r.num("daemon.ep.end_s")-r.num("daemon.ep.start_s"))
	}
	if b, ok := r.get("daemon.alive.S-app").(bool); !ok || !b {
		t.Errorf("daemon: stress-ng's main process (pid %s, oom_score_adj -1000) is dead (alive.S-app = %v); pod S %s",
			r.str("daemon.main_pid"), r.get("daemon.alive.S-app"), episodeRun{r, "daemon"}.hand("S"))
	}
	// The stand-in did what it stands in for: its main process ran at
	// -1000, the worker at 1000.
	adj := map[string]string{}
	list, _ := r.get("daemon.ep.procs.S-app").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			if fmt.Sprint(m["pid"]) == r.str("daemon.main_pid") {
				adj["main"] = fmt.Sprint(m["adj"])
			}
			if fmt.Sprint(m["pid"]) == fmt.Sprint(r.get("daemon.ep.pids.worker")) {
				adj["worker"] = fmt.Sprint(m["adj"])
			}
		}
	}
	if adj["main"] != "-1000" || adj["worker"] != "1000" {
		t.Errorf("daemon: stress-ng's main process ran at oom_score_adj %q and its worker at %q, want -1000 and 1000", adj["main"], adj["worker"])
	}
}
