package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Keys of the PSI triggers.
const (
	triggerKubepods = "kubepods"
	triggerHost     = "host"
)

// daemon is `kube-oomd run`: it wires the observers (psi, cgroupv2) to the
// decision (policy) and the actors (killer, systemd).
type daemon struct {
	cfg        config.Config
	cgroupRoot string
	procRoot   string
	log        *slog.Logger
	logFormat  string
	notify     systemd.Notifier

	reader   *cgroupv2.Reader
	th       policy.Thresholds
	rank     policy.RankConfig
	state    policy.State
	pods     *cgroupv2.Watcher
	oomKills map[string]uint64 // memory.events oom_kill of each pod, by path
	lastKill string            // for the status line

	cfgPath      string // the config file, reloaded on SIGHUP and on change
	cfgDefaulted bool   // no file: running on the defaults
	dryRunFlag   bool   // --dry-run, which a reload must keep
	stderr       io.Writer
	started      time.Time

	triggers    *psi.Watcher
	triggerInfo map[string]*triggerInfo // by trigger key
	verdict     policy.Verdict          // the last one, for status
	kills       []killRecord            // the last few, for status

	// The relief ladder (relief.go).
	runDir     string // state that must survive a restart: /run/kube-oomd
	store      relief.Store
	setter     relief.Setter
	setterName string         // "systemd" or "file", for the logs
	units      *systemd.Units // the D-Bus connection behind setter, if any
	throttles  map[string]*throttled
	noReclaim  bool // the kernel has no memory.reclaim
}

// run starts the daemon and serves until ctx is cancelled.
func (d *daemon) run(ctx context.Context) error {
	d.notify = systemd.NewNotifier()
	if err := d.checkKernel(); err != nil {
		return err
	}
	layout, err := d.waitForKubepods(ctx)
	if err != nil {
		return err
	}
	d.reader = cgroupv2.NewReader(layout, d.procRoot)
	if d.triggers, err = psi.NewWatcher(); err != nil {
		return err
	}
	defer d.triggers.Close()
	d.triggerInfo = map[string]*triggerInfo{}
	if err := d.registerTriggers(); err != nil {
		return err
	}
	watcher, err := d.watchPods(layout)
	if err != nil {
		return err
	}
	defer watcher.Close()
	d.setupRelief(ctx, layout)
	defer d.stopRelief()

	psiEvents := make(chan psi.Event, 16)
	changes := make(chan cgroupv2.Change, 256)
	errc := make(chan error, 2)
	go func() { errc <- d.triggers.Run(ctx, psiEvents) }()
	go func() { errc <- watcher.Run(ctx, changes) }()

	configChanged, err := d.watchConfig(ctx)
	if err != nil {
		d.log.Warn("cannot watch the config file: reload it with SIGHUP (systemctl reload kube-oomd)", "config", d.cfgPath, "error", err)
	}
	statusReq, err := d.serveStatus(ctx)
	if err != nil {
		d.log.Warn("cannot serve kube-oomd status", "error", err)
	}

	d.notify.Ready()
	d.setStatus()
	defer d.notify.Stopping()
	return d.loop(ctx, loopInputs{psi: psiEvents, changes: changes, errc: errc, configChanged: configChanged, status: statusReq})
}

// watchPods starts following the pods of layout and reads what ranking
// needs to know about the host.
func (d *daemon) watchPods(layout cgroupv2.Layout) (*cgroupv2.Watcher, error) {
	d.reader = cgroupv2.NewReader(layout, d.procRoot)
	watcher, refs, err := cgroupv2.NewWatcher(layout)
	if err != nil {
		return nil, err
	}
	d.pods = watcher
	d.oomKills = map[string]uint64{}
	for _, r := range refs {
		d.trackPod(r)
	}
	host, err := cgroupv2.ReadMeminfo(d.procRoot)
	if err != nil {
		watcher.Close()
		return nil, err
	}
	d.rank = policy.RankConfig{MemTotal: host.MemTotal, MinVictim: d.cfg.Memory.MinVictim, Protect: d.cfg.Kill.Protect}
	d.th.HostFloor = d.cfg.Memory.HostAvailableFloor.Of(host.MemTotal)
	d.logStart(layout, host, len(refs))
	return watcher, nil
}

