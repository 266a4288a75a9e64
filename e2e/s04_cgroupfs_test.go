//go:build e2e

package e2e

import "testing"

func checkCgroupfs(t *testing.T, r *R) {
	t.Logf("cgroupfs: leak start -> dead %.1f s, Guaranteed full stall %.0f ms",
		r.num("run.watch.death_s")-r.num("run.leak_start_s"), r.num("run.g_full_stall_us")/1000)
	r.match("run.pods.BE.cgroup", `^/kubepods/besteffort/pod[0-9a-f-]{36}$`)
	leakDaemonChecks(t, r, "run")
}

func init() { register("04", gate, checkCgroupfs) }
