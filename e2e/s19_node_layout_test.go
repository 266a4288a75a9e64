//go:build e2e

package e2e

import "testing"

// nodeLayoutResult is scenario 19's result, as the guest writes it.
type nodeLayoutResult struct {
	Node struct {
		ContainerdUp   float64 `json:"containerd_up"`
		ImagesImported float64 `json:"images_imported"`
		KubeletUp      float64 `json:"kubelet_up"`
		PodsRunning    float64 `json:"pods_running"`
		KubeletVersion text    `json:"kubelet_version"`
		Capacity       float64 `json:"capacity"`
	} `json:"node"`
	PodsTable text                `json:"pods_table"`
	PodsRC    float64             `json:"pods_rc"`
	StatusRC  float64             `json:"status_rc"`
	Pods      podRows             `json:"pods,omitempty"` // kube-oomd pods --json
	Kubelet   map[string]nodePod  `json:"kubelet,omitempty"`
	Spec      map[string]nodeSpec `json:"spec,omitempty"`
	Tree      map[string]struct {
		Containers map[string]map[string]any `json:"containers,omitempty"` // id: comm, adj, oom_group
	} `json:"tree,omitempty"`
}

// checkNodeLayout: `kube-oomd pods --json` on the kubelet's own tree agrees
// with the kubelet and the specs, and the tree is the one kube-oomd assumes.
func checkNodeLayout(t *testing.T, r *R) {
	d := decodeResult[nodeLayoutResult](r, "")
	t.Logf("node up: containerd %.0f s, images %.0f s, kubelet %.0f s, pods running %.0f s after the scenario's start; %s",
		d.Node.ContainerdUp, d.Node.ImagesImported, d.Node.KubeletUp, d.Node.PodsRunning, d.Node.KubeletVersion)
	t.Logf("kube-oomd pods on the real node:\n%s", d.PodsTable)
	eq(t, "pods_rc", d.PodsRC, 0)
	eq(t, "status_rc", d.StatusRC, 0)
	capacity := d.Node.Capacity
	for _, name := range nodePods {
		k := entry(t, d.Kubelet, "kubelet", name)
		uid := k.UID
		row := d.Pods.row(uid)
		if row == nil {
			t.Errorf("pod %s (uid %s): not in kube-oomd pods --json", name, uid)
			continue
		}
		if q, want := row["qos"], string(k.QoS); q != want {
			t.Errorf("pod %s: qos %v, the kubelet says %s", name, q, want)
		}
		if ns, want := row["namespace"], string(k.Namespace); ns != want {
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
		spec := entry(t, d.Spec, "spec", name)
		want := spec.Request
		if row["request_source"] == "oom_score_adj" {
			if req > want || want-req >= capacity/1000 {
				t.Errorf("pod %s: request %.0f from oom_score_adj, spec %.0f (resolution %.0f)", name, req, want, capacity/1000)
			}
		} else if req != want {
			t.Errorf("pod %s: request %.0f (%v), spec %.0f", name, req, row["request_source"], want)
		}
		limit, _ := row["limit_bytes"].(float64)
		switch want := spec.Limit.(type) {
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
		cts := d.Tree[name].Containers
		if len(cts) < 2 {
			t.Errorf("pod %s: %d container cgroups, want a sandbox and at least one container", name, len(cts))
		}
		for id, c := range cts {
			m := c
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
