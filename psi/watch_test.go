package psi

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests drive the Watcher with ordinary file descriptors that poll the
// way trigger files do: the write end of a pipe whose reader is gone reports
// EPOLLERR, and a TCP socket with urgent data pending reports EPOLLPRI. The
// real trigger files are exercised in kernel_test.go.

// pipeTrigger returns a Trigger on the write end of a new pipe, and a
// function that closes the read end, which makes the trigger poll as
// EPOLLERR.
func pipeTrigger(t *testing.T) (tr *Trigger, breakIt func()) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	var closed bool
	breakIt = func() {
		if !closed {
			closed = true
			unix.Close(p[0])
		}
	}
	t.Cleanup(breakIt)
	return &Trigger{Path: "pipe", fd: p[1], open: true}, breakIt
}

// urgentTrigger returns a Trigger on a TCP socket and a function that sends
// it urgent data, which makes it poll as EPOLLPRI until the data is read.
func urgentTrigger(t *testing.T) (tr *Trigger, fire func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	// The Trigger gets its own descriptor for the server end.
	fd := -1
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) })
	if err != nil {
		t.Fatal(err)
	}
	fire = func() {
		raw, err := client.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Error(err)
			return
		}
		raw.Control(func(s uintptr) { err = unix.Sendto(int(s), []byte{'!'}, unix.MSG_OOB, nil) })
		if err != nil {
			t.Errorf("send urgent data: %v", err)
		}
	}
	return &Trigger{Path: "tcp", fd: fd, open: true}, fire
}

// guard bounds a wait for what must happen: generous, for a loaded CI
// machine; a pass never waits for it.
const guard = 30 * time.Second

// startRun runs w.Run in a goroutine and returns its result channel.
func startRun(t *testing.T, w *Watcher, ctx context.Context, events chan<- Event) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, events) }()
	// Give Run time to block in epoll_wait, so the tests below wake it
	// there rather than before it gets there.
	time.Sleep(50 * time.Millisecond)
	return done
}

// waitErr waits for Run to return.
func waitErr(t *testing.T, done <-chan error, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Run did not return within %v", limit)
		return nil
	}
}

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestRunReturnsOnCancel(t *testing.T) {
	w := newWatcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := startRun(t, w, ctx, make(chan Event))
	start := time.Now()
	cancel()
	if err := waitErr(t, done, guard); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	t.Logf("Run returned %v after cancel", time.Since(start))

	// The Watcher stays usable: a second Run works and stops again.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Run(ctx, make(chan Event)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Run = %v, want context.DeadlineExceeded", err)
	}
}

func TestCloseStopsRun(t *testing.T) {
	w := newWatcher(t)
	tr, _ := pipeTrigger(t)
	if err := w.Add("pod", tr); err != nil {
		t.Fatal(err)
	}
	done := startRun(t, w, context.Background(), make(chan Event))
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := waitErr(t, done, guard); !errors.Is(err, ErrClosed) {
		t.Errorf("Run = %v, want ErrClosed", err)
	}
	if tr.open {
		t.Error("Close left the trigger open")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.Run(context.Background(), make(chan Event)); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	tr2, _ := pipeTrigger(t)
	if err := w.Add("late", tr2); !errors.Is(err, ErrClosed) || tr2.open {
		t.Errorf("Add after Close = %v (trigger open: %v), want ErrClosed and the trigger closed", err, tr2.open)
	}
}

func TestGoneIsSentOnceAndDropsTheTrigger(t *testing.T) {
	w := newWatcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan Event, 10)
	done := startRun(t, w, ctx, events)

	// Added while Run is already waiting.
	tr, breakIt := pipeTrigger(t)
	if err := w.Add("pod-a", tr); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	breakIt()

	select {
	case e := <-events:
		if e.Key != "pod-a" || !e.Gone || e.Time.Before(before) || time.Since(e.Time) > time.Second {
			t.Errorf("event = %+v, want Gone for pod-a at about %v", e, before)
		}
	case <-time.After(guard):
		t.Fatalf("no event within %v", guard)
	}
	select {
	case e := <-events:
		t.Errorf("second event %+v after Gone", e)
	case <-time.After(300 * time.Millisecond):
	}
	if tr.open {
		t.Error("the trigger is still open after Gone")
	}
	if err := w.Remove("pod-a"); err != nil {
		t.Errorf("Remove after Gone = %v, want nil", err)
	}
	cancel()
	if err := waitErr(t, done, guard); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}

func TestPressureEventAndBlockedSendRespectsCancel(t *testing.T) {
	w := newWatcher(t)
	tr, fire := urgentTrigger(t)
	if err := w.Add("pod-b", tr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan Event) // unbuffered: Run blocks on the second send
	done := startRun(t, w, ctx, events)

	fire()
	select {
	case e := <-events:
		if e.Key != "pod-b" || e.Gone || e.Time.IsZero() {
			t.Errorf("event = %+v, want a pressure event for pod-b", e)
		}
	case <-time.After(guard):
		t.Fatalf("no event within %v", guard)
	}
	// The urgent data stays unread, so the socket keeps polling EPOLLPRI
	// and Run is now stuck sending to nobody. Cancelling must free it.
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := waitErr(t, done, guard); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if !tr.open {
		t.Error("a pressure event closed the trigger")
	}
}

func TestAddAndRemove(t *testing.T) {
	w := newWatcher(t)
	first, _ := pipeTrigger(t)
	if err := w.Add("pod", first); err != nil {
		t.Fatal(err)
	}
	dup, _ := pipeTrigger(t)
	if err := w.Add("pod", dup); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Add of a watched key = %v, want fs.ErrExist", err)
	}
	if dup.open {
		t.Error("a failed Add left its trigger open")
	}
	if !first.open {
		t.Error("a failed Add closed the trigger already watched under that key")
	}
	if err := w.Add("closed", &Trigger{Path: "x"}); err == nil {
		t.Error("Add of a trigger that is not open succeeded")
	}

	if err := w.Remove("nobody"); err != nil {
		t.Errorf("Remove of an unknown key = %v, want nil", err)
	}
	if err := w.Remove("pod"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if first.open {
		t.Error("Remove left the trigger open")
	}
	// The key is free again.
	again, _ := pipeTrigger(t)
	if err := w.Add("pod", again); err != nil {
		t.Errorf("Add after Remove: %v", err)
	}
}

// An event that epoll reported for a trigger removed in the meantime must
// not be sent, even when a new trigger reuses the descriptor number.
func TestStaleEventIsNotSent(t *testing.T) {
	w := newWatcher(t)
	tr, breakIt := pipeTrigger(t)
	if err := w.Add("old", tr); err != nil {
		t.Fatal(err)
	}
	breakIt()
	var evs [4]unix.EpollEvent
	n, err := unix.EpollWait(w.epfd, evs[:], 1000)
	if err != nil || n != 1 {
		t.Fatalf("epoll_wait = %d, %v; want the broken pipe", n, err)
	}
	if err := w.Remove("old"); err != nil {
		t.Fatal(err)
	}
	reuse, _ := pipeTrigger(t) // likely the same descriptor number
	if err := w.Add("new", reuse); err != nil {
		t.Fatal(err)
	}
	if e, ok := w.event(evs[0], time.Now()); ok {
		t.Errorf("stale epoll result became %+v", e)
	}
}