// checkKernel refuses to start where kube-oomd cannot work, saying what to
// change.
func (d *daemon) checkKernel() error {
	if err := psi.Probe(d.procRoot); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	if err := cgroupv2.CheckMemoryController(d.cgroupRoot); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	return nil
}

// waitForKubepods finds the pods' parent cgroup. On a node where kube-oomd
// starts before the kubelet (the unit runs Before=kubelet.service) it does
// not exist yet: then the daemon tells systemd it is up, so that neither
// the kubelet's start nor a package install waits on it, and waits, petting
// the watchdog.
func (d *daemon) waitForKubepods(ctx context.Context) (cgroupv2.Layout, error) {
	l, err := d.detectLayout()
	if err == nil || !errors.Is(err, cgroupv2.ErrNoKubepods) {
		return l, err
	}
	d.log.Warn("waiting for the kubelet's pod cgroup", "error", err, "retry", d.cfg.Cgroup.RescanInterval)
	d.notify.Ready()
	d.notify.Status("waiting for the kubelet's pod cgroup under " + d.cgroupRoot)
	retry := time.NewTicker(d.cfg.Cgroup.RescanInterval)
	defer retry.Stop()
	watchdog, stopWatchdog := systemd.WatchdogTicks()
	defer stopWatchdog()
	for {
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-watchdog:
			d.notify.Watchdog()
		case <-retry.C:
			if l, err = d.detectLayout(); err == nil || !errors.Is(err, cgroupv2.ErrNoKubepods) {
				if err == nil {
					d.log.Info("found the kubelet's pod cgroup", "kubepods", l.Kubepods)
				}
				return l, err
			}
		}
	}
}

func (d *daemon) detectLayout() (cgroupv2.Layout, error) {
	return cgroupv2.DetectLayout(d.cgroupRoot, d.cfg.Cgroup.Kubepods, cgroupv2.Driver(d.cfg.Cgroup.Driver))
}

// thresholds are the decision's thresholds for the trigger in force: when
// the kernel made the window longer, the stalls scale with it.
func (d *daemon) thresholds(t psi.TriggerSpec) policy.Thresholds {
	scale := func(x time.Duration) time.Duration {
		return time.Duration(float64(x) * float64(t.Window) / float64(d.cfg.Pressure.Window))
	}
	th := policy.Thresholds{
		Kind: t.Kind, Stall: scale(d.cfg.Pressure.Stall), Window: t.Window, Windows: d.cfg.Pressure.Windows,
		TriggerStall: t.Stall,
		NearLimit:    d.cfg.Memory.NearLimit, OnImminentOOM: d.cfg.Kill.OnImminentOOM, Cooldown: d.cfg.Kill.Cooldown,
	}
	if d.ladderOn() {
		th.ReliefStall = scale(d.cfg.Relief.Stall)
		th.Reclaim, th.Throttle = d.cfg.Relief.Reclaim, d.cfg.Relief.Throttle
		th.ThrottleAfter, th.ReleaseAfter = d.cfg.Relief.ThrottleAfter, d.cfg.Relief.ReleaseAfter
	}
	return th
}

func (d *daemon) logStart(l cgroupv2.Layout, host cgroupv2.Meminfo, pods int) {
	kp := l.Abs(l.Kubepods)
	d.log.Info("kube-oomd started",
		"version", versionString(),
		"kernel", cgroupv2.KernelRelease(d.procRoot),
		"driver", string(l.Driver),
		"kubepods", l.Kubepods,
		"trigger", psi.TriggerSpec{Kind: d.th.Kind, Stall: d.th.TriggerStall, Window: d.th.Window}.String(),
		"kill_stall", d.th.Stall.String(),
		"relief", d.ladderOn(),
		"windows", d.th.Windows,
		"watch_host", d.cfg.Pressure.WatchHost,
		"cgroup_kill", fileExists(filepath.Join(kp, "cgroup.kill")),
		"memory_reclaim", fileExists(filepath.Join(kp, "memory.reclaim")),
		"mode", d.cfg.Kill.Mode,
		"pods", pods,
		"mem_total_bytes", host.MemTotal,
		"log_format", d.logFormat,
		"config", d.cfg)
}

