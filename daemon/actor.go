package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// The actor owns everything that acts: the worker, which runs one action
// at a time off the loop, each with a deadline; the killer's settings and
// its records of frozen cgroups and lowered limits; the relief ladder and
// the D-Bus unit setter behind it. It takes what policy planned and hands
// it to the worker as a job; a job touches nothing of the loop's, and
// when it is done the worker sends back a typed report (KillReport,
// ReliefReport, PutBackReport), which the loop folds into its state and
// hands to the recorder. So the loop never waits on an action.
type actor struct {
	*worker
	clock     clock.Clock
	procRoot  string
	runDir    string
	layout    cgroupv2.Layout
	features  cgroupv2.Features
	ladder    *relief.Ladder    // used on the worker only, and after it stopped
	units     *systemd.Units    // the D-Bus connection behind the ladder, if any
	via       string            // how memory.high is set: "systemd" or "file"
	throttles []relief.Throttle // in force, as the ladder last reported
}

// A report is what a job hands back to the loop: a KillReport, a
// ReliefReport or a PutBackReport.
type report interface{ action() string }

// KillReport is how a kill job went: each victim's kill, in order, the
// throttles the kills lifted (a killed pod's throttle must not outlive
// it), and the throttles in force after.
type KillReport struct {
	Kills     []KillOutcome
	Lifted    []relief.Result
	Throttles []relief.Throttle
	Via       string
}

// KillOutcome is one victim's kill: what was planned, and how it went.
type KillOutcome struct {
	pendingKill
	Result killer.Result
	Err    error
}

// ReliefReport is how a job of the ladder went: relief steps, a
// containment, a throttle forgotten or given back.
type ReliefReport struct {
	Results    []relief.Result
	ReclaimErr error // relief.ErrNoReclaim: the kernel has no memory.reclaim
	Throttles  []relief.Throttle
	Via        string
	// figures are the figures behind the steps, for their records; nil
	// for a throttle forgotten or given back.
	figures *reliefFigures
}

// reliefFigures are the decision a relief step or a containment was
// planned on.
type reliefFigures struct {
	dec     policy.Decision
	contain *policy.ContainPlan // a containment's
}

// PutBackReport is how the retry of what a kill could not undo went: the
// memory.max put back, the cgroups thawed, from their records' files.
type PutBackReport struct {
	Limits, Frozen string
	Restored       []killer.RestoreResult
	RestoreErr     error
	Thawed         []killer.ThawResult
	ThawErr        error
}

func (KillReport) action() string    { return "kill" }
func (ReliefReport) action() string  { return "relief" }
func (PutBackReport) action() string { return "put back" }

// A job is one action run off the loop: a kill, a window's relief steps,
// a throttle given back. run does the work, with its own deadline, and
// returns its report.
type job struct {
	name string // for status: "kill", "relief", "lift"
	run  func(ctx context.Context) report
	// interruptible: a kill that falls due ends the job's context (see
	// worker.interrupt); the job stops where it is and reports.
	interruptible bool
}

// worker runs jobs one at a time on a goroutine of its own. Its queue and
// in-flight record belong to the loop.
type worker struct {
	jobs    chan job    // to the worker; holds the one job started
	reports chan report // from the worker; holds the one report pending

	queue   []job
	running *ActionStatus
	wg      sync.WaitGroup

	mu     sync.Mutex
	cancel context.CancelFunc // ends the interruptible job in flight; nil if none
}

func newWorker() *worker {
	return &worker{jobs: make(chan job, 1), reports: make(chan report, 1)}
}

// start runs the worker until stop.
func (a *worker) start(ctx context.Context) {
	a.wg.Go(func() {
		for j := range a.jobs {
			jctx, cancel := context.WithCancel(ctx)
			if j.interruptible {
				a.mu.Lock()
				a.cancel = cancel
				a.mu.Unlock()
			}
			r := j.run(jctx)
			a.mu.Lock()
			a.cancel = nil
			a.mu.Unlock()
			cancel()
			a.reports <- r
		}
	})
}

// stop waits for the job in flight to finish and ends the worker. Its
// report, if any, is dropped: the loop has stopped.
func (a *worker) stop() {
	close(a.jobs)
	go func() {
		for range a.reports { // keep the worker from blocking on its last report
		}
	}()
	a.wg.Wait()
	close(a.reports)
}

// submit starts j now, or queues it behind the job in flight.
func (a *worker) submit(j job, now time.Time) {
	if a.running != nil {
		a.queue = append(a.queue, j)
		return
	}
	a.running = &ActionStatus{Name: j.name, Since: now}
	a.jobs <- j
}

// finished records that the job in flight reported, and starts the next.
func (a *worker) finished(now time.Time) {
	a.running = nil
	if len(a.queue) > 0 {
		j := a.queue[0]
		a.queue = a.queue[1:]
		a.submit(j, now)
	}
}

// interrupt ends the context of the job in flight if it is interruptible
// (relief): a kill is due, and must not wait for it.
func (a *worker) interrupt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

