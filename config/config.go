// Package config loads and checks kube-oomd's configuration file,
// /etc/kube-oomd/kube-oomd.toml.
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

// Values of pressure.kind.
const (
	KindSome = "some"
	KindFull = "full"
)

// Values of kill.mode.
const (
	ModePod       = "pod"
	ModeContainer = "container"
	ModeDryRun    = "dry-run"
)

// Values of log.format.
const (
	FormatAuto    = "auto"
	FormatJournal = "journal"
	FormatText    = "text"
	FormatJSON    = "json"
)

// Config is the daemon's configuration. The toml tags name the file's
// sections and keys; decoding and checking go through the key table in
// keys.go, and tests keep the two in step.
type Config struct {
	Cgroup   CgroupConfig   `toml:"cgroup"`
	Pressure PressureConfig `toml:"pressure"`
	Memory   MemoryConfig   `toml:"memory"`
	Relief   ReliefConfig   `toml:"relief"`
	Kill     KillConfig     `toml:"kill"`
	Log      LogConfig      `toml:"log"`
}

// CgroupConfig is the [cgroup] section: where the pods live.
type CgroupConfig struct {
	// Kubepods is the cgroup holding all pods, relative to the cgroup2
	// mount ("/kubepods.slice"); "" means auto-detect.
	Kubepods string `toml:"kubepods"`
	// Driver is the kubelet cgroup driver: DriverAuto, DriverSystemd or
	// DriverCgroupfs.
	Driver string `toml:"driver"`
	// RescanInterval is the period of the safety-net full rescan.
	RescanInterval time.Duration `toml:"rescan_interval"`
}

// PressureConfig is the [pressure] section: when memory counts as under
// pressure.
type PressureConfig struct {
	// Kind is the PSI line that counts: KindSome or KindFull.
	Kind string `toml:"kind"`
	// Stall is the stall time within one Window that makes the window
	// pressured. Always shorter than Window.
	Stall time.Duration `toml:"stall"`
	// Window is the PSI trigger window.
	Window time.Duration `toml:"window"`
	// Windows is how many consecutive pressured windows trigger a kill.
	Windows int `toml:"windows"`
	// WatchHost also watches /proc/pressure/memory.
	WatchHost bool `toml:"watch_host"`
}

// MemoryConfig is the [memory] section: when memory counts as near its limit.
type MemoryConfig struct {
	// NearLimit is the pods' working set as a share (0..1) of the kubepods
	// memory.max that counts as near the limit.
	NearLimit float64 `toml:"near_limit"`
	// HostAvailableFloor applies when kubepods has no memory.max:
	// MemAvailable below it counts as near the limit. A Ratio is a share of
	// MemTotal.
	HostAvailableFloor Amount `toml:"host_available_floor"`
	// MinVictim is the working set, in bytes, below which a pod is too small
	// to relieve pressure and ranks last.
	MinVictim uint64 `toml:"min_victim"`
}

// ReliefConfig is the [relief] section: the steps before a kill.
type ReliefConfig struct {
	// Stall is the stall (of pressure.kind, per pressure.window) that makes
	// a window strained and starts relief. Below Pressure.Stall.
	Stall time.Duration `toml:"stall"`
	// Reclaim turns on proactive reclaim with memory.reclaim.
	Reclaim bool `toml:"reclaim"`
	// ReclaimChunk is the size of one memory.reclaim write, in bytes.
	ReclaimChunk uint64 `toml:"reclaim_chunk"`
	// ReclaimMax is the most reclaimed from the pods in one window, in bytes.
	ReclaimMax uint64 `toml:"reclaim_max"`
	// Throttle turns on the temporary memory.high on the top candidate.
	Throttle bool `toml:"throttle"`
	// ThrottleAfter is how many consecutive strained windows, with memory
	// near the limit, come before a throttle.
	ThrottleAfter int `toml:"throttle_after"`
	// ThrottleBelow is how far below its usage a pod's memory.high is set,
	// as a share (0..1) of the usage.
	ThrottleBelow float64 `toml:"throttle_below"`
	// ReleaseAfter is how long pressure must stay calm before a throttle is
	// released.
	ReleaseAfter time.Duration `toml:"release_after"`
	// ReleaseStep is how much memory.high rises each calm window while it is
	// released, as a share (0..1) of the value set.
	ReleaseStep float64 `toml:"release_step"`
}

