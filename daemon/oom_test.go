package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/statefile"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/killer"
)

// appContainer returns the path of the one app container of the pod at
// rel in a cgrouptest tree (the other is its sandbox).
func appContainer(t *testing.T, tree *cgrouptest.Tree, rel string) string {
	t.Helper()
	p, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(cgroupv2.PodRef{Path: rel})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Containers {
		if c.App() {
			return c.Path
		}
	}
	t.Fatalf("%s has no app container", rel)
	return ""
}

// trackBE follows the pods of a cgrouptest.Node by the rescan alone (no
// inotify: the test reads when it says) and returns its BestEffort pod.
func trackBE(t *testing.T, tree *cgrouptest.Tree) (*podTracker, cgroupv2.PodRef) {
	t.Helper()
	pt, err := newPodTracker(tree.Layout(), pollPods{errors.New("inotify off for this test")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pt.close)
	return pt, cgroupv2.PodRef{UID: "be", QoS: cgroupv2.BestEffort, Path: tree.PodPath("be", cgroupv2.BestEffort)}
}

// Issue 11, section 3: with kill.method oom the daemon lowers the victim's
// app container to memory.max 0 (never its sandbox), the kernel OOM-kills
// in it, and the limit is put back. The kernel's kills show in the pod's
// memory.events as they happen, while the kill is in flight: they are the
// kill's, counted in its record, and never logged as the kernel's own.
func TestOOMMethodKillIsNotAKernelKill(t *testing.T) {
	for _, mode := range []string{config.ModePod, config.ModeContainer} {
		t.Run(mode, func(t *testing.T) { testOOMMethodKill(t, mode) })
	}
}

func testOOMMethodKill(t *testing.T, mode string) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	be := tree.PodPath("be", cgroupv2.BestEffort)
	app := appContainer(t, tree, be)
	tree.Write(app, "memory.max", "314572800")
	cfg := killOnly(mode)
	cfg.Kill.Method = config.MethodOOM
	h := start(t, tree, cfg, "", "")
	h.windows(2, 0.5, 1000*MiB)

	kills := h.logs.records(t, "", vocab.MsgKilled)
	if len(kills) != 1 || kills[0]["pod_uid"] != "be" || kills[0]["method"] != string(killer.MethodOOM) ||
		kills[0]["confirmed"] != true || kills[0]["oom_kills"] != 1.0 || kills[0]["lowered_containers"] != 1.0 {
		t.Fatalf("kill records = %v, want be's, method oom, confirmed, 1 OOM kill in 1 container:\n%s", kills, h.logs)
	}
	if k := h.snapshot().Kills; len(k) != 1 || k[0].Method != string(killer.MethodOOM) || k[0].OOMKills != 1 {
		t.Errorf("status kills = %+v, want one with method oom and 1 OOM kill", k)
	}
	if got := h.scrape()[`kube_oomd_kills_total{method="oom",qos="BestEffort",reason="sustained-pressure"}`]; got != 1 {
		t.Errorf("kube_oomd_kills_total of the kill = %v, want 1", got)
	}
	if got := h.file(app, "memory.max"); got != "314572800" {
		t.Errorf("app container memory.max = %q, want the original put back", got)
	}
	for _, c := range []string{be, app} {
		if got := h.file(c, "cgroup.kill"); got != "" {
			t.Errorf("%s cgroup.kill = %q: the kernel killed, no fallback was due", c, got)
		}
	}
	if _, err := os.Stat(filepath.Join(h.runDir, "limits.json")); !os.IsNotExist(err) {
		t.Errorf("limits record left after the kill: %v", err)
	}
	// A kernel OOM kill in another pod, written last, marks when inotify
	// has delivered every event before it: be's were the kill's.
	tree.Write(tree.PodPath("bu", cgroupv2.Burstable), "memory.events", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n")
	var got []map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(got) == 0; time.Sleep(5 * time.Millisecond) {
		got = h.logs.records(t, "", vocab.MsgKernelOOM)
	}
	if len(got) != 1 || got[0]["pod_uid"] != "bu" {
		t.Errorf("kernel OOM records = %v, want bu's alone: the kill's own are no kernel kills", got)
	}
	m := h.scrape()
	if be, bu := m[`kube_oomd_kernel_oom_kills_total{qos="BestEffort"}`], m[`kube_oomd_kernel_oom_kills_total{qos="Burstable"}`]; be != 0 || bu != 1 {
		t.Errorf("kube_oomd_kernel_oom_kills_total: BestEffort %v, Burstable %v; want 0 (the kill's own) and 1", be, bu)
	}
}

// The OOM kills a kill induces go to the kill whether the loop reads them
// while the kill runs (an inotify event before the report) or when it
// reports; once it reported, a new OOM kill in the pod is the kernel's.
func TestPodTrackerInducedKills(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	pt, ref := trackBE(t, tree)
	be := ref.Path
	oomKills := func(n int) {
		tree.Write(be, "memory.events", fmt.Sprintf("low 0\nhigh 0\nmax 0\noom %d\noom_kill %d\noom_group_kill 0\n", n, n))
	}
	pt.induce(be)
	oomKills(2)
	if k, _ := pt.newOOMKills(ref); k != 0 { // the event before the report
		t.Errorf("newOOMKills while inducing = %d, want 0", k)
	}
	oomKills(3) // the last one, not yet read when the kill reports
	if n, _ := pt.settle(be); n != 3 {
		t.Errorf("settle = %d, want all 3 induced", n)
	}
	if k, _ := pt.newOOMKills(ref); k != 0 { // the event after the report
		t.Errorf("newOOMKills after settle, nothing new = %d, want 0", k)
	}
	oomKills(4)
	if k, total := pt.newOOMKills(ref); k != 1 || total != 4 {
		t.Errorf("newOOMKills of a kernel kill after settle = %d (total %d), want 1 (4)", k, total)
	}
}

// What a crashed run left lowered is put back first thing, once the
// record is checked against the kubelet's layout (issue 19 item 5), and
// before the config is read (item 3): against the layout under the
// kubelet's default parent cgroups. A record of a container under the
// default kubepods is put back even while the daemon then waits for the
// kubepods its config names; the log says where it came from.
func TestLimitsPutBackBeforeWaitingForKubepods(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	app := appContainer(t, tree, tree.PodPath("be", cgroupv2.BestEffort))
	tree.Write(app, "memory.max", "0")
	id, err := cgroupv2.ID(tree.Layout().Abs(app))
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	statefile.Save(filepath.Join(run, "limits.json"), []struct {
		Cgroup   string `json:"cgroup"`
		ID       uint64 `json:"id"`
		Original uint64 `json:"original"`
	}{{Cgroup: tree.Layout().Abs(app), ID: id, Original: 300 << 20}})
	cfg := testConfig(config.ModePod)
	cfg.Cgroup.Kubepods = "/not-yet.slice"
	h := &harness{t: t, tree: tree, cfg: cfg, clock: clock.NewFake(epoch), logs: &logBuffer{}, hup: make(chan os.Signal),
		status: make(chan chan<- Status), obs: make(chan observation), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(h.stop)
	opt := h.options(filepath.Join(t.TempDir(), "absent.toml"), run)
	go func() { h.done <- Run(ctx, opt) }()
	h.clock.BlockUntil(1) // waiting for kubepods
	if got := h.file(app, "memory.max"); got != "314572800" {
		t.Errorf("memory.max = %q while the daemon waits for kubepods, want the recorded 314572800 put back before the config", got)
	}
	if _, err := os.Lstat(filepath.Join(run, "limits.json")); !os.IsNotExist(err) {
		t.Errorf("limits record still there after its put-back: %v", err)
	}
	if !strings.Contains(h.logs.String(), reasonEarlierRun) {
		t.Errorf("the log does not say the put-back is an earlier run's:\n%s", h.logs)
	}
}

// A kill with kill.method oom that lowered no limit (the victim changed
// first, say because the kernel's OOM killer beat kube-oomd to it) induced
// nothing: the OOM kills in its pod meanwhile are the kernel's own, and
// are logged so, not swallowed as the kill's; one that lowered a limit
// counts them as its own.
func TestKernelKillsDuringAKillThatLoweredNothing(t *testing.T) {
	for _, lowered := range []int{0, 1} {
		tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
		pt, ref := trackBE(t, tree)
		be := ref.Path
		var logs logBuffer
		d := &Daemon{observed: &observed{pods: pt}, recorder: &recorder{log: slog.New(slog.NewJSONHandler(&logs, nil))}}
		pt.induce(be)
		tree.Write(be, "memory.events", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 2\noom_group_kill 0\n")
		got := d.settleOOMKills(pendingKill{pod: ref}, killer.Result{Containers: lowered})
		kernel := logs.records(t, "", vocab.MsgKernelOOM)
		switch {
		case lowered == 0 && (got != 0 || len(kernel) != 1 || kernel[0]["pod_uid"] != "be" || kernel[0]["oom_kills"] != 2.0):
			t.Errorf("lowered nothing: the kill's = %d, kernel records = %v; want 0, and be's 2 kills logged as the kernel's", got, kernel)
		case lowered == 1 && (got != 2 || len(kernel) != 0):
			t.Errorf("lowered a limit: the kill's = %d, kernel records = %v; want 2, none", got, kernel)
		}
	}
}

// A daemon that died while a kill had lowered a container's memory.max
// left it in its limits record: the next start puts it back, only into the
// same cgroup (its ID), and says so; a container gone or replaced is
// dropped, and nothing is written to it.
func TestRestartPutsBackLimits(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	app := appContainer(t, tree, tree.PodPath("be", cgroupv2.BestEffort))
	other := appContainer(t, tree, tree.PodPath("bu", cgroupv2.Burstable))
	for _, c := range []string{app, other} {
		tree.Write(c, "memory.max", "0")
	}
	id := func(rel string) uint64 {
		id, err := cgroupv2.ID(tree.Layout().Abs(rel))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	type entry struct {
		Cgroup   string `json:"cgroup"`
		ID       uint64 `json:"id"`
		Original uint64 `json:"original"`
	}
	run := t.TempDir()
	statefile.Save(filepath.Join(run, "limits.json"), []entry{
		{Cgroup: tree.Layout().Abs(app), ID: id(app), Original: 300 << 20},
		{Cgroup: tree.Layout().Abs(other), ID: id(other) + 1, Original: cgroupv2.Unlimited}, // replaced since
		{Cgroup: tree.Layout().Abs(tree.PodPath("gone", cgroupv2.BestEffort)) + "/c.scope", ID: 7, Original: cgroupv2.Unlimited},
	})
	h := start(t, tree, testConfig(config.ModePod), "", run)
	if got := h.file(app, "memory.max"); got != fmt.Sprint(300<<20) {
		t.Errorf("memory.max = %q after restart, want %d put back", got, 300<<20)
	}
	if got := h.file(other, "memory.max"); got != "0" {
		t.Errorf("memory.max of another cgroup at a recorded path = %q: written", got)
	}
	put := h.logs.records(t, "put back the memory.max of a container an earlier run lowered", "")
	if len(put) != 1 || put[0]["cgroup"] != tree.Layout().Abs(app) || put[0]["memory_max"] != fmt.Sprint(300<<20) {
		t.Errorf("restore records = %v, want one naming %s:\n%s", put, app, h.logs)
	}
	if _, err := os.Stat(filepath.Join(run, "limits.json")); !os.IsNotExist(err) {
		t.Errorf("limits record left after restore: %v", err)
	}
}

// Issue 19 item 2: a kill with kill.method oom whose fallback found only
// processes that protect themselves (a spared process's children, at
// -1000 too) killed something: it is recorded as a kill, not confirmed,
// and not logged as "nothing killed".
func TestKillLeavingOnlySparedIsRecordedUnconfirmed(t *testing.T) {
	var logs logBuffer
	d := &recorder{log: slog.New(slog.NewJSONHandler(&logs, nil)), clock: clock.NewFake(epoch)}
	err := fmt.Errorf("killer: x: %w: %w", killer.ErrNotConfirmed, killer.ErrAllSpared)
	d.killed(KillRecord{KilledPod: KilledPod{UID: "be"}}, nil, killer.Result{Method: killer.MethodOOM, Containers: 1, PIDs: 2, Spared: 2}, err)
	if k := d.kills; len(k) != 1 || k[0].Confirmed || k[0].Method != string(killer.MethodOOM) || k[0].Error == "" {
		t.Errorf("kills = %+v, want one, method oom, not confirmed, with the error", k)
	}
	if got := logs.records(t, "", vocab.MsgKilled); len(got) != 1 || got[0]["confirmed"] != false {
		t.Errorf("kill records = %v, want one, not confirmed:\n%s", got, logs.String())
	}
}

// Issue 19 item 4: a memory.max that a kill could not put back stays in
// the limits record, and is retried while the daemon runs (at each
// rescan, as a throttle that could not be lifted is retried), not only at
// the next start.
func TestLimitPutBackRetriedWhileRunning(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	app := appContainer(t, tree, tree.PodPath("be", cgroupv2.BestEffort))
	cfg := testConfig(config.ModePod)
	cfg.Cgroup.RescanInterval = 10 * time.Second
	h := start(t, tree, cfg, "", "")
	// What a kill whose put-back failed leaves: the container at 0, and
	// its original in the record.
	tree.Write(app, "memory.max", "0")
	id, err := cgroupv2.ID(tree.Layout().Abs(app))
	if err != nil {
		t.Fatal(err)
	}
	statefile.Save(filepath.Join(h.runDir, "limits.json"), []struct {
		Cgroup   string `json:"cgroup"`
		ID       uint64 `json:"id"`
		Original uint64 `json:"original"`
	}{{Cgroup: tree.Layout().Abs(app), ID: id, Original: 300 << 20}})
	h.clock.Step(cfg.Cgroup.RescanInterval)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && h.file(app, "memory.max") != fmt.Sprint(300<<20) {
		h.snapshot()
		time.Sleep(time.Millisecond)
	}
	h.settle()
	if got := h.file(app, "memory.max"); got != fmt.Sprint(300<<20) {
		t.Fatalf("memory.max = %q a rescan later, want %d put back", got, 300<<20)
	}
	put := h.logs.records(t, "put back the memory.max of a container a kill left lowered", "")
	if len(put) != 1 || put[0]["cgroup"] != tree.Layout().Abs(app) || put[0]["reason"] != "retry" {
		t.Errorf("put-back records = %v, want one naming %s:\n%s", put, app, h.logs)
	}
	if _, err := os.Stat(filepath.Join(h.runDir, "limits.json")); !os.IsNotExist(err) {
		t.Errorf("limits record left after the put-back: %v", err)
	}
}

// Issue 19 item 5: limits.json and frozen.json are not trusted. A record
// naming kubelet.service (with "original" 0) is never written to at
// start: each such entry is logged with the file and the cgroup, and
// dropped.
func TestRestartRejectsUntrustedRecords(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	const kubelet = "/system.slice/kubelet.service"
	tree.Write(kubelet, "memory.max", "1073741824")
	tree.Write(kubelet, "cgroup.freeze", "1")
	dir := tree.Layout().Abs(kubelet)
	id, err := cgroupv2.ID(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	limits, frozen := filepath.Join(run, "limits.json"), filepath.Join(run, "frozen.json")
	statefile.Save(limits, []struct {
		Cgroup   string `json:"cgroup"`
		ID       uint64 `json:"id"`
		Original uint64 `json:"original"`
	}{{Cgroup: dir, ID: id, Original: 0}})
	statefile.Save(frozen, []struct {
		Cgroup string `json:"cgroup"`
		ID     uint64 `json:"id"`
	}{{Cgroup: dir, ID: id}})
	h := start(t, tree, testConfig(config.ModePod), "", run)
	if got := h.file(kubelet, "memory.max"); got != "1073741824" {
		t.Errorf("kubelet.service memory.max = %q: written from the limits record", got)
	}
	if got := h.file(kubelet, "cgroup.freeze"); got != "1" {
		t.Errorf("kubelet.service cgroup.freeze = %q: written from the freeze record", got)
	}
	for _, file := range []string{limits, frozen} {
		found := false
		for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
			var r map[string]any
			json.Unmarshal([]byte(line), &r)
			if r["file"] == file && r["cgroup"] == dir && r["reason"] == reasonUntrusted {
				found = true
			}
		}
		if !found {
			t.Errorf("no record naming %s and %s as untrusted:\n%s", file, dir, h.logs)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("%s kept: %v; want the rejected entry dropped", file, err)
		}
	}
}

// Before the config is read, the layout is a guess: the kubelet's default
// kubepods. With cgroup.kubepods set in the config and a stale
// /kubepods.slice still there, a limits record of a container under the
// config's kubepods is not under the guess: it is kept for the check
// against the config's layout, not dropped, so the start puts back the
// memory.max that a crashed kill left at 0, then removes the record.
func TestRestartPutsBackLimitsUnderConfigKubepods(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	const custom = "/kubelet.slice/kubelet-kubepods.slice"
	if err := os.MkdirAll(tree.Layout().Abs("/kubelet.slice"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tree.Layout().Abs(tree.Kubepods), tree.Layout().Abs(custom)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tree.Layout().Abs("/kubepods.slice"), 0o755); err != nil { // stale
		t.Fatal(err)
	}
	tree.Kubepods = custom
	app := appContainer(t, tree, tree.PodPath("be", cgroupv2.BestEffort))
	tree.Write(app, "memory.max", "0")
	id, err := cgroupv2.ID(tree.Layout().Abs(app))
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	statefile.Save(filepath.Join(run, "limits.json"), []struct {
		Cgroup   string `json:"cgroup"`
		ID       uint64 `json:"id"`
		Original uint64 `json:"original"`
	}{{Cgroup: tree.Layout().Abs(app), ID: id, Original: 300 << 20}})
	cfg := testConfig(config.ModePod)
	cfg.Cgroup.Kubepods = custom
	h := start(t, tree, cfg, "", run)
	if got := h.file(app, "memory.max"); got != fmt.Sprint(300<<20) {
		t.Errorf("memory.max = %q after restart, want %d put back:\n%s", got, 300<<20, h.logs)
	}
	if _, err := os.Stat(filepath.Join(run, "limits.json")); !os.IsNotExist(err) {
		t.Errorf("limits record left after restore: %v", err)
	}
	if dropped := h.logs.records(t, "dropped an entry of the limits record: not a container of the kubelet, its memory.max not written", ""); len(dropped) != 0 {
		t.Errorf("dropped = %v, want none", dropped)
	}
}
