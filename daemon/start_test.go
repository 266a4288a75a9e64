package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/psi"
)

// A FIFO at a state file's path (or anything but a regular file) must not
// block the start: the daemon logs which file it cannot read, as it does a
// malformed one, and goes on.
func TestStartWithFIFOStateFiles(t *testing.T) {
	tree := cacheNode(t)
	run := t.TempDir()
	names := []string{"frozen.json", "limits.json", "throttles.json"}
	for _, name := range names {
		if err := unix.Mkfifo(filepath.Join(run, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, tree: tree, cfg: testConfig(config.ModePod), clock: clock.NewFake(epoch), logs: &logBuffer{},
		psi: make(chan psi.Event), status: make(chan chan<- Status), obs: make(chan observation),
		hup: make(chan os.Signal), done: make(chan error, 1), runDir: run}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(h.stop)
	opt := h.options(filepath.Join(t.TempDir(), "absent.toml"), run)
	go func() { h.done <- Run(ctx, opt) }()
	h.setKubepods(500*MiB, 0)
	select {
	case h.psi <- psi.Event{Key: triggerHost, Time: h.clock.Now()}:
	case err := <-h.done:
		t.Fatalf("daemon stopped: %v", err)
	case <-time.After(30 * time.Second):
		// Let the start go on, so that the test ends: regular files take
		// the FIFOs' places, and the reader blocked on one gets a writer
		// (O_RDWR does not block) and, once it is closed, an end of file.
		for _, name := range names {
			path := filepath.Join(run, name)
			if fd, err := unix.Open(path, unix.O_RDWR, 0); err == nil {
				defer unix.Close(fd)
			}
			os.Remove(path)
			os.WriteFile(path, []byte("[]"), 0o600)
		}
		t.Fatal("the start blocked on a FIFO in the run directory")
	}
	h.next()
	for _, name := range names {
		path, logged := filepath.Join(run, name), false
		for _, line := range strings.Split(h.logs.String(), "\n") {
			logged = logged || (strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, `"file":"`+path+`"`))
		}
		if !logged {
			t.Errorf("no error names %s:\n%s", path, h.logs)
		}
	}
}

// The lock file is root's, in the run directory: a symbolic link planted at
// its path is refused, never followed (the lock truncates its file to
// write the PID), and so is a FIFO, at once.
func TestLockRefusesSymlinkAndFIFO(t *testing.T) {
	run := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	if err := os.Symlink(victim, filepath.Join(run, rundir.Lock)); err != nil {
		t.Fatal(err)
	}
	if l, err := lockInstance(run); err == nil || !strings.Contains(err.Error(), filepath.Join(run, rundir.Lock)) {
		if l != nil {
			l.release()
		}
		t.Errorf("lock through a symlink: %v; want an error naming the lock file", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	run = t.TempDir()
	if err := unix.Mkfifo(filepath.Join(run, rundir.Lock), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := lockInstance(run); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		if l != nil {
			l.release()
		}
		t.Errorf("lock on a FIFO: %v; want an error saying it is not a regular file", err)
	}
}
