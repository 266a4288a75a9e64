package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/kube-oomd/kube-oomd/config"
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
	cfg, defaulted, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *dryRun {
		cfg.Kill.Mode = config.ModeDryRun
	}
	log, format, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		return err
	}
	path := *cfgPath
	if path == "" {
		path = config.DefaultPath
	}
	if defaulted {
		log.Warn("no config file, running on built-in defaults", "config", path)
	} else {
		log.Info("config loaded", "config", path)
	}
	d := &daemon{cfg: cfg, cgroupRoot: e.cgroupRoot, procRoot: e.procRoot, runDir: "/run/kube-oomd", log: log, logFormat: format,
		cfgPath: path, cfgDefaulted: defaulted, dryRunFlag: *dryRun, stderr: e.stderr, started: time.Now()}
	return d.run(ctx)
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

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
