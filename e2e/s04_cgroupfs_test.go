//go:build e2e

package e2e

import "testing"

func checkCgroupfs(t *testing.T, r *R) {
	d := decodeResult[leakRun](r, "run")
	t.Logf("cgroupfs: leak start -> dead %.1f s, Guaranteed full stall %.0f ms",
		need(t, "run.watch.death_s", d.Watch.DeathS)-d.LeakStartS, d.GFullStallUS/1000)
	match(t, "run.pods.BE.cgroup", d.Pods.of(t, "run.pods", "BE").Cgroup, `^/kubepods/besteffort/pod[0-9a-f-]{36}$`)
	leakDaemonChecks(t, r, "run", d)
}

func init() { register("04", gate, checkCgroupfs) }
