package policy

import "github.com/kube-oomd/kube-oomd/cgroupv2"

// RequestSource says where an inferred memory request came from.
type RequestSource string

const (
	FromMemoryMin   RequestSource = "memory.min"    // the kubelet's MemoryQoS wrote it
	FromLimit       RequestSource = "memory.max"    // Guaranteed: request equals limit
	FromOOMScoreAdj RequestSource = "oom_score_adj" // Burstable formula, inverted
	FromNone        RequestSource = "none"          // BestEffort, or nothing to go by
)

// InferRequest estimates a pod's memory request without the API server:
// memory.min when the kubelet's MemoryQoS set it; the limit for a
// Guaranteed pod; for Burstable the kubelet's oom_score_adj formula,
// adj = 1000 - 1000*request/capacity, inverted per container; else 0.
// memTotal is the node's memory capacity.
func InferRequest(p cgroupv2.Pod, memTotal uint64) (uint64, RequestSource) {
	if isLimit(p.Min) {
		return p.Min, FromMemoryMin
	}
	switch p.QoS {
	case cgroupv2.Guaranteed:
		if p.Max != cgroupv2.Unlimited {
			return p.Max, FromLimit
		}
	case cgroupv2.Burstable:
		var sum uint64
		var found bool
		for _, c := range p.Containers {
			adj, ok := containerAdj(c)
			if !ok {
				continue
			}
			found = true
			// 999 is what the kubelet gives a container with no memory
			// request; 3..998 encode request/capacity in steps of 0.1 %.
			if adj >= 3 && adj < 999 {
				sum += uint64(1000-adj) * (memTotal / 1000)
			}
		}
		if found && sum > 0 {
			return sum, FromOOMScoreAdj
		}
	}
	return 0, FromNone
}

// containerAdj is the oom_score_adj the kubelet gave a container: the lowest
// among its processes, since a process may raise its own value but not lower
// it. Sandboxes and runtime helpers do not count.
func containerAdj(c cgroupv2.Container) (int, bool) {
	if c.Helper || c.Sandbox() || len(c.Procs) == 0 {
		return 0, false
	}
	adj := c.Procs[0].OOMScoreAdj
	for _, p := range c.Procs[1:] {
		adj = min(adj, p.OOMScoreAdj)
	}
	return adj, true
}
