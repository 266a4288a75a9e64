package relief

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/policy"
)

// Why a throttle was given back: codes, as they appear in the logs.
const (
	LiftPressureCleared = "pressure-cleared" // release reached the ceiling
	LiftPodKilled       = "pod-killed"       // the kubelet restarts its containers: they must run free
	LiftStopping        = "daemon-stopping"  // a clean stop gives every throttle back
	LiftReliefOff       = "relief-off"       // a reload turned the ladder off, or to dry-run
	LiftEarlierRun      = "earlier-run"      // found in the state file at start
	LiftThrottleFailed  = "throttle-failed"  // setting the throttle failed: whatever part took effect goes
)

// StepKind says what one Result reports.
type StepKind string

const (
	StepReclaim  StepKind = "reclaim"  // memory.reclaim from one pod
	StepThrottle StepKind = "throttle" // memory.high lowered on one pod
	StepContain  StepKind = "contain"  // a shielded grower held at or under its usage
	StepRaise    StepKind = "raise"    // a throttle raised one release step
	StepLift     StepKind = "lift"     // the original memory.high given back
	StepForget   StepKind = "forget"   // a throttled pod went away
	StepIgnore   StepKind = "ignore"   // a state-file entry that is not a throttle of ours
)

// Result is one step the Ladder took (or failed to take), for the caller
// to log. The Ladder itself never logs.
type Result struct {
	Kind     StepKind
	Throttle Throttle // the pod, and the throttle as it is after the step
	Why      string   // for StepLift: one of the Lift* codes
	Reclaim  ReclaimResult
	Err      error // the step failed; for a lift, the throttle is kept
}

// LadderConfig is what a Ladder needs.
type LadderConfig struct {
	Layout   cgroupv2.Layout // the kubelet's layout: throttles name pod cgroups from its mount
	Setter   Setter          // FileSetter, or systemd's unit properties
	Store    Store           // the state file
	PageSize uint64          // memory.high is rounded down to it
	Clock    clock.Clock
	// CallTimeout bounds each setter call: PID 1 answers D-Bus slowly
	// under memory pressure. 0 means 5 s.
	CallTimeout time.Duration
}

// Ladder carries out the relief steps that policy plans and owns the
// throttles in force: the setter that writes memory.high, the state file
// that lets a restarted daemon give every limit back, and the throttles
// themselves. It is not safe for concurrent use: the daemon calls it from
// its action worker only.
type Ladder struct {
	cfg       LadderConfig
	throttles map[string]*Throttle // by cgroup path
}

// NewLadder returns a Ladder with no throttles; call Restore next.
func NewLadder(c LadderConfig) *Ladder {
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 5 * time.Second
	}
	return &Ladder{cfg: c, throttles: map[string]*Throttle{}}
}

// Throttles returns the throttles in force, by path.
func (l *Ladder) Throttles() []Throttle {
	out := make([]Throttle, 0, len(l.throttles))
	for _, p := range slices.Sorted(maps.Keys(l.throttles)) {
		out = append(out, *l.throttles[p])
	}
	return out
}

// Restore takes over the throttles that an earlier run of the daemon left
// in the state file (it crashed, or was killed) and gives each one back.
// The file is not trusted: an entry that does not name a pod cgroup of the
// layout, or whose cgroup has another ID than the one throttled (the path
// was reused), is ignored and reported. A pod that is gone needs nothing.
// One that cannot be given back now stays a throttle in force, and in the
// file, for release to retry.
func (l *Ladder) Restore(ctx context.Context) ([]Result, error) {
	ts, err := l.cfg.Store.Load()
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range ts {
		t := t
		if r, ours := leftover(l.cfg.Layout, t); !ours {
			out = append(out, r)
			continue
		}
		l.throttles[t.Cgroup] = &t
		r, _ := l.Lift(ctx, t.Cgroup, LiftEarlierRun)
		out = append(out, r)
	}
	return out, l.save()
}

// leftover checks a throttle that an earlier run left in the state file,
// which is not trusted: ours is true when it names a pod cgroup of layout
// that is still the cgroup throttled (its ID, when recorded). Else r says
// why not: StepIgnore (not a pod cgroup, or the path was reused) or
// StepForget (the pod is gone, and its limit with it).
func leftover(layout cgroupv2.Layout, t Throttle) (r Result, ours bool) {
	if _, ok := layout.PodOf(t.Cgroup); !ok {
		return Result{Kind: StepIgnore, Throttle: t,
			Err: fmt.Errorf("%q is not a pod cgroup under %s: not touched", t.Cgroup, layout.Kubepods)}, false
	}
	id, err := cgroupv2.Same(layout.Abs(t.Cgroup), t.ID)
	switch {
	case errors.Is(err, cgroupv2.ErrGone):
		return Result{Kind: StepForget, Throttle: t}, false
	case errors.Is(err, cgroupv2.ErrReplaced) && t.ID != 0:
		return Result{Kind: StepIgnore, Throttle: t,
			Err: fmt.Errorf("%s is another cgroup now (ID %d, throttled %d): its memory.high is not ours, not touched", t.Cgroup, id, t.ID)}, false
	}
	return Result{}, true
}

