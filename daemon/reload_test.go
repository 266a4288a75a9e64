package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kube-oomd.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// reload sends SIGHUP and waits until the loop has taken it.
func (h *harness) reload() {
	h.t.Helper()
	h.hup <- syscall.SIGHUP
	h.snapshot()
}

func mode(s Status) any { return s.Config["kill"].(map[string]any)["mode"] }

func TestReloadAppliesValidAndKeepsInvalid(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"pod\"\n")
	cfg, _ := config.Load(path)
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	os.WriteFile(path, []byte("[kill]\nmode = \"dry-run\"\nprotect = [\"/kubepods.slice/x*\"]\n"), 0o644)
	h.reload()
	if s := h.snapshot(); mode(s) != "dry-run" {
		t.Fatalf("after a valid reload: mode %v", mode(s))
	}
	os.WriteFile(path, []byte("[kill]\nmode = \"everything\"\n"), 0o644)
	h.reload()
	if s := h.snapshot(); mode(s) != "dry-run" {
		t.Fatalf("an invalid reload changed mode to %v", mode(s))
	}
	if n := len(h.logs.records(t, "config reload failed: keeping the configuration in force", "")); n == 0 {
		t.Errorf("an invalid reload was not logged:\n%s", h.logs)
	}
	os.WriteFile(path, []byte("[cgroup]\nkubepods = \"/elsewhere\"\n[kill]\nmode = \"pod\"\n"), 0o644)
	h.reload()
	s := h.snapshot()
	if kp := s.Config["cgroup"].(map[string]any)["kubepods"]; kp != "auto" || mode(s) != "pod" {
		t.Errorf("[cgroup] changed at run time (%v) or the rest was not applied (%v)", kp, mode(s))
	}
}

func TestReloadKeepsDryRunFlag(t *testing.T) {
	path := writeConfig(t, "")
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	cfg := testConfig(config.ModeDryRun)
	h := start(t, tree, cfg, path, "")
	// start has no --dry-run; the flag is an option of Run.
	h.stop()
	h2 := startWith(t, tree, cfg, path, func(o *Options) { o.DryRunFlag = true })
	os.WriteFile(path, []byte("[kill]\ncooldown = \"20s\"\n"), 0o644)
	h2.reload()
	s := h2.snapshot()
	if mode(s) != "dry-run" || s.Config["kill"].(map[string]any)["cooldown"] != "20s" {
		t.Errorf("mode %v, config %v: --dry-run must survive a reload", mode(s), s.Config["kill"])
	}
}