// loopInputs are the event sources of the main loop.
type loopInputs struct {
	psi           <-chan psi.Event
	changes       <-chan cgroupv2.Change
	errc          <-chan error
	configChanged <-chan struct{}
	status        <-chan chan<- status
}

// loop serves events until ctx is cancelled or a watcher fails. All of the
// daemon's state lives in this goroutine.
func (d *daemon) loop(ctx context.Context, in loopInputs) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	rescan := time.NewTicker(d.cfg.Cgroup.RescanInterval)
	defer rescan.Stop()
	watchdog, stopWatchdog := systemd.WatchdogTicks()
	defer stopWatchdog()
	// While pressure builds, the daemon looks again every window, so that it
	// sees calm windows too (triggers fire only for pressured ones).
	sample := time.NewTimer(0)
	<-sample.C
	sampling := false

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
			d.countTriggerEvent(ev)
			if ev.Gone {
				return fmt.Errorf("PSI trigger %q went away: was %s removed?", ev.Key, d.reader.Layout.Kubepods)
			}
			// Host pressure wakes the daemon; only kubepods' own counts.
			triggered, observe = ev.Key == triggerKubepods, true
		case <-sample.C:
			sampling, observe = false, true
		case c := <-in.changes:
			observe = d.handleChange(c)
		case <-rescan.C:
			d.resync()
			observe = true
		case <-watchdog:
			d.notify.Watchdog()
		case <-hup:
			d.log.Info("SIGHUP: reloading the config", "config", d.cfgPath)
			d.reload()
		case <-in.configChanged:
			d.log.Info("config file changed: reloading", "config", d.cfgPath)
			d.reload()
		case reply := <-in.status:
			reply <- d.status()
		}
		if !observe {
			continue
		}
		if err := d.observe(ctx, triggered); err != nil {
			if errors.Is(err, cgroupv2.ErrGone) {
				return fmt.Errorf("%s was removed: %w", d.reader.Layout.Kubepods, err)
			}
			d.log.Error("cannot read kubepods", "error", err)
		}
		// Look every window while anything is building up or being relieved:
		// calm windows fire no trigger, and release counts them.
		busy := d.state.Pressured > 0 || d.state.Strained > 0 || len(d.throttles) > 0
		if !sampling && (busy || triggered) {
			sample.Reset(d.th.Window)
			sampling = true
		}
	}
}

// handleChange keeps the pod list and OOM counts up to date; it returns
// true when kubepods' own memory.events changed, which calls for a look.
func (d *daemon) handleChange(c cgroupv2.Change) bool {
	switch c.Kind {
	case cgroupv2.PodAdded:
		d.trackPod(c.Pod)
		d.log.Debug("pod added", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS, "cgroup", c.Pod.Path)
	case cgroupv2.PodRemoved:
		delete(d.oomKills, c.Pod.Path)
		d.forget(c.Pod.Path)
		d.log.Debug("pod removed", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS, "cgroup", c.Pod.Path)
	case cgroupv2.EventsChanged:
		if c.Pod.Path == "" {
			return true
		}
		d.checkOOMKills(c.Pod)
	case cgroupv2.Resync:
		d.resync()
		return true
	}
	d.setStatus()
	return false
}

// trackPod starts following a pod's kernel OOM kills from its current count.
func (d *daemon) trackPod(r cgroupv2.PodRef) {
	ev, err := cgroupv2.ReadMemoryEvents(d.reader.Layout.Abs(r.Path))
	if err != nil {
		return // gone already
	}
	d.oomKills[r.Path] = ev.OOMKill
}

