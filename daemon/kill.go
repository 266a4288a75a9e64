package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// KillRecord is one kill (or, in dry-run, one that would have happened).
type KillRecord struct {
	Time      time.Time `json:"time"`
	UID       string    `json:"uid"`
	Namespace string    `json:"namespace"` // as the container runtime says; "" when it did not
	Name      string    `json:"name"`
	QoS       string    `json:"qos"`
	Cgroup    string    `json:"cgroup"`
	Target    string    `json:"target"`
	Container string    `json:"container,omitempty"` // the killed container's name, in container mode
	Reason    string    `json:"reason"`
	// The figures behind the choice: the pod's growth over the episode
	// (unreclaimable memory, bytes a second), its working set over its
	// request, what its kill frees, and what kubepods had to shed.
	GrowthPerSecond int64  `json:"growth_bytes_per_second"`
	AboveRequest    uint64 `json:"above_request_bytes"`
	Frees           uint64 `json:"frees_bytes"`
	Shed            uint64 `json:"shed_bytes"`
	Spared          int    `json:"spared,omitempty"` // processes spared: -1000, then the sandbox
	DryRun          bool   `json:"dry_run"`
	Method          string `json:"method,omitempty"`    // killer.Result.Method: cgroup.kill, freeze+sigkill, oom, oom+cgroup.kill, oom+freeze+sigkill
	OOMKills        uint64 `json:"oom_kills,omitempty"` // kill.method oom: the processes the kernel's OOM killer killed in the pod
	FreedBytes      uint64 `json:"freed_bytes"`
	Confirmed       bool   `json:"confirmed"`
	Error           string `json:"error,omitempty"`
}

// Who names the victim for a person: namespace/name when the container
// runtime said them, else the UID.
func (k KillRecord) Who() string {
	if k.Name != "" {
		return k.Namespace + "/" + k.Name
	}
	return k.UID
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

// kill chooses the victims of a kill verdict and kills them on the worker,
// one after the other in one job (or, in dry-run, says it would). The
// cooldown starts either way, now; when the job reports, policy hears how
// it went (ActKillDone) and the daemon looks again at once.
func (d *Daemon) kill(v policy.Verdict, o policy.Observation) {
	now := d.clock.Now()
	victims, e, why := d.chooseVictims(v)
	d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKill, At: now, Pod: v.Victim})
	if len(victims) == 0 && why == policy.WhyContained {
		d.log.Info("memory pressure from a pod that spares its growing processes: contained, nobody killed", vocab.Reason, reasonContained,
			vocab.Verdict, string(v.Reason), vocab.Shed, e.Need, pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		return
	}
	if len(victims) == 0 {
		msg := "memory pressure, but no pod kube-oomd may kill can end it: left to the kernel"
		if why == "" {
			msg, why = "memory pressure, but no pod may be killed: all are protected or unreadable", "every pod is protected or unreadable"
		}
		d.log.Warn(msg, vocab.Reason, reasonNoVictim, vocab.Verdict, string(v.Reason), vocab.Why, why,
			vocab.Shed, e.Need, pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		d.metrics.KillSkipped(reasonNoVictim)
		return
	}
	var kills []pendingKill
	for _, victim := range victims {
		if k, ok := d.prepareKill(victim, v, o, e); ok {
			kills = append(kills, k)
		}
	}
	if d.cfg.Kill.Mode == config.ModeDryRun {
		for _, k := range kills {
			d.log.Warn("dry run: would kill", append([]any{attrMessageID, vocab.MsgWouldKill}, k.fields...)...)
			d.metrics.WouldKill(k.record.Reason, k.record.QoS)
			d.last = "would kill " + k.record.Who()
			k.record.DryRun = true
			d.kills.add(k.record)
		}
		return
	}
	if len(kills) == 0 {
		d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKillDone, At: now})
		return
	}
	kl := d.killer()
	ladder := d.ladder
	induces := d.cfg.Kill.Method == config.MethodOOM
	if induces {
		// Before the job can lower a limit: see podTracker.
		for _, k := range kills {
			d.pods.induce(k.podPath)
		}
	}
	name := "kill " + kills[0].record.Who()
	if len(kills) > 1 {
		name = fmt.Sprintf("kill %s and %d more", kills[0].record.Who(), len(kills)-1)
	}
	d.actions.submit(job{name: name, run: func(ctx context.Context) func() {
		type outcome struct {
			res killer.Result
			err error
		}
		outcomes := make([]outcome, len(kills))
		var lifted []relief.Result
		for i, k := range kills {
			kctx, cancel := context.WithTimeout(ctx, kl.Timeout+killer.OOMWait+5*time.Second)
			res, err := kl.Kill(kctx, k.target)
			if err == nil || errors.Is(err, killer.ErrNotConfirmed) {
				// The kubelet restarts the pod's containers in the same
				// cgroup: a throttle on it must not outlive the kill.
				if r, ok := ladder.Lift(kctx, k.podPath, relief.LiftPodKilled); ok {
					lifted = append(lifted, r)
				}
			}
			cancel()
			outcomes[i] = outcome{res, err}
		}
		throttles := ladder.Throttles()
		return func() {
			killed, confirmed := false, true
			for i, k := range kills {
				if induces {
					k.record.OOMKills = d.settleOOMKills(k, outcomes[i].res)
				}
				d.killed(k.record, k.fields, outcomes[i].res, outcomes[i].err)
				if outcomes[i].res.Method != "" {
					killed = true
					d.growth = d.growth.Forget(k.podPath)
				}
				confirmed = confirmed && outcomes[i].res.Confirmed
			}
			d.logLadder(lifted)
			d.setThrottles(throttles)
			d.state = policy.Record(d.state, policy.Action{Kind: policy.ActKillDone, At: d.clock.Now(), Killed: killed, Confirmed: killed && confirmed})
			d.lookNow = true
		}
	}}, now)
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

