package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/internal/clock"
)

func TestPoll(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	looks := 0
	done := make(chan bool)
	go func() {
		ok, _ := clock.Poll(context.Background(), clk, 10*time.Millisecond, 25*time.Millisecond, func() bool { looks++; return false })
		done <- ok
	}()
	// Looks at 0, 10, 20 and at the limit, 25; then gives up.
	for _, d := range []time.Duration{10, 10, 5} {
		clk.BlockUntil(1)
		clk.Step(d * time.Millisecond)
	}
	if <-done || looks != 4 {
		t.Errorf("looks = %d, want 4 (0, 10, 20, 25 ms) and false", looks)
	}
	if n := clk.Waiters(); n != 0 {
		t.Errorf("%d timers left armed", n)
	}
}
