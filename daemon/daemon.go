package daemon

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
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Options are what `kube-oomd run` hands the daemon.
type Options struct {
	ConfigPath string // reloaded, with its drop-in directory, on SIGHUP and on change
	// Load reads the config at start: the config and the files it was
	// read from (Sources.Missing: no file at ConfigPath, running on the
	// defaults, plus the fragments). Run calls it only once it holds the
	// instance lock and has undone what a crashed run left (see
	// undoLeftovers): a config that does not load fails the start, with
	// Load's error, but never leaves a pod frozen, a container's
	// memory.max lowered or a throttle in force. Nil: the built-in
	// defaults.
	Load       func() (config.Config, config.Sources, error)
	DryRunFlag bool   // --dry-run, which a reload must keep
	CgroupRoot string // the cgroup2 mount, /sys/fs/cgroup
	ProcRoot   string // /proc
	RunDir     string // state that must survive a restart: /run/kube-oomd
	Stderr     io.Writer
	Version    string

	// Logger, if set, is used instead of one built from the config's log
	// settings (tests).
	Logger *slog.Logger
	// Notifier talks to systemd; the zero Notifier says nothing.
	Notifier systemd.Notifier
	// Clock is the daemon's time; nil means the system clock.
	Clock clock.Clock

	// test puts a test's sources in place of the kernel's, inotify's,
	// D-Bus's, the signals' and the sockets'; the zero seams are the real
	// ones.
	test seams
}

// seams are what a test puts in place of the node's own sources. Each is
// nil for the real one.
type seams struct {
	// triggers are the PSI triggers: a test's plays the events itself
	// (the kernel's psi.Watcher otherwise).
	triggers triggerSource
	// pods follows the pods: inotify, or the rescan alone (pollPods).
	pods podSource
	// setter sets memory.high: a test's writes the file (systemd's units
	// over D-Bus with the systemd driver otherwise, else the file).
	setter relief.Setter
	// hup replaces SIGHUP.
	hup <-chan os.Signal
	// status, when set, replaces the status socket; observed, when set,
	// gets every verdict as the loop decides it. Unbuffered, they let a
	// test step in lockstep with the loop.
	status   chan chan<- Status
	observed chan<- observation
	// metrics, when set, are the daemon's metrics whether or not
	// metrics.listen serves them, for a test to read.
	metrics *metrics.Metrics
}

// observation is what a test learns of each look the loop takes.
type observation struct {
	verdict  policy.Verdict
	sampling bool // the loop will look again when the window ends
}

// Daemon is one run of kube-oomd: the loop. It keeps what it observes
// (observed) and the decision's state (decision); what acts is the actor's,
// what is said is the recorder's. All of its fields belong to the loop's
// goroutine, but the worker's jobs (see actor).
type Daemon struct {
	opt     Options
	cfg     config.Config
	sources config.Sources // the files cfg was read from
	clock   clock.Clock
	started time.Time
	*observed
	decision
	act *actor // nil until the loop starts
	*recorder
}

// observed is what the loop observes: the node (the kubelet's pod cgroup
// and its reader), the kernel's features, the PSI triggers and the pods.
type observed struct {
	node
	features cgroupv2.Features
	memTotal uint64
	triggers *triggerSet
	pods     *podTracker
}

// decision is what the loop keeps of the decision: policy's thresholds
// and state, the last verdict, and a kill that waits.
type decision struct {
	th       policy.Thresholds
	state    policy.State
	verdict  policy.Verdict   // the last one, for status
	deferred *policy.Decision // a kill decision that waits for the action in flight
	lookNow  bool             // a kill reported: look again at once
}