// checkOOMKills logs the kernel OOM kills in a pod since the last look.
func (d *daemon) checkOOMKills(r cgroupv2.PodRef) {
	ev, err := cgroupv2.ReadMemoryEvents(d.reader.Layout.Abs(r.Path))
	if err != nil {
		return
	}
	last, known := d.oomKills[r.Path]
	d.oomKills[r.Path] = ev.OOMKill
	if !known || ev.OOMKill <= last {
		return
	}
	d.log.Warn("the kernel OOM killer killed in a pod",
		systemd.MessageIDKey, msgKernelOOM,
		"pod_uid", r.UID, "qos", r.QoS.String(), "cgroup", r.Path,
		"reason", "kernel-oom-kill",
		"oom_kills", ev.OOMKill-last, "oom_kills_total", ev.OOMKill)
}

// resync is the slow safety net: it finds pods that inotify missed and
// checks every pod's OOM count.
func (d *daemon) resync() {
	for _, c := range d.pods.Sync() {
		d.handleChange(c)
	}
	for _, r := range d.pods.Pods() {
		d.checkOOMKills(r)
	}
}

// observe reads kubepods (and nothing else), lets policy decide, and acts.
func (d *daemon) observe(ctx context.Context, triggered bool) error {
	g, local, err := d.reader.ReadKubepods()
	if err != nil {
		return err
	}
	host, err := cgroupv2.ReadMeminfo(d.procRoot)
	if err != nil {
		return err
	}
	o := policy.Observation{Now: time.Now(), Triggered: triggered, Kubepods: g, Local: local, Host: host}
	var v policy.Verdict
	d.state, v = policy.Decide(d.state, o, d.th)
	d.verdict = v
	d.log.Debug("observation", "triggered", triggered, pressureAttrs(g), memoryAttrs(g, host),
		"pressured_windows", v.Pressured, "stall_share", round(v.Stall), "near_limit", v.Near, "cooling", v.Cooling)
	if v.Kill {
		d.act(ctx, v, o)
	} else {
		d.relieve(ctx, v, o)
	}
	return nil
}

// act chooses a victim and kills it (or, in dry-run, says what it would
// kill). The cooldown starts either way.
func (d *daemon) act(ctx context.Context, v policy.Verdict, o policy.Observation) {
	defer func() { d.state = policy.Acted(d.state, time.Now()); d.setStatus() }()
	victim, ok, err := d.chooseVictim()
	if err != nil {
		d.log.Error("cannot read the pods to choose a victim", "reason", v.Reason, "error", err)
		return
	}
	if !ok {
		d.log.Warn("memory pressure, but no pod may be killed: all are protected",
			"reason", v.Reason, pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		return
	}
	d.kill(ctx, victim, v, o)
}

// kill kills one chosen victim, or in dry-run says it would, and logs it
// with the figures behind the decision.
func (d *daemon) kill(ctx context.Context, victim policy.Candidate, v policy.Verdict, o policy.Observation) {
	target, what, err := d.target(victim)
	if err != nil {
		d.log.Warn("victim changed before the kill; nothing killed", "pod_uid", victim.Pod.UID, "cgroup", victim.Pod.Path, "error", err)
		return
	}
	fields := []any{
		"pod_uid", victim.Pod.UID, "qos", victim.Pod.QoS.String(), "cgroup", victim.Pod.Path,
		"reason", string(v.Reason), "target", what, "rank", victim.Rank,
		"pod_working_set_bytes", victim.Pod.WorkingSet, "pod_request_bytes", victim.Request, "request_source", string(victim.RequestSource),
		"pressured_windows", v.Pressured, "strained_windows", v.Strained, "stall_share", round(v.Stall),
		pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host),
	}
	record := killRecord{Time: time.Now(), UID: victim.Pod.UID, QoS: victim.Pod.QoS.String(), Cgroup: victim.Pod.Path,
		Reason: string(v.Reason), Target: what}
	if d.cfg.Kill.Mode == config.ModeDryRun {
		d.log.Warn("dry run: would kill", append([]any{systemd.MessageIDKey, msgWouldKill}, fields...)...)
		d.lastKill = "would kill " + victim.Pod.UID
		record.DryRun = true
		d.recordKill(record)
		return
	}
	k := killer.Killer{Timeout: d.cfg.Kill.Timeout}
	res, err := k.Kill(ctx, target)
	switch {
	case errors.Is(err, killer.ErrChanged):
		d.log.Warn("victim changed before the kill; nothing killed", append(fields, "error", err)...)
		return
	case err != nil && !errors.Is(err, killer.ErrNotConfirmed):
		d.log.Error("kill failed", append(fields, "error", err)...)
		return
	}
	fields = append(fields,
		"freed_bytes", res.Freed, "method", string(res.Method), "pids", res.PIDs,
		"released", res.Released, "confirmed", res.Confirmed, "took", res.Took.Round(time.Millisecond).String())
	if err != nil {
		d.log.Error("killed, but the cgroup did not empty in time", append(fields, systemd.MessageIDKey, msgKilled, "error", err)...)
	} else {
		d.log.Warn("killed pod", append(fields, systemd.MessageIDKey, msgKilled)...)
	}
	d.lastKill = fmt.Sprintf("killed %s (%s, %s)", victim.Pod.UID, victim.Pod.QoS, v.Reason)
	record.FreedBytes, record.Confirmed = res.Freed, res.Confirmed
	d.recordKill(record)
	// The kubelet restarts the pod's containers in the same cgroup: a
	// throttle on it must not outlive the kill.
	d.unthrottle(ctx, victim.Pod.Path, "pod killed")
}

