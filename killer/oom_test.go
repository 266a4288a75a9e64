package killer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/statefile"
)

// oomTarget is f's pod as a target of the method oom: both containers.
func (f *fakeCG) oomTarget(t *testing.T) Target {
	t.Helper()
	tg := f.target()
	for _, sub := range []string{"cri-containerd-aaaaaaaaaaaa.scope", "cri-containerd-bbbbbbbbbbbb.scope"} {
		dir := filepath.Join(f.dir, sub)
		id, err := cgroupv2.ID(dir)
		if err != nil {
			t.Fatal(err)
		}
		tg.OOM = append(tg.OOM, Container{Cgroup: dir, ID: id})
	}
	return tg
}

// oomKiller is a Killer for f with a limits record in a temporary
// directory.
func (f *fakeCG) oomKiller(t *testing.T, timeout time.Duration) Killer {
	kl := f.killer(timeout)
	kl.Limits = &LimitLog{Path: filepath.Join(t.TempDir(), "run", "limits.json")}
	return kl
}

// recordAt returns a kernel.onLower that checks, when the kernel first
// sees a container's memory.max at 0, that the limits record already names
// it with its original value and ID: what a crash then would leave for
// the next start.
func recordAt(t *testing.T, f *fakeCG, log *LimitLog, seen map[string]bool) func(sub string) {
	return func(sub string) {
		entries, err := statefile.Load[limitEntry](log.Path, limitsHint)
		if err != nil {
			t.Errorf("limits record while %s is lowered: %v", sub, err)
			return
		}
		dir := filepath.Join(f.dir, sub)
		id, _ := cgroupv2.ID(dir)
		want, _ := cgroupv2.ParseUint([]byte(originalMax[sub]))
		for _, e := range entries {
			if e == (limitEntry{Cgroup: dir, ID: id, Original: want}) {
				seen[sub] = true
				return
			}
		}
		t.Errorf("memory.max of %s is 0, but the limits record %v does not name it with %s", sub, entries, originalMax[sub])
	}
}

// limitsPutBack checks that every memory.max of f is its original again
// and that the limits record is gone.
func limitsPutBack(t *testing.T, f *fakeCG, log *LimitLog) {
	t.Helper()
	for sub, want := range originalMax {
		if got := f.read(filepath.Join(sub, "memory.max")); got != want {
			t.Errorf("%s memory.max = %q, want %q put back", sub, got, want)
		}
	}
	if _, err := os.Stat(log.Path); !os.IsNotExist(err) {
		b, _ := os.ReadFile(log.Path)
		t.Errorf("limits record left behind (%v): %s", err, b)
	}
}

// Issue 11, section 3: the method oom records each app container's
// memory.max, then lowers it to 0, and the kernel's OOM killer kills in
// it; once the containers are empty the originals are put back and the
// record dropped. No signal is sent, cgroup.kill is never written, nothing
// is frozen.
func TestKillOOM(t *testing.T) {
	f := newFake(t, true)
	kl := f.oomKiller(t, 5*time.Second)
	seen := map[string]bool{}
	k := &kernel{f: f, oom: true, onLower: recordAt(t, f, kl.Limits, seen)}
	res, err, took := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	for _, c := range f.children {
		c.waitKilled(t)
	}
	if res.Method != MethodOOM || res.Containers != 2 || res.PIDs != 3 || res.Spared != 0 {
		t.Errorf("Method/Containers/PIDs/Spared = %q/%d/%d/%d, want %q/2/3/0", res.Method, res.Containers, res.PIDs, res.Spared, MethodOOM)
	}
	// Lowered at once; the kernel kills while the killer waits, and the
	// next poll sees both containers empty.
	if !res.Confirmed || res.Took != pollInterval || took != pollInterval {
		t.Errorf("Confirmed = %v, Took = %v (returned after %v), want true, %v", res.Confirmed, res.Took, took, pollInterval)
	}
	if len(seen) != 2 {
		t.Errorf("the kernel saw %v lowered with their record; want both containers", seen)
	}
	limitsPutBack(t, f, kl.Limits)
	if got := f.read("cgroup.kill"); got != "" {
		t.Errorf("cgroup.kill = %q: the method oom never writes it when the kernel killed", got)
	}
	if got := f.read("cgroup.freeze"); got != "0" {
		t.Errorf("cgroup.freeze = %q, want 0: never frozen", got)
	}
}