// Run runs the daemon until ctx is cancelled or a watcher fails.
//
// Start-up goes in this order, so that no config, logger or listener can
// stop a start before the leftovers of a crashed run are undone: take
// SIGHUP, take the instance lock, undo the leftovers (logging on the
// default logger), watch the config file, and only then load the config
// (Options.Load), which may fail the start: an edit made once it is read,
// while the daemon waits for the kubelet too, is applied.
func Run(ctx context.Context, o Options) error {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	hup := o.test.hup
	if hup == nil {
		// From the first instant: systemctl reload must never kill the
		// daemon, not even while it waits for the kubelet.
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		defer signal.Stop(c)
		hup = c
	}
	lock, err := lockInstance(o.RunDir)
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	defer lock.release()
	undoLeftovers(ctx, o)
	// The config is watched before it is read: an edit made from then on,
	// while the daemon waits for the kubelet too, is applied.
	watchCtx, stopWatch := context.WithCancel(ctx) // a start that fails stops it too
	defer stopWatch()
	watch := startConfigWatch(watchCtx, o.ConfigPath)
	cfg, src := config.Default(), config.Sources{Path: o.ConfigPath, Missing: true}
	if o.Load != nil {
		if cfg, src, err = o.Load(); err != nil {
			return err
		}
	}
	d := &Daemon{opt: o, cfg: cfg, sources: src, clock: o.Clock, observed: &observed{},
		recorder: &recorder{notify: o.Notifier, log: o.Logger, metrics: o.test.metrics, clock: o.Clock}}
	if d.metrics == nil && d.cfg.Metrics.Listen != "" {
		d.metrics = metrics.New(metricLabels())
	}
	d.logFormat = "caller's"
	if d.log == nil {
		log, format, err := NewLogger(d.cfg.Log, d.opt.Stderr)
		if err != nil {
			return err
		}
		d.log, d.logFormat = log, format
	}
	d.started = d.clock.Now()
	if d.sources.Missing {
		d.log.Warn("no config file, running on built-in defaults", vocab.Config, o.ConfigPath, vocab.Files, d.sources.Paths())
	} else {
		d.log.Info("config loaded", vocab.Config, o.ConfigPath, vocab.Files, d.sources.Paths())
	}
	d.logSources()
	feed := watch.feed(d)
	return d.run(ctx, hup, feed)
}

// undoLeftovers undoes what a crashed run left, under the instance lock and
// before the config is read, so that it depends on nothing but the run
// directory and the cgroup root: it thaws what a kill left frozen, puts
// back the memory.max a kill lowered, and gives back the throttles in
// force (relief.GiveBackDirect). Each undo is logged on Options.Logger, or
// before the config on the default logger (journald under systemd, else
// text on stderr).
func undoLeftovers(ctx context.Context, o Options) {
	log := o.Logger
	if log == nil {
		// The defaults always make a logger.
		log, _, _ = NewLogger(config.Default().Log, o.Stderr)
	}
	// No config yet: detectLayout looks under the kubelet's defaults, a
	// guess (a record under the config's cgroup.kubepods waits for run).
	u := &Daemon{opt: o, clock: o.Clock, observed: &observed{}, recorder: &recorder{log: log, clock: o.Clock}}
	u.undoLeftovers(true)
	u.giveBackThrottles(ctx)
}

// giveBackThrottles writes back, to the file, the memory.high of each pod
// an earlier run left throttled (relief.GiveBackDirect). Before the config
// is read, the layout is the one found under the kubelet's default parent
// cgroups: throttles under a cgroup.kubepods of the config's, or not found
// (the kubelet not started yet), wait for the ladder's Restore (startLadder).
func (d *Daemon) giveBackThrottles(ctx context.Context) {
	store := d.throttleStore()
	layout, lerr := cgroupv2.DetectLayout(d.opt.CgroupRoot, "", "")
	if lerr != nil {
		ts, err := store.Load()
		switch {
		case err != nil:
			d.log.Error("cannot read the throttles of an earlier run", vocab.File, store.Path, vocab.Error, err)
		case len(ts) > 0:
			d.log.Warn("cannot give back the throttles of an earlier run before the config is read: they are given back once it is",
				vocab.File, store.Path, vocab.Error, lerr)
		}
		return
	}
	results, err := relief.GiveBackDirect(ctx, layout, store)
	if err != nil {
		d.log.Error("cannot read or save the throttles of an earlier run", vocab.File, store.Path, vocab.Error, err)
	}
	for _, r := range results {
		if t := r.Throttle; r.Kind == relief.StepLift && r.Err == nil && layout.Driver == cgroupv2.DriverSystemd {
			d.log.Info("wrote back memory.high set by an earlier run to the file: its unit's MemoryHigh is given back over D-Bus once the config is read",
				d.pod(t.UID, t.QoS, t.Cgroup), vocab.Reason, r.Why, vocab.MemoryHigh, cgroupv2.FormatLimit(t.Original), vocab.File, store.Path)
			continue
		}
		d.logLadder([]relief.Result{r}, "file")
	}
}

// throttleStore is the throttles' state file in the run directory.
func (d *Daemon) throttleStore() relief.Store {
	return relief.Store{Path: filepath.Join(d.opt.RunDir, rundir.Throttles)}
}

