//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func checkBusy(t *testing.T, r *R) {
	t.Logf("streamed %.0f MiB in %.1f s through a %.0f MiB kubepods; kubepods stall full %.0f ms some %.0f ms",
		r.num("run.stream_bytes")/(1<<20), r.num("run.stream_s"), r.num("run.limit_bytes")/(1<<20),
		r.num("run.kubepods_full_stall_us")/1000, r.num("run.kubepods_some_stall_us")/1000)
	r.isTrue("run.daemon_survived")
	r.isTrue("run.stream_done")
	// The limit really was reached (memory.events max rose).
	if r.num("run.after.kubepods_max_events") <= r.num("run.before.kubepods_max_events") {
		t.Errorf("kubepods never hit memory.max (memory.events max %v -> %v): the scenario did not load the node",
			r.get("run.before.kubepods_max_events"), r.get("run.after.kubepods_max_events"))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed on a healthy node: %s %s reason=%s", r.podName("run", k.str(vocab.PodUID)), k.str(vocab.PodUID), k.str(vocab.Reason))
	}
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.S")
}

func init() { register("02", gate, checkBusy) }
