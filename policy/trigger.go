package policy

import (
	"time"

	"github.com/kube-oomd/kube-oomd/psi"
)

// Ladder is the relief ladder as configured: which steps are on.
type Ladder struct{ Reclaim, Throttle bool }

// On says whether any relief step is configured.
func (l Ladder) On() bool { return l.Reclaim || l.Throttle }

// Acts says whether the ladder may act: on, and not in dry-run. A ladder
// that may not act holds no throttle: those in force are given back.
func (l Ladder) Acts(dryRun bool) bool { return l.On() && !dryRun }

// Trigger is the PSI trigger (on kubepods and the host) the decision asks
// for. With the relief ladder on it fires at the lower relief stall; the
// kill level is then measured from the stall totals (Decide).
func Trigger(kind psi.Kind, window, killStall, reliefStall time.Duration, l Ladder) psi.TriggerSpec {
	stall := killStall
	if l.On() {
		stall = reliefStall
	}
	return psi.TriggerSpec{Kind: kind, Stall: stall, Window: window}
}
