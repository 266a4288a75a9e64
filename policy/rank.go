package policy

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// RankConfig holds what ranking needs besides the pods.
type RankConfig struct {
	MemTotal  uint64   // node memory, to invert the Burstable oom_score_adj formula
	MinVictim uint64   // a pod whose kill frees less never ends an episode on its own
	Protect   []string // cgroup globs never killed
}

// Episode is what ranking knows of the episode in progress. The zero
// Episode is a calm node: nothing to shed, nobody growing.
type Episode struct {
	// Need is the working set kubepods must shed to get back under the
	// near-limit line (Verdict.Need).
	Need uint64
	// Rates is each pod's growth in bytes a second over the episode, by
	// cgroup path (Growth.Rates).
	Rates map[string]float64
	// Horizon is how long the room a kill makes must last to end the
	// episode: the room is gone sooner if the pods left keep growing.
	Horizon time.Duration
	// Unspared is each pod's growth less what its spared (-1000)
	// processes grew, by cgroup path (Growth.UnsparedRates): what a kill
	// could stop.
	Unspared map[string]float64
	// Held are the pods contained now (see PlanContain) that pushed
	// against their memory.high in the last window, by cgroup path: held
	// still, they no longer grow, but they are still the cause.
	Held map[string]bool
}

// Candidate is a pod with what the ranking made of it.
type Candidate struct {
	Pod           *cgroupv2.Pod // points into the slice given to Rank
	Request       uint64
	RequestSource RequestSource
	Protected     string  // why it is never killed; "" if it may be
	Spared        []int   // processes a kill must not signal (see Spared); nil: the whole pod goes
	Frees         uint64  // working set its kill frees: the pod's, less what spared processes hold; 0 with no process to kill
	Growth        float64 // bytes a second over the episode
	Growing       bool    // Growth is at least GrowingRate
	CanEnd        bool    // its kill alone frees what the episode needs (see Rank)
	Shielded      bool    // a shielded grower: contained, never killed (see shielded)
	Rank          int     // 1 is the next victim; 0 for a protected pod

	score float64 // usage over request, a grower's at the horizon (Rank's fourth key)
}

// OverRequest says whether the pod uses more than its memory request: the
// kubelet evicts such pods first.
func (c Candidate) OverRequest() bool { return c.Pod.WorkingSet > c.Request }

// AboveRequest is the working set beyond the memory request.
func (c Candidate) AboveRequest() uint64 {
	if c.Pod.WorkingSet <= c.Request {
		return 0
	}
	return c.Pod.WorkingSet - c.Request
}

// Rank orders pods as victims, the way the kubelet's node-pressure
// eviction does (rankMemoryPressure), with what kube-oomd sees of the
// episode on top:
//  1. pods whose working set exceeds their request (BestEffort and
//     Burstable alike) before those within it (Guaranteed pods, and
//     Burstable pods within their request);
//  2. then pods whose kill alone frees what the episode needs (CanEnd);
//  3. then pods that grow during the episode (the cause of the pressure);
//  4. then the largest usage over request, a grower's counted with what it
//     grows over the horizon;
//  5. then the larger working set, then the cgroup path.
//
// Protected pods come last with rank 0. The kubelet's next key, priority,
// is not visible on the node; node-critical pods are, and are protected.
// A pod CanEnd when what its kill frees covers the need plus what every
// other pod grows over the horizon, and is at least MinVictim.
func Rank(pods []cgroupv2.Pod, cfg RankConfig, e Episode) []Candidate {
	cs := make([]Candidate, len(pods))
	var growth float64 // all pods' growth, shrinking ones not counted
	for i := range pods {
		p := &pods[i]
		req, src := InferRequest(*p, cfg.MemTotal)
		spared, held := Spared(*p)
		rate := e.Rates[p.Path]
		cs[i] = Candidate{
			Pod: p, Request: req, RequestSource: src,
			Protected: Protection(*p, cfg.Protect),
			Spared:    spared, Frees: p.WorkingSet - min(held, p.WorkingSet),
			Growth: rate, Growing: rate >= GrowingRate,
		}
		if !running(*p) {
			// Memory with no process left (page cache, tmpfs): a kill
			// frees none of it, and would find nothing to signal.
			cs[i].Frees = 0
		}
		cs[i].Shielded = shielded(cs[i], e)
		growth += max(rate, 0)
	}
	for i := range cs {
		others := growth - max(cs[i].Growth, 0)
		need := float64(e.Need) + others*e.Horizon.Seconds()
		cs[i].CanEnd = cs[i].Frees >= cfg.MinVictim && float64(cs[i].Frees) >= need
		cs[i].score = float64(cs[i].AboveRequest())
		if cs[i].Growing {
			cs[i].score += cs[i].Growth * e.Horizon.Seconds()
		}
	}
	// Sort pointers: moving whole candidates costs more than comparing.
	order := make([]*Candidate, len(cs))
	for i := range cs {
		order[i] = &cs[i]
	}
	slices.SortFunc(order, compareVictims)
	out := make([]Candidate, len(cs))
	rank := 1
	for i, c := range order {
		out[i] = *c
		if c.Protected == "" {
			out[i].Rank = rank
			rank++
		}
	}
	return out
}

