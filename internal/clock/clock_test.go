package clock

import (
	"testing"
	"time"
)

var epoch = time.Unix(1_700_000_000, 0)

func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimerFiresWhenStepReachesIt(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	f.Step(999 * time.Millisecond)
	if _, ok := fired(tm.C()); ok {
		t.Fatal("fired early")
	}
	f.Step(time.Millisecond)
	at, ok := fired(tm.C())
	if !ok || !at.Equal(epoch.Add(time.Second)) {
		t.Fatalf("fired=%v at %v, want at +1s", ok, at)
	}
	if f.Waiters() != 0 {
		t.Errorf("a fired timer is still armed")
	}
}

func TestFakeTimerStopAndReset(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() || tm.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	f.Step(2 * time.Second)
	if _, ok := fired(tm.C()); ok {
		t.Fatal("a stopped timer fired")
	}
	tm.Reset(time.Second)
	f.Step(time.Second)
	if at, ok := fired(tm.C()); !ok || !at.Equal(epoch.Add(3*time.Second)) {
		t.Fatalf("after Reset: fired=%v at %v", ok, at)
	}
}

func TestFakeTickerDropsUnreadTicks(t *testing.T) {
	f := NewFake(epoch)
	tk := f.NewTicker(time.Second)
	f.Step(5 * time.Second)
	at, ok := fired(tk.C())
	if !ok || !at.Equal(epoch.Add(time.Second)) {
		t.Fatalf("first tick: %v %v", ok, at)
	}
	if _, ok := fired(tk.C()); ok {
		t.Fatal("unread ticks were queued")
	}
	f.Step(time.Second)
	if at, ok := fired(tk.C()); !ok || !at.Equal(epoch.Add(6*time.Second)) {
		t.Fatalf("next tick: %v %v", ok, at)
	}
	tk.Stop()
	f.Step(time.Hour)
	if _, ok := fired(tk.C()); ok {
		t.Fatal("a stopped ticker ticked")
	}
}

func TestFakeBlockUntilSeesTimersOfAnotherGoroutine(t *testing.T) {
	f := NewFake(epoch)
	done := make(chan time.Time)
	go func() {
		tm := f.NewTimer(time.Minute)
		done <- <-tm.C()
	}()
	f.BlockUntil(1)
	f.Step(time.Minute)
	if at := <-done; !at.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("fired at %v", at)
	}
}

func TestRealClock(t *testing.T) {
	c := Real()
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if c.Now().Before(epoch) {
		t.Fatal("real clock is in the past")
	}
}
