package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
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
	// The looks of the daemon's own, without an event (policy.Looks): at
	// the end of the window, and ahead of the limit.
	sample := d.clock.NewTimer(d.th.Window)
	sample.Stop()
	sampling := false
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
		case r := <-d.act.reports:
			d.act.finished(d.clock.Now())
			d.settle(r)
			if k := d.deferred; k != nil && !d.act.busy() {
				d.deferred = nil
				d.decide(k.Resume(d.act.throttleStates(), d.th))
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
		window, ahead := policy.Looks(d.state, triggered, sampling, len(d.act.throttles), d.verdict.NextLook, d.th)
		if window {
			sample.Reset(d.th.Window)
			sampling = true
		}
		lookahead.Stop()
		if ahead > 0 {
			lookahead.Reset(ahead)
		}
		if d.opt.test.observed != nil {
			d.opt.test.observed <- observation{verdict: d.verdict, sampling: sampling}
		}
	}
}

// settle folds an action's report into the loop's state and hands it to
// the recorder.
func (d *Daemon) settle(r report) {
	switch r := r.(type) {
	case KillReport:
		d.settleKill(r)
	case ReliefReport:
		d.settleRelief(r)
	case PutBackReport:
		d.putBack(r)
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
// else) and lets policy decide (policy.Decide); decide does the rest.
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
		Throttled: d.throttledHighs(), Contained: d.act.contained(), Throttles: d.act.throttleStates(), Busy: d.act.busy()}
	var dec policy.Decision
	d.state, dec = policy.Decide(d.state, o, d.th)
	v := dec.Verdict
	d.verdict = v
	d.metrics.Windows(v.Pressured, v.Strained)
	if d.log.Enabled(context.Background(), slog.LevelDebug) { // the attributes cost even when not logged
		d.log.Debug("observation", vocab.Triggered, triggered, pressureAttrs(g), memoryAttrs(g, host),
			vocab.Pressured, v.Pressured, vocab.Stall, round(v.Stall), vocab.NearLimit, v.Near, vocab.Cooling, v.Cooling,
			vocab.Unreclaimable, v.Unreclaimable, vocab.Rate, int64(v.Rate),
			vocab.Shed, v.Need, vocab.NextLook, v.NextLook.String(), vocab.Tracking, v.Track)
	}
	d.decide(dec)
	return nil
}

// decide reads the pods a decision needs (policy.Need), lets policy
// choose (policy.Choose) and carries out the plan.
func (d *Daemon) decide(dec policy.Decision) {
	var p policy.Plan
	d.state, p = policy.Choose(d.state, dec, d.read(dec.Need), d.th)
	switch {
	case p.Wait:
		// Kill as soon as the action in flight reports: a verdict on an
		// imminent OOM would not come again.
		if d.deferred == nil {
			d.log.Debug("a kill is due once the action in flight is done: interrupting it if it is relief", vocab.Reason, string(dec.Reason), vocab.Action, d.act.acting())
		}
		d.deferred = &dec
		d.act.interrupt()
	case p.Kill != nil:
		// The kill goes to the worker first: containment calls PID 1, slow
		// under pressure, and is not interrupted, so an imminent OOM's
		// kill must not queue behind it.
		d.kill(p, dec)
		d.contain(p, dec)
	case p.WouldRelieve != (policy.Steps{}):
		d.wouldRelieve(p.WouldRelieve, dec)
	case !p.Relief.Empty():
		d.relieve(p.Relief, dec)
	}
}

// read reads what a decision needs: the pods of the classes it asks for
// (the throttled victim of a leak under throttle on its own), and their
// memory.high.
func (d *Daemon) read(n policy.Need) policy.Read {
	in := policy.Read{Now: d.clock.Now()}
	if n.Victim != "" {
		if ref, ok := d.layout.PodOf(n.Victim); ok {
			if pods := d.readPods([]cgroupv2.PodRef{ref}); len(pods) == 1 {
				in.Victim = &pods[0]
			}
		}
	}
	if n.Pods != policy.NoPods {
		var refs []cgroupv2.PodRef
		for _, r := range d.pods.refs() {
			if n.Pods.Reads(r.QoS) {
				refs = append(refs, r)
			}
		}
		in.Pods = d.readPods(refs)
	}
	if n.Highs {
		in.Highs = d.readHighs(in.Pods)
	}
	return in
}

// throttledHighs reads the high counter of each throttled pod, from its
// memory.events.local: the hits of the pod slice's own memory.high (the
// throttle), never those of its containers' memory.high, which the
// kubelet's MemoryQoS sets and which tick on healthy pods.
func (d *Daemon) throttledHighs() map[string]uint64 {
	if len(d.act.throttles) == 0 || !d.features.EventsLocal { // no memory.events.local: no count
		return nil
	}
	out := make(map[string]uint64, len(d.act.throttles))
	for _, t := range d.act.throttles {
		if ev, err := cgroupv2.ReadMemoryEventsLocal(d.layout.Abs(t.Cgroup)); err == nil {
			out[t.Cgroup] = ev.High
		}
	}
	return out
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

// readHighs reads memory.high of the given pods, by path.
func (d *Daemon) readHighs(pods []cgroupv2.Pod) map[string]uint64 {
	out := map[string]uint64{}
	for _, p := range pods {
		if v, err := cgroupv2.ReadHigh(d.layout.Abs(p.Path)); err == nil {
			out[p.Path] = v
		}
	}
	return out
}
