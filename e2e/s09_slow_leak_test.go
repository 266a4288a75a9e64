//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("09", gateAndCompare, checkSlowLeak) }

func checkSlowLeak(t *testing.T, r *R) {
	l := leakSummary(r, "ladder")
	be := r.str("ladder.pods.BE.uid")
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
			killAt = x.num("monotonic_s")
			break
		}
	}
	throttleRow := "none"
	if throttle != nil {
		throttleRow = fmt.Sprintf("%.1f s after leak start, memory.high %s", throttle.num("monotonic_s")-r.num("ladder.leak_start_s"), throttle.str(vocab.HighBytes))
	}

	title := fmt.Sprintf("scenario 09: slow leak (%v MiB/s, %v reader), kill only versus the relief ladder", r.get("leak_mib_per_s"), r.get("read_order"))
	if comparing() {
		printLeakTable(t, title, leakCol{"kill only", leakSummary(r, "killonly")}, leakCol{"ladder", l})
	} else {
		printLeakTable(t, title, leakCol{"ladder", l})
	}
	t.Logf("ladder: throttled %s; memory.high not max for %v s", throttleRow, r.get("ladder.high.throttled_s"))

	leakDaemonChecks(t, r, "ladder")

	// The ladder throttled the leaker before killing it...
	if throttle == nil {
		t.Errorf("ladder run: no \"throttled pod\" record names the leaker %s", be)
	} else {
		if throttle.str(vocab.Reason) != "relief-throttle" {
			t.Errorf("ladder run: the throttle record says reason=%q, want relief-throttle", throttle.str(vocab.Reason))
		}
		if killAt >= 0 && throttle.num("monotonic_s") > killAt {
			t.Errorf("ladder run: throttled at %.2f s, after the kill at %.2f s", throttle.num("monotonic_s"), killAt)
		}
		// ...with a memory.high in force: the file, while throttled, and
		// systemd's MemoryHigh (set over D-Bus) read what the record says.
		want := throttle.str(vocab.HighBytes)
		if c, ok := r.get("ladder.high.consistent").(map[string]any); !ok {
			t.Errorf("ladder run: memory.high of the leaker's slice was never read consistently while throttled (file, MemoryHigh, file): %v",
				r.get("ladder.high.checks"))
		} else if c["file"] != want || c["unit"] != want {
			t.Errorf("ladder run: while throttled memory.high = %v and MemoryHigh = %v, the journal says %s", c["file"], c["unit"], want)
		} else {
			t.Logf("ladder run: while throttled, memory.high = MemoryHigh = %s (the journal's memory_high_bytes)", want)
		}
	}
	// A killed pod's throttle is lifted.
	if v := r.str("ladder.memory_high_after"); v != "max" {
		t.Errorf("ladder run: the killed pod's memory.high is %q after the kill, want max", v)
	}
	if !comparing() {
		return
	}
	// make compare: the kill-only run (relief off) kills the leaker as
	// well, relieves nothing, and the ladder spares the Guaranteed pod
	// more of its stall.
	k := leakSummary(r, "killonly")
	leakDaemonChecks(t, r, "killonly")
	if n := len(r.otherRecords("killonly", "throttled pod")) + len(r.otherRecords("killonly", "reclaimed page cache")); n > 0 {
		t.Errorf("kill-only run: %d relief records with relief.reclaim and relief.throttle off", n)
	}
	if l.stallMs >= k.stallMs {
		t.Errorf("Guaranteed pod full stall with the ladder %.0f ms is not lower than with kills only %.0f ms", l.stallMs, k.stallMs)
	}
}
