package clock

import (
	"context"
	"time"
)

// Poll calls done now and then every interval of clk until it reports
// true, limit has passed (done is called once more at the limit), or ctx
// ends. It reports whether done did; err is ctx.Err() when ctx ended the
// wait.
//
// The timer for the next look is armed only after each look, and there is
// never more than one: a test that sees a timer armed on its fake clock
// (Fake.BlockUntil(1)) knows that the look before it is over and that
// nothing happens until it steps the clock.
func Poll(ctx context.Context, clk Clock, interval, limit time.Duration, done func() bool) (bool, error) {
	deadline := clk.Now().Add(limit)
	for {
		if done() {
			return true, nil
		}
		left := deadline.Sub(clk.Now())
		if left <= 0 {
			return false, nil
		}
		tm := clk.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			tm.Stop()
			return false, ctx.Err()
		case <-tm.C():
		}
	}
}
