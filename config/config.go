// Package config loads and checks kube-oomd's configuration file,
// /etc/kube-oomd/kube-oomd.toml, and the fragments of its drop-in
// directory, /etc/kube-oomd/kube-oomd.toml.d/*.toml, read after it in
// lexical order and overriding it key by key ([LoadSet], dropin.go).
//
// Every key is optional: [Parse] starts from [Default] and overlays what the
// file sets. Durations are Go duration strings ("2s", "500ms"), sizes are
// strings with a unit ("64MiB", see [ParseSize]) or a whole number of bytes,
// and ratios are percentages ("90%"). Unknown keys are errors, and every
// problem in a file is reported at once, each with its file, line and key
// (see [Error]).
package config

import (
	"log/slog"
	"time"
)

// DefaultPath is where the daemon looks for its configuration file.
const DefaultPath = "/etc/kube-oomd/kube-oomd.toml"

// Values of cgroup.driver.
const (
	DriverAuto     = "auto"
	DriverSystemd  = "systemd"
	DriverCgroupfs = "cgroupfs"
)

// Values of runtime.endpoint besides a socket's path.
const (
	EndpointAuto = ""     // the first of the usual sockets that exists
	EndpointNone = "none" // do not ask the runtime: pods are named by UID
)

// Values of pressure.kind.
const (
	KindSome = "some"
	KindFull = "full"
)

// KeyKillMode is the dotted name of kill.mode, which the daemon's
// --dry-run flag overrides.
const KeyKillMode = "kill.mode"

// Values of kill.mode.
const (
	ModePod       = "pod"
	ModeContainer = "container"
	ModeDryRun    = "dry-run"
)

// Values of kill.method.
const (
	MethodSignal = "signal"
	MethodOOM    = "oom"
)

// Networks of metrics.listen; see ListenNetwork.
const (
	NetworkTCP  = "tcp"  // host:port
	NetworkUnix = "unix" // the absolute path of a unix socket
)

// Values of log.format.
const (
	FormatAuto    = "auto"
	FormatJournal = "journal"
	FormatText    = "text"
	FormatJSON    = "json"
)

// Config is the daemon's configuration: one field per key of the file, one
// struct per section. The key table in keys.go names each key and binds it
// to its field; tests check that every field has exactly one key.
type Config struct {
	Cgroup   CgroupConfig
	Runtime  RuntimeConfig
	Pressure PressureConfig
	Memory   MemoryConfig
	Relief   ReliefConfig
	Kill     KillConfig
	Log      LogConfig
	Metrics  MetricsConfig
}

// CgroupConfig is the [cgroup] section: where the pods live.
type CgroupConfig struct {
	// Kubepods is the cgroup holding all pods, relative to the cgroup2
	// mount ("/kubepods.slice"); "" means auto-detect.
	Kubepods string
	// Driver is the kubelet cgroup driver: DriverAuto, DriverSystemd or
	// DriverCgroupfs.
	Driver string
	// RescanInterval is the period of the safety-net full rescan.
	RescanInterval time.Duration
}

// RuntimeConfig is the [runtime] section: the container runtime that
// names the pods (their namespace and name, their containers' names) over
// the CRI.
type RuntimeConfig struct {
	// Endpoint is the runtime's CRI socket: EndpointAuto, EndpointNone or
	// the socket's absolute path (without "unix://").
	Endpoint string
	// Timeout bounds one question to the runtime.
	Timeout time.Duration
}

// PressureConfig is the [pressure] section: when memory counts as under
// pressure.
type PressureConfig struct {
	// Kind is the PSI line that counts: KindSome or KindFull.
	Kind string
	// Stall is the stall time within one Window that makes the window
	// pressured. Always shorter than Window.
	Stall time.Duration
	// Window is the PSI trigger window.
	Window time.Duration
	// Windows is how many consecutive pressured windows trigger a kill
	// (one fewer in a fast leak: policy.FastLeakHorizon).
	Windows int
	// WatchHost also watches /proc/pressure/memory.
	WatchHost bool
}

