package policy

import "github.com/kube-oomd/kube-oomd/cgroupv2"

// pageSize is what the kernel rounds memory.high down to.
const pageSize = 4096

// ReliefCandidates returns, in rank order, the candidates that relief may
// touch: killable, and not Guaranteed. A Guaranteed pod stays within its
// request by definition; it is never throttled or reclaimed from.
func ReliefCandidates(ranked []Candidate) []Candidate {
	var out []Candidate
	for _, c := range ranked {
		if c.Protected == "" && c.Pod.QoS != cgroupv2.Guaranteed {
			out = append(out, c)
		}
	}
	return out
}

// ThrottleValue is the memory.high for a pod: a below share under its
// usage, but never under what reclaim cannot free without swap (its
// anonymous and shared memory): a limit under that would stall a pod that
// is not growing, while the point is to make a growing pod pay for its own
// growth. Rounded to a page, as the kernel does.
func ThrottleValue(usage, unreclaimable uint64, below float64) uint64 {
	v := uint64(float64(usage) * (1 - below))
	if floor := (unreclaimable + pageSize - 1) / pageSize * pageSize; v < floor {
		v = floor
	}
	return v / pageSize * pageSize
}

// ReleaseStep is the next memory.high while a throttle is released: one
// step of the value that was set higher. done is true once it reaches the
// ceiling (the pod's memory.max, or kubepods' when the pod has none): then
// the original value goes back.
func ReleaseStep(current, set uint64, step float64, ceiling uint64) (next uint64, done bool) {
	next = current + uint64(float64(set)*step)
	next = next / pageSize * pageSize
	if next >= ceiling || next <= current {
		return ceiling, true
	}
	return next, false
}

// ThrottleWatch follows one throttled pod between windows.
type ThrottleWatch struct {
	LastHigh uint64 // the pod's memory.events high counter at the last window
	Rising   int    // consecutive windows in which it rose while strained
}

// WatchThrottled folds one completed window into a throttled pod's watch.
// A pod that keeps pushing against its memory.high (the high counter rises
// every window) while kubepods stays strained and near the limit is still
// the problem after relief: kill it once that lasts th.Windows windows.
func WatchThrottled(w ThrottleWatch, high uint64, v Verdict, th Thresholds) (ThrottleWatch, bool) {
	rising := high > w.LastHigh
	w.LastHigh = high
	w.Rising = next(w.Rising, rising && v.Strained > 0 && v.Near)
	return w, w.Rising >= th.Windows
}
