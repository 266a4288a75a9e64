//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func checkDryRun(t *testing.T, r *R) {
	r.isTrue("run.daemon_survived")
	r.isTrue("run.watch.died")
	r.atLeast("run.kubepods_oom_kill_delta", 1)
	for _, k := range r.records("run", "kill") {
		t.Errorf("dry run killed pod %s (%s)", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
	}
	be := r.str("run.pods.BE.uid")
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
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.B")
	r.isTrue("run.alive.BE-pause") // the kernel kills the container, not the pod
}

func init() { register("05", gate, checkDryRun) }