func TestConfigEditIsNoticed(t *testing.T) {
	path := writeConfig(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed, _, err := watchConfig(ctx, path)
	if err != nil || changed == nil {
		t.Fatalf("watchConfig: %v", err)
	}
	next := func(want configEvent, what string) {
		t.Helper()
		select {
		case ev := <-changed:
			if ev.kind != want {
				t.Fatalf("%s: event %v, want %v", what, ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event", what)
		}
	}
	// An editor's save: write a new file, rename it over the old one.
	tmp := path + ".swp"
	os.WriteFile(tmp, []byte("[kill]\nmode = \"dry-run\"\n"), 0o644)
	os.Rename(tmp, path)
	next(configWritten, "rename into place")
	// cat > file: truncated and written, then closed.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	next(configWriting, "truncated")
	f.WriteString("[kill]\n")
	next(configWriting, "written to")
	f.Close()
	next(configWritten, "closed")
	// >>: each step is a completed write.
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("mode = \"pod\"\n")
	next(configWriting, "appended to")
	f.Close()
	next(configWritten, "closed after appending")
	// Something other than a regular file put there is not written to.
	os.Remove(path)
	next(configDropped, "the file removed")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	next(configWritten, "a FIFO made there")
	// Other names in the directory are not the config.
	os.WriteFile(path+".other", nil, 0o644)
	select {
	case ev := <-changed:
		t.Fatalf("event %v for another file", ev)
	default:
	}
}

// Started before the kubelet, the daemon tells systemd it is up, takes
// reloads while it waits, and starts once the pods' cgroup appears.
func TestWaitsForKubepodsAfterReady(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	kp := filepath.Join(tree.Mount, tree.Kubepods)
	hidden := kp + ".later"
	if err := os.Rename(kp, hidden); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "")
	cfg := testConfig(config.ModePod)
	cfg.Cgroup.RescanInterval = 10 * time.Second
	h := &harness{t: t, tree: tree, cfg: cfg, clock: clock.NewFake(epoch), logs: &logBuffer{}, hup: make(chan os.Signal),
		status: make(chan chan<- Status), obs: make(chan observation), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(h.stop)
	opt := h.options(path, t.TempDir())
	go func() { h.done <- Run(ctx, opt) }()
	h.clock.BlockUntil(1)   // the retry ticker
	h.hup <- syscall.SIGHUP // must not kill the daemon while it waits
	if err := os.Rename(hidden, kp); err != nil {
		t.Fatal(err)
	}
	h.clock.Step(cfg.Cgroup.RescanInterval)
	h.snapshot() // the loop runs
	h.mu.Lock()
	states := append([]string{}, h.states...)
	h.mu.Unlock()
	if len(states) < 2 || states[0] != "READY=1" || !strings.HasPrefix(states[1], "STATUS=waiting for the kubelet") {
		t.Errorf("sd_notify = %q, want READY=1 then a waiting status before kubepods exists", states)
	}
	if len(h.logs.records(t, "found the kubelet's pod cgroup", "")) != 1 || len(h.logs.records(t, "SIGHUP: reloading the config", "")) != 1 {
		t.Errorf("want the SIGHUP taken and kubepods found:\n%s", h.logs)
	}
}

// The status socket answers with the daemon's state and the pods ranked.
func TestStatusSocketAnswers(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	run := t.TempDir()
	h := startWith(t, tree, killOnly(config.ModeDryRun), "", func(o *Options) { o.test.status = nil; o.RunDir = run })
	h.runDir = run
	sock := filepath.Join(run, "status.sock")
	var s Status
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			err = json.NewDecoder(conn).Decode(&s)
			conn.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status on %s: %v", sock, err)
		}
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v (%v), want 0600: root only", fi.Mode(), err)
	}
	if len(s.Pods) != 4 || s.Pods[0].UID != "be" || s.Pods[0].Rank != 1 || s.Features.Kernel != "6.1.0-test" || mode(s) != "dry-run" {
		t.Errorf("status = %+v", s)
	}
	if s.Triggers[0].Key != triggerKubepods || s.Decision.WindowsNeeded != 2 {
		t.Errorf("triggers %+v, decision %+v", s.Triggers, s.Decision)
	}
}

// A burst of completed writes is one reload, configSettle after the last
// of them; a write begun and not finished holds the reload back until it is.
func TestSettlerWaitsForTheLastEdit(t *testing.T) {
	c := clock.NewFake(epoch)
	s := &settler{clock: c}
	if s.C() != nil {
		t.Fatal("a settler with no edit must never fire")
	}
	due := func() bool {
		select {
		case <-s.C():
			return s.due()
		default:
			return false
		}
	}
	s.note(configChange{kind: configWriting, file: "/etc/kube-oomd/kube-oomd.toml"}) // a writer holds the file open: never due
	c.Step(time.Hour)
	if s.C() != nil || s.due() {
		t.Fatal("a write not finished must never be applied")
	}
	s.note(configChange{kind: configWritten, file: "/etc/kube-oomd/kube-oomd.toml"})
	c.Step(configSettle - time.Millisecond)
	s.note(configChange{kind: configWritten, file: "/etc/kube-oomd/kube-oomd.toml"}) // the next step of a script
	c.Step(configSettle - time.Millisecond)
	if due() {
		t.Fatal("reloaded while the file was still changing")
	}
	c.Step(time.Millisecond)
	if !due() || due() {
		t.Fatal("want one reload once the file was quiet for configSettle")
	}
	// Finished, then opened again and written to before the wait is over.
	s.note(configChange{kind: configWritten, file: "/etc/kube-oomd/kube-oomd.toml"})
	s.note(configChange{kind: configWriting, file: "/etc/kube-oomd/kube-oomd.toml"})
	c.Step(time.Hour)
	if due() {
		t.Fatal("reloaded a file being written")
	}
	s.note(configChange{kind: configWritten, file: "/etc/kube-oomd/kube-oomd.toml"})
	c.Step(configSettle)
	if !due() {
		t.Fatal("want a reload once the writer closed the file")
	}
}

// A config file rewritten in place is empty for a moment: a reload that
// finds it empty keeps the configuration in force and says why.
func TestReloadRefusesAnEmptyFile(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"dry-run\"\nprotect = [\"/kubepods.slice/keep*\"]\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	for _, text := range []string{"", "# only a comment\n\n"} {
		os.WriteFile(path, []byte(text), 0o644)
		h.reload()
		s := h.snapshot()
		if mode(s) != "dry-run" || fmt.Sprint(s.Config["kill"].(map[string]any)["protect"]) != "[/kubepods.slice/keep*]" {
			t.Fatalf("file %q: mode %v, protect %v: an empty file must not turn dry-run into kills", text, mode(s), s.Config["kill"])
		}
	}
	if n := len(h.logs.records(t, "config reload failed: keeping the configuration in force", "")); n != 2 {
		t.Errorf("%d refusals logged, want 2:\n%s", n, h.logs)
	}
}

