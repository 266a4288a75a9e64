package policy

import (
	"maps"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Growth follows each pod's unreclaimable memory (anonymous plus shared:
// what reclaim cannot take back without swap) across an episode, to find
// the pod that causes the pressure: the one that grows. The daemon samples
// the pods only while the episode lasts (Verdict.Track), at most once per
// window (Due), and drops the samples when it ends. The zero Growth has no
// samples. A Growth is a value: Observe returns a new one.
type Growth struct {
	last  time.Time
	byPod map[string][]growthSample // oldest first, at most growthSamples
}

type growthSample struct {
	at     time.Time
	unrecl uint64
	spared uint64 // what the pod's spared (-1000) processes hold (Spared)
}

const (
	// growthSamples is how many samples a pod's rate spans: the last
	// few windows of the episode, so that a pod that stopped growing
	// soon stops counting as growing.
	growthSamples = 8
	// GrowingRate is the rate from which a pod counts as growing: a
	// quarter MiB a second. An idle pod's unreclaimable memory does not
	// move; the slowest leak the VM tests (1 MiB/s) is four times this.
	GrowingRate = 256 << 10
)

// Due says whether a new sample is due: the first of an episode, or a
// window after the last.
func (g Growth) Due(now time.Time, window time.Duration) bool {
	return g.last.IsZero() || now.Sub(g.last) >= window*9/10
}

// Observe adds one sample of every pod read at now. Pods not in pods
// (gone, or unreadable this time) keep their earlier samples until the
// episode ends.
func (g Growth) Observe(pods []cgroupv2.Pod, now time.Time) Growth {
	out := g.clone()
	out.last = now
	for _, p := range pods {
		s := out.byPod[p.Path]
		if len(s) >= growthSamples {
			s = s[len(s)-growthSamples+1:]
		}
		_, spared := Spared(p)
		// A new slice each time: earlier Growth values share the old one.
		out.byPod[p.Path] = append(append(make([]growthSample, 0, len(s)+1), s...),
			growthSample{at: now, unrecl: p.Stat.Anon + p.Stat.Shmem, spared: spared})
	}
	return out
}

// Rates returns each sampled pod's growth in bytes a second, from its
// oldest sample to its newest (negative when it shrank). A pod with one
// sample has no rate yet.
func (g Growth) Rates() map[string]float64 {
	return g.rates(func(s growthSample) float64 { return float64(s.unrecl) })
}

// UnsparedRates returns each sampled pod's growth less what its spared
// (-1000) processes grew: the growth a kill of the pod could stop. A pod
// that grows while this does not is a shielded grower (see Candidate.Shielded).
func (g Growth) UnsparedRates() map[string]float64 {
	return g.rates(func(s growthSample) float64 { return float64(s.unrecl) - float64(s.spared) })
}

func (g Growth) rates(of func(growthSample) float64) map[string]float64 {
	out := make(map[string]float64, len(g.byPod))
	for path, s := range g.byPod {
		if len(s) < 2 {
			continue
		}
		first, last := s[0], s[len(s)-1]
		if d := last.at.Sub(first.at).Seconds(); d > 0 {
			out[path] = (of(last) - of(first)) / d
		}
	}
	return out
}

// clone copies the map of samples (the sample slices are never changed in
// place, so they are shared).
func (g Growth) clone() Growth {
	out := Growth{last: g.last, byPod: maps.Clone(g.byPod)}
	if out.byPod == nil {
		out.byPod = map[string][]growthSample{}
	}
	return out
}

// Forget drops the samples of the given pods: a killed pod's memory was
// freed, and its restarted containers start a new history.
func (g Growth) Forget(paths ...string) Growth {
	out := g.clone()
	for _, p := range paths {
		delete(out.byPod, p)
	}
	return out
}
