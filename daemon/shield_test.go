package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// shieldedNode is issue 19 item 12's node: a BestEffort pod whose main
// process set oom_score_adj -1000 and forked a child that kept it and
// leaks, a Burstable pod over its request that holds its memory, and a
// Guaranteed pod. It returns the tree, the shielded pod's path and the
// pids of its main process and leaking child.
func shieldedNode(t *testing.T) (*cgrouptest.Tree, string, [2]int) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.Write(tree.Kubepods, "cgroup.kill", "")
	sh := tree.AddPod(cgrouptest.Pod{UID: "shielded", QoS: cgroupv2.BestEffort, Current: 300 * MiB, Anon: 290 * MiB,
		Containers: []cgrouptest.Container{{Current: 299 * MiB, Adj: []int{-1000, -1000}}}})
	for _, p := range []cgrouptest.Pod{
		{UID: "bu", QoS: cgroupv2.Burstable, Current: 500 * MiB, Max: 2048 * MiB, Containers: []cgrouptest.Container{{Current: 499 * MiB, Adj: []int{980}}}},
		{UID: "gu", QoS: cgroupv2.Guaranteed, Current: 200 * MiB, Max: 256 * MiB, Containers: []cgrouptest.Container{{Current: 199 * MiB, Adj: []int{-997}}}},
	} {
		rel := tree.AddPod(p)
		tree.Write(rel, "cgroup.kill", "")
	}
	tree.Write(sh, "cgroup.kill", "")
	var pids []int // the processes at -1000: the main process, then its child
	filepath.WalkDir(filepath.Join(tree.Mount, sh), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == "cgroup.procs" {
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				adj, _ := os.ReadFile(filepath.Join(tree.Proc, f, "oom_score_adj"))
				if strings.TrimSpace(string(adj)) == "-1000" {
					pid, _ := strconv.Atoi(f)
					pids = append(pids, pid)
				}
			}
		}
		return nil
	})
	if len(pids) != 2 {
		t.Fatalf("the shielded pod's -1000 processes: %v", pids)
	}
	return tree, sh, [2]int(pids)
}

// read returns a file of the fake tree.
func read(tree *cgrouptest.Tree, rel, name string) string {
	b, _ := os.ReadFile(filepath.Join(tree.Mount, rel, name))
	return strings.TrimSpace(string(b))
}

// shieldedKernel plays the kernel for the shielded pod each window: it
// leaks 20 MiB (in its -1000 child) until it has a memory.high; held, its
// usage stays at the limit and its high counter rises while it pushes.
type shieldedKernel struct {
	tree    *cgrouptest.Tree
	pod     string
	pids    [2]int
	current uint64
	highs   uint64
}

func (k *shieldedKernel) step(pushing bool) {
	high := read(k.tree, k.pod, "memory.high")
	switch {
	case high == "max":
		k.current += 20 * MiB
	case pushing:
		v, _ := strconv.ParseUint(high, 10, 64)
		k.current = min(k.current, v)
		k.highs += 7
	}
	anon := k.current - 10*MiB
	k.tree.Write(k.pod, "memory.current", fmt.Sprint(k.current))
	k.tree.Write(k.pod, "memory.stat", fmt.Sprintf("anon %d\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n", anon))
	k.tree.Write(k.pod, "memory.events.local", fmt.Sprintf("low 0\nhigh %d\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n", k.highs))
	k.tree.WriteProc(fmt.Sprintf("%d/statm", k.pids[0]), "4096 2048 512 1 0 2048 0\n") // 8 MiB
	k.tree.WriteProc(fmt.Sprintf("%d/statm", k.pids[1]), fmt.Sprintf("99999 %d 512 1 0 2048 0\n", (anon-8*MiB)/4096))
}

