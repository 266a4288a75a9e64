package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"

	"github.com/fsnotify/fsnotify"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/psi"
)

// Reloading the configuration: on SIGHUP (systemctl reload), and when the
// file changes on disk. An invalid file keeps the configuration in force.

// watchConfig watches the config file's directory (editors replace files
// rather than write them in place) and says when the file changed. It
// returns a nil channel when the directory does not exist.
func (d *daemon) watchConfig(ctx context.Context) (<-chan struct{}, error) {
	dir := filepath.Dir(d.cfgPath)
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
				if filepath.Clean(ev.Name) != filepath.Clean(d.cfgPath) || ev.Has(fsnotify.Chmod) {
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

// reload loads the config file again and applies it. What it cannot apply
// at run time ([cgroup]) waits for a restart, and says so.
func (d *daemon) reload() {
	d.notify.Reloading()
	defer d.notify.Ready()
	cfg, err := config.Load(d.cfgPath)
	if errors.Is(err, fs.ErrNotExist) && d.cfgDefaulted {
		return // still no file: still the defaults
	}
	if err != nil {
		d.log.Error("config reload failed: keeping the configuration in force", "config", d.cfgPath, "error", err)
		return
	}
	if d.dryRunFlag {
		cfg.Kill.Mode = config.ModeDryRun
	}
	if cfg.Cgroup != d.cfg.Cgroup {
		d.log.Warn("changes to [cgroup] take effect after a restart", "config", d.cfgPath)
		cfg.Cgroup = d.cfg.Cgroup
	}
	if reflect.DeepEqual(cfg, d.cfg) {
		d.log.Info("config reloaded: nothing changed", "config", d.cfgPath)
		return
	}
	old := d.cfg
	d.cfg, d.cfgDefaulted = cfg, false
	if cfg.Log != old.Log {
		if log, format, err := newLogger(cfg.Log, d.stderr); err == nil {
			d.log, d.logFormat = log, format
		}
	}
	if err := d.registerTriggers(); err != nil {
		d.log.Error("config reload: cannot register the new PSI triggers: keeping the old ones", "error", err)
		d.cfg.Pressure, d.cfg.Relief = old.Pressure, old.Relief
		if err := d.registerTriggers(); err != nil {
			d.log.Error("cannot register the PSI triggers again", "error", err)
		}
	}
	d.rank.MinVictim, d.rank.Protect = d.cfg.Memory.MinVictim, d.cfg.Kill.Protect
	d.th.HostFloor = d.cfg.Memory.HostAvailableFloor.Of(d.rank.MemTotal)
	if !d.ladderOn() || d.cfg.Kill.Mode == config.ModeDryRun {
		d.restoreAll() // nothing may stay throttled by a ladder that is off
	}
	d.log.Info("config reloaded", "config", d.cfgPath, "mode", d.cfg.Kill.Mode, "config_in_force", d.cfg)
	d.setStatus()
}

// registerTriggers (re)registers the PSI triggers the configuration asks
// for, replacing any in force, and sets the thresholds to match.
func (d *daemon) registerTriggers() error {
	p := d.cfg.Pressure
	// With the relief ladder on, the trigger fires at the lower relief
	// stall; the kill level is measured from the stall totals.
	stall := p.Stall
	if d.ladderOn() {
		stall = d.cfg.Relief.Stall
	}
	spec := psi.TriggerSpec{Kind: psi.Kind(p.Kind), Stall: stall, Window: p.Window}
	files := map[string]string{triggerKubepods: filepath.Join(d.reader.Layout.Abs(d.reader.Layout.Kubepods), "memory.pressure")}
	if p.WatchHost {
		files[triggerHost] = filepath.Join(d.procRoot, "pressure", "memory")
	}
	opened := map[string]*psi.Trigger{}
	for key, path := range files {
		if cur, ok := d.triggerInfo[key]; ok && cur.Requested == spec {
			continue // already in force
		}
		t, err := psi.OpenTrigger(path, spec)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return fmt.Errorf("cannot register the PSI trigger: %w", err)
		}
		opened[key] = t
	}
	for _, key := range []string{triggerKubepods, triggerHost} {
		t, ok := opened[key]
		_, wanted := files[key]
		if !ok && wanted {
			continue
		}
		d.triggers.Remove(key)
		delete(d.triggerInfo, key)
		if !ok {
			continue
		}
		if t.Adjusted() {
			d.log.Warn("PSI trigger window adjusted: without CAP_SYS_RESOURCE the kernel only takes multiples of 2s",
				"file", t.Path, "requested", t.Requested.String(), "in_force", t.Spec.String())
		}
		d.triggerInfo[key] = &triggerInfo{Path: t.Path, Spec: t.Spec, Requested: t.Requested}
		if err := d.triggers.Add(key, t); err != nil {
			return err
		}
	}
	d.th = d.thresholds(d.triggerInfo[triggerKubepods].Spec)
	return nil
}
