package killer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// child is a real process standing in for a container process.
type child struct {
	pid    int
	done   chan struct{}
	state  *os.ProcessState
	exitAt time.Time
}

func startChild(t *testing.T) *child {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		c.state = cmd.ProcessState
		c.exitAt = time.Now()
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("pid %d still alive", c.pid)
	}
	ws := c.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("pid %d: %v, want signal: killed", c.pid, c.state)
	}
}

func (c *child) mustBeAlive(t *testing.T) {
	t.Helper()
	if c.exited() {
		t.Fatalf("pid %d died (%v); nothing should have been killed", c.pid, c.state)
	}
}

// fakeCG is a pod slice with two container scopes, in a temp dir.
type fakeCG struct {
	dir      string
	id       uint64
	children map[int]*child
}

const before, afterKill = 1 << 30, 4 << 20

func writeAtomic(t *testing.T, path, content string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
}

func events(populated, frozen bool) string {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return fmt.Sprintf("populated %d\nfrozen %d\n", b(populated), b(frozen))
}

func newFake(t *testing.T, withKill bool) *fakeCG {
	t.Helper()
	f := &fakeCG{dir: filepath.Join(t.TempDir(), "kubepods-burstable-podabc.slice"), children: map[int]*child{}}
	layout := map[string]int{"": 0, "cri-containerd-a.scope": 2, "cri-containerd-b.scope": 1}
	for sub, n := range layout {
		d := filepath.Join(f.dir, sub)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		var procs []string
		for range n {
			c := startChild(t)
			f.children[c.pid] = c
			procs = append(procs, strconv.Itoa(c.pid))
		}
		files := map[string]string{
			"cgroup.events":  events(true, false),
			"cgroup.procs":   strings.Join(procs, "\n") + "\n",
			"cgroup.freeze":  "0\n",
			"memory.current": strconv.Itoa(before) + "\n",
		}
		if withKill {
			files["cgroup.kill"] = ""
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	id, err := cgroupv2.ID(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.id = id
	return f
}

func (f *fakeCG) target() Target { return Target{Cgroup: f.dir, ID: f.id} }

func (f *fakeCG) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(f.dir, name))
	return strings.TrimSpace(string(b))
}

// listed returns the PIDs in every cgroup.procs of the tree.
func (f *fakeCG) listed() []int {
	var pids []int
	filepath.WalkDir(f.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(s)
			pids = append(pids, pid)
		}
		return nil
	})
	return pids
}

// kernel emulates what the kernel does with a fake tree's control files.
type kernel struct {
	f             *fakeCG
	noFreezeAck   bool   // never report frozen 1
	removeOnEmpty bool   // rmdir the cgroup once it is empty
	onFreeze      func() // runs when cgroup.freeze becomes 1, before frozen 1

	mu       sync.Mutex
	frozenAt time.Time // when frozen 1 was reported
	thawed   bool      // cgroup.freeze went back to 0 after 1
}

