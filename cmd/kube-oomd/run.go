package main

import (
	"context"
	"fmt"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/daemon"
)

// runDaemon is `kube-oomd run`.
func (e *env) runDaemon(ctx context.Context, args []string) error {
	fs := e.flags("run")
	cfgPath := fs.String("config", "", "config file, read with the *.toml fragments of FILE.d/ (default "+config.DefaultPath+")")
	dryRun := fs.Bool("dry-run", false, "log what would be killed, kill nothing (overrides kill.mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("run takes no arguments, got %q", fs.Args())}
	}
	path, _ := config.FlagPath(*cfgPath)
	// The config is loaded by the daemon, once it has undone what a
	// crashed run left: a bad config must not keep a pod frozen.
	load := func() (config.Config, config.Sources, error) {
		cfg, src, err := loadConfig(*cfgPath)
		if err == nil && *dryRun {
			cfg.Kill.Mode = config.ModeDryRun
		}
		return cfg, src, err
	}
	return daemon.Run(ctx, daemon.Options{
		Load: load, ConfigPath: path, DryRunFlag: *dryRun,
		CgroupRoot: e.cgroupRoot, ProcRoot: e.procRoot, RunDir: e.runDir,
		Stderr: e.stderr, Version: versionString(), Notifier: daemon.SystemdNotifier(),
	})
}

// loadConfig loads path and its drop-in directory, or the default path
// when path is "" (see config.LoadFlag: only a missing default file falls
// back to the built-in defaults, plus the fragments).
func loadConfig(path string) (config.Config, config.Sources, error) {
	return config.LoadFlag(path)
}