// MemoryConfig is the [memory] section: when memory counts as near its limit.
type MemoryConfig struct {
	// NearLimit is the pods' working set as a share (0..1) of the kubepods
	// memory.max that counts as near the limit.
	NearLimit float64
	// HostAvailableFloor applies when kubepods has no memory.max:
	// MemAvailable below it counts as near the limit. A Ratio is a share of
	// MemTotal, from 1% to 50%; Bytes are from 16MiB to 1TiB.
	HostAvailableFloor Amount
	// MinVictim is the working set, in bytes, below which a pod is too small
	// to relieve pressure and ranks last.
	MinVictim uint64
}

// ReliefConfig is the [relief] section: the steps before a kill.
type ReliefConfig struct {
	// Stall is the stall (of pressure.kind, per pressure.window) that makes
	// a window strained and starts relief. Below Pressure.Stall.
	Stall time.Duration
	// Reclaim turns on proactive reclaim with memory.reclaim.
	Reclaim bool
	// ReclaimChunk is the size of one memory.reclaim write, in bytes: at
	// least one page (4KiB) and at most ReclaimMax.
	ReclaimChunk uint64
	// ReclaimMax is the most reclaimed from the pods in one window, in bytes.
	ReclaimMax uint64
	// Throttle turns on the temporary memory.high on the top candidate.
	Throttle bool
	// ThrottleAfter is how many consecutive strained windows, with memory
	// near the limit, come before a throttle.
	ThrottleAfter int
	// ThrottleBelow is how far below its usage a pod's memory.high is set,
	// as a share (0..1) of the usage.
	ThrottleBelow float64
	// ReleaseAfter is how long no window may be both strained and near the
	// limit before a throttle is released.
	ReleaseAfter time.Duration
	// ReleaseStep is how much memory.high rises each calm window while it is
	// released, as a share (0..1) of the value set.
	ReleaseStep float64
}

// KillConfig is the [kill] section: what to kill and how.
type KillConfig struct {
	// Mode is ModePod, ModeContainer or ModeDryRun.
	Mode string
	// Method is how a kill is done: MethodSignal (cgroup.kill, or a freeze
	// and SIGKILL through pidfds) or MethodOOM (the kernel's OOM killer,
	// by lowering memory.max of the victim's app containers, so that the
	// runtime reports them OOMKilled; the signal way as its fallback).
	Method string
	// OnImminentOOM acts at once when kubepods memory.events max/oom rise
	// while memory is at the limit.
	OnImminentOOM bool
	// Cooldown is the minimum time between two kills.
	Cooldown time.Duration
	// Timeout is how long to wait for a killed cgroup to empty, at most
	// 10s: no other action starts meanwhile.
	Timeout time.Duration
	// Protect holds path.Match patterns of pod cgroup paths (from the
	// cgroup2 mount) that are never killed. Every pattern is valid, starts
	// with "/" and is a clean path.
	Protect []string
}

// LogConfig is the [log] section.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level slog.Level
	// Format is FormatAuto, FormatJournal, FormatText or FormatJSON.
	Format string
}

// MetricsConfig is the [metrics] section: the Prometheus endpoint.
type MetricsConfig struct {
	// Listen is where /metrics is served: "" (off), host:port, or the
	// absolute path of a unix socket (see ListenNetwork).
	Listen string
}

// Default returns the built-in configuration, the one used for every key a
// file leaves out. The key table in keys.go holds each key's value, and
// packaging/kube-oomd.toml spells them out.
func Default() Config {
	var c Config
	for _, k := range keys {
		k.reset(&c)
	}
	return c
}

// LogValue renders the configuration as one compact group per section, in
// file order, for the start-up log line and `kube-oomd status`.
func (c Config) LogValue() slog.Value {
	var groups []slog.Attr
	for _, s := range sections() {
		var attrs []slog.Attr
		for _, k := range keys {
			if k.section() == s {
				attrs = append(attrs, slog.Attr{Key: k.short(), Value: k.show(&c)})
			}
		}
		groups = append(groups, slog.Attr{Key: s, Value: slog.GroupValue(attrs...)})
	}
	return slog.GroupValue(groups...)
}