func (k *kernel) run(t *testing.T) {
	stop := make(chan struct{})
	finished := make(chan struct{})
	t.Cleanup(func() { close(stop); <-finished })
	go func() {
		defer close(finished)
		killed, frozen, freezeSeen, emptied := false, false, false, false
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if emptied {
				continue
			}
			if !killed && k.f.read("cgroup.kill") == "1" {
				killed = true
				for _, pid := range k.f.listed() {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			switch fr := k.f.read("cgroup.freeze"); {
			case fr == "1" && !freezeSeen:
				freezeSeen = true
				if k.onFreeze != nil {
					k.onFreeze()
				}
				if !k.noFreezeAck {
					frozen = true
					k.mu.Lock()
					k.frozenAt = time.Now()
					k.mu.Unlock()
					writeAtomic(t, filepath.Join(k.f.dir, "cgroup.events"), events(true, true))
				}
			case fr == "0" && freezeSeen && !k.thawed:
				frozen = false
				k.mu.Lock()
				k.thawed = true
				k.mu.Unlock()
				writeAtomic(t, filepath.Join(k.f.dir, "cgroup.events"), events(true, false))
			}
			populated := false
			for _, pid := range k.f.listed() {
				if c, ok := k.f.children[pid]; ok && !c.exited() {
					populated = true
				}
			}
			if !populated {
				emptied = true
				writeAtomic(t, filepath.Join(k.f.dir, "memory.current"), strconv.Itoa(afterKill)+"\n")
				writeAtomic(t, filepath.Join(k.f.dir, "cgroup.events"), events(false, frozen))
				if k.removeOnEmpty {
					os.RemoveAll(k.f.dir)
				}
			}
		}
	}()
}

func TestKillCgroupKill(t *testing.T) {
	f := newFake(t, true)
	(&kernel{f: f}).run(t)

	res, err := Killer{Timeout: 5 * time.Second}.Kill(context.Background(), f.target())
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if res.Method != MethodCgroupKill {
		t.Errorf("Method = %q, want %q", res.Method, MethodCgroupKill)
	}
	if res.PIDs != 3 {
		t.Errorf("PIDs = %d, want 3", res.PIDs)
	}
	if res.Before != before || res.After != afterKill || res.Freed != before-afterKill {
		t.Errorf("Before/After/Freed = %d/%d/%d, want %d/%d/%d", res.Before, res.After, res.Freed, before, afterKill, before-afterKill)
	}
	if !res.Confirmed || res.Took <= 0 || res.Took > 5*time.Second {
		t.Errorf("Confirmed = %v, Took = %v", res.Confirmed, res.Took)
	}
	if res.Released > res.PIDs {
		t.Errorf("Released = %d > PIDs = %d", res.Released, res.PIDs)
	}
	if got := f.read("cgroup.kill"); got != "1" {
		t.Errorf("cgroup.kill = %q, want 1", got)
	}
	if got := f.read("cgroup.freeze"); got != "0" {
		t.Errorf("cgroup.freeze = %q: the freezer must not be used when cgroup.kill works", got)
	}
	for _, c := range f.children {
		c.waitKilled(t)
	}
}

func TestKillCgroupRemovedWhileWaiting(t *testing.T) {
	f := newFake(t, true)
	(&kernel{f: f, removeOnEmpty: true}).run(t)

	res, err := Killer{Timeout: 5 * time.Second}.Kill(context.Background(), f.target())
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if !res.Confirmed || res.After != 0 || res.Freed != before {
		t.Errorf("Confirmed/After/Freed = %v/%d/%d, want true/0/%d", res.Confirmed, res.After, res.Freed, before)
	}
}

func TestKillFreezeFallback(t *testing.T) {
	f := newFake(t, false) // no cgroup.kill: kernel < 5.14

	// Between the first listing and the freeze, one process leaves the
	// cgroup and a new one is forked into a container scope.
	var left *child
	for _, c := range f.children {
		left = c
		break
	}
	late := startChild(t)
	k := &kernel{f: f, onFreeze: func() {
		filepath.WalkDir(f.dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			var keep []string
			for _, s := range strings.Fields(string(b)) {
				if s != strconv.Itoa(left.pid) {
					keep = append(keep, s)
				}
			}
			if strings.HasSuffix(filepath.Dir(p), "cri-containerd-b.scope") {
				keep = append(keep, strconv.Itoa(late.pid))
			}
			writeAtomic(t, p, strings.Join(keep, "\n")+"\n")
			return nil
		})
	}}
	k.run(t)

	res, err := Killer{Timeout: 5 * time.Second}.Kill(context.Background(), f.target())
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if res.Method != MethodFreezeSigkill {
		t.Errorf("Method = %q, want %q", res.Method, MethodFreezeSigkill)
	}
	if res.PIDs != 3 {
		t.Errorf("PIDs = %d, want 3 (2 original + 1 forked late)", res.PIDs)
	}
	if !res.Confirmed || res.Before != before || res.After != afterKill || res.Freed != before-afterKill {
		t.Errorf("Confirmed/Before/After/Freed = %v/%d/%d/%d", res.Confirmed, res.Before, res.After, res.Freed)
	}
	if got := f.read("cgroup.freeze"); got != "0" {
		t.Errorf("cgroup.freeze = %q, want 0 (thawed)", got)
	}
	k.mu.Lock()
	frozenAt, thawed := k.frozenAt, k.thawed
	k.mu.Unlock()
	if frozenAt.IsZero() || !thawed {
		t.Errorf("kernel saw freeze=%v thaw=%v, want both", !frozenAt.IsZero(), thawed)
	}
	for pid, c := range f.children {
		if pid == left.pid {
			continue
		}
		c.waitKilled(t)
		if c.exitAt.Before(frozenAt) {
			t.Errorf("pid %d died before the cgroup was frozen", pid)
		}
	}
	late.waitKilled(t)
	left.mustBeAlive(t)
}

func TestKillFreezeFallbackNeverFrozen(t *testing.T) {
	f := newFake(t, false)
	(&kernel{f: f, noFreezeAck: true}).run(t)

	start := time.Now()
	res, err := Killer{Timeout: 5 * time.Second}.Kill(context.Background(), f.target())
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("%+v", res)
	if res.Method != MethodFreezeSigkill || !res.Confirmed || res.PIDs != 3 {
		t.Errorf("Method/Confirmed/PIDs = %q/%v/%d", res.Method, res.Confirmed, res.PIDs)
	}
	if d := time.Since(start); d < freezeWait {
		t.Errorf("returned after %v: did not wait for the freeze", d)
	}
	if got := f.read("cgroup.freeze"); got != "0" {
		t.Errorf("cgroup.freeze = %q, want 0", got)
	}
	for _, c := range f.children {
		c.waitKilled(t)
	}
}

