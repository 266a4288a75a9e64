package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// KillRecord is one kill (or, in dry-run, one that would have happened).
type KillRecord struct {
	Time       time.Time `json:"time"`
	UID        string    `json:"uid"`
	QoS        string    `json:"qos"`
	Cgroup     string    `json:"cgroup"`
	Target     string    `json:"target"`
	Reason     string    `json:"reason"`
	DryRun     bool      `json:"dry_run"`
	Method     string    `json:"method,omitempty"`
	FreedBytes uint64    `json:"freed_bytes"`
	Confirmed  bool      `json:"confirmed"`
	Error      string    `json:"error,omitempty"`
}

// killHistory keeps the last few kills for status.
type killHistory []KillRecord

// keptKills is how many kills status remembers.
const keptKills = 20

func (h *killHistory) add(k KillRecord) {
	*h = append(*h, k)
	if len(*h) > keptKills {
		*h = (*h)[len(*h)-keptKills:]
	}
}

// kill chooses the victim of a kill verdict and kills it on the worker (or,
// in dry-run, says it would). The cooldown starts either way, now.
func (d *Daemon) kill(v policy.Verdict, o policy.Observation) {
	now := d.clock.Now()
	victim, ok := d.chooseVictim(v)
	d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKill, At: now, Pod: v.Victim})
	if !ok {
		d.log.Warn("memory pressure, but no pod may be killed: all are protected or unreadable",
			attrReason, reasonNoVictim, "verdict", string(v.Reason), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		return
	}
	target := policy.KillTarget(victim, d.th)
	id := victim.Pod.ID
	if target.Container != "" {
		var err error
		if id, err = cgroupv2.ID(d.layout.Abs(target.Path)); err != nil {
			d.log.Warn("victim changed before the kill; nothing killed", podAttrs(victim.Pod.UID, victim.Pod.QoS.String(), victim.Pod.Path),
				attrReason, reasonVictimMoved, attrError, err)
			return
		}
	}
	fields := []any{
		podAttrs(victim.Pod.UID, victim.Pod.QoS.String(), victim.Pod.Path),
		attrReason, string(v.Reason), "target", target.String(), "rank", victim.Rank,
		"pod_working_set_bytes", victim.Pod.WorkingSet, "pod_request_bytes", victim.Request, "request_source", string(victim.RequestSource),
		attrPressured, v.Pressured, attrStrained, v.Strained, attrStall, round(v.Stall),
		pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host),
	}
	record := KillRecord{Time: now, UID: victim.Pod.UID, QoS: victim.Pod.QoS.String(), Cgroup: victim.Pod.Path,
		Reason: string(v.Reason), Target: target.String()}
	if d.cfg.Kill.Mode == config.ModeDryRun {
		d.log.Warn("dry run: would kill", append([]any{attrMessageID, MsgWouldKill}, fields...)...)
		d.last = "would kill " + victim.Pod.UID
		record.DryRun = true
		d.kills.add(record)
		return
	}
	k := d.killer()
	vet := d.vet(victim.Pod)
	t := killer.Target{Cgroup: d.layout.Abs(target.Path), ID: id, Vet: func() ([]int, error) { return nil, vet() }}
	ladder, podPath := d.ladder, victim.Pod.Path
	d.actions.submit(job{name: "kill " + victim.Pod.UID, run: func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, k.Timeout+5*time.Second)
		defer cancel()
		res, err := k.Kill(ctx, t)
		var lifted []relief.Result
		if err == nil || errors.Is(err, killer.ErrNotConfirmed) {
			// The kubelet restarts the pod's containers in the same cgroup:
			// a throttle on it must not outlive the kill.
			if r, ok := ladder.Lift(ctx, podPath, relief.LiftPodKilled); ok {
				lifted = append(lifted, r)
			}
		}
		throttles := ladder.Throttles()
		return func() {
			d.killed(record, fields, res, err)
			d.logLadder(lifted)
			d.throttles = throttles
		}
	}}, now)
}

