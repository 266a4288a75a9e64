//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("03", gate, checkCritical) }

// criticalRun is scenario 03's run, as the guest writes it.
type criticalRun struct {
	alive
	oomBeforeAfter
	Pods           pods       `json:"pods"`
	DaemonSurvived bool       `json:"daemon_survived"`
	Watch          watchFacts `json:"watch"`
	LeakStartS     float64    `json:"leak_start_s"`
	CriticalBytes  float64    `json:"critical_bytes"`
	PodsCmdRC      float64    `json:"pods_cmd_rc"`
	PodsCmd        any        `json:"pods_cmd,omitempty"`        // a JSON list, if kube-oomd pods --json printed one
	PodsCmdStderr  any        `json:"pods_cmd_stderr,omitempty"` // shown if it did not
}

func checkCritical(t *testing.T, r *R) {
	d := decodeResult[criticalRun](r, "run")
	t.Logf("critical pod %.0f MiB; leak start -> dead %.1f s", d.CriticalBytes/(1<<20),
		need(t, "run.watch.death_s", d.Watch.DeathS)-d.LeakStartS)
	isTrue(t, "run.daemon_survived", d.DaemonSurvived)
	d.PodAlive.isTrue(t, "run.pod_alive", "C")
	d.PodAlive.isTrue(t, "run.pod_alive", "G")
	isTrue(t, "run.watch.died", d.Watch.Died)
	d.Alive.isFalse(t, "run.alive", "leaker")
	crit, leak := d.Pods.of(t, "run.pods", "C").UID, d.Pods.of(t, "run.pods", "L").UID
	// kube-oomd pods --json: exit 0, a JSON list that has the leaking pod.
	eq(t, "run.pods_cmd_rc", d.PodsCmdRC, 0)
	if list, ok := d.PodsCmd.([]any); !ok {
		t.Errorf("kube-oomd pods --json did not print a JSON list: %v (stderr %q)", d.PodsCmd, d.PodsCmdStderr)
	} else {
		b, _ := json.Marshal(list)
		if !strings.Contains(string(b), leak) {
			t.Errorf("kube-oomd pods --json does not list the leaking pod %s: %s", leak, b)
		}
		for _, x := range list {
			if m, ok := x.(map[string]any); ok && (m["uid"] == crit || m["uid"] == leak) {
				t.Logf("pods --json: %s", mustJSON(m))
			}
		}
	}
	killedLeaker := false
	for _, k := range r.records("run", "kill") {
		switch k.str(vocab.PodUID) {
		case crit:
			t.Errorf("kube-oomd killed the critical pod %s", crit)
		case leak:
			killedLeaker = true
		default:
			t.Errorf("kube-oomd killed pod %s (%s)", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)))
		}
	}
	if !killedLeaker {
		t.Errorf("no kube-oomd kill record names the leaking pod %s (kernel OOM kills: %v)", leak,
			d.After.KubepodsOOMKill-d.Before.KubepodsOOMKill)
	}
}