// busy says whether a job is in flight or queued: no new decision acts
// while one is.
func (a *worker) busy() bool { return a.running != nil || len(a.queue) > 0 }

// acting is the name of the action in flight, or "".
func (a *worker) acting() string {
	if a == nil || a.running == nil {
		return ""
	}
	return a.running.Name
}

// kill runs the prepared kills on the worker, one after the other in one
// job, each within timeout (kill.timeout) and the wait of kill.method oom.
func (a *actor) kill(kills []pendingKill, timeout time.Duration, now time.Time) {
	kl := a.killer(timeout)
	ladder, via := a.ladder, a.via
	name := "kill " + kills[0].record.Who()
	if len(kills) > 1 {
		name = fmt.Sprintf("kill %s and %d more", kills[0].record.Who(), len(kills)-1)
	}
	a.submit(job{name: name, run: func(ctx context.Context) report {
		r := KillReport{Via: via}
		for _, k := range kills {
			kctx, cancel := context.WithTimeout(ctx, kl.Timeout+killer.OOMWait+5*time.Second)
			res, err := kl.Kill(kctx, k.target)
			if err == nil || errors.Is(err, killer.ErrNotConfirmed) {
				// The kubelet restarts the pod's containers in the same
				// cgroup: a throttle on it must not outlive the kill.
				if l, ok := ladder.Lift(kctx, k.pod.Path, relief.LiftPodKilled); ok {
					r.Lifted = append(r.Lifted, l)
				}
			}
			cancel()
			r.Kills = append(r.Kills, KillOutcome{pendingKill: k, Result: res, Err: err})
		}
		r.Throttles = ladder.Throttles()
		return r
	}}, now)
}

// target is what the killer needs of one victim: its cgroup and the ID
// that cgroup must still have, the last check right before the kill (vet),
// and with kill.method oom the containers whose memory.max it lowers. An
// error: the container to kill is gone or changed since it was read.
func (a *actor) target(victim policy.KillOrder, protect []string, oom bool) (killer.Target, error) {
	id := victim.Pod.ID
	if victim.Target.Container != "" {
		var err error
		if id, err = cgroupv2.ID(a.layout.Abs(victim.Target.Path)); err != nil {
			return killer.Target{}, err
		}
	}
	t := killer.Target{Cgroup: a.layout.Abs(victim.Target.Path), ID: id, Vet: a.vet(victim.Pod, protect)}
	if oom {
		t.OOM = a.oomContainers(*victim.Pod, victim.Target)
	}
	return t, nil
}

// oomContainers are the cgroups whose memory.max a kill with kill.method
// oom lowers: the target container in container mode; in pod mode, every
// app container of the pod (never the sandbox, nor a runtime helper such
// as conmon). A container gone since the pod was read is left out.
func (a *actor) oomContainers(p cgroupv2.Pod, target policy.Target) []killer.Container {
	var out []killer.Container
	for _, c := range p.Containers {
		if !c.App() || (target.Container != "" && c.Path != target.Path) {
			continue
		}
		dir := a.layout.Abs(c.Path)
		if id, err := cgroupv2.ID(dir); err == nil {
			out = append(out, killer.Container{Cgroup: dir, ID: id})
		}
	}
	return out
}

// killer is the killer in force: the config's timeout, the kernel's
// features, and the records of frozen cgroups and lowered limits that a
// restart thaws and puts back.
func (a *actor) killer(timeout time.Duration) killer.Killer {
	return killer.Killer{Timeout: timeout, Features: a.features, Clock: a.clock,
		ProcRoot: a.procRoot, Mount: a.layout.Mount, FreezeLog: freezeLog(a.runDir, a.layout), Limits: limitLog(a.runDir, a.layout)}
}

// freezeLog and limitLog are the records of frozen cgroups and lowered
// limits; layout, the kubelet's, is what their entries are checked
// against before any is undone (an entry that names no pod or container
// of it is dropped, never written to).
func freezeLog(runDir string, layout cgroupv2.Layout) *killer.FreezeLog {
	return &killer.FreezeLog{Path: filepath.Join(runDir, rundir.Frozen), Layout: layout}
}

func limitLog(runDir string, layout cgroupv2.Layout) *killer.LimitLog {
	return &killer.LimitLog{Path: filepath.Join(runDir, rundir.Limits), Layout: layout}
}

// vet returns the check the killer makes right before the kill, with every
// pidfd open: the pod is read again, every process of its subtree with it,
// and must still be one kube-oomd may kill. So the kill never reaches a
// process that was not vetted (one that lowered its oom_score_adj, or
// appeared in a nested cgroup, since the victim was chosen). It returns the
// processes the kill must spare (policy.Spared): those at -1000, and then
// the sandbox.
func (a *actor) vet(p *cgroupv2.Pod, protect []string) func() ([]int, error) {
	ref := p.Ref()
	reader := cgroupv2.NewReader(a.layout, a.procRoot)
	return func() ([]int, error) {
		now, err := reader.ReadPod(ref)
		if err != nil {
			return nil, fmt.Errorf("read the victim again: %w", err)
		}
		if why := policy.Protection(now, protect); why != "" {
			return nil, fmt.Errorf("the victim is protected now: %s", why)
		}
		spared, _ := policy.Spared(now)
		return spared, nil
	}
}

