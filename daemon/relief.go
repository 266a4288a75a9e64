package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// relieve plans the relief steps of one verdict with policy and hands them
// to the worker, which carries them out through the ladder.
func (d *Daemon) relieve(v policy.Verdict, o policy.Observation) {
	if !v.Reclaim && !v.Throttle && !v.Release {
		return
	}
	var reclaim policy.ReclaimPlan
	var throttle policy.ThrottlePlan
	var throttling bool
	if v.Reclaim || (v.Throttle && len(d.throttles) == 0) {
		ranked := d.reliefCandidates(v)
		if v.Reclaim {
			reclaim = policy.PlanReclaim(ranked, d.th)
		}
		if v.Throttle {
			throttle, throttling = policy.PlanThrottle(ranked, d.readHighs(policy.ReliefCandidates(ranked)), len(d.throttles), o.Kubepods, o.Host, d.th)
		}
	}
	var release []policy.ReleaseStep
	if v.Release {
		release = policy.PlanRelease(d.throttleStates(), d.th)
	}
	if len(reclaim.Orders) == 0 && !throttling && len(release) == 0 {
		return
	}
	if throttling {
		d.state = policy.Record(d.state, policy.Action{Kind: policy.ActThrottle, At: o.Now, Pod: throttle.Pod.Path})
	}
	ladder, th, reader := d.ladder, d.th, cgroupv2.NewReader(d.layout, d.opt.ProcRoot)
	procRoot := d.opt.ProcRoot
	d.actions.submit(job{name: "relief", interruptible: true, run: func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// After each reclaim chunk: is there room now? (A failed read
		// stops the reclaim.)
		enough := func() bool {
			g, _, err := reader.ReadKubepods()
			if err != nil {
				return true
			}
			host, err := procfs.ReadMeminfo(procRoot)
			return err != nil || policy.ReclaimEnough(g, host, th)
		}
		var results []relief.Result
		var reclaimErr error
		if len(reclaim.Orders) > 0 {
			results, reclaimErr = ladder.Reclaim(ctx, reclaim, enough)
		}
		// Interrupted (a kill is due): the steps not begun are left for a
		// later window.
		if throttling && ctx.Err() == nil {
			results = append(results, ladder.Throttle(ctx, throttle))
		}
		if ctx.Err() == nil {
			results = append(results, ladder.Release(ctx, release)...)
		}
		throttles := ladder.Throttles()
		return func() {
			if errors.Is(reclaimErr, relief.ErrNoReclaim) {
				d.th.Reclaim = false
				d.log.Warn("proactive reclaim is not available on this kernel: skipping that step", vocab.Error, reclaimErr)
			}
			d.logLadder(results, vocab.Strained, v.Strained, vocab.Stall, round(v.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
			d.setThrottles(throttles)
		}
	}}, o.Now)
}

// reliefCandidates reads the BestEffort and Burstable pods and ranks them
// in the verdict's episode (their growth decides who is throttled):
// relief never touches Guaranteed or protected pods.
func (d *Daemon) reliefCandidates(v policy.Verdict) []policy.Candidate {
	var refs []cgroupv2.PodRef
	for _, r := range d.pods.refs() {
		if r.QoS != cgroupv2.Guaranteed {
			refs = append(refs, r)
		}
	}
	return policy.ReliefCandidates(policy.Rank(d.readPods(refs), d.th.Rank, d.episode(v)))
}

// contain holds the shielded grower of a kill verdict, if there is one
// (policy.PlanContain): a pod whose growing processes a kill spares, held
// at a memory.high at or under its usage, through the ladder on the
// worker. It is never killed, and its neighbours are not killed for it
// (policy.Victims); in dry-run it is only logged.
func (d *Daemon) contain(v policy.Verdict, o policy.Observation) {
	if !d.th.Throttle || d.th.ReliefStall == 0 {
		return
	}
	ranked, _ := d.readCandidates(v)
	var shielded []policy.Candidate
	for _, c := range ranked {
		if c.Shielded {
			shielded = append(shielded, c)
		}
	}
	if len(shielded) == 0 {
		return
	}
	plan, ok := policy.PlanContain(ranked, d.readHighs(shielded), d.throttleStates(), o.Kubepods, o.Host, d.th)
	if !ok {
		return
	}
	if d.cfg.Kill.Mode == config.ModeDryRun {
		d.log.Warn("dry run: would contain a pod that spares its growing processes", d.pod(plan.Pod.UID, plan.Pod.QoS.String(), plan.Pod.Path),
			vocab.Reason, reasonContained, vocab.HighBytes, plan.Value, vocab.PodCurrent, plan.Pod.Current)
		return
	}
	ladder := d.ladder
	d.actions.submit(job{name: "contain " + plan.Pod.UID, run: func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res := ladder.Contain(ctx, plan)
		throttles := ladder.Throttles()
		return func() {
			d.logLadder([]relief.Result{res}, vocab.PodCurrent, plan.Pod.Current,
				vocab.PodGrowth, int64(d.growthOf(ranked, plan.Pod.Path)), vocab.Shed, v.Need,
				vocab.Pressured, v.Pressured, vocab.Stall, round(v.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
			d.setThrottles(throttles)
		}
	}}, o.Now)
}

func (d *Daemon) growthOf(ranked []policy.Candidate, path string) float64 {
	for _, c := range ranked {
		if c.Pod.Path == path {
			return c.Growth
		}
	}
	return 0
}

// contained returns the contained pods, by path (policy.Observation.Contained).
func (d *Daemon) contained() map[string]bool {
	var out map[string]bool
	for _, t := range d.throttles {
		if t.Contained {
			if out == nil {
				out = map[string]bool{}
			}
			out[t.Cgroup] = true
		}
	}
	return out
}

// forgetThrottle drops the throttle of a pod that went away, on the worker.
func (d *Daemon) forgetThrottle(r cgroupv2.PodRef) {
	if !d.throttled(r.Path) {
		return
	}
	ladder := d.ladder
	d.actions.submit(job{name: "forget", run: func(context.Context) func() {
		res, _ := ladder.Forget(r.Path)
		throttles := ladder.Throttles()
		return func() {
			d.logLadder([]relief.Result{res})
			d.setThrottles(throttles)
		}
	}}, d.clock.Now())
}

// liftAll gives back every throttle, on the worker.
func (d *Daemon) liftAll(why string) {
	if len(d.throttles) == 0 {
		return
	}
	ladder := d.ladder
	d.actions.submit(job{name: "lift", run: func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		results := ladder.LiftAll(ctx, why)
		throttles := ladder.Throttles()
		return func() {
			d.logLadder(results)
			d.setThrottles(throttles)
		}
	}}, d.clock.Now())
}

// setThrottles records the throttles in force, as the ladder reported them.
func (d *Daemon) setThrottles(ts []relief.Throttle) {
	d.throttles = ts
	d.metrics.ThrottlesInForce(len(ts))
	d.metrics.ContainedInForce(len(d.contained()))
}

func (d *Daemon) throttled(path string) bool {
	for _, t := range d.throttles {
		if t.Cgroup == path {
			return true
		}
	}
	return false
}

// throttleStates are the throttles in force as policy sees them, with
// whether each pod still pushes against its memory.high (State.Holds).
func (d *Daemon) throttleStates() []policy.ThrottleState {
	out := make([]policy.ThrottleState, len(d.throttles))
	rates := d.growth.Rates()
	for i, t := range d.throttles {
		out[i] = policy.ThrottleState{Path: t.Cgroup, Set: t.Set, Current: t.Current, Ceiling: t.Ceiling,
			Contained: t.Contained, Pushing: d.state.Holds(t.Cgroup, rates[t.Cgroup])}
	}
	return out
}

// logLadder logs what the ladder did, one record per step, with extra
// attributes (the figures behind the verdict) on each.
func (d *Daemon) logLadder(results []relief.Result, extra ...any) {
	for _, r := range results {
		t := r.Throttle
		pod := d.pod(t.UID, t.QoS, t.Cgroup)
		switch r.Kind {
		case relief.StepReclaim:
			if r.Err != nil {
				d.log.Error("reclaim failed", pod, vocab.Error, r.Err)
				continue
			}
			d.log.Info("reclaimed page cache", append([]any{pod, vocab.Reason, reasonReclaim,
				vocab.Asked, r.Reclaim.Asked, vocab.Freed, r.Reclaim.Freed, vocab.Chunks, r.Reclaim.Chunks, vocab.Partial, r.Reclaim.Partial,
				vocab.Interrupted, r.Reclaim.Interrupted}, extra...)...)
			d.metrics.Reclaimed(r.Reclaim.Freed)
		case relief.StepThrottle:
			if r.Err != nil {
				d.log.Error("cannot throttle", pod, vocab.Error, r.Err)
				continue
			}
			d.log.Warn("throttled pod", append([]any{pod, vocab.Reason, reasonThrottle,
				vocab.HighBytes, t.Set, vocab.Original, cgroupv2.FormatLimit(t.Original), vocab.Ceiling, t.Ceiling, vocab.Via, d.via}, extra...)...)
			d.metrics.Throttled()
			d.last = "throttled " + t.UID
		case relief.StepContain:
			if r.Err != nil {
				d.log.Error("cannot contain a pod that spares its growing processes: the kernel will kill its neighbours", pod, vocab.Reason, reasonContained, vocab.Error, r.Err)
				continue
			}
			d.log.Warn("contained a pod that spares its growing processes (oom_score_adj -1000): held at its memory.high, never killed",
				append([]any{pod, vocab.Reason, reasonContained, vocab.HighBytes, t.Current, vocab.Original, cgroupv2.FormatLimit(t.Original),
					vocab.Ceiling, t.Ceiling, vocab.Via, d.via}, extra...)...)
			d.metrics.Contained()
			d.last = "contained " + t.UID
		case relief.StepRaise:
			if r.Err != nil {
				d.log.Error("cannot raise a throttle", pod, vocab.Error, r.Err)
				continue
			}
			d.log.Info("raised throttle", pod, vocab.HighBytes, t.Current)
		case relief.StepLift:
			if r.Err != nil {
				d.log.Error("cannot restore memory.high: the throttle stays in force and is retried", pod, vocab.Reason, r.Why,
					vocab.MemoryHigh, cgroupv2.FormatLimit(t.Original), vocab.Error, r.Err)
				d.metrics.ThrottleReleaseFailed()
				continue
			}
			msg := "throttle released"
			if r.Why == relief.LiftEarlierRun {
				msg = "restored memory.high set by an earlier run"
			}
			d.log.Info(msg, pod, vocab.Reason, r.Why, vocab.MemoryHigh, cgroupv2.FormatLimit(t.Original),
				vocab.WasBytes, t.Current, vocab.SetBytes, t.Set, vocab.ThrottledFor, d.clock.Now().Sub(t.Since).Round(time.Millisecond).String())
		case relief.StepIgnore:
			d.log.Warn("ignored an entry of the throttle state file", pod, vocab.Reason, reasonUntrusted, vocab.Error, r.Err)
		case relief.StepForget:
			if r.Err != nil {
				d.log.Error("cannot save the throttle state", pod, vocab.Error, r.Err)
			}
			d.log.Info("throttled pod is gone: nothing to give back", pod)
		}
	}
}