// An edit on disk is reloaded without SIGHUP, once it has settled.
func TestConfigEditIsReloadedOnceSettled(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"pod\"\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	tmp := path + ".swp"
	os.WriteFile(tmp, []byte("[kill]\nmode = \"dry-run\"\n"), 0o644)
	os.Rename(tmp, path)
	for deadline := time.Now().Add(10 * time.Second); mode(h.snapshot()) != "dry-run"; {
		if time.Now().After(deadline) {
			t.Fatalf("the edit was never reloaded:\n%s", h.logs)
		}
		h.clock.Step(configSettle) // once inotify told the loop, the settle timer fires
		time.Sleep(5 * time.Millisecond)
	}
}

// Issue 10 item 11: a reload that cannot register its PSI triggers rolls
// back whole: every setting stays as it was, and the triggers in force too.
func TestReloadRollsBackWholeWhenTriggersFail(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"dry-run\"\n[pressure]\nwatch_host = false\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	h := start(t, tree, cfg, path, "")
	// The new file turns on the host trigger, whose file is missing here,
	// and changes other settings too.
	os.Remove(filepath.Join(tree.Proc, "pressure", "memory"))
	os.WriteFile(path, []byte("[kill]\nmode = \"pod\"\ncooldown = \"30s\"\n[pressure]\nwatch_host = true\nwindow = \"2s\"\nstall = \"200ms\"\n"), 0o644)
	h.reload()
	s := h.snapshot()
	if mode(s) != "dry-run" || s.Config["kill"].(map[string]any)["cooldown"] != "10s" {
		t.Errorf("after a failed reload: kill settings %v, want all as before", s.Config["kill"])
	}
	if len(s.Triggers) != 1 || s.Triggers[0].Key != triggerKubepods || s.Triggers[0].InForce != "full 30000 1000000" {
		t.Errorf("triggers after a failed reload: %+v, want the kubepods one as before", s.Triggers)
	}
	if len(h.logs.records(t, "config reload failed: cannot register the new PSI triggers; keeping the configuration in force", "")) != 1 {
		t.Errorf("the failed reload was not logged:\n%s", h.logs)
	}
}

