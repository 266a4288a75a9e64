package psi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrClosed reports use of a Watcher after Close.
var ErrClosed = errors.New("psi watcher is closed")

// Event reports that a watched trigger fired, or that its cgroup is gone.
type Event struct {
	// Key is the key the trigger was added with.
	Key string
	// Time is when epoll reported the event.
	Time time.Time
	// Gone means the trigger's file went dead (POLLERR): its cgroup was
	// removed, or PSI was switched off for it through cgroup.pressure. The
	// Watcher has already dropped and closed the trigger; no more events
	// follow for it.
	Gone bool
}

// wakeToken is the epoll token of the eventfd that interrupts epoll_wait.
// Triggers get tokens from 1 up, never reused, so an event that raced with
// Remove (or with Remove and an Add that reused the file descriptor) is
// recognised as stale rather than sent under the wrong key.
const wakeToken int32 = 0

// watch is one trigger registered with a Watcher.
type watch struct {
	key     string
	token   int32
	trigger *Trigger
}

// Watcher waits for many triggers at once with epoll. Add and Remove may be
// called from any goroutine, also while Run runs; Run must not be called
// twice at the same time.
type Watcher struct {
	epfd   int
	wakefd int           // eventfd in the epoll set; written to stop epoll_wait
	quit   chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	running chan struct{} // non-nil while Run runs; closed when it returns
	last    int32         // last token handed out
	byKey   map[string]*watch
	byToken map[int32]*watch
}

// NewWatcher creates an empty Watcher. Close it when done.
func NewWatcher() (*Watcher, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("psi watcher: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("psi watcher: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeToken}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("psi watcher: epoll_ctl add eventfd: %w", err)
	}
	return &Watcher{
		epfd:    epfd,
		wakefd:  wakefd,
		quit:    make(chan struct{}),
		byKey:   make(map[string]*watch),
		byToken: make(map[int32]*watch),
	}, nil
}

// Add starts watching t under key. The Watcher owns t from now on, also when
// Add fails: it closes t on error, on Remove, on Gone and on Close. A key
// that is already watched is an error wrapping fs.ErrExist.
func (w *Watcher) Add(key string, t *Trigger) error {
	if t == nil || !t.open {
		return fmt.Errorf("psi watcher: add %q: trigger is not open", key)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		t.Close()
		return fmt.Errorf("psi watcher: add %q: %w", key, ErrClosed)
	}
	if _, ok := w.byKey[key]; ok {
		t.Close()
		return fmt.Errorf("psi watcher: add %q (%s): %w", key, t.Path, fs.ErrExist)
	}
	w.last++
	wt := &watch{key: key, token: w.last, trigger: t}
	// EPOLLERR and EPOLLHUP are always reported; they need not be asked for.
	ev := unix.EpollEvent{Events: unix.EPOLLPRI, Fd: wt.token}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, t.fd, &ev); err != nil {
		t.Close()
		return fmt.Errorf("psi watcher: add %q: epoll_ctl %s: %w", key, t.Path, err)
	}
	w.byKey[key] = wt
	w.byToken[wt.token] = wt
	return nil
}

// Remove stops watching key and closes its trigger. An unknown key is not an
// error.
func (w *Watcher) Remove(key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt, ok := w.byKey[key]
	if !ok {
		return nil
	}
	return w.drop(wt)
}

// drop unregisters and closes a trigger. w.mu must be held.
func (w *Watcher) drop(wt *watch) error {
	delete(w.byKey, wt.key)
	delete(w.byToken, wt.token)
	// Closing the file would also take it out of the epoll set, but only
	// once no other reference to the open file exists; say it explicitly.
	delErr := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, wt.trigger.fd, nil)
	if delErr != nil {
		delErr = fmt.Errorf("psi watcher: remove %q: epoll_ctl %s: %w", wt.key, wt.trigger.Path, delErr)
	}
	return errors.Join(delErr, wt.trigger.Close())
}