// killer is the killer in force: the config's timeout, the kernel's
// features, and the freeze record that a restart thaws.
func (d *Daemon) killer() killer.Killer {
	return killer.Killer{Timeout: d.cfg.Kill.Timeout, Features: d.features, Clock: d.clock,
		ProcRoot: d.opt.ProcRoot, Mount: d.layout.Mount, FreezeLog: d.freezeLog()}
}

func (d *Daemon) freezeLog() *killer.FreezeLog {
	return &killer.FreezeLog{Path: filepath.Join(d.opt.RunDir, "frozen.json")}
}

// vet returns the check the killer makes right before the kill, with every
// pidfd open: the pod is read again, every process of its subtree with it,
// and must still be one kube-oomd may kill. So the kill never reaches a
// process that was not vetted (one that lowered its oom_score_adj, or
// appeared in a nested cgroup, since the victim was chosen).
func (d *Daemon) vet(p *cgroupv2.Pod) func() error {
	ref := p.Ref()
	reader := cgroupv2.NewReader(d.layout, d.opt.ProcRoot)
	protect := d.th.Rank.Protect
	return func() error {
		now, err := reader.ReadPod(ref)
		if err != nil {
			return fmt.Errorf("read the victim again: %w", err)
		}
		if why := policy.Protection(now, protect); why != "" {
			return fmt.Errorf("the victim is protected now: %s", why)
		}
		return nil
	}
}

// thawLeftovers thaws what a kill on the freezer path left frozen when the
// daemon died between freeze and thaw.
func (d *Daemon) thawLeftovers() {
	results, err := d.freezeLog().ThawLeftovers()
	if err != nil {
		d.log.Error("cannot read the freeze record of an earlier run: check the cgroups it names for cgroup.freeze 1",
			attrFile, d.freezeLog().Path, attrError, err)
	}
	for _, r := range results {
		if r.Err != nil {
			d.log.Error("cannot thaw a cgroup an earlier run froze: write 0 to its cgroup.freeze", attrCgroup, r.Cgroup, attrError, r.Err)
			continue
		}
		d.log.Warn("thawed a cgroup an earlier run left frozen", attrCgroup, r.Cgroup, attrReason, "earlier-run")
	}
}

// killed logs a kill's outcome; it runs on the loop.
func (d *Daemon) killed(record KillRecord, fields []any, res killer.Result, err error) {
	switch {
	case errors.Is(err, killer.ErrChanged):
		d.log.Warn("victim changed before the kill; nothing killed", append(fields, attrError, err)...)
		return
	case err != nil && !errors.Is(err, killer.ErrNotConfirmed):
		d.log.Error("kill failed", append(fields, attrError, err)...)
		record.Error = err.Error()
		d.kills.add(record)
		return
	}
	fields = append(fields, attrMessageID, MsgKilled,
		"freed_bytes", res.Freed, "method", string(res.Method), "pids", res.PIDs, "skipped_pids", res.Skipped,
		"released", res.Released, "confirmed", res.Confirmed, attrTook, res.Took.Round(time.Millisecond).String())
	if err != nil {
		d.log.Error("killed, but the cgroup did not empty in time", append(fields, attrError, err)...)
		record.Error = err.Error()
	} else {
		d.log.Warn("killed pod", fields...)
	}
	d.last = fmt.Sprintf("killed %s (%s, %s)", record.UID, record.QoS, record.Reason)
	record.Method, record.FreedBytes, record.Confirmed = string(res.Method), res.Freed, res.Confirmed
	d.kills.add(record)
}

// chooseVictim reads and ranks the candidates of a kill verdict. For a
// leak under throttle the victim is the throttled pod, if it may be killed.
func (d *Daemon) chooseVictim(v policy.Verdict) (policy.Candidate, bool) {
	if v.Reason == policy.ReasonThrottled {
		ref, ok := d.layout.PodOf(v.Victim)
		if !ok {
			return policy.Candidate{}, false
		}
		pods := d.readPods([]cgroupv2.PodRef{ref})
		return policy.Victim(policy.Rank(pods, d.th.Rank))
	}
	return policy.Victim(d.readCandidates())
}
