package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
)

// loopInputs are the event sources of the main loop.
type loopInputs struct {
	psi     <-chan psi.Event
	changes <-chan cgroupv2.Change
	errc    <-chan error
	hup     <-chan os.Signal
	config  configFeed
	status  <-chan chan<- Status
	runtime <-chan runtimeState // nil when the runtime is not asked
}

// loop serves events until ctx is cancelled or a watcher fails. All of the
// daemon's state lives in this goroutine, and nothing here waits on an
// action: actions report back through d.actions.reports.
func (d *Daemon) loop(ctx context.Context, in loopInputs) error {
	rescan := d.clock.NewTicker(d.cfg.Cgroup.RescanInterval)
	defer rescan.Stop()
	watchdog, stopWatchdog := d.watchdogTicks()
	defer stopWatchdog()
	// While pressure builds, or a throttle is in force, the daemon looks
	// again every window, so that it sees calm windows too (triggers fire
	// only for pressured ones).
	sample := d.clock.NewTimer(d.th.Window)
	sample.Stop()
	sampling := false
	// When unreclaimable memory could reach the limit before the next
	// rescan, and no PSI trigger would say so (nothing to reclaim, no
	// stall), the daemon looks again on its own (Verdict.NextLook).
	lookahead := d.clock.NewTimer(d.cfg.Cgroup.RescanInterval)
	lookahead.Stop()

	for {
		triggered, observe := false, false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-in.errc:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case ev := <-in.psi:
			d.triggers.count(ev)
			if ev.Gone {
				return fmt.Errorf("PSI trigger %q went away: was %s removed?", ev.Key, d.layout.Kubepods)
			}
			// Host pressure wakes the daemon; only kubepods' own counts.
			triggered, observe = ev.Key == triggerKubepods, true
		case <-sample.C():
			sampling, observe = false, true
		case <-lookahead.C():
			observe = true
		case c := <-in.changes:
			observe = d.handleChange(c)
		case <-rescan.C():
			d.resync(false)
			d.retryLeftovers()
			observe = true
		case <-watchdog:
			d.notify.Watchdog()
		case <-in.hup:
			d.log.Info("SIGHUP: reloading the config", vocab.Config, d.opt.ConfigPath)
			d.reload()
		case ev := <-in.config.changed:
			d.configChanged(in.config.edits, ev)
		case <-in.config.edits.C():
			d.configSettled(in.config.edits)
		case reply := <-in.status:
			reply <- d.snapshot()
		case s := <-in.runtime:
			d.logRuntime(s)
		case report := <-d.actions.reports:
			d.actions.finished(d.clock.Now())
			report()
			if k := d.deferred; k != nil && !d.actions.busy() {
				d.deferred = nil
				d.act(k.v, k.o)
			}
			d.setStatus()
			observe, d.lookNow = d.lookNow, false
		}
		if !observe {
			continue
		}
		if err := d.observe(triggered); err != nil {
			if errors.Is(err, cgroupv2.ErrGone) {
				return fmt.Errorf("%s was removed: %w", d.layout.Kubepods, err)
			}
			d.log.Error("cannot read kubepods", vocab.Kubepods, d.layout.Kubepods, vocab.Error, err)
		}
		busy := d.state.Pressured > 0 || d.state.Strained > 0 || len(d.throttles) > 0
		if !sampling && (busy || triggered) {
			sample.Reset(d.th.Window)
			sampling = true
		}
		lookahead.Stop()
		if next := d.verdict.NextLook; next > 0 && next < d.cfg.Cgroup.RescanInterval && (!sampling || next < d.th.Window) {
			lookahead.Reset(next)
		}
		if d.opt.observed != nil {
			d.opt.observed <- observation{verdict: d.verdict, sampling: sampling}
		}
	}
}