// A process at -1000 is never chosen by the kernel's OOM killer, as
// kube-oomd spares it: the method oom leaves it alive, never signals it,
// and the kill is confirmed once nothing but it is left.
func TestKillOOMSpares(t *testing.T) {
	f := newFake(t, true)
	spared := f.spareOne(t)
	kl := f.oomKiller(t, 5*time.Second)
	tg := f.oomTarget(t)
	tg.Vet = func() ([]int, error) { return []int{spared.pid}, nil }
	k := &kernel{f: f, oom: true, protected: map[int]bool{spared.pid: true}}
	res, err, _ := runKill(t, context.Background(), kl, tg, k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	spared.mustBeAlive(t)
	for pid, c := range f.children {
		if pid != spared.pid {
			c.waitKilled(t)
		}
	}
	// Container b holds only the spared process: not lowered.
	if res.Method != MethodOOM || !res.Confirmed || res.PIDs != 2 || res.Spared != 1 || res.Containers != 1 || res.Took != pollInterval {
		t.Errorf("Method/Confirmed/PIDs/Spared/Took = %q/%v/%d/%d/%v, want %q/true/2/1/%v",
			res.Method, res.Confirmed, res.PIDs, res.Spared, res.Took, MethodOOM, pollInterval)
	}
	limitsPutBack(t, f, kl.Limits)
	if got := f.read("cgroup.kill"); got != "" {
		t.Errorf("cgroup.kill = %q: never written when a process is spared", got)
	}
}

// When the containers still hold processes at the deadline (OOMWait, or
// kill.timeout when shorter), the limits are put back and the fallback
// kills the signal way: cgroup.kill here. The method says both.
func TestKillOOMFallback(t *testing.T) {
	f := newFake(t, true)
	const timeout = 200 * time.Millisecond // below OOMWait: the deadline
	kl := f.oomKiller(t, timeout)
	seen := map[string]bool{}
	k := &kernel{f: f, onLower: recordAt(t, f, kl.Limits, seen)} // lowered, but the OOM killer kills nothing
	var maxAtKill string
	tg := f.oomTarget(t)
	k.onCgroupKill = func() { maxAtKill = f.read("cri-containerd-aaaaaaaaaaaa.scope/memory.max") }
	res, err, took := runKill(t, context.Background(), kl, tg, k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	for _, c := range f.children {
		c.waitKilled(t)
	}
	if res.Method != MethodOOMCgroupKill || !res.Confirmed || res.Containers != 2 {
		t.Errorf("Method/Confirmed/Containers = %q/%v/%d, want %q/true/2", res.Method, res.Confirmed, res.Containers, MethodOOMCgroupKill)
	}
	// The whole deadline in fake time, then one poll of the fallback.
	if want := timeout + pollInterval; res.Took != want || took != want {
		t.Errorf("Took = %v (returned after %v), want %v", res.Took, took, want)
	}
	if len(seen) != 2 {
		t.Errorf("the kernel saw %v lowered with their record; want both containers", seen)
	}
	if maxAtKill != originalMax["cri-containerd-aaaaaaaaaaaa.scope"] {
		t.Errorf("memory.max was %q at cgroup.kill; want the original put back before the fallback", maxAtKill)
	}
	limitsPutBack(t, f, kl.Limits)
}

// Vet runs right before the first write: it sees every limit as it was
// and no record; when it refuses, nothing is lowered, nothing recorded,
// nothing killed (ErrChanged).
func TestKillOOMVetFirst(t *testing.T) {
	f := newFake(t, true)
	kl := f.oomKiller(t, 5*time.Second)
	tg := f.oomTarget(t)
	var atVet []string
	tg.Vet = func() ([]int, error) {
		atVet = append(atVet, f.read("cri-containerd-aaaaaaaaaaaa.scope/memory.max"), f.read("cri-containerd-bbbbbbbbbbbb.scope/memory.max"))
		if _, err := os.Stat(kl.Limits.Path); err == nil {
			t.Error("limits record written before Vet")
		}
		return nil, errors.New("protected now")
	}
	res, err, _ := runKill(t, context.Background(), kl, tg, &kernel{f: f, oom: true})
	if !errors.Is(err, ErrChanged) || res.Method != "" {
		t.Fatalf("Kill = %+v, %v; want ErrChanged, nothing done", res, err)
	}
	if strings.Join(atVet, " ") != "536870912 max" {
		t.Errorf("memory.max at Vet = %v, want the originals", atVet)
	}
	for _, c := range f.children {
		c.mustBeAlive(t)
	}
	limitsPutBack(t, f, kl.Limits)
}

// A limit that cannot be recorded is never lowered: the kill goes the
// signal way, and says why.
func TestKillOOMNoRecord(t *testing.T) {
	f := newFake(t, true)
	kl := f.killer(5 * time.Second)
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	kl.Limits = &LimitLog{Path: filepath.Join(blocker, "limits.json")} // a file where a directory must be
	k := &kernel{f: f, oom: true}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err == nil || !strings.Contains(err.Error(), "not lowered") || errors.Is(err, ErrChanged) || errors.Is(err, ErrNotConfirmed) {
		t.Errorf("err = %v, want the record's failure told, the kill done", err)
	}
	if res.Method != MethodCgroupKill || !res.Confirmed || res.Containers != 0 {
		t.Errorf("Method/Confirmed/Containers = %q/%v/%d, want %q/true/0", res.Method, res.Confirmed, res.Containers, MethodCgroupKill)
	}
	if len(k.lowered) != 0 {
		t.Errorf("lowered %v without a record", k.lowered)
	}
	for _, c := range f.children {
		c.waitKilled(t)
	}
}

// A daemon that died while a limit was lowered left the record it wrote
// before lowering; the next one's RestoreLeftovers puts back the original
// of each container still there and still the same cgroup (its ID), drops
// the entries of containers gone or replaced without writing to them, and
// keeps only what it could not put back.
func TestLimitLogRestoreLeftovers(t *testing.T) {
	root := t.TempDir()
	layout := cgroupv2.Layout{Mount: root, Kubepods: "/", Driver: cgroupv2.DriverSystemd}
	ctr := func(name string) string {
		return filepath.Join(root, "kubepods-podx.slice", "cri-containerd-"+name+".scope")
	}
	mk := func(name, max string, withMax bool) (string, uint64) {
		dir := ctr(name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte(events(true, false)), 0o644)
		if withMax {
			os.WriteFile(filepath.Join(dir, "memory.max"), []byte(max+"\n"), 0o644)
		}
		id, err := cgroupv2.ID(dir)
		if err != nil {
			t.Fatal(err)
		}
		return dir, id
	}
	same, sameID := mk("aaaaaaaaaaa1", "0", true)
	other, otherID := mk("aaaaaaaaaaa2", "0", true)
	stuck, stuckID := mk("aaaaaaaaaaa3", "", false) // memory.max cannot be written
	log := &LimitLog{Path: filepath.Join(root, "run", "limits.json"), Layout: layout}
	gone := ctr("aaaaaaaaaaa4")
	entries := []limitEntry{
		{Cgroup: same, ID: sameID, Original: 1 << 30},
		{Cgroup: other, ID: otherID + 1, Original: cgroupv2.Unlimited}, // another cgroup at the path now
		{Cgroup: gone, ID: 7, Original: cgroupv2.Unlimited},
		{Cgroup: stuck, ID: stuckID, Original: cgroupv2.Unlimited},
	}
	for _, e := range entries {
		if err := log.add(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := log.RestoreLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Cgroup != same || got[0].Err != nil || got[0].Max != 1<<30 || got[1].Cgroup != stuck || got[1].Err == nil {
		t.Fatalf("RestoreLeftovers = %+v; want %s put back, %s failed", got, same, stuck)
	}
	if b, _ := os.ReadFile(filepath.Join(same, "memory.max")); string(b) != "1073741824" {
		t.Errorf("%s memory.max = %q, want 1073741824", same, b)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "memory.max")); string(b) != "0\n" {
		t.Errorf("%s memory.max = %q: another cgroup's limit was written", other, b)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("a gone cgroup was created: %v", err)
	}
	b, _ := os.ReadFile(log.Path)
	var kept []limitEntry
	if err := json.Unmarshal(b, &kept); err != nil || len(kept) != 1 || kept[0] != entries[3] {
		t.Errorf("record kept %s (%v); want only %s, for the next start", b, err, stuck)
	}
	// Put back by hand: the next start finds it there and clears it.
	os.WriteFile(filepath.Join(stuck, "memory.max"), []byte("0\n"), 0o644)
	if got, err := log.RestoreLeftovers(); err != nil || len(got) != 1 || got[0].Err != nil {
		t.Fatalf("second RestoreLeftovers = %+v, %v", got, err)
	}
	if _, err := os.Stat(log.Path); !os.IsNotExist(err) {
		t.Errorf("record left behind: %v", err)
	}
	if got, err := log.RestoreLeftovers(); err != nil || len(got) != 0 {
		t.Errorf("RestoreLeftovers with no record = %+v, %v; want nothing", got, err)
	}
}

// setOOMGroup writes memory.oom.group v in both containers of f, as the
// kernel (4.19+) has it.
func (f *fakeCG) setOOMGroup(t *testing.T, v string) {
	t.Helper()
	for _, sub := range []string{"cri-containerd-aaaaaaaaaaaa.scope", "cri-containerd-bbbbbbbbbbbb.scope"} {
		if err := os.WriteFile(filepath.Join(f.dir, sub, "memory.oom.group"), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 22, rule 1: memory.oom.group is 1 on each container when the
// kernel sees its memory.max at 0 (one OOM kill takes it whole), the
// record says so before (a crash puts 0 back), and 0 is back after.
func TestKillOOMGroup(t *testing.T) {
	f := newFake(t, true)
	f.setOOMGroup(t, "0")
	kl := f.oomKiller(t, 5*time.Second)
	atLower := map[string]string{}
	k := &kernel{f: f, oom: true, onLower: func(sub string) {
		atLower[sub] = f.read(filepath.Join(sub, "memory.oom.group"))
		entries, _ := statefile.Load[limitEntry](kl.Limits.Path, limitsHint)
		for _, e := range entries {
			if e.Cgroup == filepath.Join(f.dir, sub) && !e.GroupRaised {
				t.Errorf("%s lowered, but its record %+v does not say memory.oom.group was raised", sub, e)
			}
		}
	}}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil || res.Method != MethodOOM || !res.Confirmed {
		t.Fatalf("Kill = %+v, %v; want %q confirmed", res, err, MethodOOM)
	}
	for sub, v := range atLower {
		if v != "1" {
			t.Errorf("%s memory.oom.group = %q when memory.max was lowered, want 1", sub, v)
		}
	}
	if len(atLower) != 2 {
		t.Errorf("lowered %v, want both containers", atLower)
	}
	for _, sub := range []string{"cri-containerd-aaaaaaaaaaaa.scope", "cri-containerd-bbbbbbbbbbbb.scope"} {
		if got := f.read(filepath.Join(sub, "memory.oom.group")); got != "0" {
			t.Errorf("%s memory.oom.group = %q after the kill, want 0 put back", sub, got)
		}
	}
	limitsPutBack(t, f, kl.Limits)

	// A container already at 1 is left at 1, and nothing is recorded for it.
	f2 := newFake(t, true)
	f2.setOOMGroup(t, "1")
	kl2 := f2.oomKiller(t, 5*time.Second)
	k2 := &kernel{f: f2, oom: true, onLower: func(sub string) {
		entries, _ := statefile.Load[limitEntry](kl2.Limits.Path, limitsHint)
		for _, e := range entries {
			if e.GroupRaised {
				t.Errorf("record %+v: memory.oom.group was already 1", e)
			}
		}
	}}
	if _, err, _ := runKill(t, context.Background(), kl2, f2.oomTarget(t), k2); err != nil {
		t.Fatal(err)
	}
	if got := f2.read("cri-containerd-aaaaaaaaaaaa.scope/memory.oom.group"); got != "1" {
		t.Errorf("memory.oom.group = %q, want 1 left as it was", got)
	}
}

// Switched off, memory.oom.group is never written.
func TestKillOOMGroupOff(t *testing.T) {
	f := newFake(t, true)
	f.setOOMGroup(t, "0")
	kl := f.oomKiller(t, 5*time.Second)
	kl.rules = &oomRules{}
	var atLower []string
	k := &kernel{f: f, oom: true, onLower: func(sub string) { atLower = append(atLower, f.read(filepath.Join(sub, "memory.oom.group"))) }}
	if _, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k); err != nil {
		t.Fatal(err)
	}
	if strings.Join(atLower, " ") != "0 0" {
		t.Errorf("memory.oom.group at the lowering = %v, want 0 0", atLower)
	}
}

// A crash while memory.oom.group is raised: the next start puts 0 back
// with memory.max.
func TestLimitLogRestoresOOMGroup(t *testing.T) {
	f := newFake(t, true)
	f.setOOMGroup(t, "1")
	dir := filepath.Join(f.dir, "cri-containerd-aaaaaaaaaaaa.scope")
	os.WriteFile(filepath.Join(dir, "memory.max"), []byte("0\n"), 0o644)
	id, _ := cgroupv2.ID(dir)
	log := &LimitLog{Path: filepath.Join(t.TempDir(), "limits.json"), Layout: f.layout()}
	if err := log.add(limitEntry{Cgroup: dir, ID: id, Original: 1 << 29, GroupRaised: true}); err != nil {
		t.Fatal(err)
	}
	got, err := log.RestoreLeftovers()
	if err != nil || len(got) != 1 || got[0].Err != nil {
		t.Fatalf("RestoreLeftovers = %+v, %v", got, err)
	}
	if v := f.read("cri-containerd-aaaaaaaaaaaa.scope/memory.oom.group"); v != "0" {
		t.Errorf("memory.oom.group = %q, want 0 put back", v)
	}
	if v := f.read("cri-containerd-aaaaaaaaaaaa.scope/memory.max"); v != "536870912" {
		t.Errorf("memory.max = %q, want the original", v)
	}
}

// Issue 22, rule 2: a container whose only process is at -1000 now (no
// Vet said so) is never lowered: the kernel's OOM killer would find no
// task to kill there and print a second full report ("Out of memory and
// no killable processes"). The result says it was left alone; the other
// container is lowered and killed, and the -1000 process lives.
func TestKillOOMLeavesUnkillableAlone(t *testing.T) {
	f := newFake(t, true)
	f.setOOMGroup(t, "0")
	protected := f.spareOne(t) // alone in container b
	os.WriteFile(filepath.Join(f.proc, strconv.Itoa(protected.pid), "oom_score_adj"), []byte("-1000\n"), 0o644)
	kl := f.oomKiller(t, 5*time.Second)
	k := &kernel{f: f, oom: true, protected: map[int]bool{protected.pid: true}}
	res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if k.lowered["cri-containerd-bbbbbbbbbbbb.scope"] {
		t.Error("container b, which holds only a -1000 process, was lowered")
	}
	if res.Method != MethodOOM || !res.Confirmed || res.Containers != 1 || res.LeftAlone != 1 || res.Spared != 1 || res.PIDs != 2 {
		t.Errorf("Method/Confirmed/Containers/LeftAlone/Spared/PIDs = %q/%v/%d/%d/%d/%d, want %q/true/1/1/1/2",
			res.Method, res.Confirmed, res.Containers, res.LeftAlone, res.Spared, res.PIDs, MethodOOM)
	}
	protected.mustBeAlive(t)
	if got := f.read("cri-containerd-bbbbbbbbbbbb.scope/memory.oom.group"); got != "0" {
		t.Errorf("container b memory.oom.group = %q: left alone means untouched", got)
	}
	limitsPutBack(t, f, kl.Limits)
}

// An empty container is left alone too, and said so.
func TestKillOOMLeavesEmptyAlone(t *testing.T) {
	f := newFake(t, true)
	f.spareOne(t) // b's one process, no longer listed
	f.setProcs(t, "cri-containerd-bbbbbbbbbbbb.scope")
	kl := f.oomKiller(t, 5*time.Second)
	k := &kernel{f: f, oom: true}
	tg := f.oomTarget(t)
	res, err, _ := runKill(t, context.Background(), kl, tg, k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if k.lowered["cri-containerd-bbbbbbbbbbbb.scope"] || res.Containers != 1 || res.LeftAlone != 1 {
		t.Errorf("lowered %v, Containers/LeftAlone = %d/%d; want only a lowered, b left alone", k.lowered, res.Containers, res.LeftAlone)
	}
}

// startZombieable starts a process whose parent never reaps it: killed,
// it stays a zombie (its pidfd polls readable, its PID is held), as a
// process the kernel OOM-killed stays listed in its cgroup until its
// memory is freed (do_exit: exit_mm, then cgroup_exit).
func startZombieable(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $!; exec sleep 61")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// Issue 22, rule 3: the kill is confirmed once every targeted process is
// dead or dying, not once the containers are empty. Here the kernel
// OOM-kills the process of container b, which stays listed (its memory
// is still being freed): the kill is confirmed at the first look, and
// the fallback does not run (before: it waited the whole OOMWait, then
// cgroup.kill signalled a process already dead).
func TestKillOOMConfirmedWhenDying(t *testing.T) {
	f := newFake(t, true)
	f.setOOMGroup(t, "0")
	z := startZombieable(t)
	f.setProcs(t, "cri-containerd-bbbbbbbbbbbb.scope", z)
	f.setProcCgroup(t, z, filepath.Join(f.dir, "cri-containerd-bbbbbbbbbbbb.scope"))
	kl := f.oomKiller(t, 5*time.Second)
	k := &kernel{f: f, oom: true}
	res, err, took := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if got := f.procsOf("cri-containerd-bbbbbbbbbbbb.scope"); len(got) != 1 || got[0] != z {
		t.Fatalf("container b lists %v, want the dying %d still there", got, z)
	}
	if res.Method != MethodOOM || !res.Confirmed || res.Containers != 2 || res.PIDs != 3 {
		t.Errorf("Method/Confirmed/Containers/PIDs = %q/%v/%d/%d, want %q/true/2/3", res.Method, res.Confirmed, res.Containers, res.PIDs, MethodOOM)
	}
	if res.Took != pollInterval || took != pollInterval {
		t.Errorf("Took = %v (returned after %v), want %v: confirmed at the first look after the kill", res.Took, took, pollInterval)
	}
	if got := f.read("cgroup.kill"); got != "" {
		t.Errorf("cgroup.kill = %q: no fallback when every process is dying", got)
	}
	limitsPutBack(t, f, kl.Limits)
}

// A process that /proc shows dying (its SIGKILL pending, or exiting) is
// dying: the kill is confirmed at the first look, without
// process_mrelease freeing its memory on the way (dyingNow), and Took
// stops there. Here the process is alive and the fake kernel kills
// nothing, so only /proc/<pid>/stat can tell it dying.
func TestKillOOMConfirmedByProcStat(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stat  string
		dying bool
	}{
		{"SIGKILL pending", "S 1 1 1 0 -1 4194304" + strings.Repeat(" 0", 21) + " 256 0 0 0", true},
		{"exiting", "D 1 1 1 0 -1 4194308" + strings.Repeat(" 0", 21) + " 0 0 0 0", true},
		{"alive", "S 1 1 1 0 -1 4194304" + strings.Repeat(" 0", 21) + " 16384 0 0 0", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, true)
			z := startZombieable(t) // alive: never killed by this kernel
			f.setProcs(t, "cri-containerd-aaaaaaaaaaaa.scope")
			f.setProcs(t, "cri-containerd-bbbbbbbbbbbb.scope", z)
			f.setProcCgroup(t, z, filepath.Join(f.dir, "cri-containerd-bbbbbbbbbbbb.scope"))
			writeAtomic(t, filepath.Join(f.proc, strconv.Itoa(z), "stat"), strconv.Itoa(z)+" (python3) "+tt.stat+"\n")
			kl := f.oomKiller(t, 200*time.Millisecond)
			k := &kernel{f: f}
			res, _, took := runKill(t, context.Background(), kl, f.oomTarget(t), k)
			t.Logf("%+v, returned after %v", res, took)
			if !tt.dying {
				if res.Method != MethodOOMCgroupKill {
					t.Errorf("Method = %q, want %q: a live process is no dying one", res.Method, MethodOOMCgroupKill)
				}
				return
			}
			if res.Method != MethodOOM || !res.Confirmed || res.Took != 0 {
				t.Errorf("Method/Confirmed/Took = %q/%v/%v, want %q/true/0s: confirmed at the first look, by /proc", res.Method, res.Confirmed, res.Took, MethodOOM)
			}
			if res.Released != 0 {
				t.Errorf("Released = %d: process_mrelease freed a process that is not dying", res.Released)
			}
			// Then it waits for the process to exit (here it never does),
			// so that Freed is measured once the memory is gone.
			if took != 200*time.Millisecond {
				t.Errorf("returned after %v, want the deadline 200ms: the wait for the dying to exit", took)
			}
			limitsPutBack(t, f, kl.Limits)
		})
	}
}

// A process the kernel did not kill (here it kills nothing) keeps the
// kill unconfirmed to the deadline, and the fallback kills it.
func TestKillOOMNotDyingFallsBack(t *testing.T) {
	f := newFake(t, true)
	z := startZombieable(t) // alive: never killed by this kernel
	f.setProcs(t, "cri-containerd-bbbbbbbbbbbb.scope", z)
	f.setProcCgroup(t, z, filepath.Join(f.dir, "cri-containerd-bbbbbbbbbbbb.scope"))
	kl := f.oomKiller(t, 200*time.Millisecond)
	killedAtFallback := false
	k := &kernel{f: f, onCgroupKill: func() { killedAtFallback = true }}
	res, _, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
	if res.Method != MethodOOMCgroupKill || !killedAtFallback {
		t.Errorf("Method = %q, cgroup.kill written %v; want %q: a live process is no dying one", res.Method, killedAtFallback, MethodOOMCgroupKill)
	}
}

// Issue 22, rule 4 (measure only, off by default): memory.max lowered to
// one page under each container's usage, not 0. By default it is 0.
func TestKillOOMJustUnder(t *testing.T) {
	for _, justUnder := range []bool{false, true} {
		f := newFake(t, true)
		os.WriteFile(filepath.Join(f.dir, "cri-containerd-aaaaaaaaaaaa.scope", "memory.current"), []byte("268435456\n"), 0o644)
		kl := f.oomKiller(t, 5*time.Second)
		if justUnder {
			kl.rules = &oomRules{group: true, unkillable: true, dying: true, justUnder: true}
		}
		atLower := map[string]string{}
		k := &kernel{f: f, oom: true, onLower: func(sub string) { atLower[sub] = f.read(filepath.Join(sub, "memory.max")) }}
		res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
		if err != nil || res.Method != MethodOOM || !res.Confirmed {
			t.Fatalf("justUnder %v: Kill = %+v, %v", justUnder, res, err)
		}
		page := cgroupv2.PageSize()
		want := map[string]string{"cri-containerd-aaaaaaaaaaaa.scope": "0", "cri-containerd-bbbbbbbbbbbb.scope": "0"}
		if justUnder {
			want = map[string]string{
				"cri-containerd-aaaaaaaaaaaa.scope": strconv.FormatUint(256<<20-page, 10),
				"cri-containerd-bbbbbbbbbbbb.scope": strconv.FormatUint(before-page, 10),
			}
		}
		for sub, v := range want {
			if atLower[sub] != v {
				t.Errorf("justUnder %v: %s memory.max = %q when lowered, want %q", justUnder, sub, atLower[sub], v)
			}
		}
		limitsPutBack(t, f, kl.Limits)
	}
}

// Rule dying: a container in group mode (memory.oom.group 1) is done
// with its write once the kernel counts a group kill in it after the
// lowering; not before, and never where it is not in group mode.
func TestGroupKilled(t *testing.T) {
	dir := t.TempDir()
	write := func(groupKills int) {
		os.WriteFile(filepath.Join(dir, "memory.events"), []byte(fmt.Sprintf("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill %d\n", groupKills)), 0o644)
	}
	write(4)
	l := &loweredCgroup{entry: limitEntry{Cgroup: dir}, watch: true, groupKills: 4}
	if l.groupKilled() {
		t.Error("groupKilled before any group kill since the lowering")
	}
	write(5)
	if !l.groupKilled() {
		t.Error("not groupKilled once oom_group_kill went up")
	}
	if (&loweredCgroup{entry: limitEntry{Cgroup: dir}, groupKills: 4}).groupKilled() {
		t.Error("groupKilled without watch (memory.oom.group 0, or no counter)")
	}
}

// Issue 22, rule fits (the default): memory.max lowered to half each
// container's unreclaimable memory (anon plus shmem in its memory.stat),
// not 0, so that the kernel's loop in the write ends once the victims'
// memory is freed. A container without unreclaimable memory (no
// memory.stat here) is lowered to 0, as before.
func TestKillOOMFits(t *testing.T) {
	for _, fits := range []bool{true, false} {
		f := newFake(t, true)
		os.WriteFile(filepath.Join(f.dir, "cri-containerd-aaaaaaaaaaaa.scope", "memory.stat"),
			[]byte("anon 209715200\nfile 4096\nactive_file 0\ninactive_file 4096\nshmem 4096\n"), 0o644)
		kl := f.oomKiller(t, 5*time.Second)
		if !fits {
			kl.rules = &oomRules{group: true, unkillable: true, dying: true}
		}
		atLower := map[string]string{}
		k := &kernel{f: f, oom: true, onLower: func(sub string) { atLower[sub] = f.read(filepath.Join(sub, "memory.max")) }}
		res, err, _ := runKill(t, context.Background(), kl, f.oomTarget(t), k)
		if err != nil || res.Method != MethodOOM || !res.Confirmed {
			t.Fatalf("fits %v: Kill = %+v, %v", fits, res, err)
		}
		want := map[string]string{"cri-containerd-aaaaaaaaaaaa.scope": "0", "cri-containerd-bbbbbbbbbbbb.scope": "0"}
		if fits {
			want["cri-containerd-aaaaaaaaaaaa.scope"] = strconv.FormatUint(cgroupv2.RoundLimit((200<<20+4096)/2, cgroupv2.PageSize()), 10)
		}
		for sub, v := range want {
			if atLower[sub] != v {
				t.Errorf("fits %v: %s memory.max = %q when lowered, want %q", fits, sub, atLower[sub], v)
			}
		}
		limitsPutBack(t, f, kl.Limits)
	}
}
