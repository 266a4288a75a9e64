//go:build e2e

package e2e

import (
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// podOOMRun is scenario 06's run, as the guest writes it.
type podOOMRun struct {
	alive
	oomBeforeAfter
	Pods           pods       `json:"pods"`
	DaemonSurvived bool       `json:"daemon_survived"`
	Watch          watchFacts `json:"watch"`
}

func checkPodOOM(t *testing.T, r *R) {
	d := decodeResult[podOOMRun](r, "run")
	isTrue(t, "run.daemon_survived", d.DaemonSurvived)
	isTrue(t, "run.watch.died", d.Watch.Died)
	x := d.After.PodOOMKill.num(t, "run.after.pod_oom_kill", "X") - d.Before.PodOOMKill.num(t, "run.before.pod_oom_kill", "X")
	kp := d.After.KubepodsOOMKill - d.Before.KubepodsOOMKill
	if x < 1 {
		t.Errorf("no kernel OOM kill counted in pod X's memory.events")
	}
	if kp != x {
		t.Errorf("kubepods counted %v OOM kills, pod X %v: the kernel killed outside pod X", kp, x)
	}
	d.Alive.isFalse(t, "run.alive", "leaker")
	d.Alive.isTrue(t, "run.alive", "X-pause")
	d.Alive.isTrue(t, "run.alive", "sidecar")
	d.PodAlive.isTrue(t, "run.pod_alive", "G")
	d.PodAlive.isTrue(t, "run.pod_alive", "BE")
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s)", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
	}
	uid := d.Pods.of(t, "run.pods", "X").UID
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
