package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/relief"
)

// ladderDaemon is a test daemon with the relief ladder on: relief at 1 ms
// of stall per 20 ms window, kill at 15 ms (so the ladder runs first),
// throttle after 2 strained windows, release after 2 calm ones.
func ladderDaemon(t *testing.T, tree *cgrouptest.Tree) (*daemon, *bytes.Buffer) {
	d, logs := testDaemon(t, tree, config.ModePod)
	d.th.Stall = 15 * time.Millisecond
	d.th.ReliefStall, d.th.TriggerStall = time.Millisecond, time.Millisecond
	d.th.Reclaim, d.th.Throttle, d.th.ThrottleAfter, d.th.ReleaseAfter = true, true, 2, 40*time.Millisecond
	d.cfg.Relief.ReleaseStep = 0.5
	return d, logs
}

// windows plays n windows with the given stall share, memory near the limit.
func windows(t *testing.T, d *daemon, tree *cgrouptest.Tree, stall *time.Duration, share float64, n int) {
	t.Helper()
	for range n {
		setKubepods(tree, 1000*MiB, *stall)
		if err := d.observe(context.Background(), share > 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d.th.Window)
		*stall += time.Duration(share * float64(d.th.Window))
	}
}

func cacheNode(t *testing.T) *cgrouptest.Tree {
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	for _, p := range []struct {
		uid string
		q   cgroupv2.QoS
	}{{"be", cgroupv2.BestEffort}, {"bu", cgroupv2.Burstable}, {"gu", cgroupv2.Guaranteed}} {
		rel := tree.PodPath(p.uid, p.q)
		tree.Write(rel, "memory.stat", "anon 1000\nfile 209715200\nactive_file 0\ninactive_file 0\nshmem 0\n")
		tree.Write(rel, "memory.reclaim", "")
	}
	return tree
}

func TestLadderReclaimsFromCandidatesOnly(t *testing.T) {
	tree := cacheNode(t)
	d, logs := ladderDaemon(t, tree)
	d.th.Throttle = false
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 3) // strained, not pressured
	out := logs.String()
	if !strings.Contains(out, `"msg":"reclaimed page cache"`) {
		t.Fatalf("no reclaim:\n%s", out)
	}
	if strings.Contains(out, `"pod_uid":"gu","qos":"Guaranteed","cgroup":"/kubepods.slice/kubepods-podgu.slice","reason":"relief-reclaim"`) {
		t.Errorf("reclaimed from the Guaranteed pod:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, tree.PodPath("be", cgroupv2.BestEffort), "memory.reclaim")); len(b) == 0 {
		t.Errorf("nothing written to the BestEffort pod's memory.reclaim")
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, tree.PodPath("gu", cgroupv2.Guaranteed), "memory.reclaim")); len(b) != 0 {
		t.Errorf("wrote %q to the Guaranteed pod's memory.reclaim", b)
	}
}

func TestLadderThrottlesThenReleases(t *testing.T) {
	tree := cacheNode(t)
	d, logs := ladderDaemon(t, tree)
	d.th.Reclaim = false
	be := tree.PodPath("be", cgroupv2.BestEffort)
	high := func() string {
		b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.high"))
		return string(b)
	}
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 3) // strained: throttle after 2 windows
	if high() == "max" || len(d.throttles) != 1 {
		t.Fatalf("memory.high = %q after strained windows, want the BestEffort pod throttled:\n%s", high(), logs)
	}
	if want := "298844160"; high() != want { // 300 MiB × 0.95, page aligned
		t.Errorf("memory.high = %s, want %s", high(), want)
	}
	if ts, _ := d.store.Load(); len(ts) != 1 || ts[0].Cgroup != be || ts[0].Original != cgroupv2.Unlimited {
		t.Errorf("state file = %+v, want the throttle with original max", ts)
	}
	if gu := tree.PodPath("gu", cgroupv2.Guaranteed); d.throttles[gu] != nil {
		t.Error("throttled the Guaranteed pod")
	}

	windows(t, d, tree, &stall, 0, 10) // calm: release step by step, then restore
	if high() != "max" || len(d.throttles) != 0 {
		t.Fatalf("memory.high = %q after calm windows, want max restored:\n%s", high(), logs)
	}
	if !strings.Contains(logs.String(), `"msg":"raised throttle"`) || !strings.Contains(logs.String(), `"reason":"pressure cleared"`) {
		t.Errorf("release not logged step by step:\n%s", logs)
	}
	if _, err := os.Stat(d.store.Path); !os.IsNotExist(err) {
		t.Errorf("state file left after release: %v", err)
	}
}

