//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("13", gate, checkFaults) }

// checkFaults: issue 10's faults on the real kernel and systemd (13-faults).
func checkFaults(t *testing.T, r *R) {
	// A node-critical process in a cgroup nested in a container protects
	// its pod; the plain BestEffort pod beside it ranks first.
	nUID, bUID := r.str("run.pods.N.uid"), r.str("run.pods.B.uid")
	r.eq("nested.pods_cmd_rc", 0)
	r.match("nested.adj", `^-997$`)
	var n, b map[string]any
	list, _ := r.get("nested.pods").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			switch m["uid"] {
			case nUID:
				n = m
			case bUID:
				b = m
			}
		}
	}
	switch {
	case n == nil || b == nil:
		t.Errorf("kube-oomd pods lacks pod N or B: %v", list)
	default:
		t.Logf("nested: pod N (nested -997 in %s): rank %v, protected %v (%v); pod B: rank %v",
			r.str("nested.cgroup"), n["rank"], n["protected"], n["protected_reason"], b["rank"])
		if n["protected"] != true || !strings.Contains(fmt.Sprint(n["protected_reason"]), "-997") {
			t.Errorf("pod N, with a node-critical process in a nested cgroup, is not protected: %v", n)
		}
		if b["rank"] != 1.0 {
			t.Errorf("pod B rank %v, want 1", b["rank"])
		}
	}

	// A second daemon refuses, names the first, and leaves it serving.
	r.eq("second.rc", 1)
	r.match("second.stderr", `already running \(pid `+regexp.QuoteMeta(r.str("second.main_pid"))+` holds /run/kube-oomd/kube-oomd\.lock\)`)
	r.eq("second.status_rc", 0)
	r.match("second.status_pid", "^"+regexp.QuoteMeta(r.str("second.main_pid"))+"$")
	r.match("second.main_active", `^active$`)
	t.Logf("second instance: exit %v after %v s: %s", r.get("second.rc"), r.get("second.took_s"), r.str("second.stderr"))

	// In-place rewrites: never a half-written file in force.
	r.match("rewrites.mode", `^dry-run$`)
	applied, flips := 0, 0
	for _, k := range r.otherRecords("run", "config reloaded ") {
		applied++
		if k.str(vocab.Mode) != "dry-run" {
			flips++
		}
	}
	refused := len(r.otherRecords("run", "config reload failed"))
	t.Logf("rewrites: %v in-place rewrites; %d reloads applied (none may leave dry-run: %d did), %d refused",
		r.get("rewrites.count"), applied, flips, refused)
	if flips > 0 {
		t.Errorf("%d reloads applied a config whose kill.mode was not dry-run: a half-written file was taken for the defaults", flips)
	}
	r.isTrue("run.daemon_survived")
}