// chooseVictim reads the candidates a class at a time, BestEffort first,
// and stops as soon as the ranking has a victim big enough to help: pods of
// later classes could not rank before it.
func (d *daemon) chooseVictim() (policy.Candidate, bool, error) {
	byClass := map[cgroupv2.QoS][]cgroupv2.PodRef{}
	for _, r := range d.pods.Pods() {
		byClass[r.QoS] = append(byClass[r.QoS], r)
	}
	var read []cgroupv2.Pod
	var ranked []policy.Candidate
	for _, q := range []cgroupv2.QoS{cgroupv2.BestEffort, cgroupv2.Burstable, cgroupv2.Guaranteed} {
		pods, err := d.reader.ReadPods(byClass[q])
		if err != nil {
			return policy.Candidate{}, false, err
		}
		read = append(read, pods...)
		ranked = policy.Rank(read, d.rank)
		if v, ok := policy.Victim(ranked); ok && !v.Small {
			return v, true, nil
		}
	}
	v, ok := policy.Victim(ranked)
	return v, ok, nil
}

// target is the cgroup to kill for the configured mode.
func (d *daemon) target(c policy.Candidate) (killer.Target, string, error) {
	if d.cfg.Kill.Mode == config.ModeContainer {
		if ctr, ok := policy.LargestContainer(*c.Pod); ok {
			abs := d.reader.Layout.Abs(ctr.Path)
			id, err := cgroupv2.ID(abs)
			return killer.Target{Cgroup: abs, ID: id}, "container " + ctr.Path, err
		}
	}
	return killer.Target{Cgroup: d.reader.Layout.Abs(c.Pod.Path), ID: c.Pod.ID}, "pod", nil
}

// setStatus updates the one line `systemctl status` shows.
func (d *daemon) setStatus() {
	s := fmt.Sprintf("watching %d pods under %s, mode %s, %d throttled", len(d.oomKills), d.reader.Layout.Kubepods, d.cfg.Kill.Mode, len(d.throttles))
	if d.lastKill != "" {
		s += "; last: " + d.lastKill
	}
	d.notify.Status(s)
}

func pressureAttrs(g cgroupv2.Group) slog.Attr {
	return slog.Group("psi",
		"some_avg10", g.Pressure.Some.Avg10, "full_avg10", g.Pressure.Full.Avg10,
		"some_total_us", g.Pressure.Some.Total.Microseconds(), "full_total_us", g.Pressure.Full.Total.Microseconds())
}

func memoryAttrs(g cgroupv2.Group, host cgroupv2.Meminfo) slog.Attr {
	limit := int64(-1)
	if g.Max != cgroupv2.Unlimited {
		limit = int64(g.Max)
	}
	return slog.Group("kubepods",
		"working_set_bytes", g.WorkingSet, "current_bytes", g.Current, "limit_bytes", limit,
		"anon_bytes", g.Stat.Anon, "file_bytes", g.Stat.File, "host_available_bytes", host.MemAvailable)
}

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }
