package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// The recorder owns what the daemon says: the logger, the metrics, the
// kill history and systemd's notifier. It is the only code that turns a
// plan or a report (an action's outcome) into a journal record, a metric,
// a status row (the kill history) and the STATUS= line.
type recorder struct {
	log       *slog.Logger
	logFormat string           // the logger's format, for the start record
	metrics   *metrics.Metrics // nil when metrics.listen is off; safe to use from any goroutine
	notify    systemd.Notifier
	clock     clock.Clock
	kills     killHistory
	last      string        // the last action, for the status line
	names     *cri.Resolver // nil when runtime.endpoint is "none"; safe to use from any goroutine
}

// KillRecord is one kill (or, in dry-run, one that would have happened).
type KillRecord struct {
	Time time.Time `json:"time"`
	KilledPod
	Target    string `json:"target"`
	Container string `json:"container,omitempty"` // the killed container's name, in container mode
	Reason    string `json:"reason"`
	KillFigures
	DryRun bool `json:"dry_run"`
	KillResult
}

// KilledPod names the pod of a kill.
type KilledPod struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"` // as the container runtime says; "" when it did not
	Name      string `json:"name"`
	QoS       string `json:"qos"`
	Cgroup    string `json:"cgroup"`
}

// KillFigures are the figures behind the choice: the pod's growth over
// the episode (unreclaimable memory, bytes a second), its working set over
// its request, what its kill frees, and what kubepods had to shed.
type KillFigures struct {
	GrowthPerSecond int64  `json:"growth_bytes_per_second"`
	AboveRequest    uint64 `json:"above_request_bytes"`
	Frees           uint64 `json:"frees_bytes"`
	Shed            uint64 `json:"shed_bytes"`
	Spared          int    `json:"spared,omitempty"` // processes spared: -1000, then the sandbox
}

// KillResult is how the kill went.
type KillResult struct {
	Method     string `json:"method,omitempty"`    // killer.Result.Method: cgroup.kill, freeze+sigkill, oom, oom+cgroup.kill, oom+freeze+sigkill
	OOMKills   uint64 `json:"oom_kills,omitempty"` // kill.method oom: the processes the kernel's OOM killer killed in the pod
	FreedBytes uint64 `json:"freed_bytes"`
	Confirmed  bool   `json:"confirmed"`
	Error      string `json:"error,omitempty"`
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

// noVictim records a kill verdict that kills no one, and why.
func (d *recorder) noVictim(k *policy.KillPlan, dec policy.Decision) {
	v, o, e := dec.Verdict, dec.Observation, k.Episode
	if k.NoVictim.Why == policy.NoneGrows {
		d.log.Info("memory pressure from a pod that spares its growing processes: contained, nobody killed", vocab.Reason, reasonContained,
			vocab.Verdict, string(v.Reason), vocab.Shed, e.Need, pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		return
	}
	msg, why := "memory pressure, but no pod kube-oomd may kill can end it: left to the kernel", k.NoVictim.String()
	if k.NoVictim.Why == policy.AllProtected {
		msg, why = "memory pressure, but no pod may be killed: all are protected or unreadable", "every pod is protected or unreadable"
	}
	d.log.Warn(msg, vocab.Reason, reasonNoVictim, vocab.Verdict, string(v.Reason), vocab.Why, why,
		vocab.Shed, e.Need, pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
	d.metrics.KillSkipped(reasonNoVictim)
}

// victimMoved records a victim whose container changed before its kill
// was prepared: nothing is killed.
func (d *recorder) victimMoved(p *cgroupv2.Pod, err error) {
	d.log.Warn("victim changed before the kill; nothing killed", d.podRef(p.Ref()),
		vocab.Reason, reasonVictimMoved, vocab.Error, err)
	d.metrics.KillSkipped(reasonVictimMoved)
}

// killRecord is the record of one victim's kill, with the figures behind
// the choice, and its journal attributes, as of now.
func (d *recorder) killRecord(victim policy.KillOrder, dec policy.Decision, e policy.Episode, now time.Time) (KillRecord, []any) {
	v, o, target := dec.Verdict, dec.Observation, victim.Target
	names, _ := d.names.Lookup(victim.Pod.UID)
	fields := []any{
		podAttrs(victim.Pod.UID, victim.Pod.QoS.String(), victim.Pod.Path, names),
		vocab.Reason, string(v.Reason), vocab.Target, target.String(), vocab.Rank, victim.Rank,
		vocab.PodWorkSet, victim.Pod.WorkingSet, vocab.PodRequest, victim.Request, vocab.ReqSource, string(victim.RequestSource),
		vocab.PodAboveReq, victim.AboveRequest(), vocab.PodGrowth, int64(victim.Growth),
		vocab.Frees, victim.Frees, vocab.Shed, e.Need,
		vocab.Pressured, v.Pressured, vocab.Strained, v.Strained, vocab.Stall, round(v.Stall),
		vocab.Rate, int64(v.Rate),
		pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host),
	}
	record := KillRecord{Time: now,
		KilledPod: KilledPod{UID: victim.Pod.UID, Namespace: names.Namespace, Name: names.Name,
			QoS: victim.Pod.QoS.String(), Cgroup: victim.Pod.Path},
		Reason: string(v.Reason), Target: target.String(),
		KillFigures: KillFigures{GrowthPerSecond: int64(victim.Growth), AboveRequest: victim.AboveRequest(), Frees: victim.Frees, Shed: e.Need,
			Spared: len(victim.Spared)}}
	if target.Container != "" {
		if record.Container, _ = names.Container(target.Container); record.Container != "" {
			fields = append(fields, vocab.Container, record.Container)
		}
	}
	return record, fields
}

// wouldKill records the kills a dry run would have made.
func (d *recorder) wouldKill(kills []pendingKill) {
	for _, k := range kills {
		d.log.Warn("dry run: would kill", append([]any{attrMessageID, vocab.MsgWouldKill}, k.fields...)...)
		d.metrics.WouldKill(k.record.Reason, k.record.QoS)
		d.last = "would kill " + k.record.Who()
		k.record.DryRun = true
		d.kills.add(k.record)
	}
}

// wouldRelieve records the relief steps a dry run would have tried.
func (d *recorder) wouldRelieve(s policy.Steps, dec policy.Decision) {
	o := dec.Observation
	d.log.Info("dry run: would relieve", vocab.ReclaimPlanned, s.Reclaim, vocab.ThrottlePlan, s.Throttle,
		vocab.Strained, dec.Strained, vocab.Stall, round(dec.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
}

// wouldContain records the containment a dry run would have made.
func (d *recorder) wouldContain(plan *policy.ContainPlan) {
	d.log.Warn("dry run: would contain a pod that spares its growing processes", d.pod(plan.Pod.UID, plan.Pod.QoS.String(), plan.Pod.Path),
		vocab.Reason, reasonContained, vocab.HighBytes, plan.Value, vocab.PodCurrent, plan.Pod.Current)
}

// relief records a ReliefReport: what the ladder did, each step with the
// figures it was planned on.
func (d *recorder) relief(r ReliefReport) {
	if errors.Is(r.ReclaimErr, relief.ErrNoReclaim) {
		d.log.Warn("proactive reclaim is not available on this kernel: skipping that step", vocab.Error, r.ReclaimErr)
	}
	var extra []any
	if f := r.figures; f != nil {
		v, o := f.dec.Verdict, f.dec.Observation
		if c := f.contain; c != nil {
			extra = []any{vocab.PodCurrent, c.Pod.Current, vocab.PodGrowth, int64(c.Growth), vocab.Shed, v.Need,
				vocab.Pressured, v.Pressured, vocab.Stall, round(v.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host)}
		} else {
			extra = []any{vocab.Strained, v.Strained, vocab.Stall, round(v.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host)}
		}
	}
	d.logLadder(r.Results, r.Via, extra...)
	d.recordThrottles(r.Throttles)
}

// throttles records the throttles in force, as the ladder reported them.
func (d *recorder) recordThrottles(ts []relief.Throttle) {
	contained := 0
	for _, t := range ts {
		if t.Contained {
			contained++
		}
	}
	d.metrics.ThrottlesInForce(len(ts))
	d.metrics.ContainedInForce(contained)
}

// putBack records a PutBackReport.
func (d *recorder) putBack(r PutBackReport) {
	d.logRestored(r.Limits, r.Restored, r.RestoreErr, reasonRetry, false)
	d.logThawed(r.Frozen, r.Thawed, r.ThawErr, reasonRetry, false)
}

// logKernelOOMKills logs kills OOM kills of the kernel's own in a pod.
func (d *recorder) logKernelOOMKills(r cgroupv2.PodRef, kills, total uint64) {
	if kills == 0 {
		return
	}
	d.metrics.KernelOOMKills(r.QoS.String(), kills)
	d.log.Warn("the kernel OOM killer killed in a pod",
		attrMessageID, vocab.MsgKernelOOM, d.podRef(r), vocab.Reason, reasonKernelKill,
		vocab.OOMKills, kills, vocab.OOMKillTotal, total)
}

// waiting sets the status line while the kubelet's pod cgroup is not
// there yet.
func (d *recorder) waiting(cgroupRoot string) {
	d.notify.Status("waiting for the kubelet's pod cgroup under " + cgroupRoot)
}

// status sets the one line `systemctl status` shows.
func (d *recorder) status(pods int, kubepods, mode string, throttled int, acting string) {
	s := fmt.Sprintf("watching %d pods under %s, mode %s, %d throttled", pods, kubepods, mode, throttled)
	if acting != "" {
		s += "; acting: " + acting
	}
	if d.last != "" {
		s += "; last: " + d.last
	}
	d.notify.Status(s)
}

// logThawed logs what FreezeLog.ThawLeftovers did; guessed as its
// FreezeLog.Guessed.
func (d *recorder) logThawed(file string, results []killer.ThawResult, err error, why string, guessed bool) {
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
func (d *recorder) logRestored(file string, results []killer.RestoreResult, err error, why string, guessed bool) {
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
func (d *recorder) killed(record KillRecord, fields []any, res killer.Result, err error) {
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
	if res.Newcomers > 0 {
		// A spared (-1000) process started new ones once the kill was
		// over (stress-ng restarts its workers): never vetted, left
		// alive, the next decision's once they grow.
		fields = append(fields, vocab.NewPIDs, res.Newcomers)
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

// logLadder logs what the ladder did, one record per step, with extra
// attributes (the figures behind the verdict) on each.
func (d *recorder) logLadder(results []relief.Result, via string, extra ...any) {
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
				vocab.HighBytes, t.Set, vocab.Original, cgroupv2.FormatLimit(t.Original), vocab.Ceiling, t.Ceiling, vocab.Via, via}, extra...)...)
			d.metrics.Throttled()
			d.last = "throttled " + t.UID
		case relief.StepContain:
			if r.Err != nil {
				d.log.Error("cannot contain a pod that spares its growing processes: the kernel will kill its neighbours", pod, vocab.Reason, reasonContained, vocab.Error, r.Err)
				continue
			}
			d.log.Warn("contained a pod that spares its growing processes (oom_score_adj -1000): held at its memory.high, never killed",
				append([]any{pod, vocab.Reason, reasonContained, vocab.HighBytes, t.Current, vocab.Original, cgroupv2.FormatLimit(t.Original),
					vocab.Ceiling, t.Ceiling, vocab.Via, via}, extra...)...)
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