func (d *Daemon) run(ctx context.Context, hup <-chan os.Signal, feed configFeed) error {
	// What a crashed run left frozen, lowered or throttled is undone
	// already (Run, before the config, in the layout under the kubelet's
	// default parent cgroups); again now in the config's layout, for a
	// cgroup.kubepods of its own. (With no kubepods yet, no record can name
	// a live cgroup of it: the records wait for the first rescan once it is
	// found.) Only this check drops an entry not under kubepods.
	d.undoLeftovers(false)
	// Then the metrics endpoint: a scrape works while the daemon waits for
	// the kubelet, and a listener that cannot be opened fails the start at
	// once.
	stopMetrics, err := d.serveMetrics(ctx)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if err := d.checkKernel(); err != nil {
		return err
	}
	n, err := d.waitForKubepods(ctx, hup, feed)
	if err != nil {
		return err
	}
	layout := n.layout
	d.layout, d.reader = n.layout, n.reader
	if d.features, err = cgroupv2.ProbeFeatures(layout, d.opt.ProcRoot); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	host, err := procfs.ReadMeminfo(d.opt.ProcRoot)
	if err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	d.memTotal = host.MemTotal

	if d.triggers, err = newTriggerSet(d.opt.test.triggers, d.metrics); err != nil {
		return err
	}
	defer d.triggers.close()
	if err := d.applyTriggers(d.cfg); err != nil {
		return err
	}
	namesCtx, stopNames := context.WithCancel(ctx)
	var runtimeStates <-chan runtimeState
	d.names, runtimeStates = d.newNames(namesCtx)
	defer d.names.Wait()
	defer stopNames() // before the wait: a question in flight ends now
	if d.pods, err = newPodTracker(layout, d.opt.test.pods); err != nil {
		return err
	}
	defer d.pods.close()
	d.countPods()
	for _, r := range d.pods.refs() {
		d.names.Want(r.UID)
	}
	if why := d.pods.polling(); why != nil {
		d.log.Warn("cannot watch the pods with inotify: following them by the rescan alone, every cgroup.rescan_interval; "+
			"raise fs.inotify.max_user_instances and fs.inotify.max_user_watches", vocab.Rescan, d.cfg.Cgroup.RescanInterval.String(), vocab.Error, why)
	}

	d.act = &actor{worker: newWorker(), clock: d.clock, procRoot: d.opt.ProcRoot, runDir: d.opt.RunDir, layout: layout, features: d.features}
	d.startLadder(ctx)
	d.act.start(ctx)
	defer d.stop()

	changes := make(chan cgroupv2.Change, 256)
	errc := make(chan error, 2)
	psiEvents := d.triggers.start(ctx, errc)
	go func() { errc <- d.pods.watcher.Run(ctx, changes) }()

	statusReq := (<-chan chan<- Status)(d.opt.test.status)
	if statusReq == nil {
		if statusReq, err = d.serveStatus(ctx); err != nil {
			d.log.Warn("cannot serve kube-oomd status", vocab.Error, err)
		}
	}

	d.logStart(host)
	d.notify.Ready()
	d.setStatus()
	defer d.notify.Stopping()
	return d.loop(ctx, loopInputs{psi: psiEvents, changes: changes, errc: errc, hup: hup, config: feed, status: statusReq,
		runtime: runtimeStates})
}

// checkKernel refuses to start where kube-oomd cannot work, saying what to
// change.
func (d *Daemon) checkKernel() error {
	if err := psi.Probe(d.opt.ProcRoot); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	if err := cgroupv2.CheckMemoryController(d.opt.CgroupRoot); err != nil {
		return fmt.Errorf("cannot start: %w", err)
	}
	return nil
}

// waitForKubepods finds the pods' parent cgroup. On a node where kube-oomd
// starts before the kubelet (the unit runs Before=kubelet.service) it does
// not exist yet: then the daemon tells systemd it is up, so that neither
// the kubelet's start nor a package install waits on it, and waits,
// petting the watchdog and taking reloads.
// detectLayout finds the kubelet's layout as the config says it.
func (d *Daemon) detectLayout() (cgroupv2.Layout, error) {
	n, err := d.openNode()
	return n.layout, err
}

// openNode opens the node as the config in force says.
func (d *Daemon) openNode() (node, error) {
	return openNode(d.opt.CgroupRoot, d.opt.ProcRoot, d.cfg.Cgroup)
}

