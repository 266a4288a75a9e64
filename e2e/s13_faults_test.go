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

// faultsResult is scenario 13's result, as the guest writes it.
type faultsResult struct {
	Run struct {
		Pods           pods `json:"pods"`
		DaemonSurvived bool `json:"daemon_survived"`
	} `json:"run"`
	Nested struct {
		PodsCmdRC float64 `json:"pods_cmd_rc"`
		Adj       text    `json:"adj"`
		Pods      []any   `json:"pods,omitempty"`   // kube-oomd pods --json
		Cgroup    *text   `json:"cgroup,omitempty"` // the nested cgroup
	} `json:"nested"`
	Second struct {
		RC         float64 `json:"rc"`
		Stderr     text    `json:"stderr"`
		MainPID    text    `json:"main_pid"`
		StatusRC   float64 `json:"status_rc"`
		StatusPID  text    `json:"status_pid"`
		MainActive text    `json:"main_active"`
		TookS      any     `json:"took_s,omitempty"`
	} `json:"second"`
	Rewrites struct {
		Mode  text `json:"mode"`
		Count any  `json:"count,omitempty"`
	} `json:"rewrites"`
}

// checkFaults: issue 10's faults on the real kernel and systemd (13-faults).
func checkFaults(t *testing.T, r *R) {
	d := decodeResult[faultsResult](r, "")
	// A node-critical process in a cgroup nested in a container protects
	// its pod; the plain BestEffort pod beside it ranks first.
	nUID, bUID := d.Run.Pods.of(t, "run.pods", "N").UID, d.Run.Pods.of(t, "run.pods", "B").UID
	eq(t, "nested.pods_cmd_rc", d.Nested.PodsCmdRC, 0)
	match(t, "nested.adj", d.Nested.Adj, `^-997$`)
	var n, b map[string]any
	list := d.Nested.Pods
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
			need(t, "nested.cgroup", d.Nested.Cgroup), n["rank"], n["protected"], n["protected_reason"], b["rank"])
		if n["protected"] != true || !strings.Contains(fmt.Sprint(n["protected_reason"]), "-997") {
			t.Errorf("pod N, with a node-critical process in a nested cgroup, is not protected: %v", n)
		}
		if b["rank"] != 1.0 {
			t.Errorf("pod B rank %v, want 1", b["rank"])
		}
	}

	// A second daemon refuses, names the first, and leaves it serving.
	s := d.Second
	eq(t, "second.rc", s.RC, 1)
	match(t, "second.stderr", s.Stderr, `already running \(pid `+regexp.QuoteMeta(string(s.MainPID))+` holds /run/kube-oomd/kube-oomd\.lock\)`)
	eq(t, "second.status_rc", s.StatusRC, 0)
	match(t, "second.status_pid", s.StatusPID, "^"+regexp.QuoteMeta(string(s.MainPID))+"$")
	match(t, "second.main_active", s.MainActive, `^active$`)
	t.Logf("second instance: exit %v after %v s: %s", s.RC, s.TookS, s.Stderr)

	// In-place rewrites: never a half-written file in force.
	match(t, "rewrites.mode", d.Rewrites.Mode, `^dry-run$`)
	applied, flips := 0, 0
	for _, k := range r.otherRecords("run", "config reloaded ") {
		applied++
		if k.str(vocab.Mode) != "dry-run" {
			flips++
		}
	}
	refused := len(r.otherRecords("run", "config reload failed"))
	t.Logf("rewrites: %v in-place rewrites; %d reloads applied (none may leave dry-run: %d did), %d refused",
		d.Rewrites.Count, applied, flips, refused)
	if flips > 0 {
		t.Errorf("%d reloads applied a config whose kill.mode was not dry-run: a half-written file was taken for the defaults", flips)
	}
	isTrue(t, "run.daemon_survived", d.Run.DaemonSurvived)
}
