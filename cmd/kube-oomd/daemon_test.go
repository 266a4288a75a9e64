package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
)

// testDaemon is a daemon on a fake tree, without PSI triggers (epoll does
// not take regular files): the test plays the trigger events. Its windows
// are 20 ms long.
func testDaemon(t *testing.T, tree *cgrouptest.Tree, mode string) (*daemon, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := config.Default()
	cfg.Kill.Mode = mode
	d := &daemon{cfg: cfg, cgroupRoot: tree.Mount, procRoot: tree.Proc, runDir: t.TempDir(),
		log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	d.th = policy.Thresholds{Kind: psi.Full, Stall: 2 * time.Millisecond, TriggerStall: 2 * time.Millisecond,
		Window: 20 * time.Millisecond, Windows: 2, NearLimit: 0.9, OnImminentOOM: true, Cooldown: time.Minute}
	w, err := d.watchPods(tree.Layout())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	d.setupRelief(context.Background(), tree.Layout())
	return d, &logs
}

// setKubepods sets what the kubepods cgroup shows: its working set against
// a 1 GiB limit and its full stall so far.
func setKubepods(tree *cgrouptest.Tree, workingSet uint64, fullStall time.Duration) {
	tree.Write(tree.Kubepods, "memory.max", fmt.Sprint(1<<30))
	tree.Write(tree.Kubepods, "memory.current", fmt.Sprint(workingSet))
	tree.Write(tree.Kubepods, "memory.stat", fmt.Sprintf("anon %d\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n", workingSet/2))
	tree.Write(tree.Kubepods, "memory.pressure", fmt.Sprintf(
		"some avg10=50.00 avg60=10.00 avg300=2.00 total=%d\nfull avg10=40.00 avg60=8.00 avg300=1.00 total=%d\n",
		fullStall.Microseconds(), fullStall.Microseconds()))
}

// records returns the log records with the given message ID.
func records(t *testing.T, logs *bytes.Buffer, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["message_id"] == id {
			out = append(out, r)
		}
	}
	return out
}

// pressureFor plays trigger events and the stall behind them for n windows.
func pressureFor(t *testing.T, d *daemon, tree *cgrouptest.Tree, workingSet uint64, n int) {
	t.Helper()
	stall := time.Duration(0)
	for range n + 1 {
		setKubepods(tree, workingSet, stall)
		if err := d.observe(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d.th.Window)
		stall += d.th.Window / 2 // 50 % full stall
	}
}

func TestDaemonDryRunNamesTheBestEffortPod(t *testing.T) {
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	// The Guaranteed pod is never read: a BestEffort victim big enough to
	// help is found first. Its broken file would make a read fail.
	tree.Write(tree.PodPath("gu", cgroupv2.Guaranteed), "memory.stat", "garbage\n")
	d, logs := testDaemon(t, tree, config.ModeDryRun)
	pressureFor(t, d, tree, 1000*MiB, 3)

	got := records(t, logs, msgWouldKill)
	if len(got) != 1 {
		t.Fatalf("%d would-kill records, want 1 (then cooldown):\n%s", len(got), logs)
	}
	r := got[0]
	if r["pod_uid"] != "be" || r["qos"] != "BestEffort" || r["reason"] != string(policy.ReasonPressure) ||
		r["cgroup"] != tree.PodPath("be", cgroupv2.BestEffort) {
		t.Errorf("would-kill record = %v, want the BestEffort pod for sustained pressure", r)
	}
	for _, k := range []string{"psi", "kubepods", "pod_working_set_bytes", "pressured_windows"} {
		if _, ok := r[k]; !ok {
			t.Errorf("record lacks %q: %v", k, r)
		}
	}
	if n := len(records(t, logs, msgKilled)); n != 0 {
		t.Errorf("dry run logged %d kills", n)
	}
}

func TestDaemonPressureWithoutFullMemoryKillsNothing(t *testing.T) {
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	d, logs := testDaemon(t, tree, config.ModeDryRun)
	pressureFor(t, d, tree, 500*MiB, 6) // a busy node at 50 %
	if n := len(records(t, logs, msgWouldKill)); n != 0 {
		t.Errorf("%d would-kill records on a node at 50 %% memory:\n%s", n, logs)
	}
}

func TestDaemonAllProtectedSaysSo(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.AddPod(cgrouptest.Pod{UID: "crit", QoS: cgroupv2.BestEffort, Current: 900 * MiB,
		Containers: []cgrouptest.Container{{Current: 899 * MiB, Adj: []int{-997}}}})
	d, logs := testDaemon(t, tree, config.ModePod)
	pressureFor(t, d, tree, 1000*MiB, 3)
	if !strings.Contains(logs.String(), "no pod may be killed") {
		t.Errorf("no record that every pod is protected:\n%s", logs)
	}
	if n := len(records(t, logs, msgKilled)) + len(records(t, logs, msgWouldKill)); n != 0 {
		t.Errorf("%d kill records with every pod protected", n)
	}
}

func TestDaemonLogsKernelOOMKills(t *testing.T) {
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	d, logs := testDaemon(t, tree, config.ModePod)
	rel := tree.PodPath("bu", cgroupv2.Burstable)
	tree.Write(rel, "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n")
	d.handleChange(cgroupv2.Change{Kind: cgroupv2.EventsChanged, Pod: cgroupv2.PodRef{UID: "bu", QoS: cgroupv2.Burstable, Path: rel}})
	got := records(t, logs, msgKernelOOM)
	if len(got) != 1 || got[0]["pod_uid"] != "bu" || got[0]["qos"] != "Burstable" || got[0]["oom_kills"] != 1.0 {
		t.Fatalf("kernel OOM records = %v", got)
	}
	// The same count again is not a new kill.
	d.handleChange(cgroupv2.Change{Kind: cgroupv2.EventsChanged, Pod: cgroupv2.PodRef{UID: "bu", QoS: cgroupv2.Burstable, Path: rel}})
	if n := len(records(t, logs, msgKernelOOM)); n != 1 {
		t.Errorf("%d records after an unchanged count, want 1", n)
	}
}
