package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a Clock that moves only when Step is called. Timers and tickers
// due at or before the new time fire, in order of their due time, each at
// most once per Step for a ticker (as a real ticker drops ticks that nobody
// read). Their channels hold one value, like the real ones.
//
// BlockUntil lets a test wait until the code under test, running in another
// goroutine, has armed its timers, so that a Step is never lost in a race.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeTimer
	changed chan struct{} // closed and replaced whenever waiters change
}

// NewFake returns a Fake clock at start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once Step reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// NewTicker returns a ticker that fires every d of fake time.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1), period: d}
	t.Reset(d)
	return fakeTicker{t}
}

// fakeTicker is a periodic fakeTimer with the Ticker's Stop.
type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }

// Step moves the clock forward by d and fires what is due.
func (f *Fake) Step(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	for {
		sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].due.Before(f.waiters[j].due) })
		if len(f.waiters) == 0 || f.waiters[0].due.After(end) {
			break
		}
		t := f.waiters[0]
		if t.due.After(f.now) {
			f.now = t.due
		}
		select {
		case t.c <- f.now:
		default: // nobody read the last one: dropped, as time.Ticker does
		}
		if t.period > 0 {
			t.due = f.now.Add(t.period)
			for !t.due.After(f.now) {
				t.due = t.due.Add(t.period)
			}
		} else {
			f.remove(t)
		}
	}
	f.now = end
	f.notify()
	f.mu.Unlock()
}

// Waiters returns how many timers and tickers are armed.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil waits until at least n timers and tickers are armed.
func (f *Fake) BlockUntil(n int) {
	for {
		f.mu.Lock()
		if len(f.waiters) >= n {
			f.mu.Unlock()
			return
		}
		ch := f.changed
		f.mu.Unlock()
		<-ch
	}
}

// remove drops t from the armed set; f.mu must be held. It reports
// whether t was armed.
func (f *Fake) remove(t *fakeTimer) bool {
	for i, w := range f.waiters {
		if w == t {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.notify()
			return true
		}
	}
	return false
}

// notify wakes BlockUntil; f.mu must be held.
func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	clock  *Fake
	c      chan time.Time
	due    time.Time
	period time.Duration // 0 for a one-shot timer
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	return t.clock.remove(t)
}

func (t *fakeTimer) Reset(d time.Duration) {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remove(t)
	// A value from before the reset must not be read as this firing.
	select {
	case <-t.c:
	default:
	}
	t.due = f.now.Add(d)
	f.waiters = append(f.waiters, t)
	f.notify()
}