// KillConfig is the [kill] section: what to kill and how.
type KillConfig struct {
	// Mode is ModePod, ModeContainer or ModeDryRun.
	Mode string `toml:"mode"`
	// OnImminentOOM acts at once when kubepods memory.events max/oom rise
	// while memory is at the limit.
	OnImminentOOM bool `toml:"on_imminent_oom"`
	// Cooldown is the minimum time between two kills.
	Cooldown time.Duration `toml:"cooldown"`
	// Timeout is how long to wait for a killed cgroup to empty.
	Timeout time.Duration `toml:"timeout"`
	// Protect holds path.Match patterns of pod cgroup paths (from the
	// cgroup2 mount) that are never killed. Every pattern is valid and
	// starts with "/".
	Protect []string `toml:"protect"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level slog.Level `toml:"level"`
	// Format is FormatAuto, FormatJournal, FormatText or FormatJSON.
	Format string `toml:"format"`
}

// Default returns the built-in configuration, the one used for every key a
// file leaves out. packaging/kube-oomd.toml spells it out.
func Default() Config {
	return Config{
		Cgroup: CgroupConfig{
			Kubepods:       "",
			Driver:         DriverAuto,
			RescanInterval: 10 * time.Second,
		},
		Pressure: PressureConfig{
			Kind:      KindFull,
			Stall:     100 * time.Millisecond,
			Window:    time.Second,
			Windows:   2,
			WatchHost: true,
		},
		Memory: MemoryConfig{
			NearLimit:          0.90,
			HostAvailableFloor: Amount{Ratio: 0.05},
			MinVictim:          32 << 20,
		},
		Relief: ReliefConfig{
			Stall:         30 * time.Millisecond,
			Reclaim:       true,
			ReclaimChunk:  32 << 20,
			ReclaimMax:    256 << 20,
			Throttle:      true,
			ThrottleAfter: 2,
			ThrottleBelow: 0.05,
			ReleaseAfter:  10 * time.Second,
			ReleaseStep:   0.25,
		},
		Kill: KillConfig{
			Mode:          ModePod,
			OnImminentOOM: true,
			Cooldown:      10 * time.Second,
			Timeout:       5 * time.Second,
			Protect:       nil,
		},
		Log: LogConfig{
			Level:  slog.LevelInfo,
			Format: FormatAuto,
		},
	}
}

// LogValue renders the configuration as one compact group per section, for
// the start-up log line.
func (c Config) LogValue() slog.Value {
	kubepods := c.Cgroup.Kubepods
	if kubepods == "" {
		kubepods = "auto"
	}
	return slog.GroupValue(
		slog.Group("cgroup",
			slog.String("kubepods", kubepods),
			slog.String("driver", c.Cgroup.Driver),
			slog.String("rescan_interval", formatDuration(c.Cgroup.RescanInterval)),
		),
		slog.Group("pressure",
			slog.String("kind", c.Pressure.Kind),
			slog.String("stall", formatDuration(c.Pressure.Stall)),
			slog.String("window", formatDuration(c.Pressure.Window)),
			slog.Int("windows", c.Pressure.Windows),
			slog.Bool("watch_host", c.Pressure.WatchHost),
		),
		slog.Group("memory",
			slog.String("near_limit", formatRatio(c.Memory.NearLimit)),
			slog.String("host_available_floor", c.Memory.HostAvailableFloor.String()),
			slog.String("min_victim", FormatSize(c.Memory.MinVictim)),
		),
		slog.Group("relief",
			slog.String("stall", formatDuration(c.Relief.Stall)),
			slog.Bool("reclaim", c.Relief.Reclaim),
			slog.String("reclaim_chunk", FormatSize(c.Relief.ReclaimChunk)),
			slog.String("reclaim_max", FormatSize(c.Relief.ReclaimMax)),
			slog.Bool("throttle", c.Relief.Throttle),
			slog.Int("throttle_after", c.Relief.ThrottleAfter),
			slog.String("throttle_below", formatRatio(c.Relief.ThrottleBelow)),
			slog.String("release_after", formatDuration(c.Relief.ReleaseAfter)),
			slog.String("release_step", formatRatio(c.Relief.ReleaseStep)),
		),
		slog.Group("kill",
			slog.String("mode", c.Kill.Mode),
			slog.Bool("on_imminent_oom", c.Kill.OnImminentOOM),
			slog.String("cooldown", formatDuration(c.Kill.Cooldown)),
			slog.String("timeout", formatDuration(c.Kill.Timeout)),
			slog.Any("protect", c.Kill.Protect),
		),
		slog.Group("log",
			slog.String("level", c.Log.Level.String()),
			slog.String("format", c.Log.Format),
		),
	)
}