// Run waits for trigger events and sends them on events until ctx is done
// (it returns ctx.Err()) or the Watcher is closed (ErrClosed). It blocks in
// epoll_wait without a timeout; cancellation wakes it through an eventfd.
//
// A trigger that fires is sent as Event{Key, Time}. A trigger whose cgroup
// was removed is sent once as Event{Key, Time, Gone: true}, after it has been
// dropped and closed; if ctx ends before that event could be sent, it is lost
// but the trigger is dropped all the same.
func (w *Watcher) Run(ctx context.Context, events chan<- Event) error {
	done, err := w.start()
	if err != nil {
		return err
	}
	defer w.stop(done)

	// On cancellation, a goroutine wakes epoll_wait. Before returning, make
	// sure that goroutine is either never started or finished, so it cannot
	// write to the eventfd after Close has closed it.
	woken := make(chan struct{})
	stopWaking := context.AfterFunc(ctx, func() {
		w.wake()
		close(woken)
	})
	defer func() {
		if !stopWaking() {
			<-woken
		}
	}()

	buf := make([]unix.EpollEvent, 32)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-w.quit:
			return ErrClosed
		default:
		}

		n, err := unix.EpollWait(w.epfd, buf, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("psi watcher: epoll_wait: %w", err)
		}
		now := time.Now()
		for _, ev := range buf[:n] {
			if ev.Fd == wakeToken {
				w.drainWake()
				continue
			}
			e, ok := w.event(ev, now)
			if !ok {
				continue
			}
			select {
			case events <- e:
			case <-ctx.Done():
				return ctx.Err()
			case <-w.quit:
				return ErrClosed
			}
		}
	}
}

// event turns one epoll result into an Event. ok is false for a trigger
// that is no longer watched. A trigger in error is dropped here, before the
// next epoll_wait could report it again.
func (w *Watcher) event(ev unix.EpollEvent, now time.Time) (e Event, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt, ok := w.byToken[ev.Fd]
	if !ok {
		return Event{}, false
	}
	e = Event{Key: wt.key, Time: now}
	// On removal the kernel reports POLLERR together with POLLPRI: the
	// error wins.
	if ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		e.Gone = true
		w.drop(wt) // nothing useful to do with a close error of a dead file
	}
	return e, true
}

// start marks Run as running. It fails if the Watcher is closed or Run is
// already running.
func (w *Watcher) start() (chan struct{}, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	if w.running != nil {
		return nil, errors.New("psi watcher: Run is already running")
	}
	w.running = make(chan struct{})
	return w.running, nil
}

// stop marks Run as returned.
func (w *Watcher) stop(done chan struct{}) {
	w.mu.Lock()
	w.running = nil
	w.mu.Unlock()
	close(done)
}

// wake makes a blocked epoll_wait return.
func (w *Watcher) wake() {
	var one [8]byte
	one[0] = 1 // the eventfd counter is a native-endian uint64; any non-zero value wakes
	// EAGAIN means the counter is already non-zero: a wake-up is pending.
	unix.Write(w.wakefd, one[:])
}

// drainWake resets the eventfd so that it stops reporting readable.
func (w *Watcher) drainWake() {
	var buf [8]byte
	unix.Read(w.wakefd, buf[:])
}

// Close stops a running Run (which returns ErrClosed), waits for it to
// return, then closes every trigger and the Watcher's own descriptors.
// Closing twice is a no-op.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.quit)
	running := w.running
	w.mu.Unlock()

	if running != nil {
		w.wake()
		<-running
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, wt := range w.byKey {
		errs = append(errs, w.drop(wt))
	}
	if err := unix.Close(w.wakefd); err != nil {
		errs = append(errs, fmt.Errorf("psi watcher: close eventfd: %w", err))
	}
	if err := unix.Close(w.epfd); err != nil {
		errs = append(errs, fmt.Errorf("psi watcher: close epoll: %w", err))
	}
	return errors.Join(errs...)
}
