package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/daemon"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// runDaemon is `kube-oomd run`.
func (e *env) runDaemon(ctx context.Context, args []string) error {
	fs := e.flags("run")
	cfgPath := fs.String("config", "", "config file (default "+config.DefaultPath+")")
	dryRun := fs.Bool("dry-run", false, "log what would be killed, kill nothing (overrides kill.mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("run takes no arguments, got %q", fs.Args())}
	}
	path := *cfgPath
	if path == "" {
		path = config.DefaultPath
	}
	// The config is loaded by the daemon, once it has undone what a
	// crashed run left: a bad config must not keep a pod frozen.
	load := func() (config.Config, bool, error) {
		cfg, defaulted, err := loadConfig(*cfgPath)
		if err == nil && *dryRun {
			cfg.Kill.Mode = config.ModeDryRun
		}
		return cfg, defaulted, err
	}
	return daemon.Run(ctx, daemon.Options{
		Load: load, ConfigPath: path, DryRunFlag: *dryRun,
		CgroupRoot: e.cgroupRoot, ProcRoot: e.procRoot, RunDir: e.runDir,
		Stderr: e.stderr, Version: versionString(), Notifier: systemd.NewNotifier(),
	})
}

// loadConfig loads path, or the default path when path is "". Only a missing
// default file falls back to the built-in defaults; a missing file that was
// named on the command line is an error.
func loadConfig(path string) (cfg config.Config, defaulted bool, err error) {
	if path != "" {
		cfg, err = config.Load(path)
		return cfg, false, err
	}
	cfg, err = config.Load(config.DefaultPath)
	if errors.Is(err, fs.ErrNotExist) {
		return config.Default(), true, nil
	}
	return cfg, false, err
}
