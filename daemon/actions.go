package daemon

import (
	"context"
	"sync"
	"time"
)

// A job is one action run off the loop: a kill, a window's relief steps,
// a throttle given back. run does the work, with its own deadline, and
// returns the report: a function that the loop runs to log the outcome and
// update its state. The loop is the only goroutine that touches the
// daemon's state; the worker is the only one that touches the relief
// ladder and kills.
type job struct {
	name string // for status: "kill", "relief", "lift"
	run  func(ctx context.Context) (report func())
	// interruptible: a kill that falls due ends the job's context (see
	// actions.interrupt); the job stops where it is and reports.
	interruptible bool
}

// actions runs jobs one at a time on a worker goroutine. Its queue and
// in-flight record belong to the loop.
type actions struct {
	jobs    chan job    // to the worker; holds the one job started
	reports chan func() // from the worker; holds the one report pending

	queue   []job
	running *ActionStatus
	wg      sync.WaitGroup

	mu     sync.Mutex
	cancel context.CancelFunc // ends the interruptible job in flight; nil if none
}

func newActions() *actions {
	return &actions{jobs: make(chan job, 1), reports: make(chan func(), 1)}
}

// start runs the worker until stop.
func (a *actions) start(ctx context.Context) {
	a.wg.Go(func() {
		for j := range a.jobs {
			jctx, cancel := context.WithCancel(ctx)
			if j.interruptible {
				a.mu.Lock()
				a.cancel = cancel
				a.mu.Unlock()
			}
			report := j.run(jctx)
			a.mu.Lock()
			a.cancel = nil
			a.mu.Unlock()
			cancel()
			a.reports <- report
		}
	})
}

// stop waits for the job in flight to finish and ends the worker. Its
// report, if any, is dropped: the loop has stopped.
func (a *actions) stop() {
	close(a.jobs)
	go func() {
		for range a.reports { // keep the worker from blocking on its last report
		}
	}()
	a.wg.Wait()
	close(a.reports)
}

// submit starts j now, or queues it behind the job in flight.
func (a *actions) submit(j job, now time.Time) {
	if a.running != nil {
		a.queue = append(a.queue, j)
		return
	}
	a.running = &ActionStatus{Name: j.name, Since: now}
	a.jobs <- j
}

// finished records that the job in flight reported, and starts the next.
func (a *actions) finished(now time.Time) {
	a.running = nil
	if len(a.queue) > 0 {
		j := a.queue[0]
		a.queue = a.queue[1:]
		a.submit(j, now)
	}
}

// interrupt ends the context of the job in flight if it is interruptible
// (relief): a kill is due, and must not wait for it.
func (a *actions) interrupt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

// busy says whether a job is in flight or queued: no new decision acts
// while one is.
func (a *actions) busy() bool { return a.running != nil || len(a.queue) > 0 }