// Issue 19 item 12: a BestEffort pod whose only growing processes are at
// -1000 grows with kubepods near its limit and pressured. kube-oomd
// contains it at a memory.high at or under its usage (a record with the
// reason shielded-pod-contained, a metric, status), keeps it held while it
// pushes near the limit, kills nobody, and leaves the Burstable and
// Guaranteed pods alone. Once it stops pushing it is released.
func TestShieldedGrowerIsContainedNotLeftToTheKernel(t *testing.T) {
	tree, sh, pids := shieldedNode(t)
	cfg := testConfig(config.ModePod)
	cfg.Relief.Reclaim = false
	k := &shieldedKernel{tree: tree, pod: sh, pids: pids, current: 300 * MiB}
	k.step(true)
	h := start(t, tree, cfg, "", "")
	var usage uint64
	for i := range 4 { // pressured near the limit
		usage = k.current
		h.window(0.5, 1000*MiB)
		k.step(true)
		if read(tree, sh, "memory.high") != "max" {
			break
		}
		if i == 3 {
			t.Fatalf("the shielded grower was not contained:\n%s", h.logs)
		}
	}
	high, err := strconv.ParseUint(read(tree, sh, "memory.high"), 10, 64)
	if err != nil || high > usage+20*MiB {
		t.Fatalf("memory.high = %s (%v), want at most its usage (%d):\n%s", read(tree, sh, "memory.high"), err, usage+20*MiB, h.logs)
	}
	recs := h.logs.records(t, "contained a pod that spares its growing processes (oom_score_adj -1000): held at its memory.high, never killed", "")
	if len(recs) != 1 || recs[0]["reason"] != reasonContained || recs[0]["pod_uid"] != "shielded" {
		t.Fatalf("contain records = %v, want one for the shielded pod, reason %s:\n%s", recs, reasonContained, h.logs)
	}
	s := h.snapshot()
	if len(s.Throttles) != 1 || !s.Throttles[0].Contained || s.Throttles[0].Cgroup != sh {
		t.Errorf("status throttles = %+v, want the shielded pod, contained", s.Throttles)
	}
	if m := h.scrape(); m["kube_oomd_contained_pods"] != 1 || m["kube_oomd_contained_total"] != 1 {
		t.Errorf("kube_oomd_contained_pods %v, kube_oomd_contained_total %v; want 1 and 1", m["kube_oomd_contained_pods"], m["kube_oomd_contained_total"])
	}

	// It keeps pushing near the limit and pressured (kill verdicts every
	// cooldown): it stays held, at or under its usage.
	n := int(cfg.Kill.Cooldown/cfg.Pressure.Window) * 2
	for range n {
		h.window(0.5, 1000*MiB)
		k.step(true)
	}
	if got := read(tree, sh, "memory.high"); got != fmt.Sprint(high) {
		t.Fatalf("memory.high = %s while it pushes, want it held at %d:\n%s", got, high, h.logs)
	}
	if got := h.logs.records(t, "", vocab.MsgKilled); len(got) != 0 {
		t.Errorf("kills: %v", got)
	}
	if got := h.logs.records(t, "memory pressure, but no pod kube-oomd may kill can end it: left to the kernel", ""); len(got) != 0 {
		t.Errorf("left to the kernel: %v", got)
	}
	for _, p := range []string{sh, tree.PodPath("bu", cgroupv2.Burstable), tree.PodPath("gu", cgroupv2.Guaranteed)} {
		if b := read(tree, p, "cgroup.kill"); b != "" {
			t.Errorf("%s: cgroup.kill = %q", p, b)
		}
	}
	for _, p := range []string{tree.PodPath("bu", cgroupv2.Burstable), tree.PodPath("gu", cgroupv2.Guaranteed)} {
		if b := read(tree, p, "memory.high"); b != "max" {
			t.Errorf("%s: memory.high = %q, want untouched", p, b)
		}
	}

	// It stops pushing: released as any throttle.
	for range int(cfg.Relief.ReleaseAfter/cfg.Pressure.Window) + 10 {
		h.window(0, 500*MiB)
		k.step(false)
	}
	if got := read(tree, sh, "memory.high"); got != "max" {
		t.Errorf("memory.high = %s once it stopped pushing, want max restored:\n%s", got, h.logs)
	}
	if m := h.scrape(); m["kube_oomd_contained_pods"] != 0 {
		t.Errorf("kube_oomd_contained_pods %v after the release, want 0", m["kube_oomd_contained_pods"])
	}
}

// A shielded grower that relief throttled first, and that keeps pushing
// against that throttle (leak-under-throttle), is contained, not sent to
// a kill that would spare every process it has.
func TestThrottledShieldedGrowerIsContainedNotKilled(t *testing.T) {
	tree, sh, pids := shieldedNode(t)
	cfg := testConfig(config.ModePod)
	cfg.Relief.Reclaim = false
	k := &shieldedKernel{tree: tree, pod: sh, pids: pids, current: 300 * MiB}
	k.step(true)
	h := start(t, tree, cfg, "", "")
	for range 12 { // strained near the limit, never pressured: relief's throttle
		h.window(0.05, 1000*MiB)
		k.step(true)
	}
	if got := h.logs.records(t, "throttled pod", ""); len(got) != 1 || got[0]["pod_uid"] != "shielded" {
		t.Fatalf("throttle records = %v, want the shielded pod throttled first:\n%s", got, h.logs)
	}
	if s := h.snapshot(); len(s.Throttles) != 1 || !s.Throttles[0].Contained {
		t.Errorf("status throttles = %+v, want the shielded pod contained:\n%s", s.Throttles, h.logs)
	}
	if got := h.logs.records(t, "", vocab.MsgKilled); len(got) != 0 {
		t.Errorf("kills: %v", got)
	}
	for _, msg := range []string{
		"every process left in the victim protects itself (oom_score_adj -1000); nothing killed",
		"memory pressure, but no pod may be killed: all are protected or unreadable",
	} {
		if got := h.logs.records(t, msg, ""); len(got) != 0 {
			t.Errorf("%q: %v", msg, got)
		}
	}
	if read(tree, sh, "memory.high") == "max" {
		t.Errorf("the shielded pod is not held")
	}
}

