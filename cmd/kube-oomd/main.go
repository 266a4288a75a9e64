// Command kube-oomd keeps Kubernetes nodes alive under memory pressure: it
// watches the pods' PSI and memory events and kills the right pod before the
// kernel OOM killer has to.
//
//	kube-oomd run [--config FILE] [--dry-run]   the daemon
//	kube-oomd check-config [FILE]               validate a config file
//	kube-oomd pods [--json] [--config FILE]     pods ranked as victims, now
//	kube-oomd status [--json]                   ask the running daemon
//	kube-oomd version
//
// Global flags (before or after the command): --cgroup-root (default
// /sys/fs/cgroup) and --proc-root (default /proc).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/kube-oomd/kube-oomd/internal/rundir"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `kube-oomd keeps Kubernetes nodes alive under memory pressure.

Usage:
  kube-oomd run [--config FILE] [--dry-run]   run the daemon
  kube-oomd check-config [FILE]               check a config file (default %s)
  kube-oomd pods [--json] [--config FILE]     show pods ranked as victims, now
  kube-oomd status [--json]                   ask the running daemon what it
                                              sees and did (as root)
  kube-oomd version                           print the version

Signals: SIGHUP (systemctl reload kube-oomd) reloads the config file; so
does an edit to it. An invalid file keeps the configuration in force.

Global flags, with any command:
  --cgroup-root DIR   the cgroup v2 mount (default /sys/fs/cgroup)
  --proc-root DIR     the proc file system (default /proc)
`

// exit codes
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and failed: bad config, refused start
	exitUsage   = 2
	exitDefault = exitFailed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets: its output streams and the global flags.
type env struct {
	stdout, stderr io.Writer
	cgroupRoot     string
	procRoot       string
	runDir         string // the daemon's state and status socket
}

// flags returns a flag set for one command with the global flags on it.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.cgroupRoot, "cgroup-root", e.cgroupRoot, "the cgroup v2 mount")
	fs.StringVar(&e.procRoot, "proc-root", e.procRoot, "the proc file system")
	return fs
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, cgroupRoot: "/sys/fs/cgroup", procRoot: "/proc", runDir: rundir.Dir}
	// Global flags may also come before the command.
	global := e.flags("kube-oomd")
	global.Usage = func() { fmt.Fprintf(stderr, usage, "/etc/kube-oomd/kube-oomd.toml") }
	if err := global.Parse(args); err != nil {
		return exitUsage
	}
	args = global.Args()
	if len(args) == 0 {
		global.Usage()
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		err = e.runDaemon(ctx, args)
	case "check-config":
		err = e.checkConfig(args)
	case "pods":
		err = e.pods(args)
	case "status":
		err = e.statusCmd(args)
	case "version":
		fmt.Fprintln(stdout, "kube-oomd", versionString())
	case "help", "-h", "--help":
		global.Usage()
	default:
		fmt.Fprintf(stderr, "kube-oomd: unknown command %q\n", cmd)
		global.Usage()
		return exitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "kube-oomd:", err)
		}
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitOK
	}
	fmt.Fprintln(stderr, "kube-oomd:", err)
	return exitDefault
}

// usageError is a command line that could not be understood.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// versionString is the -ldflags version, or the module version and VCS
// revision the binary was built from.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