// putBack retries, on the worker, what a kill of this run could not undo
// and left in its records: a memory.max not put back, a cgroup not
// thawed. Not while an action is in flight or queued (a kill's records
// name what it has lowered or frozen for now): the next rescan tries
// again.
func (a *actor) putBack(now time.Time) {
	limits, frozen := limitLog(a.runDir, a.layout), freezeLog(a.runDir, a.layout)
	if a.busy() || (!recorded(limits.Path) && !recorded(frozen.Path)) {
		return
	}
	a.submit(job{name: "put back", run: func(context.Context) report {
		r := PutBackReport{Limits: limits.Path, Frozen: frozen.Path}
		r.Restored, r.RestoreErr = limits.RestoreLeftovers()
		r.Thawed, r.ThawErr = frozen.ThawLeftovers()
		return r
	}}, now)
}

// recorded says whether a record file is there.
func recorded(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// relieve carries out one window's relief steps through the ladder, on the
// worker; enough says, after each reclaim chunk, whether there is room
// now. A kill that falls due interrupts it: the steps not begun are left
// for a later window.
func (a *actor) relieve(r policy.ReliefPlan, enough func() bool, f *reliefFigures, now time.Time) {
	ladder, via := a.ladder, a.via
	a.submit(job{name: "relief", interruptible: true, run: func(ctx context.Context) report {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rep := ReliefReport{Via: via, figures: f}
		if len(r.Reclaim.Orders) > 0 {
			rep.Results, rep.ReclaimErr = ladder.Reclaim(ctx, r.Reclaim, enough)
		}
		if r.Throttle != nil && ctx.Err() == nil {
			rep.Results = append(rep.Results, ladder.Throttle(ctx, *r.Throttle))
		}
		if ctx.Err() == nil {
			rep.Results = append(rep.Results, ladder.Release(ctx, r.Release)...)
		}
		rep.Throttles = ladder.Throttles()
		return rep
	}}, now)
}

// contain holds a shielded grower at its memory.high through the ladder,
// on the worker. It is not interrupted.
func (a *actor) contain(f *reliefFigures, now time.Time) {
	ladder, via, plan := a.ladder, a.via, f.contain.ThrottlePlan
	a.submit(job{name: "contain " + plan.Pod.UID, run: func(ctx context.Context) report {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res := ladder.Contain(ctx, plan)
		return ReliefReport{Results: []relief.Result{res}, Throttles: ladder.Throttles(), Via: via, figures: f}
	}}, now)
}

// forget drops the throttle of a pod that went away, on the worker.
func (a *actor) forget(path string, now time.Time) {
	if !a.throttled(path) {
		return
	}
	ladder, via := a.ladder, a.via
	a.submit(job{name: "forget", run: func(context.Context) report {
		res, _ := ladder.Forget(path)
		return ReliefReport{Results: []relief.Result{res}, Throttles: ladder.Throttles(), Via: via}
	}}, now)
}

// liftAll gives back every throttle, on the worker.
func (a *actor) liftAll(why string, now time.Time) {
	if len(a.throttles) == 0 {
		return
	}
	ladder, via := a.ladder, a.via
	a.submit(job{name: "lift", run: func(ctx context.Context) report {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return ReliefReport{Results: ladder.LiftAll(ctx, why), Throttles: ladder.Throttles(), Via: via}
	}}, now)
}

// stop ends the worker, then gives back every throttle and closes the
// D-Bus connection: on a clean stop no pod stays throttled because
// kube-oomd went away. It returns what the ladder did, for the record.
func (a *actor) stop() []relief.Result {
	a.worker.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results := a.ladder.LiftAll(ctx, relief.LiftStopping)
	if a.units != nil {
		a.units.Close()
	}
	return results
}

// contained returns the contained pods, by path (policy.Observation.Contained).
func (a *actor) contained() map[string]bool {
	var out map[string]bool
	for _, t := range a.throttles {
		if t.Contained {
			if out == nil {
				out = map[string]bool{}
			}
			out[t.Cgroup] = true
		}
	}
	return out
}

func (a *actor) throttled(path string) bool {
	for _, t := range a.throttles {
		if t.Cgroup == path {
			return true
		}
	}
	return false
}

// throttleStates are the throttles in force as policy sees them
// (policy.Observation.Throttles).
func (a *actor) throttleStates() []policy.ThrottleState {
	out := make([]policy.ThrottleState, len(a.throttles))
	for i, t := range a.throttles {
		out[i] = policy.ThrottleState{Path: t.Cgroup, Set: t.Set, Current: t.Current, Ceiling: t.Ceiling, Contained: t.Contained}
	}
	return out
}
