//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// dryRun is scenario 05's run, as the guest writes it.
type dryRun struct {
	alive
	Pods                 pods       `json:"pods"`
	DaemonSurvived       bool       `json:"daemon_survived"`
	Watch                watchFacts `json:"watch"`
	KubepodsOOMKillDelta float64    `json:"kubepods_oom_kill_delta"`
}

func checkDryRun(t *testing.T, r *R) {
	d := decodeResult[dryRun](r, "run")
	isTrue(t, "run.daemon_survived", d.DaemonSurvived)
	isTrue(t, "run.watch.died", d.Watch.Died)
	atLeast(t, "run.kubepods_oom_kill_delta", d.KubepodsOOMKillDelta, 1)
	for _, k := range r.records("run", "kill") {
		t.Errorf("dry run killed pod %s (%s)", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
	}
	be := d.Pods.of(t, "run.pods", "BE").UID
	named := false
	for _, k := range r.records("run", "would_kill") {
		if k.str(vocab.PodUID) == be {
			named = true
		} else {
			t.Errorf("dry run would have killed pod %s (%s), not the leaker", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
		}
	}
	if !named {
		t.Errorf("no \"would kill\" record (MESSAGE_ID=%s) names the BestEffort pod %s", midWouldKill, be)
	}
	d.PodAlive.isTrue(t, "run.pod_alive", "G")
	d.PodAlive.isTrue(t, "run.pod_alive", "B")
	d.Alive.isTrue(t, "run.alive", "BE-pause") // the kernel kills the container, not the pod
}

func init() { register("05", gate, checkDryRun) }