func (d *Daemon) waitForKubepods(ctx context.Context, hup <-chan os.Signal, feed configFeed) (node, error) {
	detect := d.openNode
	l, err := detect()
	if err == nil || !errors.Is(err, cgroupv2.ErrNoKubepods) {
		return l, err
	}
	d.log.Warn("waiting for the kubelet's pod cgroup", vocab.Error, err, vocab.Retry, d.cfg.Cgroup.RescanInterval.String())
	d.notify.Ready()
	d.waiting(d.opt.CgroupRoot)
	retry := d.clock.NewTicker(d.cfg.Cgroup.RescanInterval)
	defer retry.Stop()
	watchdog, stopWatchdog := d.watchdogTicks()
	defer stopWatchdog()
	for {
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-watchdog:
			d.notify.Watchdog()
		case <-hup:
			d.log.Info("SIGHUP: reloading the config", vocab.Config, d.opt.ConfigPath)
			d.reload()
		case ev := <-feed.changed:
			d.configChanged(feed.edits, ev)
		case <-feed.edits.C():
			d.configSettled(feed.edits)
		case <-retry.C():
			if l, err = detect(); err == nil || !errors.Is(err, cgroupv2.ErrNoKubepods) {
				if err == nil {
					d.log.Info("found the kubelet's pod cgroup", vocab.Kubepods, l.layout.Kubepods)
				}
				return l, err
			}
		}
	}
}

// watchdogTicks ticks when systemd's watchdog is due to be petted; never,
// where systemd expects no watchdog.
func (d *Daemon) watchdogTicks() (<-chan time.Time, func()) {
	iv := systemd.WatchdogInterval()
	if iv <= 0 {
		return nil, func() {}
	}
	t := d.clock.NewTicker(iv)
	return t.C(), t.Stop
}

// startLadder picks how memory.high is set and gives back what an earlier
// run left throttled.
func (d *Daemon) startLadder(ctx context.Context) {
	a := d.act
	var setter relief.Setter = relief.FileSetter{Mount: d.layout.Mount}
	a.via = "file"
	switch {
	case d.opt.test.setter != nil:
		setter = d.opt.test.setter
	case d.layout.Driver == cgroupv2.DriverSystemd:
		if units, err := d.dialUnits(); err != nil {
			d.log.Warn("cannot reach systemd over D-Bus: throttles write memory.high directly, which a daemon-reload may undo", vocab.Error, err)
		} else {
			setter, a.via, a.units = units, "systemd", units
		}
	}
	a.ladder = relief.NewLadder(relief.LadderConfig{
		Layout: d.layout, Setter: setter, PageSize: d.features.PageSize, Clock: d.clock,
		Store: d.throttleStore(),
	})
	results, err := a.ladder.Restore(ctx)
	if err != nil {
		d.log.Error("cannot read or save the throttles of an earlier run", vocab.File, d.throttleStore().Path, vocab.Error, err)
	}
	d.logLadder(results, a.via)
	d.setThrottles(a.ladder.Throttles())
}

// dialTimeout bounds the wait for systemd's D-Bus at start.
const dialTimeout = 10 * time.Second

// dialUnits connects to systemd over D-Bus, waiting at most dialTimeout.
// The connection lives on a context of its own, never cancelled: godbus
// closes a connection when the context it was dialled with ends, and the
// throttles must still be given back over it after the daemon's context is
// cancelled (see stop). A dial that answers too late is closed.
func (d *Daemon) dialUnits() (*systemd.Units, error) {
	type dialed struct {
		units *systemd.Units
		err   error
	}
	ch := make(chan dialed, 1)
	go func() {
		u, err := systemd.DialUnits(context.Background())
		ch <- dialed{u, err}
	}()
	t := d.clock.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.units, r.err
	case <-t.C():
		go func() {
			if r := <-ch; r.units != nil {
				r.units.Close()
			}
		}()
		return nil, fmt.Errorf("systemd did not answer on D-Bus within %v", dialTimeout)
	}
}

// stop ends the worker, then gives back every throttle and closes the
// D-Bus connection (actor.stop): on a clean stop no pod stays throttled
// because kube-oomd went away.
func (d *Daemon) stop() {
	d.logLadder(d.act.stop(), d.act.via)
}

func (d *Daemon) logStart(host cgroupv2.Meminfo) {
	d.log.Info("kube-oomd started",
		vocab.Version, d.opt.Version,
		vocab.Driver, string(d.layout.Driver),
		vocab.Kubepods, d.layout.Kubepods,
		slog.Any(vocab.Features, d.features),
		vocab.Trigger, d.triggers.inForce().String(),
		vocab.KillStall, d.th.Stall.String(),
		vocab.Relief, ladder(d.cfg).On(),
		vocab.MemoryHighVia, d.act.via,
		vocab.Mode, d.cfg.Kill.Mode,
		vocab.Pods, d.pods.count(),
		vocab.MemTotal, host.MemTotal,
		vocab.LogFormat, d.logFormat,
		vocab.Config, d.opt.ConfigPath,
		vocab.Settings, d.cfg)
}

// setStatus updates the one line `systemctl status` shows (recorder.status).
func (d *Daemon) setStatus() {
	d.status(d.pods.count(), d.layout.Kubepods, d.cfg.Kill.Mode, len(d.act.throttles), d.act.acting())
}
