//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// busyRun is scenario 02's run, as the guest writes it.
type busyRun struct {
	alive
	oomBeforeAfter
	Pods                pods    `json:"pods"`
	DaemonSurvived      bool    `json:"daemon_survived"`
	StreamDone          bool    `json:"stream_done"`
	StreamBytes         float64 `json:"stream_bytes"`
	StreamS             float64 `json:"stream_s"`
	LimitBytes          float64 `json:"limit_bytes"`
	KubepodsFullStallUS float64 `json:"kubepods_full_stall_us"`
	KubepodsSomeStallUS float64 `json:"kubepods_some_stall_us"`
}

func checkBusy(t *testing.T, r *R) {
	d := decodeResult[busyRun](r, "run")
	t.Logf("streamed %.0f MiB in %.1f s through a %.0f MiB kubepods; kubepods stall full %.0f ms some %.0f ms",
		d.StreamBytes/(1<<20), d.StreamS, d.LimitBytes/(1<<20),
		d.KubepodsFullStallUS/1000, d.KubepodsSomeStallUS/1000)
	isTrue(t, "run.daemon_survived", d.DaemonSurvived)
	isTrue(t, "run.stream_done", d.StreamDone)
	// The limit really was reached (memory.events max rose).
	if d.After.KubepodsMaxEvents <= d.Before.KubepodsMaxEvents {
		t.Errorf("kubepods never hit memory.max (memory.events max %v -> %v): the scenario did not load the node",
			d.Before.KubepodsMaxEvents, d.After.KubepodsMaxEvents)
	}
	eq(t, "run.after.kubepods_oom_kill", d.After.KubepodsOOMKill, d.Before.KubepodsOOMKill)
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed on a healthy node: %s %s reason=%s", r.podName("run", k.str(vocab.PodUID)), k.str(vocab.PodUID), k.str(vocab.Reason))
	}
	d.PodAlive.isTrue(t, "run.pod_alive", "G")
	d.PodAlive.isTrue(t, "run.pod_alive", "S")
}

func init() { register("02", gate, checkBusy) }
