package daemon

import (
	"errors"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// relieve hands the relief steps policy planned (policy.Choose) to the
// actor, which carries them out through the ladder on the worker.
func (d *Daemon) relieve(r policy.ReliefPlan, dec policy.Decision) {
	th, reader, procRoot := d.th, cgroupv2.NewReader(d.layout, d.opt.ProcRoot), d.opt.ProcRoot
	// After each reclaim chunk: is there room now? (A failed read stops
	// the reclaim.)
	enough := func() bool {
		g, _, err := reader.ReadKubepods()
		if err != nil {
			return true
		}
		host, err := procfs.ReadMeminfo(procRoot)
		return err != nil || policy.ReclaimEnough(g, host, th)
	}
	d.act.relieve(r, enough, &reliefFigures{dec: dec}, dec.Observation.Now)
}

// contain holds the shielded grower policy planned to contain on a kill
// verdict (policy.PlanContain): a pod whose growing processes a kill
// spares, held at a memory.high at or under its usage, through the ladder
// on the worker. It is never killed, and its neighbours are not killed
// for it (policy.Victims); in dry-run it is only recorded.
func (d *Daemon) contain(p policy.Plan, dec policy.Decision) {
	switch {
	case p.Contain == nil:
	case p.DryRun:
		d.wouldContain(p.Contain)
	default:
		d.act.contain(&reliefFigures{dec: dec, contain: p.Contain}, dec.Observation.Now)
	}
}

// settleRelief folds a ReliefReport into the loop's state and hands it to
// the recorder.
func (d *Daemon) settleRelief(r ReliefReport) {
	if errors.Is(r.ReclaimErr, relief.ErrNoReclaim) {
		d.th.Reclaim = false
	}
	d.act.throttles = r.Throttles
	d.relief(r)
}

// forgetThrottle drops the throttle of a pod that went away, on the worker.
func (d *Daemon) forgetThrottle(r cgroupv2.PodRef) { d.act.forget(r.Path, d.clock.Now()) }

// liftAll gives back every throttle, on the worker.
func (d *Daemon) liftAll(why string) { d.act.liftAll(why, d.clock.Now()) }

// setThrottles records the throttles in force, as the ladder reported them.
func (d *Daemon) setThrottles(ts []relief.Throttle) {
	d.act.throttles = ts
	d.recordThrottles(ts)
}
