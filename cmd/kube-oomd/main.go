// Command kube-oomd keeps Kubernetes nodes alive under memory pressure: it
// watches the pods' PSI and memory events and kills the right pod before the
// kernel OOM killer has to.
//
//	kube-oomd run [--config FILE] [--dry-run]   the daemon
//	kube-oomd check-config [FILE]               validate a config file
//	kube-oomd pods [--json] [--config FILE]     pods ranked as victims, now
//	kube-oomd status [--json]                   ask the running daemon
//	kube-oomd version                           also --version
//	kube-oomd help [COMMAND]                    also -h, --help
//
// Global flags (before or after the command): --cgroup-root (default
// /sys/fs/cgroup) and --proc-root (default /proc).
//
// Exit status: 0 done (and for --help and version), 1 the command ran and
// failed, 2 the command line was not understood (an unknown command or
// flag, a missing or extra argument), said once on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/internal/suggest"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// exit codes
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and failed: bad config, refused start
	exitUsage   = 2 // the command line was not understood
	exitDefault = exitFailed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one of kube-oomd's commands.
type command struct {
	name, args string // "pods", "[--json] [--config FILE]"
	summary    string // one line, in the list of commands
	help       string // what its --help says besides the usage line and flags
	run        func(e *env, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"run", "[--config FILE] [--dry-run]", "run the daemon", runHelp,
			func(e *env, ctx context.Context, args []string) error { return e.runDaemon(ctx, args) }},
		{"check-config", "[FILE]", "check a config file and its FILE.d/ (default " + config.DefaultPath + ")", checkConfigHelp,
			func(e *env, _ context.Context, args []string) error { return e.checkConfig(args) }},
		{"pods", "[--json] [--config FILE]", "show the pods ranked as victims, now", podsHelp,
			func(e *env, _ context.Context, args []string) error { return e.pods(args) }},
		{"status", "[--json]", "ask the running daemon what it sees and did (as root)", statusHelp,
			func(e *env, _ context.Context, args []string) error { return e.statusCmd(args) }},
		{"version", "", "print the version, commit and Go version (also --version)", versionHelp,
			func(e *env, _ context.Context, args []string) error { return e.versionCmd(args) }},
		{"help", "[COMMAND]", "print this, or a command's usage (also -h, --help)", "",
			(*env).helpCmd},
	}
}

const (
	runHelp = `Runs the daemon, as the systemd unit does: it watches the pods' memory
pressure and relieves it, or kills the pod that causes it (kill.mode).
It refuses to start, with exit status 1, on an invalid config file or a
kernel without cgroup v2 memory or PSI, and says what to change.
SIGHUP (systemctl reload kube-oomd) reloads the config file; so does an
edit to it. An invalid file keeps the configuration in force.`

	checkConfigHelp = `Checks a config file and the *.toml fragments of FILE.d/, merged as the
daemon merges them (without FILE, ` + config.DefaultPath + `, which may be
missing, as for run): exit status 0 if they are valid, and the files
read ("read: FILE, FILE.d/10-dry-run.toml") and the entries of FILE.d/
ignored, else 1 and every problem on stderr as FILE:LINE: key: what is
wrong, FILE being the file or fragment that has it.`

	versionHelp = `Prints the version on the first line ("kube-oomd VERSION"), then the
commit it was built from and the Go version.`
)

// exitHelp is the exit status part of every usage text.
const exitHelp = `Exit status: 0 done, 1 the command ran and failed, 2 the command line
was not understood.`

// env is what every command gets: its output streams and the global flags.
type env struct {
	stdout, stderr io.Writer
	cgroupRoot     string
	procRoot       string
	runDir         string // the daemon's state and status socket

	cmdFlags    *flag.FlagSet // the running command's flags, for its --help
	flagsFailed bool          // their parse failed: a usage error
}

// flags returns a flag set for one command with the global flags on it.
// The flag package prints nothing: run prints a bad flag once, and the
// usage for --help.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { e.flagsFailed = true }
	fs.StringVar(&e.cgroupRoot, "cgroup-root", e.cgroupRoot, "`DIR` where cgroup v2 is mounted")
	fs.StringVar(&e.procRoot, "proc-root", e.procRoot, "`DIR` where the proc file system is mounted")
	e.cmdFlags = fs
	return fs
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, cgroupRoot: "/sys/fs/cgroup", procRoot: "/proc", runDir: rundir.Dir}
	return e.main(ctx, args)
}