// pendingKill is one victim's kill, ready for the worker.
type pendingKill struct {
	target  killer.Target
	pod     cgroupv2.PodRef // the victim pod
	podPath string
	record  KillRecord
	fields  []any // the kill record's attributes, for the journal
}

// prepareKill builds one victim's kill: its target cgroup, the last check
// before the kill, and the record with the figures behind the choice.
func (d *Daemon) prepareKill(victim policy.Candidate, v policy.Verdict, o policy.Observation, e policy.Episode) (pendingKill, bool) {
	target := policy.KillTarget(victim, d.th)
	id := victim.Pod.ID
	if target.Container != "" {
		var err error
		if id, err = cgroupv2.ID(d.layout.Abs(target.Path)); err != nil {
			d.log.Warn("victim changed before the kill; nothing killed", d.podRef(victim.Pod.Ref()),
				vocab.Reason, reasonVictimMoved, vocab.Error, err)
			d.metrics.KillSkipped(reasonVictimMoved)
			return pendingKill{}, false
		}
	}
	names, _ := d.names.Lookup(victim.Pod.UID)
	frees := victim.Frees
	if target.Container != "" { // container mode: what the container holds, not the pod
		for _, c := range victim.Pod.Containers {
			if c.Path == target.Path {
				frees = min(frees, c.Current)
			}
		}
	}
	fields := []any{
		podAttrs(victim.Pod.UID, victim.Pod.QoS.String(), victim.Pod.Path, names),
		vocab.Reason, string(v.Reason), vocab.Target, target.String(), vocab.Rank, victim.Rank,
		vocab.PodWorkSet, victim.Pod.WorkingSet, vocab.PodRequest, victim.Request, vocab.ReqSource, string(victim.RequestSource),
		vocab.PodAboveReq, victim.AboveRequest(), vocab.PodGrowth, int64(victim.Growth),
		vocab.Frees, frees, vocab.Shed, e.Need,
		vocab.Pressured, v.Pressured, vocab.Strained, v.Strained, vocab.Stall, round(v.Stall),
		vocab.Rate, int64(v.Rate),
		pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host),
	}
	record := KillRecord{Time: d.clock.Now(), UID: victim.Pod.UID, Namespace: names.Namespace, Name: names.Name,
		QoS: victim.Pod.QoS.String(), Cgroup: victim.Pod.Path, Reason: string(v.Reason), Target: target.String(),
		GrowthPerSecond: int64(victim.Growth), AboveRequest: victim.AboveRequest(), Frees: frees, Shed: e.Need,
		Spared: len(victim.Spared)}
	if target.Container != "" {
		if record.Container, _ = names.Container(target.Container); record.Container != "" {
			fields = append(fields, vocab.Container, record.Container)
		}
	}
	t := killer.Target{Cgroup: d.layout.Abs(target.Path), ID: id, Vet: d.vet(victim.Pod)}
	if d.cfg.Kill.Method == config.MethodOOM {
		t.OOM = d.oomContainers(*victim.Pod, target)
	}
	return pendingKill{target: t, pod: cgroupv2.PodRef{UID: victim.Pod.UID, QoS: victim.Pod.QoS, Path: victim.Pod.Path}, podPath: victim.Pod.Path, record: record, fields: fields}, true
}

