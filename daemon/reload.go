package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/relief"
)

// Reloading the configuration: on SIGHUP (systemctl reload), and when the
// file changes on disk. An invalid file keeps the configuration in force.

// configSettle is how long the config file must stay unchanged after an
// edit before it is reloaded: a file rewritten in place (">", tee, some
// editors) is empty or cut short for a moment, and that is valid TOML
// meaning "all defaults".
const configSettle = time.Second

// settler turns a burst of file events into one reload, configSettle after
// the last of them, on the daemon's clock.
type settler struct {
	clock clock.Clock
	timer clock.Timer
}

// changed (re)starts the wait.
func (s *settler) changed() {
	if s.timer == nil {
		s.timer = s.clock.NewTimer(configSettle)
		return
	}
	s.timer.Reset(configSettle)
}

// C fires once the file has been quiet for configSettle; never before a change.
func (s *settler) C() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C()
}

// watchConfig watches the config file's directory (editors replace files
// rather than write them in place) and says when the file changed. It
// returns a nil channel when the directory does not exist.
func watchConfig(ctx context.Context, path string) (<-chan struct{}, error) {
	dir := filepath.Dir(path)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.Errors:
			case ev := <-w.Events:
				if filepath.Clean(ev.Name) != filepath.Clean(path) || ev.Has(fsnotify.Chmod) {
					continue
				}
				select {
				case out <- struct{}{}:
				default: // one pending reload covers many events
				}
			}
		}
	}()
	return out, nil
}

// reload loads the config file again and applies it, whole or not at all.
// What it cannot apply at run time ([cgroup], [runtime], [metrics]) waits
// for a restart, and says so.
func (d *Daemon) reload() {
	d.notify.Reloading()
	defer d.notify.Ready()
	failed := false // each "config reload failed" sets it, for kube_oomd_config_last_reload_successful
	defer func() { d.metrics.ConfigReloaded(!failed, d.clock.Now()) }()
	path := d.opt.ConfigPath
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) && d.defaulted {
		return // still no file: still the defaults
	}
	if err == nil && !d.defaulted && emptyFile(path) {
		err = fmt.Errorf("%s is empty: an empty file would mean every default (and kill.mode %q); "+
			"write the keys you want, or delete the file to run on the defaults and restart", path, config.ModePod)
	}
	if err != nil {
		d.log.Error("config reload failed: keeping the configuration in force", attrConfig, path, attrError, err)
		failed = true
		return
	}
	if d.opt.DryRunFlag {
		cfg.Kill.Mode = config.ModeDryRun
	}
	if cfg.Cgroup != d.cfg.Cgroup {
		d.log.Warn("changes to [cgroup] take effect after a restart", attrConfig, path)
		cfg.Cgroup = d.cfg.Cgroup
	}
	if cfg.Runtime != d.cfg.Runtime {
		d.log.Warn("changes to [runtime] take effect after a restart", attrConfig, path)
		cfg.Runtime = d.cfg.Runtime
	}
	if cfg.Metrics != d.cfg.Metrics {
		// As [cgroup]: a listener moved at run time could fail half-way,
		// and a reload never fails the daemon.
		d.log.Warn("changes to [metrics] take effect after a restart", attrConfig, path, attrListen, d.cfg.Metrics.Listen)
		cfg.Metrics = d.cfg.Metrics
	}
	if reflect.DeepEqual(cfg, d.cfg) {
		d.log.Info("config reloaded: nothing changed", attrConfig, path)
		return
	}
	log, format := d.log, d.logFormat
	if cfg.Log != d.cfg.Log && d.opt.Logger == nil {
		if log, format, err = NewLogger(cfg.Log, d.opt.Stderr); err != nil {
			d.log.Error("config reload failed: keeping the configuration in force", attrConfig, path, attrError, err)
			failed = true
			return
		}
	}
	if d.triggers != nil { // nil while waiting for the kubelet's cgroup
		if err := d.applyTriggers(cfg); err != nil {
			d.log.Error("config reload failed: cannot register the new PSI triggers; keeping the configuration in force", attrConfig, path, attrError, err)
			failed = true
			return
		}
	}
	d.cfg, d.defaulted, d.log, d.logFormat = cfg, false, log, format
	if d.actions != nil && (!ladderOn(cfg) || cfg.Kill.Mode == config.ModeDryRun) {
		d.liftAll(relief.LiftReliefOff) // nothing may stay throttled by a ladder that is off
	}
	d.log.Info("config reloaded", attrConfig, path, attrMode, d.cfg.Kill.Mode, attrSettings, d.cfg)
	if d.actions != nil {
		d.setStatus()
	}
}

// emptyFile says whether the file holds nothing but blanks and comments.
func emptyFile(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// applyTriggers registers the PSI triggers cfg asks for, replacing those in
// force only once all are open, and sets the thresholds to match.
func (d *Daemon) applyTriggers(cfg config.Config) error {
	files := map[string]string{triggerKubepods: filepath.Join(d.layout.Abs(d.layout.Kubepods), "memory.pressure")}
	if cfg.Pressure.WatchHost {
		files[triggerHost] = filepath.Join(d.opt.ProcRoot, "pressure", "memory")
	}
	adjusted, err := d.triggers.apply(triggerSpec(cfg), files)
	if err != nil {
		return err
	}
	for _, t := range adjusted {
		d.log.Warn("PSI trigger window adjusted: without CAP_SYS_RESOURCE the kernel only takes multiples of 2s",
			attrFile, t.Path, "requested", t.Requested.String(), "in_force", t.Spec.String())
	}
	d.th = thresholds(cfg, d.triggers.inForce(), d.memTotal, d.features)
	return nil
}
