//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("10", gate, checkRestartThrottled) }

// restoreWithin bounds "memory.high is back within a few seconds" of a
// restart, from systemd-run to the file reading max, on a slow TCG guest.
const restoreWithin = 10.0

func checkRestartThrottled(t *testing.T, r *R) {
	be := r.str("run.pods.BE.uid")
	t.Logf("restart-throttled: BestEffort pod %.0f MiB; throttled to memory.high %s (MemoryHigh %s); after SIGKILL memory.high %s; "+
		"the restart restored it to %s in %s s (MemoryHigh %s); throttled again to %s; after systemctl stop (%s s) memory.high %s, MemoryHigh %s",
		r.num("run.hog_bytes")/(1<<20), r.str("kill.throttle.memory_high"), r.str("kill.throttle.unit_memory_high"),
		r.str("kill.memory_high_after_kill"), r.str("restart.memory_high"), r.str("restart.restore_s"), r.str("restart.unit_memory_high"),
		r.str("stop.throttle.memory_high"), r.str("stop.stop_s"), r.str("stop.memory_high"), r.str("stop.unit_memory_high"))
	r.match("run.be_memory_high_before", `^max$`)
	r.match("run.be_unit_memory_high_before", `^infinity$`)

	// A throttle in force: the file and systemd agree, and the journal says so.
	inForce := func(p string) string {
		t.Helper()
		r.isTrue(p + ".throttled")
		v := r.str(p + ".memory_high")
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(v) {
			t.Errorf("%s: memory.high %q is not a byte count", p, v)
		}
		if u, a := r.str(p+".unit_memory_high"), r.str(p+".memory_high_again"); u != v || a != v {
			t.Errorf("%s: memory.high %s, systemctl show MemoryHigh %s, memory.high again %s: want all equal", p, v, u, a)
		}
		found := false
		for _, x := range r.otherRecords("run", "throttled pod") {
			if x.str(vocab.PodUID) == be && x.str(vocab.HighBytes) == v && x.str(vocab.Reason) == "relief-throttle" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no \"throttled pod\" record (reason relief-throttle) names pod %s with memory_high_bytes=%s", p, be, v)
		}
		return v
	}

	// Part 1: SIGKILL, the state file, and the restore by the next run.
	v := inForce("kill.throttle")
	r.isTrue("kill.pid_dead")
	if s := r.str("kill.active_state"); s == "active" || s == "activating" {
		t.Errorf("after systemctl kill -s SIGKILL kube-oomd: ActiveState=%s", s)
	}
	if s := r.str("kill.memory_high_after_kill"); s != v {
		t.Errorf("memory.high after the SIGKILL is %s, want the throttle %s still in force", s, v)
	}
	named := false
	list, _ := r.get("kill.throttles_json").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["uid"] == be {
			named = true
		}
	}
	if !named {
		t.Errorf("/run/kube-oomd/throttles.json after the SIGKILL does not name pod %s: %v", be, r.get("kill.throttles_json"))
	}
	r.eq("kill.g_frozen", 1)
	t.Logf("restart-throttled: the Guaranteed pod was frozen %s s after the write to cgroup.freeze", r.str("kill.g_freeze_s"))
	r.match("restart.active", `^active$`)
	r.match("restart.memory_high", `^max$`)
	r.match("restart.unit_memory_high", `^infinity$`)
	if s := r.num("restart.restore_s"); s > restoreWithin {
		t.Errorf("the restarted kube-oomd took %.1f s to restore memory.high, want at most %.0f s", s, restoreWithin)
	}
	if r.str("restart.new_pid") == r.str("kill.pid") {
		t.Errorf("the restarted kube-oomd has the killed one's PID %s", r.str("kill.pid"))
	}
	restored := false
	for _, x := range r.otherRecords("run", "restored memory.high set by an earlier run") {
		if x.str(vocab.PodUID) == be {
			restored = true
		}
	}
	if !restored {
		t.Errorf("no \"restored memory.high set by an earlier run\" record names pod %s", be)
	}
	r.isFalse("restart.throttles_json_exists")

	// Part 2: a clean stop restores it too.
	inForce("stop.throttle")
	r.match("stop.active_state", `^(inactive|failed)$`)
	r.match("stop.memory_high", `^max$`)
	r.match("stop.unit_memory_high", `^infinity$`)
	released := false
	for _, x := range r.otherRecords("run", "throttle released") {
		if x.str(vocab.PodUID) == be && x.str(vocab.Reason) == "daemon-stopping" {
			released = true
		}
	}
	if !released {
		var errs []string
		for _, x := range r.otherRecords("run", "cannot restore memory.high") {
			errs = append(errs, x.str("message"))
		}
		t.Errorf("no \"throttle released\" record (reason \"daemon-stopping\") names pod %s; restore errors: %q", be, errs)
	}
	r.isFalse("stop.throttles_json_exists")

	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)), k.str(vocab.Reason))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.BE")
}
