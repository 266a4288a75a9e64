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
	if len(methods) == 0 {
		t.Fatalf("no kube-oomd run recorded (methods = %q)", r.str("methods"))
	}
	if !demo() && !slices.Equal(methods, []string{"signal", "oom"}) {
		t.Errorf("kube-oomd ran with kill.method %v, want signal and oom", methods)
	}
	// The kernel-alone run: make compare and make demo (comparing) only.
	var runs []nodeRun
	prev, judged := "before", methods
	if comparing() {
		runs = append(runs, nodeRunOf(r, "kernel", prev))
		prev, judged = "kernel", append([]string{"kernel"}, methods...)
	}
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

	for _, p := range judged {
		r.isTrue(p + ".watch.died")
		r.isTrue(p + ".restarted")
		r.eq(p+".pods.g.containers.reader.restarts", 0)
		r.eq(p+".pods.b.containers.idle.restarts", 0)
		r.eq(p+".pods.be.containers.leaker.last_exit_code", 137)
		r.atLeast(p+".passes.count_during", 1)
	}
	if comparing() {
		// The kernel alone: kubepods' limit, the kernel's OOM killer.
		r.atLeast("kernel.kubepods_limit_ooms", 1)
		r.match("kernel.pods.be.containers.leaker.last_reason", "^OOMKilled$")
	}
	// kube-oomd, either method: before kubepods' limit ran out.
	uid := r.str(methods[0] + ".pods.be.uid")
	for _, p := range methods {
		r.eq(p+".kubepods_limit_ooms", 0)
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
		r.match(p+".kill_journal_verbose", journald(vocab.PodName)+"=be-e2e-node")
		switch p {
		case "signal":
			r.eq("signal.oom_kills", 0)
			r.match("signal.pods.be.containers.leaker.last_reason", "^Error$")
		case "oom":
			r.atLeast("oom.oom_kills", 1)
			r.match("oom.pods.be.containers.leaker.last_reason", "^OOMKilled$")
			// The boot's last kill record, shown as this run's: the signal
			// run's names the same pod, but not this method.
			r.match("oom.kill_journal_verbose", journald(vocab.Method)+"=oom")
		}
	}
}
