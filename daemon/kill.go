package daemon

import (
	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/policy"
)

// pendingKill is one victim's kill, ready for the worker.
type pendingKill struct {
	target  killer.Target
	pod     cgroupv2.PodRef // the victim pod
	induced bool            // kill.method oom: the pod's OOM kills are the kill's (podTracker.induce)
	record  KillRecord
	fields  []any // the kill record's attributes, for the journal
}

// kill carries out the kill policy planned (policy.Choose): the actor
// kills the victims on the worker, one after the other in one job (or, in
// dry-run, the recorder says it would). The cooldown started when policy
// chose; when the job reports (settleKill), policy hears how it went
// (ActKillDone) and the daemon looks again at once.
func (d *Daemon) kill(p policy.Plan, dec policy.Decision) {
	now := d.clock.Now()
	if p.Kill.NoVictim.Why != policy.Chosen {
		d.noVictim(p.Kill, dec)
		return
	}
	oom := d.cfg.Kill.Method == config.MethodOOM
	var kills []pendingKill
	for _, victim := range p.Kill.Victims {
		t, err := d.act.target(victim, d.th.Rank.Protect, oom)
		if err != nil {
			d.victimMoved(victim.Pod, err)
			continue
		}
		record, fields := d.killRecord(victim, dec, p.Kill.Episode, d.clock.Now())
		kills = append(kills, pendingKill{target: t, pod: victim.Pod.Ref(), induced: oom, record: record, fields: fields})
	}
	if p.DryRun {
		d.wouldKill(kills)
		return
	}
	if len(kills) == 0 {
		d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKillDone, At: now})
		return
	}
	if oom {
		// Before the job can lower a limit: see podTracker.
		for _, k := range kills {
			d.pods.induce(k.pod.Path)
		}
	}
	d.act.kill(kills, d.cfg.Kill.Timeout, now)
}

// settleKill folds a kill's report into the loop's state and hands it to
// the recorder: policy hears how it went, and the daemon looks again at
// once.
func (d *Daemon) settleKill(r KillReport) {
	killed, confirmed := false, true
	var forget []string
	for _, k := range r.Kills {
		if k.induced {
			k.record.OOMKills = d.settleOOMKills(k.pendingKill, k.Result)
		}
		d.killed(k.record, k.fields, k.Result, k.Err)
		if k.Result.Method != "" {
			killed = true
			forget = append(forget, k.pod.Path)
		}
		confirmed = confirmed && k.Result.Confirmed
	}
	d.logLadder(r.Lifted, r.Via)
	d.setThrottles(r.Throttles)
	d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKillDone, At: d.clock.Now(), Killed: killed, Confirmed: killed && confirmed, Forget: forget})
	d.lookNow = true
}

// settleOOMKills ends the induce of a kill.method oom kill's pod, once the
// kill reported, and returns the OOM kills that were the kill's: those in
// the pod since induce, if the kill lowered a container's memory.max. If
// it lowered none (the victim had changed, every process was spared, or
// the kill failed before), they were the kernel's own, and are logged so:
// the kernel may have beaten kube-oomd to that very pod.
func (d *Daemon) settleOOMKills(k pendingKill, res killer.Result) uint64 {
	kills, total := d.pods.settle(k.pod.Path)
	if res.Containers > 0 {
		return kills
	}
	d.logKernelOOMKills(k.pod, kills, total)
	return 0
}

// undoLeftovers thaws what a kill on the freezer path left frozen, and
// puts back the memory.max a kill with kill.method oom left lowered, when
// an earlier run died before it undid them. Without kubepods yet, no
// record can name a live cgroup of the kubelet's, nor be checked: they
// wait for the first rescan once it is found (retryLeftovers).
//
// guessed says the layout is a guess (Run, before the config is read: the
// kubelet's default kubepods): an entry not under it is kept, untouched,
// for the call with the config's layout (run), which alone drops it.
func (d *Daemon) undoLeftovers(guessed bool) {
	layout, err := d.detectLayout()
	frozen, limits := freezeLog(d.opt.RunDir, layout), limitLog(d.opt.RunDir, layout)
	if err != nil {
		if recorded(frozen.Path) || recorded(limits.Path) {
			d.log.Info("records of an earlier run's kill left for the first rescan once the kubelet's pod cgroup is found",
				vocab.File, limits.Path, vocab.Error, err)
		}
		return
	}
	frozen.Guessed, limits.Guessed = guessed, guessed
	thawed, err := frozen.ThawLeftovers()
	d.logThawed(frozen.Path, thawed, err, reasonEarlierRun, guessed)
	restored, err := limits.RestoreLeftovers()
	d.logRestored(limits.Path, restored, err, reasonEarlierRun, guessed)
}

// retryLeftovers retries, on the worker, what a kill of this run could
// not undo and left in its records: a memory.max not put back, a cgroup
// not thawed (actor.putBack). It runs at each rescan, as a throttle that
// could not be lifted is retried at each release: a container left at
// memory.max 0 would OOM-kill every process it starts until then.
func (d *Daemon) retryLeftovers() { d.act.putBack(d.clock.Now()) }
