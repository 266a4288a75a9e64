//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("09", gateAndCompare, checkSlowLeak) }

// slowLeakResult is scenario 09's result, as the guest writes it: the
// ladder run (and under make compare the kill-only run) of leak.sh, with
// what the ladder run's watcher of memory.high saw.
type slowLeakResult struct {
	LeakMiBPerS any `json:"leak_mib_per_s,omitempty"`
	ReadOrder   any `json:"read_order,omitempty"`
	Ladder      struct {
		leakRun
		High struct {
			ThrottledS any            `json:"throttled_s,omitempty"`
			Consistent map[string]any `json:"consistent,omitempty"` // file, MemoryHigh, file read alike
			Checks     any            `json:"checks,omitempty"`
		} `json:"high,omitempty"`
		MemoryHighAfter text `json:"memory_high_after"`
	} `json:"ladder"`
}

func checkSlowLeak(t *testing.T, r *R) {
	d := decodeResult[slowLeakResult](r, "")
	lr := d.Ladder.leakRun
	l := leakSummary(t, r, "ladder", lr)
	be := lr.Pods.of(t, "ladder.pods", "BE").UID
	// The ladder run's throttle of the leaker, and the kill after it.
	var throttle rec
	for _, x := range r.otherRecords("ladder", "throttled pod") {
		if x.str(vocab.PodUID) == be && throttle == nil {
			throttle = x
		}
	}
	var killAt float64 = -1
	for _, x := range r.records("ladder", "kill") {
		if x.str(vocab.PodUID) == be {
			killAt = x.num(recMonotonic)
			break
		}
	}
	throttleRow := "none"
	if throttle != nil {
		throttleRow = fmt.Sprintf("%.1f s after leak start, memory.high %s", throttle.num(recMonotonic)-lr.LeakStartS, throttle.str(vocab.HighBytes))
	}

	title := fmt.Sprintf("scenario 09: slow leak (%v MiB/s, %v reader), kill only versus the relief ladder", d.LeakMiBPerS, d.ReadOrder)
	var kr leakRun
	if comparing() {
		kr = decodeResult[leakRun](r, "killonly")
		printLeakTable(t, title, leakCol{"kill only", leakSummary(t, r, "killonly", kr)}, leakCol{"ladder", l})
	} else {
		printLeakTable(t, title, leakCol{"ladder", l})
	}
	t.Logf("ladder: throttled %s; memory.high not max for %v s", throttleRow, d.Ladder.High.ThrottledS)

	leakDaemonChecks(t, r, "ladder", lr)

	// The ladder throttled the leaker before killing it...
	if throttle == nil {
		t.Errorf("ladder run: no \"throttled pod\" record names the leaker %s", be)
	} else {
		if throttle.str(vocab.Reason) != "relief-throttle" {
			t.Errorf("ladder run: the throttle record says reason=%q, want relief-throttle", throttle.str(vocab.Reason))
		}
		if killAt >= 0 && throttle.num(recMonotonic) > killAt {
			t.Errorf("ladder run: throttled at %.2f s, after the kill at %.2f s", throttle.num(recMonotonic), killAt)
		}
		// ...with a memory.high in force: the file, while throttled, and
		// systemd's MemoryHigh (set over D-Bus) read what the record says.
		want := throttle.str(vocab.HighBytes)
		if c := d.Ladder.High.Consistent; c == nil {
			t.Errorf("ladder run: memory.high of the leaker's slice was never read consistently while throttled (file, MemoryHigh, file): %v",
				d.Ladder.High.Checks)
		} else if c["file"] != want || c["unit"] != want {
			t.Errorf("ladder run: while throttled memory.high = %v and MemoryHigh = %v, the journal says %s", c["file"], c["unit"], want)
		} else {
			t.Logf("ladder run: while throttled, memory.high = MemoryHigh = %s (the journal's memory_high_bytes)", want)
		}
	}
	// A killed pod's throttle is lifted.
	if v := d.Ladder.MemoryHighAfter; v != "max" {
		t.Errorf("ladder run: the killed pod's memory.high is %q after the kill, want max", v)
	}
	if !comparing() {
		return
	}
	// make compare: the kill-only run (relief off) kills the leaker as
	// well, relieves nothing, and the ladder spares the Guaranteed pod
	// more of its stall.
	k := leakSummary(t, r, "killonly", kr)
	leakDaemonChecks(t, r, "killonly", kr)
	if n := len(r.otherRecords("killonly", "throttled pod")) + len(r.otherRecords("killonly", "reclaimed page cache")); n > 0 {
		t.Errorf("kill-only run: %d relief records with relief.reclaim and relief.throttle off", n)
	}
	if l.stallMs >= k.stallMs {
		t.Errorf("Guaranteed pod full stall with the ladder %.0f ms is not lower than with kills only %.0f ms", l.stallMs, k.stallMs)
	}
}
