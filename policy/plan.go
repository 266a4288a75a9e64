package policy

import (
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// The decision is one pure entry in two phases, so that pods are read only
// when a decision needs them:
//
//  1. Decide folds an observation (kubepods, the host, the throttles'
//     counters) into the State, and says what was decided (a Verdict) and
//     which pods the second phase needs read (Need);
//  2. Choose, given those pods, returns one Plan: the victims of a kill
//     (or why no one), the shielded grower to contain, the relief steps.
//
// Between them the daemon only reads. Dry-run is a threshold
// (Thresholds.DryRun): the plan says what would be done.

// Pods says which pods Choose needs read.
type Pods int

const (
	NoPods     Pods = iota
	ReliefPods      // the pods relief may touch (Relievable)
	AllPods
)

// Reads says whether a pod of class q is to be read.
func (p Pods) Reads(q cgroupv2.QoS) bool {
	switch p {
	case AllPods:
		return true
	case ReliefPods:
		return Relievable(q)
	}
	return false
}

// Need is what Choose needs read besides the observation.
type Need struct {
	Pods Pods
	// Victim is the throttled pod a leak-under-throttle kill targets, by
	// cgroup path, read on its own (Read.Victim).
	Victim string
	// Highs: the memory.high of each pod read, too (Read.Highs), for a
	// throttle or a containment.
	Highs bool
}

// Decision is the first phase's outcome: the verdict, the observation it
// was made on, and what Choose needs read.
type Decision struct {
	Verdict
	Observation Observation
	Need        Need
	// Wait: a kill is due while an action is in flight. Choose then only
	// samples growth; once the action reports, the daemon ends the wait
	// (Resume) and chooses on pods read then: a kill on an imminent OOM
	// would not be decided again.
	Wait bool
	// Sample: a growth sample is due (the episode is on, a window passed):
	// Choose folds the pods read into the State's Growth.
	Sample bool
}

// Decide is the first phase: it folds one observation into the state,
// says what was decided and what Choose needs read. It never reads.
func Decide(s State, o Observation, th Thresholds) (State, Decision) {
	s, v := judge(s, o, th)
	if v.EpisodeOver {
		s.growth = Growth{}
	}
	d := Decision{Verdict: v, Observation: o, Sample: v.Track && s.growth.Due(o.Now, th.Window)}
	switch {
	case v.Kill:
		d.Wait = o.Busy
		d.Need = killNeed(v, th)
	case th.DryRun, o.Busy:
		// Relief is only said in dry-run, and waits while an action is
		// in flight.
	default:
		d.Need = reliefNeed(d, th)
	}
	if d.Sample {
		d.Need.Pods = AllPods
	}
	return s, d
}

// Resume ends the Wait of a kill decision once the action in flight has
// reported: Choose then chooses, on the pods read now, with the throttles
// in force now (the action may have changed them).
func (d Decision) Resume(throttles []ThrottleState, th Thresholds) Decision {
	d.Wait, d.Sample = false, false
	d.Observation.Busy, d.Observation.Throttles = false, throttles
	d.Need = killNeed(d.Verdict, th)
	return d
}

// containing says whether a kill verdict also contains a shielded grower:
// only when throttling is on.
func containing(th Thresholds) bool { return th.Throttle && th.ReliefStall > 0 }

func killNeed(v Verdict, th Thresholds) Need {
	var n Need
	if v.Reason == ReasonThrottled {
		n.Victim = v.Victim
	} else {
		n.Pods = AllPods
	}
	if containing(th) {
		n.Pods, n.Highs = AllPods, true
	}
	return n
}

func reliefNeed(d Decision, th Thresholds) Need {
	throttle := throttleDue(d.Verdict, d.Observation)
	if !d.Reclaim && !throttle {
		return Need{}
	}
	return Need{Pods: ReliefPods, Highs: throttle}
}

// throttleDue is the one rule for "one throttle at a time": a throttle
// step is planned only while no pod is throttled; if pressure stays, the
// kill rule decides.
func throttleDue(v Verdict, o Observation) bool { return v.Throttle && len(o.Throttles) == 0 }

// Read is what the daemon read for Choose, as Need asked.
type Read struct {
	Now    time.Time
	Pods   []cgroupv2.Pod    // those of Need.Pods; one that could not be read is left out
	Victim *cgroupv2.Pod     // Need.Victim's pod; nil if it could not be read
	Highs  map[string]uint64 // memory.high by cgroup path, with Need.Highs
}

// Plan is the second phase's outcome: what to do on one decision.
type Plan struct {
	// Wait: a kill waits for the action in flight (Decision.Wait).
	Wait bool
	// Kill is a kill verdict's plan; nil without one.
	Kill *KillPlan
	// Contain is the shielded grower to contain on a kill verdict.
	Contain *ContainPlan
	// Relief are the window's relief steps.
	Relief ReliefPlan
	// WouldRelieve: in dry-run, the relief steps that would be tried.
	WouldRelieve Steps
	// DryRun: nothing is carried out; the plan is said.
	DryRun bool
}

// KillPlan is whom a kill verdict kills, and the figures behind it.
type KillPlan struct {
	Reason   Reason
	Victims  []KillOrder // in order; none: NoVictim says why
	NoVictim NoVictim
	Episode  Episode
}

// KillOrder is one pod to kill, with the cgroup the kill targets and what
// the kill frees.
type KillOrder struct {
	Candidate
	Target Target
	// Frees is what the kill frees: the pod's, or in container mode at
	// most what the container holds.
	Frees uint64
}

// ContainPlan is a shielded grower to contain, with its growth over the
// episode (for the record).
type ContainPlan struct {
	ThrottlePlan
	Growth float64
}

// ReliefPlan is one window's relief steps.
type ReliefPlan struct {
	Reclaim  ReclaimPlan
	Throttle *ThrottlePlan
	Release  []ReleaseStep
}

// Empty says whether there is nothing to do.
func (r ReliefPlan) Empty() bool {
	return len(r.Reclaim.Orders) == 0 && r.Throttle == nil && len(r.Release) == 0
}

// Choose is the second phase: on the pods Decide asked for, it plans what
// to do, and records in the state what the plan starts (a kill starts the
// cooldown, dry-run or not; a throttle resets the strained count).
func Choose(s State, d Decision, in Read, th Thresholds) (State, Plan) {
	p := Plan{Wait: d.Wait, DryRun: th.DryRun}
	v := d.Verdict
	killing := v.Kill && !d.Wait
	// One sample a window while the episode lasts; the pods a kill reads
	// count as one too, if one is due.
	if d.Need.Pods == AllPods && (d.Sample || (killing && v.Reason != ReasonThrottled)) && s.growth.Due(in.Now, th.Window) {
		s.growth = s.growth.Observe(in.Pods, in.Now)
	}
	switch {
	case d.Wait:
	case v.Kill:
		s, p.Kill, p.Contain = s.chooseKill(d, in, th)
	case th.DryRun:
		p.WouldRelieve = Steps{Reclaim: v.Reclaim, Throttle: v.Throttle}
	case d.Observation.Busy:
		// Relief waits for a later window while an action is in flight.
	default:
		p.Relief = s.planRelief(d, in, th)
		if p.Relief.Throttle != nil {
			s = Record(s, Action{Kind: ActThrottle, At: d.Observation.Now, Pod: p.Relief.Throttle.Pod.Path})
		}
	}
	return s, p
}

// chooseKill chooses the victims of a kill verdict, records the kill, and
// plans the containment of a shielded grower (which a kill never takes).
// For a leak under throttle the victim is the throttled pod, if it may be
// killed.
func (s State) chooseKill(d Decision, in Read, th Thresholds) (State, *KillPlan, *ContainPlan) {
	v, o := d.Verdict, d.Observation
	k := &KillPlan{Reason: v.Reason}
	var victims []Candidate
	var ranked []Candidate
	if v.Reason == ReasonThrottled {
		k.Episode = EpisodeOf(v, s.growth, th)
		victims, k.NoVictim = throttledVictim(in.Victim, k.Episode, th)
	} else {
		k.Episode = s.episode(v, o.Throttles, th)
		ranked = Rank(in.Pods, th.Rank, k.Episode)
		victims, k.NoVictim = Victims(ranked, k.Episode, th.Rank)
	}
	for _, c := range victims {
		k.Victims = append(k.Victims, victimOf(c, th))
	}
	s = Record(s, Action{Kind: ActKill, At: in.Now, Pod: v.Victim})
	if !containing(th) {
		return s, k, nil
	}
	if v.Reason == ReasonThrottled {
		// The kill ranked the throttled pod alone; containment ranks them
		// all, in the state the kill left, and they count as a growth
		// sample if one is due.
		if s.growth.Due(in.Now, th.Window) {
			s.growth = s.growth.Observe(in.Pods, in.Now)
		}
		ranked = Rank(in.Pods, th.Rank, s.episode(v, o.Throttles, th))
	}
	shielded := false
	for _, c := range ranked {
		shielded = shielded || c.Shielded
	}
	if !shielded {
		return s, k, nil
	}
	plan, ok := PlanContain(ranked, in.Highs, s.throttleStates(o.Throttles), o.Kubepods, o.Host, th)
	if !ok {
		return s, k, nil
	}
	c := &ContainPlan{ThrottlePlan: plan}
	for _, r := range ranked {
		if r.Pod.Path == plan.Pod.Path {
			c.Growth = r.Growth
		}
	}
	return s, k, c
}

// throttledVictim is the victim of a leak under throttle: the throttled
// pod, ranked alone, if it may be killed. A shielded grower is contained
// instead (NoneGrows); a pod that could not be read or is protected is no
// one's (AllProtected).
func throttledVictim(pod *cgroupv2.Pod, e Episode, th Thresholds) ([]Candidate, NoVictim) {
	if pod == nil {
		return nil, NoVictim{Why: AllProtected}
	}
	ranked := Rank([]cgroupv2.Pod{*pod}, th.Rank, e)
	c, ok := Victim(ranked)
	switch {
	case ok:
		return []Candidate{c}, NoVictim{}
	case len(ranked) == 1 && ranked[0].Shielded:
		return nil, NoVictim{Why: NoneGrows}
	}
	return nil, NoVictim{Why: AllProtected}
}

// victimOf is a chosen candidate with its kill's target and what it frees.
func victimOf(c Candidate, th Thresholds) KillOrder {
	v := KillOrder{Candidate: c, Target: KillTarget(c, th), Frees: c.Frees}
	if v.Target.Container != "" { // container mode: what the container holds, not the pod
		for _, ctr := range c.Pod.Containers {
			if ctr.Path == v.Target.Path {
				v.Frees = min(v.Frees, ctr.Current)
			}
		}
	}
	return v
}

// planRelief plans one window's relief steps: whom to reclaim from, whom
// to throttle (one at a time), how far each throttle is released.
func (s State) planRelief(d Decision, in Read, th Thresholds) ReliefPlan {
	var r ReliefPlan
	v, o := d.Verdict, d.Observation
	throttle := throttleDue(v, o)
	if v.Reclaim || throttle {
		var pods []cgroupv2.Pod
		for _, p := range in.Pods {
			if Relievable(p.QoS) {
				pods = append(pods, p)
			}
		}
		ranked := ReliefCandidates(Rank(pods, th.Rank, s.episode(v, o.Throttles, th)))
		if v.Reclaim {
			r.Reclaim = PlanReclaim(ranked, th)
		}
		if throttle {
			if t, ok := PlanThrottle(ranked, in.Highs, o.Kubepods, o.Host, th); ok {
				r.Throttle = &t
			}
		}
	}
	if v.Release {
		r.Release = PlanRelease(s.throttleStates(o.Throttles), th)
	}
	return r
}

// episode is the Episode of a verdict, with the contained pods that still
// push against their memory.high (Episode.Held).
func (s State) episode(v Verdict, ts []ThrottleState, th Thresholds) Episode {
	e := EpisodeOf(v, s.growth, th)
	for _, t := range ts {
		if t.Contained && s.Holds(t.Path, e.Rates[t.Path]) {
			if e.Held == nil {
				e.Held = map[string]bool{}
			}
			e.Held[t.Path] = true
		}
	}
	return e
}

// throttleStates are the throttles in force with whether each pod still
// pushes against its memory.high (State.Holds).
func (s State) throttleStates(ts []ThrottleState) []ThrottleState {
	out := make([]ThrottleState, len(ts))
	rates := s.growth.Rates()
	for i, t := range ts {
		t.Pushing = s.Holds(t.Path, rates[t.Path])
		out[i] = t
	}
	return out
}

// Looks is when the loop looks again without an event, after a look.
// While pressure builds, or a throttle is in force, it looks again at the
// end of each window (Window: start that timer, unless one runs,
// sampling), so that it sees calm windows too (triggers fire only for
// pressured ones). When unreclaimable memory could reach the limit before
// the next rescan, and no PSI trigger would say so (nothing to reclaim,
// no stall), it looks on its own after Ahead (0: no such look), unless the
// window's look comes first. nextLook is the last verdict's NextLook.
func Looks(s State, triggered, sampling bool, throttles int, nextLook time.Duration, th Thresholds) (window bool, ahead time.Duration) {
	busy := s.Pressured > 0 || s.Strained > 0 || throttles > 0
	window = !sampling && (busy || triggered)
	sampling = sampling || window
	if nextLook > 0 && nextLook < th.Rescan && (!sampling || nextLook < th.Window) {
		ahead = nextLook
	}
	return window, ahead
}