// GiveBackDirect gives back each throttle that an earlier run left in
// store, by writing its original memory.high to the file directly
// (FileSetter), with the same checks as Restore. It is for a start that
// has no config yet, nor a D-Bus connection: whatever follows (a config
// that does not parse, say), no pod stays throttled by a crashed run.
//
// An entry whose pod is gone leaves the store, and so does one given back
// on the cgroupfs driver, where the file is all there is. On the systemd
// driver one given back stays, for Restore to give the unit's MemoryHigh
// back over D-Bus once the daemon has its setter: the direct write alone
// would be undone by a daemon-reload. An entry that fails the checks stays
// too (layout is a guess before the config is read; Restore checks it
// again against the config's), and so does one that could not be given
// back. An error is about the store itself, as for Restore.
func GiveBackDirect(ctx context.Context, layout cgroupv2.Layout, store Store) ([]Result, error) {
	ts, err := store.Load()
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	setter := FileSetter{Mount: layout.Mount}
	var out []Result
	var kept []Throttle
	for _, t := range ts {
		r, ours := leftover(layout, t)
		if ours {
			r = Result{Kind: StepLift, Throttle: t, Why: LiftEarlierRun}
			if err := setter.SetHigh(ctx, t.Cgroup, t.Original); err != nil && !errors.Is(err, cgroupv2.ErrGone) {
				r.Err = err
			}
		}
		out = append(out, r)
		if (r.Kind == StepLift && layout.Driver == cgroupv2.DriverSystemd) || r.Kind == StepIgnore || r.Err != nil {
			kept = append(kept, t)
		}
	}
	if len(kept) == len(ts) {
		return out, nil
	}
	if err := store.Save(kept); err != nil {
		return out, fmt.Errorf("save the throttles to %s: %w", store.Path, err)
	}
	return out, nil
}

// Reclaim asks the kernel to reclaim page cache from the pods of the plan,
// in order, a chunk at a time, until enough says kubepods has room or the
// plan's budget is spent.
func (l *Ladder) Reclaim(ctx context.Context, p policy.ReclaimPlan, enough func() bool) ([]Result, error) {
	budget := p.Budget
	var out []Result
	for i, o := range p.Orders {
		// The plan was made on a fresh reading: re-measure only once
		// something was reclaimed.
		if budget < p.Chunk || ctx.Err() != nil || (i > 0 && enough()) {
			break
		}
		r, err := Reclaim(ctx, l.abs(o.Pod.Path), p.Chunk, min(budget, o.Max), func() bool { return !enough() })
		switch {
		case errors.Is(err, ErrNoReclaim):
			return out, err
		case errors.Is(err, cgroupv2.ErrGone):
			continue
		}
		budget -= min(budget, r.Asked)
		out = append(out, Result{Kind: StepReclaim, Throttle: podOf(o.Pod), Reclaim: r, Err: err})
	}
	return out, nil
}

// Throttle lowers the planned pod's memory.high. The throttle is written to
// the state file first: if that fails, nothing is throttled, since a crash
// would then leave a limit nobody gives back.
func (l *Ladder) Throttle(ctx context.Context, p policy.ThrottlePlan) Result {
	t := podOf(p.Pod)
	t.ID = p.Pod.ID
	t.Original, t.Set, t.Current, t.Ceiling, t.Since = p.Original, p.Value, p.Value, p.Ceiling, l.cfg.Clock.Now()
	l.throttles[t.Cgroup] = &t
	if err := l.save(); err != nil {
		delete(l.throttles, t.Cgroup)
		return Result{Kind: StepThrottle, Throttle: t, Err: fmt.Errorf("not throttled: the state file that lets a restart give the limit back cannot be written: %w", err)}
	}
	if err := l.setHigh(ctx, t.Cgroup, p.Value); err != nil {
		// Give back whatever part of it took effect.
		if r, _ := l.Lift(ctx, t.Cgroup, LiftThrottleFailed); r.Err != nil {
			err = errors.Join(err, r.Err)
		}
		return Result{Kind: StepThrottle, Throttle: t, Err: err}
	}
	return Result{Kind: StepThrottle, Throttle: t}
}

