package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// watch decides when a VM run has hung: a watchdog that follows the
// guest's progress instead of a fixed total, so that a slow (busy) host
// never fails a run that is moving, and a hung one fails in bounded time
// and says which phase hung. It is pure: the caller feeds it the time, the
// guest's run.log and how many bytes the guest has written to the share;
// TestWatch steps it with made-up times.
type watch struct {
	boot, stall, scenario time.Duration // limits (see harness_test.go)

	start      time.Time // qemu started
	size       int64     // bytes the guest has written, at lastChange
	lastChange time.Time
	phase      string
	phaseSince time.Time
}

func newWatch(start time.Time, boot, stall, scenario time.Duration) *watch {
	return &watch{boot: boot, stall: stall, scenario: scenario, start: start, size: -1, lastChange: start, phase: "boot", phaseSince: start}
}

// check takes one look: now, run.log's text and the bytes written to the
// share so far. It returns an error naming the phase once a limit is passed.
func (w *watch) check(now time.Time, runLog string, size int64) error {
	if p := guestPhase(runLog); p != w.phase {
		w.phase, w.phaseSince = p, now
	}
	if size != w.size {
		w.size, w.lastChange = size, now
	}
	switch {
	case w.phase == "boot":
		if d := now.Sub(w.start); d > w.boot {
			return fmt.Errorf("watchdog: the guest did not start its runner within %v of qemu's start (phase: boot; see the console)", w.boot)
		}
	case now.Sub(w.lastChange) > w.stall:
		return fmt.Errorf("watchdog: the guest wrote nothing to the share for %v (phase: %s, for %v)",
			w.stall, w.phase, now.Sub(w.phaseSince).Round(time.Second))
	case strings.HasPrefix(w.phase, "scenario ") && now.Sub(w.phaseSince) > w.scenario+time.Minute:
		// run.sh's own limit (the same scenarioLimit) should have ended it.
		return fmt.Errorf("watchdog: %s has run for %v, past its limit of %v", w.phase, now.Sub(w.phaseSince).Round(time.Second), w.scenario)
	}
	return nil
}

// guestPhase reads guest/run.sh's log: "boot" until the runner starts,
// then "scenario NAME" while one runs, "between scenarios", and "poweroff"
// once the runner is done.
func guestPhase(runLog string) string {
	phase := "boot"
	for _, l := range strings.Split(runLog, "\n") {
		switch {
		case strings.HasPrefix(l, "run.sh: guest up"):
			phase = "between scenarios"
		case strings.HasPrefix(l, "run.sh: done"):
			phase = "poweroff"
		case strings.HasPrefix(l, "run.sh: --- "):
			f := strings.Fields(strings.TrimPrefix(l, "run.sh: --- "))
			if len(f) == 1 {
				phase = "scenario " + f[0]
			} else {
				phase = "between scenarios"
			}
		}
	}
	return phase
}

// shareSize: the bytes under dir (the guest's results), for progress.
func shareSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