// oomContainers are the cgroups whose memory.max a kill with kill.method
// oom lowers: the target container in container mode; in pod mode, every
// app container of the pod (never the sandbox, nor a runtime helper such
// as conmon). A container gone since the pod was read is left out.
func (d *Daemon) oomContainers(p cgroupv2.Pod, target policy.Target) []killer.Container {
	var out []killer.Container
	for _, c := range p.Containers {
		if !c.App() || (target.Container != "" && c.Path != target.Path) {
			continue
		}
		dir := d.layout.Abs(c.Path)
		if id, err := cgroupv2.ID(dir); err == nil {
			out = append(out, killer.Container{Cgroup: dir, ID: id})
		}
	}
	return out
}

// killer is the killer in force: the config's timeout, the kernel's
// features, and the records of frozen cgroups and lowered limits that a
// restart thaws and puts back.
func (d *Daemon) killer() killer.Killer {
	return killer.Killer{Timeout: d.cfg.Kill.Timeout, Features: d.features, Clock: d.clock,
		ProcRoot: d.opt.ProcRoot, Mount: d.layout.Mount, FreezeLog: d.freezeLog(d.layout), Limits: d.limitLog(d.layout)}
}

// freezeLog and limitLog are the records of frozen cgroups and lowered
// limits; layout, the kubelet's, is what their entries are checked
// against before any is undone (an entry that names no pod or container
// of it is dropped, never written to).
func (d *Daemon) freezeLog(layout cgroupv2.Layout) *killer.FreezeLog {
	return &killer.FreezeLog{Path: filepath.Join(d.opt.RunDir, rundir.Frozen), Layout: layout}
}

func (d *Daemon) limitLog(layout cgroupv2.Layout) *killer.LimitLog {
	return &killer.LimitLog{Path: filepath.Join(d.opt.RunDir, rundir.Limits), Layout: layout}
}

// vet returns the check the killer makes right before the kill, with every
// pidfd open: the pod is read again, every process of its subtree with it,
// and must still be one kube-oomd may kill. So the kill never reaches a
// process that was not vetted (one that lowered its oom_score_adj, or
// appeared in a nested cgroup, since the victim was chosen). It returns the
// processes the kill must spare (policy.Spared): those at -1000, and then
// the sandbox.
func (d *Daemon) vet(p *cgroupv2.Pod) func() ([]int, error) {
	ref := p.Ref()
	reader := cgroupv2.NewReader(d.layout, d.opt.ProcRoot)
	protect := d.th.Rank.Protect
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
	if err != nil {
		if recorded(d.freezeLog(layout).Path) || recorded(d.limitLog(layout).Path) {
			d.log.Info("records of an earlier run's kill left for the first rescan once the kubelet's pod cgroup is found",
				vocab.File, d.limitLog(layout).Path, vocab.Error, err)
		}
		return
	}
	frozen, limits := d.freezeLog(layout), d.limitLog(layout)
	frozen.Guessed, limits.Guessed = guessed, guessed
	thawed, err := frozen.ThawLeftovers()
	d.logThawed(frozen.Path, thawed, err, reasonEarlierRun, guessed)
	restored, err := limits.RestoreLeftovers()
	d.logRestored(limits.Path, restored, err, reasonEarlierRun, guessed)
}

// retryLeftovers retries, on the worker, what a kill of this run could
// not undo and left in its records: a memory.max not put back, a cgroup
// not thawed. It runs at each rescan, as a throttle that could not be
// lifted is retried at each release: a container left at memory.max 0
// would OOM-kill every process it starts until then. Not while an action
// is in flight or queued (a kill's records name what it has lowered or
// frozen for now): the next rescan tries again.
func (d *Daemon) retryLeftovers() {
	limits, frozen := d.limitLog(d.layout), d.freezeLog(d.layout)
	if d.actions.busy() || (!recorded(limits.Path) && !recorded(frozen.Path)) {
		return
	}
	d.actions.submit(job{name: "put back", run: func(context.Context) func() {
		restored, rerr := limits.RestoreLeftovers()
		thawed, terr := frozen.ThawLeftovers()
		return func() {
			d.logRestored(limits.Path, restored, rerr, reasonRetry, false)
			d.logThawed(frozen.Path, thawed, terr, reasonRetry, false)
		}
	}}, d.clock.Now())
}

