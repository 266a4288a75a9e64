//go:build e2e

package e2e

import "testing"

// checkLeak: scenario 01. The gate: kube-oomd killed the BestEffort
// leaker before any kernel OOM kill, and nothing else. make compare: the
// kernel-alone run shows the damage, and the Guaranteed pod stalled at
// most a quarter as long with kube-oomd.
func checkLeak(t *testing.T, r *R) {
	dr := decodeResult[leakRun](r, "daemon")
	d := leakSummary(t, r, "daemon", dr)
	leakDaemonChecks(t, r, "daemon", dr)
	const title = "scenario 01: leak versus a latency-sensitive pod"
	if !comparing() {
		printLeakTable(t, title, leakCol{"kube-oomd", d})
		return
	}
	kr := decodeResult[leakRun](r, "kernel")
	k := leakSummary(t, r, "kernel", kr)
	printLeakTable(t, title, leakCol{"kernel alone", k}, leakCol{"kube-oomd", d})
	r.summarize(leakSummaryRow(r, "daemon", k, d))
	// The kernel-alone run must show the damage the daemon is there to avoid.
	isTrue(t, "kernel.watch.died", kr.Watch.Died)
	atLeast(t, "kernel.kubepods_oom_kill_delta", kr.KubepodsOOMKillDelta, 1)
	kr.PodAlive.isTrue(t, "kernel.pod_alive", "G")
	kr.PodAlive.isTrue(t, "kernel.pod_alive", "B")
	atLeast(t, "kernel.g_full_stall_us", kr.GFullStallUS, 250000)
	ks, ds := kr.GFullStallUS, dr.GFullStallUS
	if ds > ks/4 {
		t.Errorf("Guaranteed pod full stall with kube-oomd %.0f ms > a quarter of kernel alone (%.0f ms / 4 = %.0f ms)",
			ds/1000, ks/1000, ks/4000)
	}
}

func init() { register("01", gateAndCompare, checkLeak) }