// failingListener fails its first Accepts as a process out of file
// descriptors would, then hands over real connections.
type failingListener struct {
	net.Listener
	fails int
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Issue 10 item 13: one failed Accept must not end the status server.
func TestStatusServerOutlivesAcceptErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer ln.Close()
	reqs := make(chan chan<- Status)
	var reported atomic.Int32
	go serve(ctx, &failingListener{Listener: ln, fails: 3}, reqs, t.TempDir(), func(error) { reported.Add(1) })
	go func() {
		for r := range reqs {
			r <- Status{DaemonStatus: DaemonStatus{Version: "v"}}
		}
	}()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var s Status
	if err := json.NewDecoder(conn).Decode(&s); err != nil || s.Version != "v" {
		t.Fatalf("no answer after Accept errors: %v, %+v", err, s)
	}
	if n := reported.Load(); n != 1 {
		t.Errorf("reported %d errors, want one until Accept works again", n)
	}
}

// Issue 19 item 8: a FIFO at the config path fails the reload at once; it
// must not block the loop (and starve the watchdog) until someone writes.
func TestReloadOfAFIFOFailsAtOnce(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"dry-run\"\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	served := make(chan Status, 1)
	go func() {
		h.hup <- syscall.SIGHUP
		reply := make(chan Status, 1)
		h.status <- reply
		served <- <-reply
	}()
	select {
	case s := <-served:
		if mode(s) != "dry-run" {
			t.Errorf("mode %v after a failed reload, want dry-run as before", mode(s))
		}
	case <-time.After(20 * time.Second):
		go func() { // writers let the blocked reads end
			for range 3 {
				os.WriteFile(path, nil, 0o644)
			}
		}()
		t.Fatal("the loop blocked reading a FIFO at the config path")
	}
	if r := h.logs.records(t, "config reload failed: keeping the configuration in force", ""); len(r) != 1 || !strings.Contains(fmt.Sprint(r[0]), "is a FIFO, not a regular file") {
		t.Errorf("want the failed reload logged, naming the FIFO:\n%s", h.logs)
	}
}

// Issue 19 item 1: a config written in place is applied only once the
// writer closes it, however long it pauses half-way: `cat >` typed by hand,
// a stalled ssh, a template rendered line by line.
func TestConfigHalfWrittenIsNotApplied(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"dry-run\"\nprotect = [\"/kubepods.slice/keep*\"]\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	killSettings := func() string {
		s := h.snapshot()
		return fmt.Sprint(mode(s), " ", s.Config["kill"].(map[string]any)["protect"])
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("[kill]\nmode = \"pod\"\n") // and the writer stalls, the file open
	for deadline := time.Now().Add(10 * time.Second); len(h.logs.records(t, msgConfigWriting, "")) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the loop never heard of the write:\n%s", h.logs)
		}
		h.clock.Step(configSettle) // past the old settle time
		if got := killSettings(); got != "dry-run [/kubepods.slice/keep*]" {
			t.Fatalf("a half-written config is in force: %s", got)
		}
	}
	h.clock.Step(time.Hour)
	if got := killSettings(); got != "dry-run [/kubepods.slice/keep*]" {
		t.Fatalf("a half-written config is in force: %s", got)
	}
	f.WriteString("protect = [\"/kubepods.slice/keep*\"]\n")
	f.Close()
	for deadline := time.Now().Add(10 * time.Second); killSettings() != "pod [/kubepods.slice/keep*]"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the finished file was never applied: %s\n%s", killSettings(), h.logs)
		}
		h.clock.Step(configSettle)
	}
}