// logIndex returns the line of the first record whose msg is msg or whose
// message_id is id, or -1.
func logIndex(l *logBuffer, msg, id string) int {
	for i, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if (msg != "" && strings.Contains(line, fmt.Sprintf("%q:%q", "msg", msg))) ||
			(id != "" && strings.Contains(line, fmt.Sprintf("%q:%q", "message_id", id))) {
			return i
		}
	}
	return -1
}

// A kill verdict with a killable victim beside a shielded grower: the
// kill goes to the worker first, the containment after it. The
// containment calls PID 1 (slow under pressure) and is not interruptible:
// an imminent OOM's kill must not wait behind it.
func TestKillIsSubmittedBeforeContainment(t *testing.T) {
	tree, sh, pids := shieldedNode(t)
	cfg := testConfig(config.ModePod)
	cfg.Relief.Reclaim = false
	// bu grows, which makes a kill one window sooner than the
	// containment (policy); with three windows, the kill and the
	// containment come out of the same decision, whose order is tested.
	cfg.Pressure.Windows = 3
	k := &shieldedKernel{tree: tree, pod: sh, pids: pids, current: 300 * MiB}
	k.step(true)
	h := start(t, tree, cfg, "", "")
	h.grow(tree.PodPath("bu", cgroupv2.Burstable), 8*MiB)
	const containMsg = "contained a pod that spares its growing processes (oom_score_adj -1000): held at its memory.high, never killed"
	for range 6 { // pressured near the limit
		h.window(0.5, 1000*MiB)
		k.step(true)
		if logIndex(h.logs, "", vocab.MsgKilled) >= 0 && logIndex(h.logs, containMsg, "") >= 0 {
			break
		}
	}
	kill := logIndex(h.logs, "", vocab.MsgKilled)
	contain := logIndex(h.logs, containMsg, "")
	if kill < 0 || contain < 0 {
		t.Fatalf("kill record at %d, contain record at %d: want both:\n%s", kill, contain, h.logs)
	}
	if kill > contain {
		t.Errorf("the kill (record %d) waited behind the containment (record %d):\n%s", kill, contain, h.logs)
	}
}

// A contained pod that no longer grows still hits its memory.high every
// window (page cache charged by its I/O, its usage sat at the limit): far
// from the limit, strained or calm, it is released as any throttle (it is
// no longer Held, so no later episode treats it as the cause either).
func TestContainedPodThatStoppedGrowingIsReleased(t *testing.T) {
	tree, sh, pids := shieldedNode(t)
	cfg := testConfig(config.ModePod)
	cfg.Relief.Reclaim = false
	k := &shieldedKernel{tree: tree, pod: sh, pids: pids, current: 300 * MiB}
	k.step(true)
	h := start(t, tree, cfg, "", "")
	for range 4 { // pressured near the limit: contained
		h.window(0.5, 1000*MiB)
		k.step(true)
	}
	if read(tree, sh, "memory.high") == "max" {
		t.Fatalf("the shielded grower was not contained:\n%s", h.logs)
	}
	for range int(cfg.Relief.ReleaseAfter/cfg.Pressure.Window) + 10 { // far, a little strained; its high counter rises
		h.window(0.05, 500*MiB)
		k.step(true)
	}
	for range int(cfg.Relief.ReleaseAfter/cfg.Pressure.Window) + 10 { // calm; its high counter still rises
		h.window(0, 500*MiB)
		k.step(true)
	}
	if got := read(tree, sh, "memory.high"); got != "max" {
		t.Fatalf("memory.high = %s: a contained pod that stopped growing is held for ever because its I/O hits memory.high:\n%s", got, h.logs)
	}
	if s := h.snapshot(); len(s.Throttles) != 0 {
		t.Errorf("status throttles = %+v, want none", s.Throttles)
	}
}
