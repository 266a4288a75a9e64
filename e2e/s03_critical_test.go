//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("03", gate, checkCritical) }

func checkCritical(t *testing.T, r *R) {
	t.Logf("critical pod %.0f MiB; leak start -> dead %.1f s", r.num("run.critical_bytes")/(1<<20),
		r.num("run.watch.death_s")-r.num("run.leak_start_s"))
	r.isTrue("run.daemon_survived")
	r.isTrue("run.pod_alive.C")
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.watch.died")
	r.isFalse("run.alive.leaker")
	crit, leak := r.str("run.pods.C.uid"), r.str("run.pods.L.uid")
	// kube-oomd pods --json: exit 0, a JSON list that has the leaking pod.
	r.eq("run.pods_cmd_rc", 0)
	if list, ok := r.get("run.pods_cmd").([]any); !ok {
		t.Errorf("kube-oomd pods --json did not print a JSON list: %v (stderr %q)", r.get("run.pods_cmd"), r.get("run.pods_cmd_stderr"))
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
			r.num("run.after.kubepods_oom_kill")-r.num("run.before.kubepods_oom_kill"))
	}
}