// Each file's unfinished write holds the reload back on its own: another
// file's completed write, or lost events, do not finish it; a file removed
// while written no longer holds it.
func TestSettlerTracksEachFile(t *testing.T) {
	c := clock.NewFake(epoch)
	s := &settler{clock: c}
	due := func() bool {
		select {
		case <-s.C():
			return s.due()
		default:
			return false
		}
	}
	const a, b = "/etc/kube-oomd/kube-oomd.toml.d/50-x.toml", "/etc/kube-oomd/kube-oomd.toml.d/20-protect.toml"
	s.note(configChange{kind: configWriting, file: a}) // cat > 50-x.toml, typed by hand
	s.note(configChange{kind: configWritten, file: b}) // another fragment renamed in
	c.Step(time.Hour)
	if due() {
		t.Fatal("applied while 50-x.toml is half-written: another file's write finished it")
	}
	s.note(configChange{kind: configOverflow})
	c.Step(time.Hour)
	if due() {
		t.Fatal("applied while 50-x.toml is half-written: lost events finished it")
	}
	s.note(configChange{kind: configWritten, file: a})
	c.Step(configSettle)
	if !due() {
		t.Fatal("want a reload once every writer closed its file")
	}
	// A file removed while it is written holds nothing back.
	s.note(configChange{kind: configWriting, file: a})
	s.note(configChange{kind: configRemoved, file: a})
	c.Step(configSettle)
	if !due() {
		t.Fatal("want a reload once the file being written was removed")
	}
	// Nor do the fragments of a drop-in directory removed whole.
	s.note(configChange{kind: configWriting, file: a})
	s.note(configChange{kind: configRemoved, file: filepath.Dir(a)})
	c.Step(configSettle)
	if !due() {
		t.Fatal("want a reload once the drop-in directory being written to was removed")
	}
	// The config file removed while written: no change by itself, but
	// what waited on it is applied.
	s.note(configChange{kind: configWriting, file: "/etc/kube-oomd/kube-oomd.toml"})
	s.note(configChange{kind: configWritten, file: b})
	c.Step(configSettle)
	if due() {
		t.Fatal("applied while kube-oomd.toml is half-written")
	}
	s.note(configChange{kind: configDropped, file: "/etc/kube-oomd/kube-oomd.toml"})
	c.Step(configSettle)
	if !due() {
		t.Fatal("want the finished fragment applied once the half-written file was removed")
	}
}

// Started before the kubelet, the daemon applies a config edited while it
// waits for the pods' cgroup (cloud-init writing a fragment), without
// SIGHUP.
func TestConfigEditWhileWaitingForKubepodsIsApplied(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	kp := filepath.Join(tree.Mount, tree.Kubepods)
	hidden := kp + ".later"
	if err := os.Rename(kp, hidden); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "[kill]\nmode = \"pod\"\n")
	cfg, _ := config.Load(path)
	cfg.Cgroup.RescanInterval = time.Hour
	h := &harness{t: t, tree: tree, cfg: cfg, clock: clock.NewFake(epoch), logs: &logBuffer{}, hup: make(chan os.Signal),
		status: make(chan chan<- Status), obs: make(chan observation), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(h.stop)
	opt := h.options(path, t.TempDir())
	go func() { h.done <- Run(ctx, opt) }()
	h.clock.BlockUntil(1) // the retry ticker: the daemon waits for the kubelet
	dir := config.DropinDir(path)
	os.Mkdir(dir, 0o755)
	tmp := filepath.Join(dir, "10-dry-run.tmp")
	os.WriteFile(tmp, []byte(dryRunFragment), 0o644)
	os.Rename(tmp, filepath.Join(dir, "10-dry-run.toml"))
	for deadline := time.Now().Add(5 * time.Second); len(h.logs.records(t, "config file changed: reloading", "")) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the edit made while waiting for the kubelet was never reloaded:\n%s", h.logs)
		}
		h.clock.Step(configSettle)
	}
	if err := os.Rename(hidden, kp); err != nil {
		t.Fatal(err)
	}
	h.clock.Step(cfg.Cgroup.RescanInterval)
	if m := mode(h.snapshot()); m != "dry-run" {
		t.Fatalf("mode %v once started, want the dry-run of the fragment written while waiting:\n%s", m, h.logs)
	}
}

// With the config file's directory missing, edits cannot be watched: the
// daemon says so, and that SIGHUP still reloads.
func TestConfigDirMissingIsSaid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "kube-oomd.toml")
	cfg := testConfig(config.ModeDryRun)
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	h.snapshot()
	recs := h.logs.records(t, "the config file's directory does not exist: edits are not watched; reload with SIGHUP (systemctl reload kube-oomd) once it is made", "")
	if len(recs) != 1 || recs[0][vocab.File] != filepath.Dir(path) {
		t.Fatalf("want one warning naming %s:\n%s", filepath.Dir(path), h.logs)
	}
}