// Contain holds a shielded grower (policy.PlanContain) at the planned
// memory.high and marks its throttle contained. A pod already throttled
// keeps its throttle's original and ceiling; its memory.high is only ever
// lowered. A new one is recorded before memory.high is lowered, as
// Throttle does.
func (l *Ladder) Contain(ctx context.Context, p policy.ThrottlePlan) Result {
	t, ok := l.throttles[p.Pod.Path]
	if !ok {
		r := l.Throttle(ctx, p)
		r.Kind = StepContain
		if r.Err == nil {
			l.throttles[p.Pod.Path].Contained = true
			r.Throttle.Contained = true
			r.Err = l.save()
		}
		return r
	}
	was := *t
	t.Contained = true
	if p.Value < t.Current {
		t.Set, t.Current = p.Value, p.Value
	}
	if err := l.save(); err != nil {
		*t = was
		return Result{Kind: StepContain, Throttle: was, Err: fmt.Errorf("not contained: the state file that lets a restart give the limit back cannot be written: %w", err)}
	}
	if t.Current < was.Current {
		if err := l.setHigh(ctx, t.Cgroup, t.Current); err != nil {
			// The throttle as it was stays in force (setHigh fails before
			// the value changes, or the kernel holds the lower one: either
			// is a limit the state file covers).
			*t = was
			return Result{Kind: StepContain, Throttle: was, Err: errors.Join(err, l.save())}
		}
	}
	return Result{Kind: StepContain, Throttle: *t}
}

// Release carries out release steps: each throttle rises to its next
// value, or, when done, its original memory.high comes back.
func (l *Ladder) Release(ctx context.Context, steps []policy.ReleaseStep) []Result {
	var out []Result
	for _, s := range steps {
		t, ok := l.throttles[s.Path]
		if !ok {
			continue
		}
		if s.Done {
			r, _ := l.Lift(ctx, s.Path, LiftPressureCleared)
			out = append(out, r)
			continue
		}
		if err := l.setHigh(ctx, s.Path, s.Next); err != nil {
			out = append(out, Result{Kind: StepRaise, Throttle: *t, Err: err})
			continue
		}
		t.Current = s.Next
		out = append(out, Result{Kind: StepRaise, Throttle: *t, Err: l.save()})
	}
	return out
}

// Lift gives a throttled pod its original memory.high back. ok is false
// when the pod was not throttled. On failure the throttle stays in force,
// and in the state file, so that release or the next start retries it.
func (l *Ladder) Lift(ctx context.Context, path, why string) (r Result, ok bool) {
	t, ok := l.throttles[path]
	if !ok {
		return Result{}, false
	}
	r = Result{Kind: StepLift, Throttle: *t, Why: why}
	err := l.setHigh(ctx, path, t.Original)
	if err != nil && !errors.Is(err, cgroupv2.ErrGone) {
		r.Err = err
		return r, true
	}
	delete(l.throttles, path)
	r.Err = l.save()
	return r, true
}

// LiftAll gives every throttle back, in path order.
func (l *Ladder) LiftAll(ctx context.Context, why string) []Result {
	var out []Result
	for _, p := range slices.Sorted(maps.Keys(l.throttles)) {
		r, _ := l.Lift(ctx, p, why)
		out = append(out, r)
	}
	return out
}

// Forget drops the throttle of a pod that went away: its cgroup, and the
// limit with it, are gone.
func (l *Ladder) Forget(path string) (Result, bool) {
	t, ok := l.throttles[path]
	if !ok {
		return Result{}, false
	}
	delete(l.throttles, path)
	return Result{Kind: StepForget, Throttle: *t, Err: l.save()}, true
}

// setHigh sets memory.high within the call deadline and checks that it is
// in force: systemd may apply a unit property a moment later, so the check
// is retried a few times.
func (l *Ladder) setHigh(ctx context.Context, path string, value uint64) error {
	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	if err := l.cfg.Setter.SetHigh(cctx, path, value); err != nil {
		return err
	}
	var err error
	for range verifyTries {
		if err = Verify(l.abs(path), value, l.cfg.PageSize); err == nil || errors.Is(err, cgroupv2.ErrGone) {
			return err
		}
		t := l.cfg.Clock.NewTimer(verifyWait)
		select {
		case <-cctx.Done():
			t.Stop()
			return errors.Join(err, cctx.Err())
		case <-t.C():
		}
	}
	return err
}

// A value set through systemd is checked verifyTries times, verifyWait apart.
const (
	verifyTries = 10
	verifyWait  = 20 * time.Millisecond
)

func (l *Ladder) save() error {
	ts := l.Throttles()
	slices.SortFunc(ts, func(a, b Throttle) int { return cmp.Compare(a.Cgroup, b.Cgroup) })
	if err := l.cfg.Store.Save(ts); err != nil {
		return fmt.Errorf("save the throttles to %s: %w", l.cfg.Store.Path, err)
	}
	return nil
}

func (l *Ladder) abs(path string) string { return filepath.Join(l.cfg.Layout.Mount, path) }

// podOf is a Throttle naming the pod, with no values yet.
func podOf(p *cgroupv2.Pod) Throttle {
	return Throttle{Cgroup: p.Path, UID: p.UID, QoS: p.QoS.String()}
}