// running says whether a pod has a process besides its sandbox and
// runtime helpers.
func running(p cgroupv2.Pod) bool {
	if len(p.Procs) > 0 {
		return true
	}
	for _, c := range p.Containers {
		if !c.Helper && !c.Sandbox() && len(c.Procs) > 0 {
			return true
		}
	}
	return false
}

// compareVictims orders a before b when a should be killed first.
func compareVictims(a, b *Candidate) int {
	return cmp.Or(
		cmpBool(a.Protected != "", b.Protected != ""),
		cmpBool(!a.OverRequest(), !b.OverRequest()),
		cmpBool(!a.CanEnd, !b.CanEnd),
		cmpBool(!a.Growing, !b.Growing),
		cmp.Compare(b.score, a.score),
		cmp.Compare(b.Pod.WorkingSet, a.Pod.WorkingSet),
		cmp.Compare(a.Pod.Path, b.Pod.Path),
	)
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Victim returns the first killable candidate of a ranking: never a
// shielded grower, whose kill would spare what grows.
func Victim(ranked []Candidate) (Candidate, bool) {
	if len(ranked) > 0 && ranked[0].Protected == "" && !ranked[0].Shielded {
		return ranked[0], true
	}
	return Candidate{}, false
}

// NoVictim says why a kill verdict kills no one; the zero NoVictim is
// none of these (someone was chosen).
type NoVictim struct {
	Why  Why
	text string // CannotFree: the figures
}

// Why is the kind of a NoVictim.
type Why int

const (
	// Chosen: someone was chosen.
	Chosen Why = iota
	// AllProtected: no pod may be killed at all (every pod is protected,
	// or none could be read).
	AllProtected
	// CannotFree: the pods that may be killed cannot free what kubepods
	// must shed: the episode is left to the kernel.
	CannotFree
	// NoneGrows: the pod that causes the pressure is a shielded grower
	// and no pod that grows may be killed: it is contained (PlanContain),
	// and no bystander is killed for it.
	NoneGrows
)

// WhyAllProtected is what an AllProtected NoVictim says.
const WhyAllProtected = "every pod is protected"

// String says why, for a person: "" when someone was chosen.
func (n NoVictim) String() string {
	switch n.Why {
	case AllProtected:
		return WhyAllProtected
	case NoneGrows:
		return WhyContained
	}
	return n.text
}

// Victims chooses whom a kill verdict kills, from a ranking made with the
// same Episode: the first killable pod that can end the episode alone;
// when none can, the fewest that can together, taken in rank order without
// a pause between them. It never turns on a bystander:
//   - while a killable pod exceeds its request by MinVictim or more, no
//     pod within its request is chosen (a Guaranteed pod is never killed
//     to make room for a pod using more than its request);
//   - a pod that frees less than MinVictim is never chosen;
//   - if nothing kube-oomd may kill can end the episode, it chooses no
//     one and says why: the episode is left to the kernel;
//   - if kubepods has nothing to shed (Need 0) and no pod grows, it
//     chooses no one: that pressure is the page cache's.
//   - a shielded grower (Candidate.Shielded) is never chosen: its kill
//     would not stop its growth. It is contained instead (PlanContain),
//     and while one is the cause, no pod that does not grow is chosen
//     either: the others are bystanders, and killing them only feeds it.
//     When that leaves no one, why is NoneGrows.
func Victims(ranked []Candidate, e Episode, cfg RankConfig) ([]Candidate, NoVictim) {
	var eligible []Candidate
	overRequest, shieldedCause := false, false
	for _, c := range ranked {
		if c.Protected == "" && !c.Shielded && c.AboveRequest() >= max(cfg.MinVictim, 1) {
			overRequest = true
		}
		shieldedCause = shieldedCause || c.Shielded
	}
	for _, c := range ranked {
		if c.Protected == "" && !c.Shielded && (c.OverRequest() || !overRequest) && (c.Growing || !shieldedCause) {
			eligible = append(eligible, c)
		}
	}
	if len(eligible) == 0 && shieldedCause {
		return nil, NoVictim{Why: NoneGrows}
	}
	if len(eligible) == 0 {
		return nil, NoVictim{Why: AllProtected}
	}
	var growth float64
	for _, c := range ranked {
		growth += max(c.Growth, 0)
	}
	// Nothing to shed and nothing grows: kubepods is at its limit with
	// page cache, which the kernel reclaims; the kubelet, which counts the
	// working set, would evict no one. Every pod would "end" such an
	// episode, so without this the first in rank would die: a Guaranteed
	// pod within its request, seen once in scenario 02 on a busy host.
	if e.Need == 0 && growth <= 0 {
		return nil, NoVictim{Why: CannotFree, text: "kubepods has nothing to shed: its working set is under the near-limit line and no pod grows (the pressure is the page cache's, which the kernel reclaims)"}
	}
	if i := slices.IndexFunc(eligible, func(c Candidate) bool { return c.CanEnd }); i >= 0 {
		return []Candidate{eligible[i]}, NoVictim{}
	}
	// No single pod: the fewest that free enough together, in rank order.
	left := growth // what the pods not chosen go on growing
	var set []Candidate
	var frees float64
	for _, c := range eligible {
		if c.Frees < cfg.MinVictim {
			continue
		}
		set = append(set, c)
		frees += float64(c.Frees)
		left -= max(c.Growth, 0)
		if frees >= float64(e.Need)+left*e.Horizon.Seconds() {
			return set, NoVictim{}
		}
	}
	why := "the pods that may be killed cannot free what kubepods must shed"
	switch {
	case shieldedCause:
		return nil, NoVictim{Why: NoneGrows}
	case overRequest:
		why = "the pods over their request cannot free what kubepods must shed, and pods within their request are not killed for them"
	}
	return nil, NoVictim{Why: CannotFree, text: fmt.Sprintf("%s: together they would free %s; kubepods must shed %s to get under the near-limit line, and its pods grow %s a second",
		why, mib(uint64(frees)), mib(e.Need), mib(uint64(growth)))}
}

// mib formats bytes for a reason text.
func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Target is the cgroup a kill goes to.
type Target struct {
	Path      string // from the cgroup2 mount
	Container string // the container's ID in container mode; "" for the pod
}

// String says what is killed, for the logs: "pod" or "container <path>".
func (t Target) String() string {
	if t.Container != "" {
		return "container " + t.Path
	}
	return "pod"
}

// KillTarget is the cgroup to kill for a victim: the pod, or in container
// mode its largest container (the pod when it has none left).
func KillTarget(c Candidate, th Thresholds) Target {
	if th.Container {
		if ctr, ok := LargestContainer(*c.Pod); ok {
			return Target{Path: ctr.Path, Container: ctr.ID}
		}
	}
	return Target{Path: c.Pod.Path}
}

// LargestContainer returns the container to kill in container mode: the
// largest by memory.current, never a sandbox or a runtime helper.
func LargestContainer(p cgroupv2.Pod) (cgroupv2.Container, bool) {
	var best cgroupv2.Container
	var found bool
	for _, c := range p.Containers {
		if !c.App() {
			continue
		}
		if !found || c.Current > best.Current {
			best, found = c, true
		}
	}
	return best, found
}

// EpisodeOf is the Episode a verdict ranks in: what kubepods must shed,
// each pod's growth, and the cooldown as the horizon (the room a kill
// makes must last that long).
func EpisodeOf(v Verdict, g Growth, th Thresholds) Episode {
	return Episode{Need: v.Need, Rates: g.Rates(), Unspared: g.UnsparedRates(), Horizon: th.Cooldown}
}
