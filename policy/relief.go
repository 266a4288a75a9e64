package policy

import (
	"maps"
	"slices"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// ReliefCandidates returns, in rank order, the candidates that relief may
// touch: killable, and relievable.
func ReliefCandidates(ranked []Candidate) []Candidate {
	var out []Candidate
	for _, c := range ranked {
		if c.Protected == "" && Relievable(c.Pod.QoS) {
			out = append(out, c)
		}
	}
	return out
}

// Relievable is the one rule for "relief never touches Guaranteed": a
// Guaranteed pod stays within its request by definition, and its own
// memory.max holds it; it is never throttled, contained or reclaimed
// from. Relief reads only the pods of the classes it may touch (Need).
func Relievable(q cgroupv2.QoS) bool { return q != cgroupv2.Guaranteed }

// ReclaimPlan is one window's reclaim: from whom, in order, and how much.
type ReclaimPlan struct {
	Orders []ReclaimOrder
	Chunk  uint64 // one memory.reclaim write
	Budget uint64 // most asked of the kernel in all, this window
}

// ReclaimOrder is one pod to reclaim page cache from.
type ReclaimOrder struct {
	Pod *cgroupv2.Pod
	Max uint64 // most to ask of this pod: its page cache, within the budget
}

// PlanReclaim chooses whom to reclaim from: relief candidates in rank
// order, each only if its memory.stat shows at least a chunk of page cache
// that reclaim can take: file less shmem (memory.stat counts shared
// memory and tmpfs in file, but like anonymous memory it cannot go
// without swap).
func PlanReclaim(ranked []Candidate, th Thresholds) ReclaimPlan {
	p := ReclaimPlan{Chunk: th.ReclaimChunk, Budget: th.ReclaimMax}
	if p.Chunk == 0 {
		return ReclaimPlan{}
	}
	for _, c := range ReliefCandidates(ranked) {
		cache := reclaimable(c.Pod.Stat)
		if cache < p.Chunk {
			continue
		}
		p.Orders = append(p.Orders, ReclaimOrder{Pod: c.Pod, Max: min(cache, p.Budget)})
	}
	return p
}

// reclaimable is the page cache reclaim can take from a cgroup.
func reclaimable(s cgroupv2.MemoryStat) uint64 { return s.File - min(s.Shmem, s.File) }

// ThrottlePlan is one pod to throttle.
type ThrottlePlan struct {
	Pod      *cgroupv2.Pod
	Original uint64 // its memory.high now (usually Unlimited), given back at release
	Value    uint64 // the throttle
	Ceiling  uint64 // where release ends and Original comes back
}

// PlanThrottle chooses the pod to throttle: the first relief candidate
// that grows during the episode (Candidate.Growing: a pod standing still
// is never throttled), by usage (memory.current), that is at least
// MinVictim large and whose memory.high (highs, by path) is not already
// below the throttle. One pod at a time is the caller's (throttleDue).
func PlanThrottle(ranked []Candidate, highs map[string]uint64, kubepods cgroupv2.Group, host cgroupv2.Meminfo, th Thresholds) (ThrottlePlan, bool) {
	cs := ReliefCandidates(ranked)
	slices.SortStableFunc(cs, func(a, b Candidate) int { return cmpDesc(a.Pod.Current, b.Pod.Current) })
	for _, c := range cs {
		original, ok := highs[c.Pod.Path]
		if !ok || !c.Growing || c.Pod.Current < th.Rank.MinVictim {
			continue
		}
		value := ThrottleValue(c.Pod.Current, c.Pod.Stat.Anon+c.Pod.Stat.Shmem, th.ThrottleBelow, th.PageSize)
		if original <= value {
			continue // already held lower than this
		}
		return ThrottlePlan{Pod: c.Pod, Original: original, Value: value,
			Ceiling: releaseCeiling(original, c.Pod.Max, kubepods.Max, host.MemTotal)}, true
	}
	return ThrottlePlan{}, false
}

// releaseCeiling is where a release ends: the original memory.high when it
// was a number (release never loosens a limit someone else set), else the
// pod's memory.max, else kubepods', else the node's memory.
func releaseCeiling(original, podMax, kubepodsMax, memTotal uint64) uint64 {
	for _, v := range []uint64{original, podMax, kubepodsMax} {
		if isLimit(v) {
			return v
		}
	}
	return memTotal
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// ThrottleState is a throttle in force, as release sees it.
type ThrottleState struct {
	Path    string
	Set     uint64 // the value the throttle set
	Current uint64 // in force now
	Ceiling uint64
	// Contained: it holds a shielded grower (PlanContain). Pushing: the
	// pod pushes against its memory.high and is still the cause
	// (State.Holds), not merely charging page cache at its limit.
	Contained, Pushing bool
}

// ReleaseStep is the next value of one throttle being released. Done: the
// original memory.high comes back.
type ReleaseStep struct {
	Path string
	Next uint64
	Done bool
}

// PlanRelease raises every throttle one step, in path order, but for a
// contained pod that still pushes against its memory.high (State.Holds):
// released, it would grow again, and it cannot be killed. It stays held
// until it stops pushing, then is released as any throttle is; if it
// grows again, it is contained again.
func PlanRelease(ts []ThrottleState, th Thresholds) []ReleaseStep {
	byPath := map[string]ThrottleState{}
	for _, t := range ts {
		byPath[t.Path] = t
	}
	var out []ReleaseStep
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		t := byPath[p]
		if t.Contained && t.Pushing {
			continue
		}
		next, done := releaseStep(t.Current, t.Set, th.ReleaseStep, t.Ceiling, th.PageSize)
		out = append(out, ReleaseStep{Path: p, Next: next, Done: done})
	}
	return out
}

// ThrottleValue is the memory.high for a pod: a below share under its
// usage, but never under what reclaim cannot free without swap (its
// anonymous and shared memory): a limit under that would stall a pod that
// is not growing, while the point is to make a growing pod pay for its own
// growth. Rounded to a page, as the kernel does.
func ThrottleValue(usage, unreclaimable uint64, below float64, pageSize uint64) uint64 {
	v := uint64(float64(usage) * (1 - below))
	if floor := cgroupv2.PagesUp(unreclaimable, pageSize); v < floor {
		v = floor
	}
	return cgroupv2.PagesDown(v, pageSize)
}

// releaseStep is the next memory.high while a throttle is released: one
// step of the value that was set higher. done is true once it reaches the
// ceiling: then the original value goes back.
func releaseStep(current, set uint64, step float64, ceiling, pageSize uint64) (next uint64, done bool) {
	next = cgroupv2.PagesDown(current+uint64(float64(set)*step), pageSize)
	if next >= ceiling || next <= current {
		return ceiling, true
	}
	return next, false
}

// throttleWatch follows one throttled pod between windows.
type throttleWatch struct {
	lastHigh uint64 // the pod's memory.events high counter at the last window
	rising   int    // consecutive windows in which it rose while strained
	pushed   bool   // it rose in the last window, strained or not
	pressing bool   // it rose in the last window, with kubepods strained and near its limit
}

// watchThrottled folds one completed window into the watches of the
// throttled pods (high counters by path). A pod that keeps pushing against
// its memory.high (the high counter rises every window) while kubepods
// stays strained and near the limit is still the problem after relief.
// Pods no longer throttled are dropped.
func watchThrottled(ws map[string]throttleWatch, highs map[string]uint64, v Verdict) map[string]throttleWatch {
	if len(ws) == 0 && len(highs) == 0 {
		return nil
	}
	out := make(map[string]throttleWatch, len(highs))
	for path, high := range highs {
		w, known := ws[path]
		rising := known && high > w.lastHigh
		w.lastHigh, w.pushed = high, rising
		w.pressing = rising && v.Strained > 0 && v.Near
		w.rising = next(w.rising, rising && v.Strained > 0 && v.Near)
		out[path] = w
	}
	return out
}

// leaking returns the throttled pod that has pushed against its throttle
// for windows windows, or "" (the first by path, if several). A contained
// pod is never one: its growing processes are spared, a kill would not
// stop it, and being held is what containment is for.
func leaking(ws map[string]throttleWatch, windows int, contained map[string]bool) string {
	for _, p := range slices.Sorted(maps.Keys(ws)) {
		if ws[p].rising >= windows && !contained[p] {
			return p
		}
	}
	return ""
}
