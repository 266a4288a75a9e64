//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("20", gateAndCompare, checkNodeLeak) }

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
func killRecordText(t *testing.T, p string, x nodeLeakRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kube-oomd's kill record (kill.method %s):\n\n", p)
	fmt.Fprintf(&b, "$ journalctl -u kube-oomd MESSAGE_ID=%s -n 1\n", midKill)
	for _, l := range strings.Split(strings.TrimSpace(string(need(t, p+".kill_journal", x.KillJournal))), "\n") {
		if !strings.HasPrefix(l, "--") {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	fmt.Fprintf(&b, "\n$ journalctl -u kube-oomd MESSAGE_ID=%s -n 1 -o verbose   (its fields, journald's own left out)\n", midKill)
	for _, l := range strings.Split(string(need(t, p+".kill_journal_verbose", x.KillJournalVerbose)), "\n") {
		f := strings.TrimSpace(l)
		if strings.HasPrefix(f, "PRIORITY=") || strings.HasPrefix(f, "KUBE_OOMD_") {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	return b.String()
}

// nodeLeakResult: scenario 20's top-level facts; each run is a nodeLeakRun.
type nodeLeakResult struct {
	Methods text `json:"methods"` // the kill.methods run, in order
	Before  struct {
		Pods map[string]nodePod `json:"pods"`
	} `json:"before"`
}

// checkNodeLeak: on the real node the kernel alone kills the leaker at
// kubepods' limit (OOMKilled); kube-oomd kills shop/be before that with
// either method, names it in Kubernetes' terms, and the kubelet reports
// Error (signal) or OOMKilled (oom); db/g and web/b never restart. Under
// `make demo` (KUBE_OOMD_E2E_DEMO) only the default method runs, and the
// table and the kill record are printed for the reader.
func checkNodeLeak(t *testing.T, r *R) {
	top := decodeResult[nodeLeakResult](r, "")
	methods := strings.Fields(string(top.Methods))
	if len(methods) == 0 {
		t.Fatalf("no kube-oomd run recorded (methods = %q)", top.Methods)
	}
	run := map[string]nodeLeakRun{}
	for _, p := range methods {
		run[p] = decodeResult[nodeLeakRun](r, p)
	}
	if !demo() && !slices.Equal(methods, []string{"signal", "oom"}) {
		t.Errorf("kube-oomd ran with kill.method %v, want signal and oom", methods)
	}
	// The kernel-alone run: make compare and make demo (comparing) only.
	var runs []nodeRun
	prev, prevPods, judged := "before", top.Before.Pods, methods
	if comparing() {
		run["kernel"] = decodeResult[nodeLeakRun](r, "kernel")
		runs = append(runs, nodeRunOf(t, r, "kernel", run["kernel"], prev, prevPods))
		prev, prevPods, judged = "kernel", run["kernel"].Pods, append([]string{"kernel"}, methods...)
	}
	for _, m := range methods {
		runs = append(runs, nodeRunOf(t, r, m, run[m], prev, prevPods))
		prev, prevPods = m, run[m].Pods
	}
	if comparing() {
		for _, x := range runs[1:] {
			r.summarize(nodeSummaryRow(r, runs[0], x))
		}
	}
	table := nodeLeakTable(runs)
	t.Log("\n" + table)
	for _, x := range runs {
		t.Logf("%s: %s", x.name, x.victims)
	}
	last := methods[len(methods)-1]
	record := killRecordText(t, last, run[last])
	t.Log("\n" + record)
	if demo() {
		fmt.Printf("\n%s\n%s\n", table, record)
	} else if !testing.Verbose() {
		fmt.Println(table)
	}

	for _, p := range judged {
		x := run[p]
		isTrue(t, p+".watch.died", x.Watch.Died)
		isTrue(t, p+".restarted", x.Restarted)
		eq(t, p+".pods.g.containers.reader.restarts", x.container(t, p, "g", "reader").Restarts, 0)
		eq(t, p+".pods.b.containers.idle.restarts", x.container(t, p, "b", "idle").Restarts, 0)
		eq(t, p+".pods.be.containers.leaker.last_exit_code",
			need(t, p+".pods.be.containers.leaker.last_exit_code", x.container(t, p, "be", "leaker").LastExitCode), 137)
		atLeast(t, p+".passes.count_during", x.Passes.CountDuring, 1)
	}
	if comparing() {
		// The kernel alone: kubepods' limit, the kernel's OOM killer.
		atLeast(t, "kernel.kubepods_limit_ooms", run["kernel"].KubepodsLimitOOMs, 1)
		match(t, "kernel.pods.be.containers.leaker.last_reason", run["kernel"].container(t, "kernel", "be", "leaker").LastReason, "^OOMKilled$")
	}
	// kube-oomd, either method: before kubepods' limit ran out.
	uid := string(entry(t, run[methods[0]].Pods, methods[0]+".pods", "be").UID)
	for _, p := range methods {
		x := run[p]
		eq(t, p+".kubepods_limit_ooms", x.KubepodsLimitOOMs, 0)
		kills := r.records(p, "kill")
		if len(kills) == 0 {
			t.Errorf("%s: no kill record", p)
		}
		for _, k := range kills {
			if k.str(vocab.PodUID) != uid || k.str(vocab.PodNamespace) != "shop" || k.str(vocab.PodName) != "be-e2e-node" {
				t.Errorf("%s: kill record names %s/%s (uid %s), want shop/be-e2e-node (uid %s)",
					p, k.str(vocab.PodNamespace), k.str(vocab.PodName), k.str(vocab.PodUID), uid)
			}
		}
		for _, k := range r.records(p, "kernel_oom_kill") {
			t.Errorf("%s: kube-oomd reported a kernel OOM kill: %v", p, k)
		}
		verbose := need(t, p+".kill_journal_verbose", x.KillJournalVerbose)
		match(t, p+".kill_journal_verbose", verbose, journald(vocab.PodName)+"=be-e2e-node")
		switch p {
		case "signal":
			eq(t, "signal.oom_kills", x.OOMKills, 0)
			match(t, "signal.pods.be.containers.leaker.last_reason", x.container(t, p, "be", "leaker").LastReason, "^Error$")
		case "oom":
			atLeast(t, "oom.oom_kills", x.OOMKills, 1)
			match(t, "oom.pods.be.containers.leaker.last_reason", x.container(t, p, "be", "leaker").LastReason, "^OOMKilled$")
			// The boot's last kill record, shown as this run's: the signal
			// run's names the same pod, but not this method.
			match(t, "oom.kill_journal_verbose", verbose, journald(vocab.Method)+"=oom")
		}
	}
}
