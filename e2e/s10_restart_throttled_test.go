//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("10", gate, checkRestartThrottled) }

// throttleFacts: a throttle of pod BE in force, as scenario 10 reads it:
// the file, systemd's MemoryHigh, the file again.
type throttleFacts struct {
	Throttled       bool `json:"throttled"`
	MemoryHigh      text `json:"memory_high"`
	UnitMemoryHigh  text `json:"unit_memory_high"`
	MemoryHighAgain text `json:"memory_high_again"`
}

// restartThrottledResult is scenario 10's result, as the guest writes it.
type restartThrottledResult struct {
	Run struct {
		alive
		oomBeforeAfter
		Pods                   pods    `json:"pods"`
		HogBytes               float64 `json:"hog_bytes"`
		BEMemoryHighBefore     text    `json:"be_memory_high_before"`
		BEUnitMemoryHighBefore text    `json:"be_unit_memory_high_before"`
	} `json:"run"`
	Kill struct {
		Throttle            throttleFacts `json:"throttle"`
		PIDDead             bool          `json:"pid_dead"`
		PID                 text          `json:"pid"`
		ActiveState         text          `json:"active_state"`
		MemoryHighAfterKill text          `json:"memory_high_after_kill"`
		ThrottlesJSON       any           `json:"throttles_json,omitempty"` // /run/kube-oomd/throttles.json
		GFrozen             float64       `json:"g_frozen"`
		GFreezeS            text          `json:"g_freeze_s"`
	} `json:"kill"`
	Restart struct {
		Active              text `json:"active"`
		MemoryHigh          text `json:"memory_high"`
		UnitMemoryHigh      text `json:"unit_memory_high"`
		RestoreS            text `json:"restore_s"`
		NewPID              text `json:"new_pid"`
		ThrottlesJSONExists bool `json:"throttles_json_exists"`
	} `json:"restart"`
	Stop struct {
		Throttle            throttleFacts `json:"throttle"`
		StopS               text          `json:"stop_s"`
		ActiveState         text          `json:"active_state"`
		MemoryHigh          text          `json:"memory_high"`
		UnitMemoryHigh      text          `json:"unit_memory_high"`
		ThrottlesJSONExists bool          `json:"throttles_json_exists"`
	} `json:"stop"`
}

// restoreWithin bounds "memory.high is back within a few seconds" of a
// restart, from systemd-run to the file reading max, on a slow TCG guest.
const restoreWithin = 10.0

func checkRestartThrottled(t *testing.T, r *R) {
	d := decodeResult[restartThrottledResult](r, "")
	be := d.Run.Pods.of(t, "run.pods", "BE").UID
	t.Logf("restart-throttled: BestEffort pod %.0f MiB; throttled to memory.high %s (MemoryHigh %s); after SIGKILL memory.high %s; "+
		"the restart restored it to %s in %s s (MemoryHigh %s); throttled again to %s; after systemctl stop (%s s) memory.high %s, MemoryHigh %s",
		d.Run.HogBytes/(1<<20), d.Kill.Throttle.MemoryHigh, d.Kill.Throttle.UnitMemoryHigh,
		d.Kill.MemoryHighAfterKill, d.Restart.MemoryHigh, d.Restart.RestoreS, d.Restart.UnitMemoryHigh,
		d.Stop.Throttle.MemoryHigh, d.Stop.StopS, d.Stop.MemoryHigh, d.Stop.UnitMemoryHigh)
	match(t, "run.be_memory_high_before", d.Run.BEMemoryHighBefore, `^max$`)
	match(t, "run.be_unit_memory_high_before", d.Run.BEUnitMemoryHighBefore, `^infinity$`)

	// A throttle in force: the file and systemd agree, and the journal says so.
	inForce := func(p string, x throttleFacts) string {
		t.Helper()
		isTrue(t, p+".throttled", x.Throttled)
		v := string(x.MemoryHigh)
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(v) {
			t.Errorf("%s: memory.high %q is not a byte count", p, v)
		}
		if u, a := string(x.UnitMemoryHigh), string(x.MemoryHighAgain); u != v || a != v {
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
	v := inForce("kill.throttle", d.Kill.Throttle)
	isTrue(t, "kill.pid_dead", d.Kill.PIDDead)
	if s := d.Kill.ActiveState; s == "active" || s == "activating" {
		t.Errorf("after systemctl kill -s SIGKILL kube-oomd: ActiveState=%s", s)
	}
	if s := string(d.Kill.MemoryHighAfterKill); s != v {
		t.Errorf("memory.high after the SIGKILL is %s, want the throttle %s still in force", s, v)
	}
	named := false
	list, _ := d.Kill.ThrottlesJSON.([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["uid"] == be {
			named = true
		}
	}
	if !named {
		t.Errorf("/run/kube-oomd/throttles.json after the SIGKILL does not name pod %s: %v", be, d.Kill.ThrottlesJSON)
	}
	eq(t, "kill.g_frozen", d.Kill.GFrozen, 1)
	t.Logf("restart-throttled: the Guaranteed pod was frozen %s s after the write to cgroup.freeze", d.Kill.GFreezeS)
	match(t, "restart.active", d.Restart.Active, `^active$`)
	match(t, "restart.memory_high", d.Restart.MemoryHigh, `^max$`)
	match(t, "restart.unit_memory_high", d.Restart.UnitMemoryHigh, `^infinity$`)
	if s := d.Restart.RestoreS.num(t, "restart.restore_s"); s > restoreWithin {
		t.Errorf("the restarted kube-oomd took %.1f s to restore memory.high, want at most %.0f s", s, restoreWithin)
	}
	if d.Restart.NewPID == d.Kill.PID {
		t.Errorf("the restarted kube-oomd has the killed one's PID %s", d.Kill.PID)
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
	isFalse(t, "restart.throttles_json_exists", d.Restart.ThrottlesJSONExists)

	// Part 2: a clean stop restores it too.
	inForce("stop.throttle", d.Stop.Throttle)
	match(t, "stop.active_state", d.Stop.ActiveState, `^(inactive|failed)$`)
	match(t, "stop.memory_high", d.Stop.MemoryHigh, `^max$`)
	match(t, "stop.unit_memory_high", d.Stop.UnitMemoryHigh, `^infinity$`)
	released := false
	for _, x := range r.otherRecords("run", "throttle released") {
		if x.str(vocab.PodUID) == be && x.str(vocab.Reason) == "daemon-stopping" {
			released = true
		}
	}
	if !released {
		var errs []string
		for _, x := range r.otherRecords("run", "cannot restore memory.high") {
			errs = append(errs, x.str(recMessage))
		}
		t.Errorf("no \"throttle released\" record (reason \"daemon-stopping\") names pod %s; restore errors: %q", be, errs)
	}
	isFalse(t, "stop.throttles_json_exists", d.Stop.ThrottlesJSONExists)

	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)), k.str(vocab.Reason))
	}
	eq(t, "run.after.kubepods_oom_kill", d.Run.After.KubepodsOOMKill, d.Run.Before.KubepodsOOMKill)
	d.Run.PodAlive.isTrue(t, "run.pod_alive", "G")
	d.Run.PodAlive.isTrue(t, "run.pod_alive", "BE")
}
