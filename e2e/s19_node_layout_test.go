//go:build e2e

package e2e

import "testing"

// checkNodeLayout: `kube-oomd pods --json` on the kubelet's own tree agrees
// with the kubelet and the specs, and the tree is the one kube-oomd assumes.
func checkNodeLayout(t *testing.T, r *R) {
	t.Logf("node up: containerd %.0f s, images %.0f s, kubelet %.0f s, pods running %.0f s after the scenario's start; %s",
		r.num("node.containerd_up"), r.num("node.images_imported"), r.num("node.kubelet_up"), r.num("node.pods_running"), r.str("node.kubelet_version"))
	t.Logf("kube-oomd pods on the real node:\n%s", r.str("pods_table"))
	r.eq("pods_rc", 0)
	r.eq("status_rc", 0)
	capacity := r.num("node.capacity")
	for _, name := range nodePods {
		uid := r.str("kubelet." + name + ".uid")
		row := r.podRow(uid)
		if row == nil {
			t.Errorf("pod %s (uid %s): not in kube-oomd pods --json", name, uid)
			continue
		}
		if q, want := row["qos"], r.str("kubelet."+name+".qos"); q != want {
			t.Errorf("pod %s: qos %v, the kubelet says %s", name, q, want)
		}
		if ns, want := row["namespace"], r.str("kubelet."+name+".namespace"); ns != want {
			t.Errorf("pod %s: namespace %v, the kubelet says %s", name, ns, want)
		}
		if n, want := row["name"], name+"-e2e-node"; n != want {
			t.Errorf("pod %s: name %v, want %s", name, n, want)
		}
		// The request: exact from memory.max (Guaranteed) or nothing
		// (BestEffort); from oom_score_adj (Burstable) within the
		// formula's resolution: the kubelet rounds 1000 x request /
		// capacity down, so the inference is at most a thousandth of the
		// capacity under the spec.
		req, _ := row["request_bytes"].(float64)
		want := r.num("spec." + name + ".request")
		if row["request_source"] == "oom_score_adj" {
			if req > want || want-req >= capacity/1000 {
				t.Errorf("pod %s: request %.0f from oom_score_adj, spec %.0f (resolution %.0f)", name, req, want, capacity/1000)
			}
		} else if req != want {
			t.Errorf("pod %s: request %.0f (%v), spec %.0f", name, req, row["request_source"], want)
		}
		limit, _ := row["limit_bytes"].(float64)
		switch want := r.get("spec." + name + ".limit").(type) {
		case nil:
			if row["limit_bytes"] != nil {
				t.Errorf("pod %s: limit %v, spec has none", name, row["limit_bytes"])
			}
		case float64:
			if limit != want {
				t.Errorf("pod %s: limit %.0f, spec %.0f", name, limit, want)
			}
		}
		// Every container of the tree: the sandbox at -998, the app
		// containers at their QoS class's oom_score_adj. memory.oom.group
		// is reported, not asserted: this kubelet and containerd leave it
		// 0, and kill.method "oom" does not depend on it.
		cts, _ := r.get("tree." + name + ".containers").(map[string]any)
		if len(cts) < 2 {
			t.Errorf("pod %s: %d container cgroups, want a sandbox and at least one container", name, len(cts))
		}
		for id, c := range cts {
			m := c.(map[string]any)
			if m["comm"] == "pause" {
				if m["adj"] != float64(-998) {
					t.Errorf("pod %s: sandbox %s at oom_score_adj %v, want -998", name, id, m["adj"])
				}
				continue
			}
			t.Logf("pod %s: container %s (%v) oom_score_adj %v, memory.oom.group %v", name, id, m["comm"], m["adj"], m["oom_group"])
			switch adj := m["adj"].(float64); row["qos"] {
			case "Guaranteed":
				if adj != -997 {
					t.Errorf("pod %s: container %s at oom_score_adj %v, want -997", name, id, adj)
				}
			case "BestEffort":
				if adj != 1000 {
					t.Errorf("pod %s: container %s at oom_score_adj %v, want 1000", name, id, adj)
				}
			case "Burstable":
				if adj < 2 || adj > 999 {
					t.Errorf("pod %s: container %s at oom_score_adj %v, want 2..999", name, id, adj)
				}
			}
		}
	}
}

func init() { register("19", gate, checkNodeLayout) }