func TestKillRefusesChangedVictim(t *testing.T) {
	for _, withKill := range []bool{true, false} {
		for _, tc := range []struct {
			name   string
			change func(f *fakeCG) Target
			gone   bool
		}{
			{"other ID", func(f *fakeCG) Target { return Target{Cgroup: f.dir, ID: f.id + 1} }, false},
			{"unpopulated", func(f *fakeCG) Target {
				os.WriteFile(filepath.Join(f.dir, "cgroup.events"), []byte(events(false, false)), 0o644)
				return f.target()
			}, false},
			{"vanished", func(f *fakeCG) Target {
				tg := f.target()
				os.Rename(f.dir, f.dir+".moved") // keep the files to check them
				f.dir += ".moved"
				return tg
			}, true},
			{"recreated", func(f *fakeCG) Target {
				tg := f.target()
				os.Rename(f.dir, f.dir+".old")
				os.Mkdir(tg.Cgroup, 0o755)
				os.WriteFile(filepath.Join(tg.Cgroup, "cgroup.events"), []byte(events(true, false)), 0o644)
				os.WriteFile(filepath.Join(tg.Cgroup, "cgroup.kill"), nil, 0o644)
				f.dir += ".old"
				return tg
			}, false},
		} {
			t.Run(fmt.Sprintf("%s/kill=%v", tc.name, withKill), func(t *testing.T) {
				f := newFake(t, withKill)
				tg := tc.change(f)
				res, err := Killer{Timeout: time.Second}.Kill(context.Background(), tg)
				if !errors.Is(err, ErrChanged) {
					t.Fatalf("err = %v, want ErrChanged", err)
				}
				if tc.gone != errors.Is(err, cgroupv2.ErrGone) {
					t.Errorf("errors.Is(err, ErrGone) = %v, want %v", !tc.gone, tc.gone)
				}
				if !strings.Contains(err.Error(), tg.Cgroup) {
					t.Errorf("error %q does not name the cgroup", err)
				}
				if res.Method != "" {
					t.Errorf("Method = %q, want empty", res.Method)
				}
				time.Sleep(50 * time.Millisecond)
				for _, c := range f.children {
					c.mustBeAlive(t)
				}
				if withKill && f.read("cgroup.kill") != "" {
					t.Errorf("cgroup.kill was written")
				}
				if f.read("cgroup.freeze") != "0" {
					t.Errorf("cgroup.freeze was written")
				}
			})
		}
	}
}

func TestKillNotConfirmed(t *testing.T) {
	f := newFake(t, true) // nobody plays the kernel: it stays populated
	const timeout = 200 * time.Millisecond
	start := time.Now()
	res, err := Killer{Timeout: timeout}.Kill(context.Background(), f.target())
	took := time.Since(start)
	if !errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("err = %v, want ErrNotConfirmed", err)
	}
	if !strings.Contains(err.Error(), f.dir) {
		t.Errorf("error %q does not name the cgroup", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("returned after %v, want about %v", took, timeout)
	}
	if res.Method != MethodCgroupKill || res.Confirmed || res.PIDs != 3 || res.Took < timeout {
		t.Errorf("Result = %+v", res)
	}
	if res.Before != before || res.After != before || res.Freed != 0 {
		t.Errorf("Before/After/Freed = %d/%d/%d", res.Before, res.After, res.Freed)
	}
	// With cgroup.kill the kernel kills; killer itself signals nothing
	// (process_mrelease on a live process is refused).
	for _, c := range f.children {
		c.mustBeAlive(t)
	}
}

func TestKillContextCancelledWhileWaiting(t *testing.T) {
	f := newFake(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err := Killer{Timeout: 30 * time.Second}.Kill(ctx, f.target())
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want promptly after cancel", d)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("err = %v, want context.Canceled and ErrNotConfirmed", err)
	}
	if res.Method != MethodCgroupKill || res.Confirmed {
		t.Errorf("Result = %+v", res)
	}
}

func TestKillContextCancelledBefore(t *testing.T) {
	f := newFake(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Killer{}.Kill(ctx, f.target())
	if !errors.Is(err, context.Canceled) || res.Method != "" {
		t.Fatalf("err = %v, Method = %q", err, res.Method)
	}
	if f.read("cgroup.kill") != "" {
		t.Errorf("cgroup.kill was written")
	}
}

func TestNeedsFallback(t *testing.T) {
	for err, want := range map[error]bool{
		syscall.ENOENT:     true,
		syscall.EOPNOTSUPP: true,
		syscall.EINVAL:     true,
		&os.PathError{Op: "open", Path: "cgroup.kill", Err: syscall.ENOENT}: true,
		syscall.EACCES: false,
		syscall.EBUSY:  false,
		syscall.ENODEV: false,
	} {
		if got := needsFallback(err); got != want {
			t.Errorf("needsFallback(%v) = %v, want %v", err, got, want)
		}
	}
}