// recorded says whether a record file is there.
func recorded(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// logThawed logs what FreezeLog.ThawLeftovers did; guessed as its
// FreezeLog.Guessed.
func (d *Daemon) logThawed(file string, results []killer.ThawResult, err error, why string, guessed bool) {
	if err != nil {
		d.log.Error("cannot read or save the freeze record: check the cgroups it names for cgroup.freeze 1",
			vocab.File, file, vocab.Error, err)
	}
	for _, r := range results {
		if errors.Is(r.Err, killer.ErrUntrusted) && guessed {
			d.log.Info("kept an entry of the freeze record for the check against the config's cgroup.kubepods: not under the default kubepods, not thawed yet",
				vocab.File, file, vocab.Cgroup, r.Cgroup, vocab.Error, r.Err)
			continue
		}
		if errors.Is(r.Err, killer.ErrUntrusted) {
			d.log.Warn("dropped an entry of the freeze record: not a pod or container of the kubelet, not thawed", vocab.File, file,
				vocab.Cgroup, r.Cgroup, vocab.Reason, reasonUntrusted, vocab.Error, r.Err)
			continue
		}
		if r.Err != nil {
			d.log.Error("cannot thaw a cgroup a kill froze: write 0 to its cgroup.freeze (retried at each rescan)", vocab.Cgroup, r.Cgroup,
				vocab.Reason, why, vocab.Error, r.Err)
			continue
		}
		msg := "thawed a cgroup a kill left frozen"
		if why == reasonEarlierRun {
			msg = "thawed a cgroup an earlier run left frozen"
		}
		d.log.Warn(msg, vocab.Cgroup, r.Cgroup, vocab.Reason, why)
	}
}

// logRestored logs what LimitLog.RestoreLeftovers did; guessed as its
// LimitLog.Guessed (the entries it kept are counted by the next call).
func (d *Daemon) logRestored(file string, results []killer.RestoreResult, err error, why string, guessed bool) {
	if err != nil {
		d.log.Error("cannot read or save the limits record: check the containers it names for memory.max 0",
			vocab.File, file, vocab.Error, err)
		d.metrics.PutBackFailed(1)
	} else {
		d.metrics.LoweredLimits(stillLowered(results))
	}
	for _, r := range results {
		if errors.Is(r.Err, killer.ErrUntrusted) && guessed {
			d.log.Info("kept an entry of the limits record for the check against the config's cgroup.kubepods: not under the default kubepods, its memory.max not written yet",
				vocab.File, file, vocab.Cgroup, r.Cgroup, vocab.Error, r.Err)
			continue
		}
		if errors.Is(r.Err, killer.ErrUntrusted) {
			d.log.Warn("dropped an entry of the limits record: not a container of the kubelet, its memory.max not written", vocab.File, file,
				vocab.Cgroup, r.Cgroup, vocab.Reason, reasonUntrusted, vocab.Error, r.Err)
			continue
		}
		if r.Err != nil {
			d.log.Error("cannot put back the memory.max of a container a kill lowered: write it by hand (retried at each rescan)",
				vocab.Cgroup, r.Cgroup, vocab.MemoryMax, cgroupv2.FormatLimit(r.Max), vocab.Reason, why, vocab.Error, r.Err)
			d.metrics.PutBackFailed(1)
			continue
		}
		msg := "put back the memory.max of a container a kill left lowered"
		if why == reasonEarlierRun {
			msg = "put back the memory.max of a container an earlier run lowered"
		}
		attrs := []any{vocab.Cgroup, r.Cgroup, vocab.MemoryMax, cgroupv2.FormatLimit(r.Max), vocab.Reason, why}
		if r.Swap > 0 {
			attrs = append(attrs, vocab.SwapMax, cgroupv2.FormatLimit(r.Swap))
		}
		d.log.Warn(msg, attrs...)
	}
}

// stillLowered counts the containers RestoreLeftovers left in the record:
// those it could not put back (an untrusted entry is dropped).
func stillLowered(results []killer.RestoreResult) int {
	n := 0
	for _, r := range results {
		if r.Err != nil && !errors.Is(r.Err, killer.ErrUntrusted) {
			n++
		}
	}
	return n
}

// killed logs a kill's outcome; it runs on the loop.
func (d *Daemon) killed(record KillRecord, fields []any, res killer.Result, err error) {
	switch {
	case errors.Is(err, killer.ErrChanged):
		d.log.Warn("victim changed before the kill; nothing killed", append(fields, vocab.Error, err)...)
		d.metrics.KillSkipped(reasonVictimMoved)
		return
	case errors.Is(err, killer.ErrAllSpared) && res.Method == "":
		d.log.Warn("every process left in the victim protects itself (oom_score_adj -1000); nothing killed",
			append(fields, vocab.Reason, reasonVictimMoved, vocab.SparedPIDs, res.Spared, vocab.Error, err)...)
		d.metrics.KillSkipped(reasonVictimMoved)
		return
	case err != nil && res.Method == "":
		d.log.Error("kill failed", append(fields, vocab.Error, err)...)
		d.metrics.KillFailed(record.Reason, metrics.KillFailed)
		record.Error = err.Error()
		d.kills.add(record)
		return
	}
	fields = append(fields, attrMessageID, vocab.MsgKilled,
		vocab.Freed, res.Freed, vocab.Method, string(res.Method), vocab.PIDs, res.PIDs, vocab.SkippedPIDs, res.Skipped, vocab.SparedPIDs, res.Spared,
		vocab.Released, res.Released, vocab.Confirmed, res.Confirmed, vocab.Took, res.Took.Round(time.Millisecond).String())
	if res.Containers > 0 {
		fields = append(fields, vocab.Lowered, res.Containers, vocab.OOMKills, record.OOMKills)
	}
	switch {
	case errors.Is(err, killer.ErrNotConfirmed):
		d.metrics.KillFailed(record.Reason, metrics.KillUnconfirmed)
	case err != nil:
		d.metrics.KillFailed(record.Reason, metrics.KillFailed)
	}
	switch {
	case errors.Is(err, killer.ErrNotConfirmed) && errors.Is(err, killer.ErrAllSpared):
		// The method oom killed all it could; what is left protects
		// itself (a spared process's children inherit its -1000).
		d.log.Warn("killed every process it may; those left protect themselves (oom_score_adj -1000) and keep their memory", append(fields, vocab.Error, err)...)
		record.Error = err.Error()
	case errors.Is(err, killer.ErrNotConfirmed) && res.Spared > 0:
		// A spared (-1000) process may start new ones: stress-ng restarts
		// its workers. They are the next kill's, once they grow.
		d.log.Warn("killed every process but the spared ones, and new ones appeared since", append(fields, vocab.Error, err)...)
		record.Error = err.Error()
	case errors.Is(err, killer.ErrNotConfirmed):
		d.log.Error("killed, but the cgroup did not empty in time", append(fields, vocab.Error, err)...)
		record.Error = err.Error()
	case err != nil:
		d.log.Error("killed, but something went wrong", append(fields, vocab.Error, err)...)
		record.Error = err.Error()
	case record.Target != "pod":
		d.log.Warn("killed container", fields...)
	default:
		d.log.Warn("killed pod", fields...)
	}
	d.last = fmt.Sprintf("killed %s (%s, %s)", record.Who(), record.QoS, record.Reason)
	record.Method, record.FreedBytes, record.Confirmed = string(res.Method), res.Freed, res.Confirmed
	d.kills.add(record)
	d.metrics.Killed(metrics.Kill{Namespace: record.Namespace, Pod: record.Name, UID: record.UID,
		QoS: record.QoS, Reason: record.Reason, Method: record.Method, At: record.Time, Took: res.Took, Freed: res.Freed})
}

// chooseVictims reads and ranks the candidates of a kill verdict and lets
// policy choose (policy.Victims); why says why no one, when no one. For a
// leak under throttle the victim is the throttled pod, if it may be killed.
func (d *Daemon) chooseVictims(v policy.Verdict) ([]policy.Candidate, policy.Episode, string) {
	if v.Reason == policy.ReasonThrottled {
		e := policy.EpisodeOf(v, d.growth, d.th)
		ref, ok := d.layout.PodOf(v.Victim)
		if !ok {
			return nil, e, ""
		}
		ranked := policy.Rank(d.readPods([]cgroupv2.PodRef{ref}), d.th.Rank, e)
		c, ok := policy.Victim(ranked)
		if !ok && len(ranked) == 1 && ranked[0].Shielded {
			return nil, e, policy.WhyContained // contained instead (act)
		}
		if !ok {
			return nil, e, ""
		}
		return []policy.Candidate{c}, e, ""
	}
	ranked, e := d.readCandidates(v)
	victims, why := policy.Victims(ranked, e, d.th.Rank)
	if why == policy.WhyAllProtected {
		why = ""
	}
	return victims, e, why
}