// main runs the command line on e and returns the exit code.
func (e *env) main(ctx context.Context, args []string) int {
	stdout, stderr := e.stdout, e.stderr
	// Global flags may also come before the command.
	global := e.flags("kube-oomd")
	showVersion := global.Bool("version", false, "print the version, commit and Go version")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "kube-oomd: %v\nRun 'kube-oomd --help' for usage.\n", err)
		return exitUsage
	}
	if *showVersion {
		e.printVersion()
		return exitOK
	}
	args = global.Args()
	if len(args) == 0 {
		e.usage(stderr)
		return exitUsage
	}
	c, ok := lookup(args[0])
	if !ok {
		return e.exit(command{}, unknownCommand(args[0]))
	}
	e.cmdFlags, e.flagsFailed = nil, false
	return e.exit(c, c.run(e, ctx, args[1:]))
}

// exit prints what the command's error calls for and returns the exit
// status.
func (e *env) exit(c command, err error) int {
	var ue usageError
	var uc unknownCommandError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		e.commandUsage(c)
		return exitOK
	case errors.As(err, &uc):
		fmt.Fprintf(e.stderr, "kube-oomd: %v\nRun 'kube-oomd --help' for the commands.\n", err)
		return exitUsage
	case errors.As(err, &ue), e.flagsFailed:
		msg := err.Error()
		if !strings.HasPrefix(msg, c.name+" ") { // the flag package's errors do not name the command
			msg = c.name + ": " + msg
		}
		fmt.Fprintf(e.stderr, "kube-oomd: %s\nRun 'kube-oomd %s --help' for its usage.\n", msg, c.name)
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitOK
	}
	fmt.Fprintln(e.stderr, "kube-oomd:", err)
	return exitDefault
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// unknownCommandError is a command name that is none of kube-oomd's.
type unknownCommandError struct{ name string }

func unknownCommand(name string) error { return unknownCommandError{name} }

func (u unknownCommandError) Error() string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if best, ok := suggest.Nearest(u.name, names); ok {
		return fmt.Sprintf("unknown command %q; did you mean %q?", u.name, best)
	}
	return fmt.Sprintf("unknown command %q; the commands are %s", u.name, strings.Join(names, ", "))
}

// usage prints the program's usage.
func (e *env) usage(w io.Writer) {
	fmt.Fprint(w, `kube-oomd keeps Kubernetes nodes alive under memory pressure.

Usage: kube-oomd [GLOBAL FLAGS] COMMAND [FLAGS]

Commands:
`)
	// packaging/check.sh finds the commands as "  kube-oomd COMMAND".
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  kube-oomd %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Global flags, before or after the command:
  --cgroup-root DIR   the cgroup v2 mount (default /sys/fs/cgroup)
  --proc-root DIR     the proc file system (default /proc)
  -h, --help          print this; after a command, its usage
  --version           print the version, commit and Go version

Signals: SIGHUP (systemctl reload kube-oomd) reloads the config file; so
does an edit to it. An invalid file keeps the configuration in force.

`+exitHelp+"\n")
}

// commandUsage prints a command's usage on stdout: its --help.
func (e *env) commandUsage(c command) {
	w := e.stdout
	fmt.Fprintf(w, "Usage: kube-oomd %s\n\n", strings.TrimSpace(c.name+" "+c.args))
	if c.help != "" {
		fmt.Fprintf(w, "%s\n\n", c.help)
	} else {
		fmt.Fprintf(w, "%s.\n\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
	}
	if e.cmdFlags != nil {
		fmt.Fprintln(w, "Flags:")
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		e.cmdFlags.VisitAll(func(f *flag.Flag) {
			kind, text := flag.UnquoteUsage(f)
			if kind != "" {
				kind = " " + strings.ToUpper(kind)
			}
			if f.DefValue != "" && f.DefValue != "false" {
				text += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, kind, text)
		})
		tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, exitHelp)
}

// helpCmd is `kube-oomd help [COMMAND]`.
func (e *env) helpCmd(ctx context.Context, args []string) error {
	fs := e.flags("help")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		e.usage(e.stdout)
		return nil
	case 1:
	default:
		return usageError{fmt.Sprintf("help takes at most one command, got %q", fs.Args())}
	}
	c, ok := lookup(fs.Arg(0))
	if !ok {
		return unknownCommand(fs.Arg(0))
	}
	if c.name == "help" {
		e.usage(e.stdout)
		return nil
	}
	if err := c.run(e, ctx, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%s --help: %w", c.name, err)
	}
	e.commandUsage(c)
	return nil
}

// usageError is a command line that could not be understood.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// versionCmd is `kube-oomd version`.
func (e *env) versionCmd(args []string) error {
	fs := e.flags("version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("version takes no arguments, got %q", fs.Args())}
	}
	e.printVersion()
	return nil
}

// printVersion prints the version, the commit and the Go version. The
// first line, "kube-oomd VERSION", is the one scripts compare.
func (e *env) printVersion() {
	v, commit := versionString(), "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified {
			commit += " (modified)"
		}
	}
	fmt.Fprintf(e.stdout, "kube-oomd %s\ncommit %s\ngo %s\n", v, commit, runtime.Version())
}

// versionString is the -ldflags version, or the module version and VCS
// revision the binary was built from.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
