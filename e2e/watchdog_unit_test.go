package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestGuestPhase(t *testing.T) {
	for _, c := range []struct{ log, want string }{
		{"", "boot"},
		{"run.sh: guest up after 14.2s, kernel 6.1\n", "between scenarios"},
		{"run.sh: guest up after 14.2s\nrun.sh: --- 01-leak\n", "scenario 01-leak"},
		{"run.sh: guest up after 14.2s\nrun.sh: --- 01-leak\nrun.sh: --- 01-leak rc=0 in 70.1s\n", "between scenarios"},
		{"run.sh: guest up\nrun.sh: --- 20-node-leak\nrun.sh: --- 20-node-leak rc=0 in 9s\nrun.sh: done\n", "poweroff"},
	} {
		if got := guestPhase(c.log); got != c.want {
			t.Errorf("guestPhase(%q) = %q, want %q", c.log, got, c.want)
		}
	}
}

// TestWatch steps the watchdog through made-up times: a slow boot and a
// slow scenario pass as long as the guest writes; a silent guest, a boot
// that never ends and a scenario past its limit fail, naming the phase.
func TestWatch(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	const up = "run.sh: guest up after 170s\n"
	const in15 = up + "run.sh: --- 15-shmem\n"
	newW := func() *watch { return newWatch(t0, 12*time.Minute, 10*time.Minute, 25*time.Minute) }

	t.Run("slow boot, then steady progress", func(t *testing.T) {
		w := newW()
		for i, step := range []struct {
			d    time.Duration
			log  string
			size int64
		}{
			{3 * time.Minute, "", 0},
			{11 * time.Minute, "", 0}, // a boot four times slower than quiet
			{11*time.Minute + time.Second, up, 100},
			{20 * time.Minute, in15, 200}, // 9 min, writing
			{29 * time.Minute, in15, 300},
		} {
			if err := w.check(at(step.d), step.log, step.size); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	})
	t.Run("boot never ends", func(t *testing.T) {
		w := newW()
		err := w.check(at(12*time.Minute+time.Second), "", 0)
		if err == nil || !strings.Contains(err.Error(), "phase: boot") {
			t.Fatalf("err = %v, want the boot named", err)
		}
	})
	t.Run("a silent scenario", func(t *testing.T) {
		w := newW()
		if err := w.check(at(time.Minute), in15, 500); err != nil {
			t.Fatal(err)
		}
		if err := w.check(at(10*time.Minute), in15, 500); err != nil {
			t.Fatalf("9 min silent is within the limit: %v", err)
		}
		err := w.check(at(11*time.Minute+time.Second), in15, 500)
		if err == nil || !strings.Contains(err.Error(), "phase: scenario 15-shmem") {
			t.Fatalf("err = %v, want scenario 15-shmem named", err)
		}
	})
	t.Run("a scenario that writes but never ends", func(t *testing.T) {
		w := newW()
		var err error
		for m := 1; m <= 30 && err == nil; m++ {
			err = w.check(at(time.Duration(m)*time.Minute), in15, int64(m))
		}
		if err == nil || !strings.Contains(err.Error(), "15-shmem has run for") {
			t.Fatalf("err = %v, want the scenario's limit named", err)
		}
	})
}
