package policy

import (
	"cmp"
	"slices"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// RankConfig holds what ranking needs besides the pods.
type RankConfig struct {
	MemTotal  uint64   // node memory, to invert the Burstable oom_score_adj formula
	MinVictim uint64   // pods with a smaller working set rank last
	Protect   []string // cgroup globs never killed
}

// Candidate is a pod with what the ranking made of it.
type Candidate struct {
	Pod           *cgroupv2.Pod // points into the slice given to Rank
	Request       uint64
	RequestSource RequestSource
	Protected     string // why it is never killed; "" if it may be
	Small         bool   // too small to relieve pressure
	Rank          int    // 1 is the next victim; 0 for a protected pod
}

// AboveRequest is the working set beyond the memory request.
func (c Candidate) AboveRequest() uint64 {
	if c.Pod.WorkingSet <= c.Request {
		return 0
	}
	return c.Pod.WorkingSet - c.Request
}

// Rank orders pods as victims: killable ones first, by class (BestEffort,
// Burstable, Guaranteed), then by working set above request, then by working
// set, with those too small to help after all others; protected pods come
// last with rank 0. Ties break on the cgroup path, so the order is stable.
func Rank(pods []cgroupv2.Pod, cfg RankConfig) []Candidate {
	cs := make([]Candidate, len(pods))
	for i := range pods {
		p := &pods[i]
		req, src := InferRequest(*p, cfg.MemTotal)
		cs[i] = Candidate{
			Pod: p, Request: req, RequestSource: src,
			Protected: Protection(*p, cfg.Protect),
			Small:     p.WorkingSet < cfg.MinVictim,
		}
	}
	slices.SortFunc(cs, compareVictims)
	rank := 1
	for i := range cs {
		if cs[i].Protected == "" {
			cs[i].Rank = rank
			rank++
		}
	}
	return cs
}

// compareVictims orders a before b when a should be killed first.
func compareVictims(a, b Candidate) int {
	return cmp.Or(
		cmpBool(a.Protected != "", b.Protected != ""),
		cmpBool(a.Small, b.Small),
		cmp.Compare(a.Pod.QoS, b.Pod.QoS),
		cmp.Compare(b.AboveRequest(), a.AboveRequest()),
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

// Victim returns the first killable candidate of a ranking.
func Victim(ranked []Candidate) (Candidate, bool) {
	if len(ranked) > 0 && ranked[0].Protected == "" {
		return ranked[0], true
	}
	return Candidate{}, false
}

// ReadOrder is the order in which a victim's candidates are read, a class
// at a time: the ranking puts every pod of an earlier class before any of a
// later one, so reading can stop as soon as Settled says so.
func ReadOrder() []cgroupv2.QoS {
	return []cgroupv2.QoS{cgroupv2.BestEffort, cgroupv2.Burstable, cgroupv2.Guaranteed}
}

// Settled says whether the ranking of the classes read so far already has
// its victim: a killable candidate big enough to help. Pods of classes not
// read yet could not rank before it.
func Settled(ranked []Candidate) bool {
	v, ok := Victim(ranked)
	return ok && !v.Small
}

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
		if c.Helper || c.Sandbox() {
			continue
		}
		if !found || c.Current > best.Current {
			best, found = c, true
		}
	}
	return best, found
}