// handleChange keeps the pod list and OOM counts up to date; it returns
// true when kubepods' own memory.events changed, which calls for a look.
func (d *Daemon) handleChange(c cgroupv2.Change) bool {
	switch c.Kind {
	case cgroupv2.PodAdded:
		d.pods.add(c.Pod)
		d.countPods()
		d.names.Want(c.Pod.UID)
		d.log.Debug("pod added", d.podRef(c.Pod))
	case cgroupv2.PodRemoved:
		d.pods.remove(c.Pod)
		d.countPods()
		d.forgetThrottle(c.Pod)
		d.log.Debug("pod removed", d.podRef(c.Pod))
		d.names.Forget(c.Pod.UID)
	case cgroupv2.EventsChanged:
		if c.Pod.Path == "" {
			return true
		}
		d.checkOOMKills(c.Pod)
	case cgroupv2.Resync:
		d.resync(true)
		return true
	}
	d.setStatus()
	return false
}

// checkOOMKills logs the kernel OOM kills in a pod since the last look;
// those a kill with kill.method oom induced are not the kernel's own, and
// are counted in the kill's record instead (podTracker.induce).
func (d *Daemon) checkOOMKills(r cgroupv2.PodRef) {
	kills, total := d.pods.newOOMKills(r)
	d.logKernelOOMKills(r, kills, total)
}

// logKernelOOMKills logs kills OOM kills of the kernel's own in a pod.
func (d *Daemon) logKernelOOMKills(r cgroupv2.PodRef, kills, total uint64) {
	if kills == 0 {
		return
	}
	d.metrics.KernelOOMKills(r.QoS.String(), kills)
	d.log.Warn("the kernel OOM killer killed in a pod",
		attrMessageID, vocab.MsgKernelOOM, d.podRef(r), vocab.Reason, reasonKernelKill,
		vocab.OOMKills, kills, vocab.OOMKillTotal, total)
}

// resync is the slow safety net: it finds the pods that inotify missed by
// listing directories, and re-reads the OOM counts that inotify does not
// report: those of the pods it cannot watch, or, after lost events
// (lost=true), every pod's.
func (d *Daemon) resync(lost bool) {
	for _, c := range d.pods.sync() {
		d.handleChange(c)
	}
	refs := d.pods.unwatched()
	if lost {
		refs = d.pods.refs()
	}
	for _, r := range refs {
		d.checkOOMKills(r)
	}
	for _, r := range d.pods.refs() {
		d.names.Want(r.UID) // the pods the runtime has not named yet
	}
}

// observe reads kubepods (and the throttled pods' counters, nothing
// else), lets policy decide, and dispatches what the verdict calls for.
func (d *Daemon) observe(triggered bool) error {
	g, local, err := d.reader.ReadKubepods()
	if err != nil {
		return err
	}
	host, err := procfs.ReadMeminfo(d.opt.ProcRoot)
	if err != nil {
		return err
	}
	o := policy.Observation{Now: d.clock.Now(), Triggered: triggered, Kubepods: g, Local: local, Host: host,
		Throttled: d.throttledHighs(), Contained: d.contained()}
	var v policy.Verdict
	d.state, v = policy.Decide(d.state, o, d.th)
	d.verdict = v
	d.metrics.Windows(v.Pressured, v.Strained)
	if v.EpisodeOver {
		d.growth = policy.Growth{}
	}
	if v.Track && d.growth.Due(o.Now, d.th.Window) {
		d.growth = d.growth.Observe(d.readPods(d.pods.refs()), o.Now)
	}
	if d.log.Enabled(context.Background(), slog.LevelDebug) { // the attributes cost even when not logged
		d.log.Debug("observation", vocab.Triggered, triggered, pressureAttrs(g), memoryAttrs(g, host),
			vocab.Pressured, v.Pressured, vocab.Stall, round(v.Stall), vocab.NearLimit, v.Near, vocab.Cooling, v.Cooling,
			vocab.Unreclaimable, v.Unreclaimable, vocab.Rate, int64(v.Rate),
			vocab.Shed, v.Need, vocab.NextLook, v.NextLook.String(), vocab.Tracking, v.Track)
	}
	switch {
	case v.Kill && d.actions.busy():
		// Kill as soon as the action in flight reports: a verdict on an
		// imminent OOM would not come again.
		if d.deferred == nil {
			d.log.Debug("a kill is due once the action in flight is done: interrupting it if it is relief", vocab.Reason, string(v.Reason), vocab.Action, d.actions.running.Name)
		}
		d.deferred = &deferredKill{v: v, o: o}
		d.actions.interrupt()
	case v.Kill:
		d.act(v, o)
	case d.cfg.Kill.Mode == config.ModeDryRun:
		if v.Reclaim || v.Throttle {
			d.log.Info("dry run: would relieve", vocab.ReclaimPlanned, v.Reclaim, vocab.ThrottlePlan, v.Throttle,
				vocab.Strained, v.Strained, vocab.Stall, round(v.Stall), pressureAttrs(g), memoryAttrs(g, host))
		}
	case !d.actions.busy():
		d.relieve(v, o)
	}
	return nil
}

