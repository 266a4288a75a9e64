//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func checkPodOOM(t *testing.T, r *R) {
	r.isTrue("run.daemon_survived")
	r.isTrue("run.watch.died")
	x := r.num("run.after.pod_oom_kill.X") - r.num("run.before.pod_oom_kill.X")
	kp := r.num("run.after.kubepods_oom_kill") - r.num("run.before.kubepods_oom_kill")
	if x < 1 {
		t.Errorf("no kernel OOM kill counted in pod X's memory.events")
	}
	if kp != x {
		t.Errorf("kubepods counted %v OOM kills, pod X %v: the kernel killed outside pod X", kp, x)
	}
	r.isFalse("run.alive.leaker")
	r.isTrue("run.alive.X-pause")
	r.isTrue("run.alive.sidecar")
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.BE")
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s)", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
	}
	uid := r.str("run.pods.X.uid")
	found := false
	for _, k := range r.records("run", "kernel_oom_kill") {
		if k.str(vocab.PodUID) == uid {
			found = true
			if q := k.str(vocab.QoS); q != "Burstable" {
				t.Errorf("kernel OOM record for pod X says QOS=%q", q)
			}
		}
	}
	if !found {
		t.Errorf("kube-oomd's journal has no kernel OOM kill record (MESSAGE_ID=%s) naming pod X %s", midKernelKill, uid)
	}
}

func init() { register("06", gate, checkPodOOM) }