func TestLadderKillsALeakerThatKeepsPushing(t *testing.T) {
	tree := cacheNode(t)
	d, logs := ladderDaemon(t, tree)
	d.th.Reclaim = false
	d.cfg.Kill.Timeout = 50 * time.Millisecond // the fake cgroup never empties
	be := tree.PodPath("be", cgroupv2.BestEffort)
	tree.Write(be, "cgroup.kill", "")
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 3)
	if len(d.throttles) != 1 {
		t.Fatalf("not throttled:\n%s", logs)
	}
	for i := range 4 { // the throttled pod keeps hitting its memory.high
		tree.Write(be, "memory.events", "low 0\nhigh "+strings.Repeat("9", i+1)+"\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
		windows(t, d, tree, &stall, 0.1, 1)
	}
	got := records(t, logs, msgKilled)
	if len(got) != 1 || got[0]["pod_uid"] != "be" || got[0]["reason"] != "leak-under-throttle" {
		t.Fatalf("kill records = %v, want the throttled leaker", got)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "cgroup.kill")); string(b) != "1" {
		t.Errorf("cgroup.kill = %q, want 1", b)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.high")); string(b) != "max" || len(d.throttles) != 0 {
		t.Errorf("memory.high = %q after the kill: the restarted containers must run free", b)
	}
}

func TestRestartRestoresThrottles(t *testing.T) {
	tree := cacheNode(t)
	be := tree.PodPath("be", cgroupv2.BestEffort)
	tree.Write(be, "memory.high", "104857600")
	run := t.TempDir()
	// What a crashed daemon left: one live pod, one that is gone.
	relief.Store{Path: filepath.Join(run, "throttles.json")}.Save([]relief.Throttle{
		{Cgroup: be, UID: "be", QoS: "BestEffort", Original: cgroupv2.Unlimited, Set: 100 << 20, Current: 100 << 20, Since: time.Now()},
		{Cgroup: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podgone.slice", UID: "gone", Original: cgroupv2.Unlimited},
	})
	d, logs := testDaemon(t, tree, config.ModePod)
	d.runDir = run
	d.setupRelief(context.Background(), tree.Layout())
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.high")); string(b) != "max" {
		t.Errorf("memory.high = %q after restart, want max restored", b)
	}
	out := logs.String()
	if !strings.Contains(out, "restored memory.high set by an earlier run") || !strings.Contains(out, "is gone: nothing to restore") {
		t.Errorf("restart did not say what it restored:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(run, "throttles.json")); !os.IsNotExist(err) {
		t.Errorf("state file left after restore: %v", err)
	}
}

func TestCleanStopRestores(t *testing.T) {
	tree := cacheNode(t)
	d, _ := ladderDaemon(t, tree)
	d.th.Reclaim = false
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 3)
	if len(d.throttles) != 1 {
		t.Fatal("not throttled")
	}
	d.restoreAll()
	be := tree.PodPath("be", cgroupv2.BestEffort)
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.high")); string(b) != "max" {
		t.Errorf("memory.high = %q after a clean stop, want max", b)
	}
}

func TestDryRunRelievesNothing(t *testing.T) {
	tree := cacheNode(t)
	d, logs := ladderDaemon(t, tree)
	d.cfg.Kill.Mode = config.ModeDryRun
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 4)
	be := tree.PodPath("be", cgroupv2.BestEffort)
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.high")); string(b) != "max" || len(d.throttles) != 0 {
		t.Errorf("dry run throttled: memory.high %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(tree.Mount, be, "memory.reclaim")); len(b) != 0 {
		t.Errorf("dry run reclaimed: %q", b)
	}
	if !strings.Contains(logs.String(), "dry run: would relieve") {
		t.Errorf("dry run did not say what it would do:\n%s", logs)
	}
}

func TestOneThrottleAtATime(t *testing.T) {
	tree := cacheNode(t)
	d, _ := ladderDaemon(t, tree)
	d.th.Reclaim = false
	var stall time.Duration
	windows(t, d, tree, &stall, 0.1, 8) // strained long enough for several throttles
	if len(d.throttles) != 1 || d.throttles[tree.PodPath("be", cgroupv2.BestEffort)] == nil {
		t.Errorf("throttles = %v, want only the BestEffort pod", d.throttles)
	}
}