// throttledHighs reads the high counter of each throttled pod, from its
// memory.events.local: the hits of the pod slice's own memory.high (the
// throttle), never those of its containers' memory.high, which the
// kubelet's MemoryQoS sets and which tick on healthy pods.
func (d *Daemon) throttledHighs() map[string]uint64 {
	if len(d.throttles) == 0 || !d.features.EventsLocal { // no memory.events.local: no count
		return nil
	}
	out := make(map[string]uint64, len(d.throttles))
	for _, t := range d.throttles {
		if ev, err := cgroupv2.ReadMemoryEventsLocal(d.layout.Abs(t.Cgroup)); err == nil {
			out[t.Cgroup] = ev.High
		}
	}
	return out
}

// readCandidates reads every pod and ranks them in the episode of the
// verdict; the pods read count as a growth sample too, if one is due.
func (d *Daemon) readCandidates(v policy.Verdict) ([]policy.Candidate, policy.Episode) {
	pods := d.readPods(d.pods.refs())
	if now := d.clock.Now(); d.growth.Due(now, d.th.Window) {
		d.growth = d.growth.Observe(pods, now)
	}
	e := d.episode(v)
	return policy.Rank(pods, d.th.Rank, e), e
}

// episode is the Episode of a verdict, with the contained pods that still
// push against their memory.high (policy.Episode.Held).
func (d *Daemon) episode(v policy.Verdict) policy.Episode {
	e := policy.EpisodeOf(v, d.growth, d.th)
	for _, t := range d.throttles {
		if t.Contained && d.state.Holds(t.Cgroup, e.Rates[t.Cgroup]) {
			if e.Held == nil {
				e.Held = map[string]bool{}
			}
			e.Held[t.Cgroup] = true
		}
	}
	return e
}

// act carries out a kill verdict: the victims policy chooses are killed
// (kill), then a shielded grower is contained (contain). The kill goes to
// the worker first: containment calls PID 1, slow under pressure, and is
// not interrupted, so an imminent OOM's kill must not queue behind it.
func (d *Daemon) act(v policy.Verdict, o policy.Observation) {
	d.kill(v, o)
	d.contain(v, o)
}

// readPods reads pods; one whose files cannot be read is logged and left
// out, so that one broken pod does not decide for the others. Containers
// the runtime has not named yet are asked for, in the background.
func (d *Daemon) readPods(refs []cgroupv2.PodRef) []cgroupv2.Pod {
	pods, err := d.reader.ReadPods(refs)
	var bad cgroupv2.PodErrors
	errors.As(err, &bad)
	for _, pe := range bad {
		d.log.Error("cannot read a pod: left out of the ranking", d.podRef(pe.Ref), vocab.Error, pe.Err)
	}
	wantNames(d.names, pods)
	return pods
}

// readHighs reads memory.high of the given candidates, by path.
func (d *Daemon) readHighs(cs []policy.Candidate) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range cs {
		if v, err := cgroupv2.ReadHigh(d.layout.Abs(c.Pod.Path)); err == nil {
			out[c.Pod.Path] = v
		}
	}
	return out
}
