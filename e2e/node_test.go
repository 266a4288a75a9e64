//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// isNodeScenario: the scenarios on a real node (containerd, runc, kubelet),
// 19-node-layout and after. They run last, in one boot, on one node.
func isNodeScenario(name string) bool { return strings.Contains(name, "-node-") }

// shareNode puts the real node's parts into SHARE/node/: the kubelet and
// crictl (built by node/build-kubelet.sh, cached by version: a cached run
// builds nothing) and the pod sandbox image, pause.tar (node/pause, built
// now, in an OCI archive made by node/oci.py). The workload image is in the
// VM image (image/build.sh). A part that does not build fails the run.
func shareNode(t *testing.T, here, share string) error {
	dir := filepath.Join(share, "node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := commandOutput(here, "bash", filepath.Join(here, "node", "build-kubelet.sh"))
	if err != nil {
		return fmt.Errorf("the kubelet does not build: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	built := lines[len(lines)-1]
	t.Logf("kubelet and crictl: %s", built)
	for _, f := range []string{"kubelet", "crictl"} {
		if err := copyFile(filepath.Join(built, f), filepath.Join(dir, f), 0o755); err != nil {
			return err
		}
	}
	root, err := os.MkdirTemp("", "kube-oomd-e2e-pause-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := runCmd(here, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", filepath.Join(root, "pause"), "./node/pause"); err != nil {
		return fmt.Errorf("the pause image does not build: %w", err)
	}
	return runCmd(here, nil, "python3", filepath.Join(here, "node", "oci.py"),
		filepath.Join(dir, "pause.tar"), "e2e.local/pause:1", root, "--cmd", "/pause")
}

// commandOutput runs a command in dir and returns its stdout; stderr goes
// into the error.
func commandOutput(dir, name string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// podRow is the row of `kube-oomd pods --json` (the result's "pods") for
// the pod with that UID, or nil.
func (r *R) podRow(uid string) map[string]any {
	rows, _ := r.get("pods").([]any)
	for _, x := range rows {
		if m, ok := x.(map[string]any); ok && m["uid"] == uid {
			return m
		}
	}
	return nil
}

// nodePods are the real node's pods of node.sh, by manifest name.
var nodePods = []string{"g", "b", "be"}

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

// nodeRun is one leak run of scenario 20, for the side-by-side table.
type nodeRun struct {
	name                        string
	died                        bool
	act, stallToAct, gStallMs   float64
	worst, base                 float64 // db/g's reader: worst pass during the run, median before
	oomKills, limitOOMs         int
	who, hand                   string // who died (pod/container), by whose hand
	victims, leaker, restartAft string
	record                      string // kube-oomd's kill record: took, freed
}

// nodeRunOf reads run p; prev is the run before it ("before" for the
// first), whose pod status tells which containers died in this one.
func nodeRunOf(r *R, p, prev string) nodeRun {
	x := nodeRun{name: p, died: r.boolean(p + ".watch.died")}
	start := r.num(p + ".leak_start")
	x.act, x.stallToAct = -1, -1
	if x.died {
		x.act = r.num(p+".watch.death_s") - start
		if fs, ok := r.get(p + ".watch.first_stall_s").(float64); ok {
			x.stallToAct = r.num(p+".watch.death_s") - fs
		}
	}
	x.gStallMs = r.num(p+".g_full_stall_us") / 1000
	x.worst, x.base = r.num(p+".passes.worst_s"), r.num(p+".passes.baseline_s")
	x.oomKills = int(r.num(p + ".oom_kills"))
	x.limitOOMs = int(r.num(p + ".kubepods_limit_ooms"))
	var died []string
	for _, pod := range nodePods {
		cts, _ := r.get(p + ".pods." + pod + ".containers").(map[string]any)
		var names []string
		for name := range cts {
			k := "." + pod + ".containers." + name + ".restarts"
			if r.num(p+".pods"+k) > r.num(prev+".pods"+k) {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			died = append(died, fmt.Sprintf("%s/%s-e2e-node (%s)", r.str(p+".pods."+pod+".namespace"), pod, strings.Join(names, ", ")))
		}
	}
	x.who = strings.Join(died, "; ")
	var vs []string
	kills := r.records(p, "kill")
	for _, k := range kills {
		vs = append(vs, fmt.Sprintf("%s/%s (kube-oomd, %s, %s)", k.str("pod_namespace"), k.str("pod_name"), k.str("reason"), k.str("method")))
	}
	switch {
	case len(kills) > 0:
		x.hand = fmt.Sprintf("kube-oomd: %s, by %s", kills[0].str("reason"), kills[0].str("method"))
	case x.limitOOMs > 0:
		x.hand = "the kernel's OOM killer"
		vs = append(vs, "kernel OOM killer")
	default:
		x.hand = "?"
	}
	x.victims = strings.Join(vs, ", ")
	x.record = "-"
	if len(kills) > 0 {
		freed, _ := strconv.ParseFloat(kills[0].str("freed_bytes"), 64)
		x.record = fmt.Sprintf("%s, %.0f MiB", kills[0].str("took"), freed/(1<<20))
	}
	l := p + ".pods.be.containers.leaker."
	x.leaker = fmt.Sprintf("%s, exit %v, restarts %v", r.str(l+"last_reason"), r.get(l+"last_exit_code"), r.get(l+"restarts"))
	x.restartAft = fmt.Sprintf("%.0f s", r.num(p+".restarted_after"))
	return x
}

// nodeLeakTable is scenario 20's runs side by side, as `make demo` prints it.
func nodeLeakTable(runs []nodeRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A leak on a real node (kubelet, containerd): shop/be leaks 20 MiB/s until it dies\n\n")
	row := func(name string, f func(nodeRun) string) {
		fmt.Fprintf(&b, "  %-30s", name)
		for _, x := range runs {
			fmt.Fprintf(&b, " %-44s", f(x))
		}
		b.WriteString("\n")
	}
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	row("", func(x nodeRun) string {
		if x.name == "kernel" {
			return "the kernel alone"
		}
		return "kube-oomd, kill.method " + x.name
	})
	row("who died", func(x nodeRun) string { return x.who })
	row("by whose hand", func(x nodeRun) string { return x.hand })
	row("leak start -> dead", func(x nodeRun) string { return secs(x.act) })
	row("first kubepods stall -> dead", func(x nodeRun) string { return secs(x.stallToAct) })
	row("kill record: took, freed", func(x nodeRun) string { return x.record })
	row("db/g (Guaranteed): full stall", func(x nodeRun) string { return fmt.Sprintf("%.0f ms", x.gStallMs) })
	row("db/g: worst request (usual)", func(x nodeRun) string { return fmt.Sprintf("%.2f s (%.2f s)", x.worst, x.base) })
	row("kubepods' limit hit", func(x nodeRun) string { return fmt.Sprintf("%d times", x.limitOOMs) })
	row("OOM kills below kubepods", func(x nodeRun) string { return fmt.Sprint(x.oomKills) })
	row("Kubernetes says (leaker)", func(x nodeRun) string { return x.leaker })
	row("running again after", func(x nodeRun) string { return x.restartAft })
	return b.String()
}

// killRecordText is the last kube-oomd run's kill record as journalctl
// shows it: the short line, then the record's own fields of -o verbose
// (PRIORITY and KUBE_OOMD_*; MESSAGE is the short line's, and journald's
// trusted fields are left out).
func killRecordText(r *R, p string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kube-oomd's kill record (kill.method %s):\n\n", p)
	fmt.Fprintf(&b, "$ journalctl -u kube-oomd MESSAGE_ID=%s -n 1\n", midKill)
	for _, l := range strings.Split(strings.TrimSpace(r.str(p+".kill_journal")), "\n") {
		if !strings.HasPrefix(l, "--") {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	fmt.Fprintf(&b, "\n$ journalctl -u kube-oomd MESSAGE_ID=%s -n 1 -o verbose   (its fields, journald's own left out)\n", midKill)
	for _, l := range strings.Split(r.str(p+".kill_journal_verbose"), "\n") {
		f := strings.TrimSpace(l)
		if strings.HasPrefix(f, "PRIORITY=") || strings.HasPrefix(f, "KUBE_OOMD_") {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	return b.String()
}

// checkNodeLeak: on the real node the kernel alone kills the leaker at
// kubepods' limit (OOMKilled); kube-oomd kills shop/be before that with
// either method, names it in Kubernetes' terms, and the kubelet reports
// Error (signal) or OOMKilled (oom); db/g and web/b never restart. Under
// `make demo` (KUBE_OOMD_E2E_DEMO) only the default method runs, and the
// table and the kill record are printed for the reader.
func checkNodeLeak(t *testing.T, r *R) {
	methods := strings.Fields(r.str("methods"))
	if !demo() && !slices.Equal(methods, []string{"signal", "oom"}) {
		t.Errorf("kube-oomd ran with kill.method %v, want signal and oom", methods)
	}
	runs := []nodeRun{nodeRunOf(r, "kernel", "before")}
	prev := "kernel"
	for _, m := range methods {
		runs = append(runs, nodeRunOf(r, m, prev))
		prev = m
	}
	table := nodeLeakTable(runs)
	t.Log("\n" + table)
	for _, x := range runs {
		t.Logf("%s: %s", x.name, x.victims)
	}
	record := killRecordText(r, methods[len(methods)-1])
	t.Log("\n" + record)
	if demo() {
		fmt.Printf("\n%s\n%s\n", table, record)
	} else if !testing.Verbose() {
		fmt.Println(table)
	}

	for _, p := range append([]string{"kernel"}, methods...) {
		r.isTrue(p + ".watch.died")
		r.isTrue(p + ".restarted")
		r.eq(p+".pods.g.containers.reader.restarts", 0)
		r.eq(p+".pods.b.containers.idle.restarts", 0)
		r.eq(p+".pods.be.containers.leaker.last_exit_code", 137)
		r.atLeast(p+".passes.count_during", 1)
	}
	// The kernel alone: kubepods' limit, the kernel's OOM killer.
	r.atLeast("kernel.kubepods_limit_ooms", 1)
	r.match("kernel.pods.be.containers.leaker.last_reason", "^OOMKilled$")
	// kube-oomd, either method: before kubepods' limit ran out.
	uid := r.str("kernel.pods.be.uid")
	for _, p := range methods {
		r.eq(p+".kubepods_limit_ooms", 0)
		kills := r.records(p, "kill")
		if len(kills) == 0 {
			t.Errorf("%s: no kill record", p)
		}
		for _, k := range kills {
			if k.str("pod_uid") != uid || k.str("pod_namespace") != "shop" || k.str("pod_name") != "be-e2e-node" {
				t.Errorf("%s: kill record names %s/%s (uid %s), want shop/be-e2e-node (uid %s)",
					p, k.str("pod_namespace"), k.str("pod_name"), k.str("pod_uid"), uid)
			}
		}
		for _, k := range r.records(p, "kernel_oom_kill") {
			t.Errorf("%s: kube-oomd reported a kernel OOM kill: %v", p, k)
		}
		r.match(p+".kill_journal_verbose", "KUBE_OOMD_POD_NAME=be-e2e-node")
		switch p {
		case "signal":
			r.eq("signal.oom_kills", 0)
			r.match("signal.pods.be.containers.leaker.last_reason", "^Error$")
		case "oom":
			r.atLeast("oom.oom_kills", 1)
			r.match("oom.pods.be.containers.leaker.last_reason", "^OOMKilled$")
			// The boot's last kill record, shown as this run's: the signal
			// run's names the same pod, but not this method.
			r.match("oom.kill_journal_verbose", "KUBE_OOMD_METHOD=oom")
		}
	}
}

// checkNodeMemoryQoS: with the kubelet's MemoryQoS on, a healthy node whose
// containers sit at their kubelet-set memory.high sees no kill; kube-oomd's
// throttle of a pod slice holds through the kubelet's syncs and is released;
// no container's memory.high is ever written by kube-oomd.
func checkNodeMemoryQoS(t *testing.T, r *R) {
	t.Logf("q/hot: memory.high %s of limit %s, %v high events in the healthy 20 s; hog throttled to %s, %v samples over 20 s (%v at max), burstable memory.min %s -> %s; released %.1f s after hog dropped to half",
		r.str("q.memory_high"), r.str("q.memory_max"), r.get("healthy.q_high_events"), r.str("throttle.memory_high"),
		r.get("throttle.samples"), r.get("throttle.samples_max"), r.str("throttle.burstable_min_before"),
		r.str("throttle.burstable_min_after"), r.num("release.after_s"))
	// The kubelet's MemoryQoS: request + 0.9 x (limit - request), to the page.
	want := float64(64<<20) + 0.9*float64(192<<20)
	if h := r.num("q.memory_high"); h > want || want-h >= 4096 {
		t.Errorf("q/hot memory.high = %.0f, want the kubelet's %.0f (to the page)", h, want)
	}
	r.atLeast("healthy.q_high_events", 1)
	r.eq("healthy.q_restarts", 0)
	// 1. healthy: nothing killed, nothing throttled.
	for _, k := range r.records("healthy", "kill") {
		t.Errorf("healthy node: kube-oomd killed %s/%s", k.str("pod_namespace"), k.str("pod_name"))
	}
	for _, k := range r.records("healthy", "other") {
		if k.str("reason") == "relief-throttle" {
			t.Errorf("healthy node: kube-oomd throttled %s/%s", k.str("pod_namespace"), k.str("pod_name"))
		}
	}
	// Requests from memory.min, exactly.
	for _, name := range []string{"b", "g", "q"} {
		uid := r.str("kubelet." + name + ".uid")
		m := r.podRow(uid)
		switch {
		case m == nil:
			t.Errorf("pod %s (uid %s): not in kube-oomd pods --json", name, uid)
		case m["request_source"] != "memory.min" || m["request_bytes"] != r.num("spec."+name+".request"):
			t.Errorf("pod %s: request %v from %v, want %.0f from memory.min", name, m["request_bytes"], m["request_source"], r.num("spec."+name+".request"))
		}
	}
	// 2. the throttle held through the kubelet's writes, then went.
	r.isTrue("throttle.throttled")
	r.eq("throttle.samples_max", 0)
	r.atLeast("throttle.samples", 10) // every 0.5 s, or slower under TCG
	if r.str("throttle.burstable_min_before") == r.str("throttle.burstable_min_after") {
		t.Errorf("the kubelet did not rewrite kubepods-burstable.slice's memory.min when a Burstable pod came (%s): the test proved nothing",
			r.str("throttle.burstable_min_after"))
	}
	r.match("release.memory_high", "^max$")
	// Released because the pressure cleared, not because hog was killed.
	hog := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str("message"), "throttled pod") {
			hog = k.str("pod_uid")
		}
	}
	released := ""
	for _, k := range r.records("run", "other") {
		if strings.HasPrefix(k.str("message"), "throttle released") && k.str("pod_uid") == hog {
			released = k.str("reason")
		}
	}
	if hog == "" || released != "pressure-cleared" {
		t.Errorf("throttle of pod %q released with reason %q, want pressure-cleared", hog, released)
	}
	// No container's memory.high or memory.min changed.
	r.eq("containers.changed", 0)
	r.atLeast("containers.compared", 4)
	for _, k := range r.records("run", "kill") {
		t.Errorf("throttle phase: kube-oomd killed %s/%s", k.str("pod_namespace"), k.str("pod_name"))
	}
}
