package policy

import "github.com/kube-oomd/kube-oomd/cgroupv2"

// A shielded grower is a pod that causes the pressure and that a kill
// cannot stop: every process that grows in it is spared (Spared), most
// often because the pod's own process set oom_score_adj -1000 and its
// children inherited it. The kernel will not kill them either: left
// alone, it kills the pod's neighbours one after the other. kube-oomd
// has a tool the kernel lacks: it contains the pod with a memory.high at
// or under its usage, so that its growth stalls and nobody else dies
// (PlanContain), holds it there for as long as it pushes against it
// (PlanRelease), and never kills its neighbours for it (Victims).
//
// Who is contained, and who is never touched:
//   - a BestEffort or Burstable pod that grows while what a kill could
//     stop does not (Episode.Unspared under GrowingRate): its growing
//     processes are spared. Contained.
//   - a pod contained now that still pushes against its memory.high
//     (Episode.Held): held, it no longer grows, but it is still the cause.
//   - a pod with a spared process whose other processes grow: not
//     shielded; the kill takes those (the -1000 process is spared).
//   - a node-critical pod (-997, -999) or one matching kill.protect:
//     never touched, as relief never touches them (Protection).
//   - a Guaranteed pod: never touched; its own memory.max holds it.

// WhyContained is what a NoneGrows NoVictim says: the pod that causes the
// pressure is a shielded grower and no other pod that grows can be
// killed: it is contained (PlanContain), and no bystander is killed for it.
const WhyContained = "the pod that causes the pressure spares every process that grows (oom_score_adj -1000): it is contained with memory.high, and no pod that does not grow is killed for it"

// shielded says whether a ranked candidate is a shielded grower.
func shielded(c Candidate, e Episode) bool {
	if c.Protected != "" || !Relievable(c.Pod.QoS) || c.Spared == nil {
		return false
	}
	if e.Held[c.Pod.Path] {
		return true
	}
	unspared, ok := e.Unspared[c.Pod.Path]
	return c.Growing && ok && unspared < GrowingRate
}

// PlanContain plans the containment of the first shielded grower, in rank
// order, that is the cause of the pressure (cause): memory.high at ContainValue, at or under its usage. A pod already
// throttled (throttles) keeps its throttle's ceiling, and is lowered only
// if the throttle is above its usage (a held pod's usage sits at its
// memory.high, so a contained pod is not lowered again and again); one
// already contained at or under its usage, or whose own memory.high
// (highs, by path) is under ContainValue, needs nothing.
// Unlike PlanThrottle, it does not wait for other throttles to end: the
// pod cannot be killed, and each window it grows takes a neighbour's
// memory.
func PlanContain(ranked []Candidate, highs map[string]uint64, throttles []ThrottleState, kubepods cgroupv2.Group, host cgroupv2.Meminfo, th Thresholds) (ThrottlePlan, bool) {
	for i, c := range ranked {
		if !c.Shielded || !cause(ranked, i) {
			continue
		}
		value := ContainValue(c.Pod.Current, c.Pod.Stat.Anon+c.Pod.Stat.Shmem, th.ThrottleBelow, th.PageSize)
		if value == 0 {
			continue
		}
		if t, ok := throttleOf(throttles, c.Pod.Path); ok {
			if t.Current <= c.Pod.Current { // already held at or under its usage
				if t.Contained {
					continue
				}
				value = t.Current
			}
			return ThrottlePlan{Pod: c.Pod, Original: highs[c.Pod.Path], Value: min(value, t.Current), Ceiling: t.Ceiling}, true
		}
		original, ok := highs[c.Pod.Path]
		if !ok || original <= value {
			continue // unreadable, or held lower already by its own limit
		}
		return ThrottlePlan{Pod: c.Pod, Original: original, Value: value,
			Ceiling: releaseCeiling(original, c.Pod.Max, kubepods.Max, host.MemTotal)}, true
	}
	return ThrottlePlan{}, false
}

// cause says whether the shielded grower ranked[i] causes the pressure,
// so that containing it is not containing a bystander: it is held now
// (no longer Growing, still Shielded: Episode.Held), or it grows the most
// of all pods and at least half of what they grow together, or it ranks
// above every pod a kill may take.
func cause(ranked []Candidate, i int) bool {
	c := ranked[i]
	if !c.Growing {
		return true
	}
	var total, most float64
	for j, o := range ranked {
		total += max(o.Growth, 0)
		if j != i {
			most = max(most, o.Growth)
		}
	}
	if c.Growth >= most && 2*c.Growth >= total {
		return true
	}
	for _, o := range ranked[:i] {
		if o.Protected == "" && !o.Shielded {
			return false
		}
	}
	return true
}

func throttleOf(ts []ThrottleState, path string) (ThrottleState, bool) {
	for _, t := range ts {
		if t.Path == path {
			return t, true
		}
	}
	return ThrottleState{}, false
}

// ContainValue is the memory.high that contains a shielded grower: the
// throttle's value (ThrottleValue), but never above its usage, rounded
// down to a page, so that any growth stalls at once.
func ContainValue(usage, unreclaimable uint64, below float64, pageSize uint64) uint64 {
	return min(ThrottleValue(usage, unreclaimable, below, pageSize), cgroupv2.PagesDown(usage, pageSize))
}
