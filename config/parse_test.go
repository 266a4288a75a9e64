package config

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const testFile = "/etc/kube-oomd/kube-oomd.toml"

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(*Config) // changes to Default()
	}{
		{"empty file", ``, func(*Config) {}},
		{"comments only", "# nothing\n\n  # here\n", func(*Config) {}},
		{"empty sections", "[cgroup]\n[pressure]\n[memory]\n[kill]\n[log]\n", func(*Config) {}},

		{"kubepods slice", "[cgroup]\nkubepods = \"/kubepods.slice\"", func(c *Config) { c.Cgroup.Kubepods = "/kubepods.slice" }},
		{"kubepods nested", "[cgroup]\nkubepods = \"/a/kubepods\"", func(c *Config) { c.Cgroup.Kubepods = "/a/kubepods" }},
		{"driver systemd", "[cgroup]\ndriver = \"systemd\"", func(c *Config) { c.Cgroup.Driver = DriverSystemd }},
		{"driver cgroupfs", "[cgroup]\ndriver = \"cgroupfs\"", func(c *Config) { c.Cgroup.Driver = DriverCgroupfs }},
		{"rescan min", "[cgroup]\nrescan_interval = \"1s\"", func(c *Config) { c.Cgroup.RescanInterval = time.Second }},
		{"rescan max", "[cgroup]\nrescan_interval = \"10m\"", func(c *Config) { c.Cgroup.RescanInterval = 10 * time.Minute }},

		{"kind some", "[pressure]\nkind = \"some\"", func(c *Config) { c.Pressure.Kind = KindSome }},
		{"stall", "[pressure]\nstall = \"250ms\"", func(c *Config) { c.Pressure.Stall = 250 * time.Millisecond }},
		{"stall just below window", "[pressure]\nstall = \"999ms\"", func(c *Config) { c.Pressure.Stall = 999 * time.Millisecond }},
		{"window min", "[pressure]\nwindow = \"500ms\"\nstall = \"2ms\"\n[relief]\nstall = \"1ms\"", func(c *Config) {
			c.Pressure.Window, c.Pressure.Stall, c.Relief.Stall = 500*time.Millisecond, 2*time.Millisecond, time.Millisecond
		}},
		{"relief", "[relief]\nstall = \"50ms\"\nreclaim = false\nreclaim_chunk = \"8MiB\"\nthrottle_after = 5\nthrottle_below = \"10%\"\nrelease_step = \"100%\"",
			func(c *Config) {
				c.Relief.Stall, c.Relief.Reclaim, c.Relief.ReclaimChunk = 50*time.Millisecond, false, 8<<20
				c.Relief.ThrottleAfter, c.Relief.ThrottleBelow, c.Relief.ReleaseStep = 5, 0.10, 1
			}},
		{"window max", "[pressure]\nwindow = \"10s\"", func(c *Config) { c.Pressure.Window = 10 * time.Second }},
		{"window compound", "[pressure]\nwindow = \"1s500ms\"", func(c *Config) { c.Pressure.Window = 1500 * time.Millisecond }},
		{"windows min", "[pressure]\nwindows = 1", func(c *Config) { c.Pressure.Windows = 1 }},
		{"windows max", "[pressure]\nwindows = 60", func(c *Config) { c.Pressure.Windows = 60 }},
		{"watch_host off", "[pressure]\nwatch_host = false", func(c *Config) { c.Pressure.WatchHost = false }},

		{"near_limit min", "[memory]\nnear_limit = \"50%\"", func(c *Config) { c.Memory.NearLimit = 0.5 }},
		{"near_limit max", "[memory]\nnear_limit = \"100%\"", func(c *Config) { c.Memory.NearLimit = 1 }},
		{"near_limit fraction", "[memory]\nnear_limit = \"87.5%\"", func(c *Config) { c.Memory.NearLimit = 0.875 }},
		{"floor size", "[memory]\nhost_available_floor = \"2GiB\"", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Bytes: 2 << 30} }},
		{"floor bytes", "[memory]\nhost_available_floor = 1073741824", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Bytes: 1 << 30} }},
		{"floor min size", "[memory]\nhost_available_floor = \"16MiB\"", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Bytes: 16 << 20} }},
		{"floor min bytes", "[memory]\nhost_available_floor = 16777216", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Bytes: 16 << 20} }},
		{"floor max size", "[memory]\nhost_available_floor = \"1TiB\"", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Bytes: 1 << 40} }},
		{"floor min ratio", "[memory]\nhost_available_floor = \"1%\"", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Ratio: 0.01} }},
		{"floor max ratio", "[memory]\nhost_available_floor = \"50%\"", func(c *Config) { c.Memory.HostAvailableFloor = Amount{Ratio: 0.5} }},
		{"min_victim MiB", "[memory]\nmin_victim = \"64MiB\"", func(c *Config) { c.Memory.MinVictim = 64 << 20 }},
		{"min_victim MB", "[memory]\nmin_victim = \"100MB\"", func(c *Config) { c.Memory.MinVictim = 100e6 }},
		{"min_victim integer", "[memory]\nmin_victim = 4096", func(c *Config) { c.Memory.MinVictim = 4096 }},
		{"min_victim zero", "[memory]\nmin_victim = \"0\"", func(c *Config) { c.Memory.MinVictim = 0 }},
		{"min_victim zero integer", "[memory]\nmin_victim = 0", func(c *Config) { c.Memory.MinVictim = 0 }},

		{"reclaim_chunk one page", "[relief]\nreclaim_chunk = \"4KiB\"", func(c *Config) { c.Relief.ReclaimChunk = 4096 }},
		{"reclaim_chunk one page in bytes", "[relief]\nreclaim_chunk = 4096", func(c *Config) { c.Relief.ReclaimChunk = 4096 }},
		{"reclaim_max equals chunk", "[relief]\nreclaim_max = \"32MiB\"", func(c *Config) { c.Relief.ReclaimMax = 32 << 20 }},
		{"reclaim chunk and max raised together", "[relief]\nreclaim_max = \"2GiB\"\nreclaim_chunk = \"1GiB\"", func(c *Config) {
			c.Relief.ReclaimChunk, c.Relief.ReclaimMax = 1<<30, 2<<30
		}},
		{"reclaim off, sizes still checked", "[relief]\nreclaim = false\nreclaim_max = \"64MiB\"", func(c *Config) {
			c.Relief.Reclaim, c.Relief.ReclaimMax = false, 64<<20
		}},

		{"mode container", "[kill]\nmode = \"container\"", func(c *Config) { c.Kill.Mode = ModeContainer }},
		{"mode dry-run", "[kill]\nmode = \"dry-run\"", func(c *Config) { c.Kill.Mode = ModeDryRun }},
		{"on_imminent_oom off", "[kill]\non_imminent_oom = false", func(c *Config) { c.Kill.OnImminentOOM = false }},
		{"cooldown", "[kill]\ncooldown = \"1m\"", func(c *Config) { c.Kill.Cooldown = time.Minute }},
		{"timeout min", "[kill]\ntimeout = \"100ms\"", func(c *Config) { c.Kill.Timeout = 100 * time.Millisecond }},
		{"timeout max", "[kill]\ntimeout = \"10s\"", func(c *Config) { c.Kill.Timeout = 10 * time.Second }},
		{"protect", "[kill]\nprotect = [\n  \"/kubepods.slice/*/kubepods-burstable-pod*.slice\",\n  \"/kubepods/pod[0-9]*\",\n]", func(c *Config) {
			c.Kill.Protect = []string{"/kubepods.slice/*/kubepods-burstable-pod*.slice", "/kubepods/pod[0-9]*"}
		}},
		{"protect empty", "[kill]\nprotect = []", func(*Config) {}},

		{"level debug", "[log]\nlevel = \"debug\"", func(c *Config) { c.Log.Level = slog.LevelDebug }},
		{"level WARN", "[log]\nlevel = \"WARN\"", func(c *Config) { c.Log.Level = slog.LevelWarn }},
		{"level error", "[log]\nlevel = \"error\"", func(c *Config) { c.Log.Level = slog.LevelError }},
		{"format journal", "[log]\nformat = \"journal\"", func(c *Config) { c.Log.Format = FormatJournal }},
		{"format text", "[log]\nformat = \"text\"", func(c *Config) { c.Log.Format = FormatText }},
		{"format json", "[log]\nformat = \"json\"", func(c *Config) { c.Log.Format = FormatJSON }},

		{"metrics off", "[metrics]\nlisten = \"\"", func(*Config) {}},
		{"metrics tcp", "[metrics]\nlisten = \"127.0.0.1:9723\"", func(c *Config) { c.Metrics.Listen = "127.0.0.1:9723" }},
		{"metrics tcp every address", "[metrics]\nlisten = \":9723\"", func(c *Config) { c.Metrics.Listen = ":9723" }},
		{"metrics tcp ipv6", "[metrics]\nlisten = \"[::1]:9723\"", func(c *Config) { c.Metrics.Listen = "[::1]:9723" }},
		{"metrics tcp localhost", "[metrics]\nlisten = \"localhost:65535\"", func(c *Config) { c.Metrics.Listen = "localhost:65535" }},
		{"metrics tcp lowest port", "[metrics]\nlisten = \"127.0.0.1:1024\"", func(c *Config) { c.Metrics.Listen = "127.0.0.1:1024" }},
		{"metrics unix, another directory", "[metrics]\nlisten = \"/run/status.sock\"", func(c *Config) { c.Metrics.Listen = "/run/status.sock" }},
		{"metrics unix", "[metrics]\nlisten = \"/run/kube-oomd/metrics.sock\"", func(c *Config) { c.Metrics.Listen = "/run/kube-oomd/metrics.sock" }},

		{"dotted keys", "kill.mode = \"dry-run\"\nlog.level = \"debug\"", func(c *Config) {
			c.Kill.Mode, c.Log.Level = ModeDryRun, slog.LevelDebug
		}},
		{"kill method", "[kill]\nmethod = \"signal\"", func(c *Config) { c.Kill.Method = MethodSignal }},
		{"inline table", "kill = { mode = \"dry-run\", cooldown = \"30s\" }", func(c *Config) {
			c.Kill.Mode, c.Kill.Cooldown = ModeDryRun, 30*time.Second
		}},
		{"quoted key", "[kill]\n\"mode\" = \"dry-run\"", func(c *Config) { c.Kill.Mode = ModeDryRun }},
		{"literal key", "[kill]\n'mode' = \"dry-run\"", func(c *Config) { c.Kill.Mode = ModeDryRun }},
		{"byte order mark", "\ufeff[kill]\nmode = \"dry-run\"", func(c *Config) { c.Kill.Mode = ModeDryRun }},
		{"CRLF", "[kill]\r\nmode = \"dry-run\"\r\n", func(c *Config) { c.Kill.Mode = ModeDryRun }},
		{"protect over lines with comments", "[kill]\nprotect = [ # pods\n  \"/a*\", # one\n\n  \"/b\"\n]", func(c *Config) { c.Kill.Protect = []string{"/a*", "/b"} }},
		{"kubepods multi-line string", "[cgroup]\nkubepods = \"\"\"\n/kubepods\"\"\"", func(c *Config) { c.Cgroup.Kubepods = "/kubepods" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(testFile, []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q):\n got %+v\nwant %+v", tt.in, got, want)
			}
		})
	}
}

// wantErr is an expected *Error; Msg must contain each of msg.
type wantErr struct {
	line int
	key  string
	msg  []string
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		// [cgroup]
		{"kubepods relative", "[cgroup]\nkubepods = \"kubepods.slice\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`"kubepods.slice" must start with "/"`, `""`}}}},
		{"kubepods dotdot", "[cgroup]\nkubepods = \"/kubepods/../etc\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`must not contain ".."`}}}},
		{"kubepods root", "[cgroup]\nkubepods = \"/\"",
			[]wantErr{{2, "cgroup.kubepods", []string{"root cgroup"}}}},
		{"kubepods unclean", "[cgroup]\nkubepods = \"/kubepods.slice/\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`not a clean path; write "/kubepods.slice"`}}}},
		{"kubepods NUL", "[cgroup]\nkubepods = \"/kube\\u0000pods\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`"/kube\x00pods" must not contain a NUL byte`}}}},
		{"kubepods dotdot at the end", "[cgroup]\nkubepods = \"/kubepods/..\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`must not contain ".."`}}}},
		{"kubepods relative dotdot", "[cgroup]\nkubepods = \"../kubepods\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`must start with "/"`}}}},
		{"kubepods dot", "[cgroup]\nkubepods = \"/./kubepods\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`"/./kubepods" is not a clean path; write "/kubepods"`}}}},
		{"kubepods double slash", "[cgroup]\nkubepods = \"//kubepods\"",
			[]wantErr{{2, "cgroup.kubepods", []string{`not a clean path; write "/kubepods"`}}}},
		{"kubepods type", "[cgroup]\nkubepods = 1",
			[]wantErr{{2, "cgroup.kubepods", []string{"1 is an integer", "quoted string"}}}},
		{"driver", "[cgroup]\ndriver = \"system\"",
			[]wantErr{{2, "cgroup.driver", []string{`"system" is not one of auto, systemd, cgroupfs`}}}},
		{"rescan too short", "[cgroup]\nrescan_interval = \"500ms\"",
			[]wantErr{{2, "cgroup.rescan_interval", []string{`"500ms" is out of range; must be between 1s and 10m`}}}},
		{"rescan too long", "[cgroup]\nrescan_interval = \"1h\"",
			[]wantErr{{2, "cgroup.rescan_interval", []string{"out of range"}}}},
		{"rescan no unit", "[cgroup]\nrescan_interval = \"10\"",
			[]wantErr{{2, "cgroup.rescan_interval", []string{`"10" is not a duration`, `"10s"`}}}},
		{"rescan integer", "[cgroup]\nrescan_interval = 10",
			[]wantErr{{2, "cgroup.rescan_interval", []string{"10 is an integer", "duration with a unit"}}}},

		// [runtime]
		{"endpoint tcp", "[runtime]\nendpoint = \"tcp://10.0.0.1:1234\"",
			[]wantErr{{2, "runtime.endpoint", []string{`only unix sockets`, `not tcp://`}}}},
		{"endpoint relative", "[runtime]\nendpoint = \"unix://run/crio.sock\"",
			[]wantErr{{2, "runtime.endpoint", []string{`must be an absolute path`, `"none"`}}}},
		{"endpoint unclean", "[runtime]\nendpoint = \"/run//crio/crio.sock\"",
			[]wantErr{{2, "runtime.endpoint", []string{`not a clean path; write "/run/crio/crio.sock"`}}}},
		{"endpoint type", "[runtime]\nendpoint = false",
			[]wantErr{{2, "runtime.endpoint", []string{"false is a boolean", "quoted string"}}}},
		{"runtime timeout", "[runtime]\ntimeout = \"1m\"",
			[]wantErr{{2, "runtime.timeout", []string{`"1m" is out of range; must be between 100ms and 30s`}}}},
		// [pressure]
		{"kind", "[pressure]\nkind = \"partial\"",
			[]wantErr{{2, "pressure.kind", []string{`"partial" is not one of some, full`}}}},
		{"stall zero", "[pressure]\nstall = \"0s\"",
			[]wantErr{{2, "pressure.stall", []string{"more than 0"}}}},
		{"stall negative", "[pressure]\nstall = \"-1s\"",
			[]wantErr{{2, "pressure.stall", []string{"out of range"}}}},
		{"stall equals window", "[pressure]\nstall = \"1s\"",
			[]wantErr{{2, "pressure.stall", []string{`"1s" must be shorter than pressure.window ("1s")`}}}},
		{"stall after window", "[pressure]\nwindow = \"1s\"\nstall = \"2s\"",
			[]wantErr{{3, "pressure.stall", []string{`"2s" must be shorter than pressure.window ("1s")`}}}},
		{"window after stall", "[pressure]\nstall = \"2s\"\nwindow = \"1s\"",
			[]wantErr{{3, "pressure.window", []string{`"1s" must be longer than pressure.stall ("2s")`}}}},
		{"relief stall not below pressure stall", "[pressure]\nstall = \"50ms\"\n[relief]\nstall = \"50ms\"",
			[]wantErr{{4, "relief.stall", []string{`"50ms" must be shorter than pressure.stall ("50ms")`}}}},
		{"pressure stall lowered under the relief default", "[pressure]\nstall = \"20ms\"",
			[]wantErr{{2, "pressure.stall", []string{`"20ms" must be longer than relief.stall ("30ms")`}}}},
		{"relief throttle_below out of range", "[relief]\nthrottle_below = \"60%\"",
			[]wantErr{{2, "relief.throttle_below", []string{"60%"}}}},
		{"window too short", "[pressure]\nwindow = \"100ms\"",
			[]wantErr{{2, "pressure.window", []string{"between 500ms and 10s"}}}},
		{"window too long", "[pressure]\nwindow = \"11s\"",
			[]wantErr{{2, "pressure.window", []string{"between 500ms and 10s"}}}},
		{"windows zero", "[pressure]\nwindows = 0",
			[]wantErr{{2, "pressure.windows", []string{"0 is out of range; must be from 1 to 60"}}}},
		{"windows too many", "[pressure]\nwindows = 61",
			[]wantErr{{2, "pressure.windows", []string{"61 is out of range"}}}},
		{"windows string", "[pressure]\nwindows = \"2\"",
			[]wantErr{{2, "pressure.windows", []string{`"2" is a string`, "without quotes"}}}},
		{"windows float", "[pressure]\nwindows = 2.5",
			[]wantErr{{2, "pressure.windows", []string{"2.5 is a float", "whole number"}}}},
		{"watch_host string", "[pressure]\nwatch_host = \"yes\"",
			[]wantErr{{2, "pressure.watch_host", []string{`"yes" is a string`, "true or false"}}}},

		// [memory]
		{"near_limit too low", "[memory]\nnear_limit = \"40%\"",
			[]wantErr{{2, "memory.near_limit", []string{`"40%" is out of range; must be from 50% to 100%`}}}},
		{"near_limit over 100", "[memory]\nnear_limit = \"101%\"",
			[]wantErr{{2, "memory.near_limit", []string{"more than 100%"}}}},
		{"near_limit fraction", "[memory]\nnear_limit = \"0.9\"",
			[]wantErr{{2, "memory.near_limit", []string{"not a percentage", `"90%"`}}}},
		{"near_limit float", "[memory]\nnear_limit = 0.9",
			[]wantErr{{2, "memory.near_limit", []string{"0.9 is a float", `"90%"`}}}},
		{"floor size too small", "[memory]\nhost_available_floor = \"1MiB\"",
			[]wantErr{{2, "memory.host_available_floor", []string{`"1MiB" is out of range; a size must be from 16MiB to 1TiB`}}}},
		{"floor zero", "[memory]\nhost_available_floor = \"0\"",
			[]wantErr{{2, "memory.host_available_floor", []string{`"0" is out of range; a size must be from 16MiB to 1TiB`}}}},
		{"floor zero bytes", "[memory]\nhost_available_floor = 0",
			[]wantErr{{2, "memory.host_available_floor", []string{"0 is out of range; a size must be from 16MiB to 1TiB"}}}},
		{"floor bytes just under", "[memory]\nhost_available_floor = 16777215",
			[]wantErr{{2, "memory.host_available_floor", []string{"16777215 is out of range"}}}},
		{"floor size too large", "[memory]\nhost_available_floor = \"1025GiB\"",
			[]wantErr{{2, "memory.host_available_floor", []string{`"1025GiB" is out of range; a size must be from 16MiB to 1TiB`}}}},
		{"floor array", "[memory]\nhost_available_floor = [\"5%\"]",
			[]wantErr{{2, "memory.host_available_floor", []string{`got an array; want a quoted size from 16MiB to 1TiB like "2GiB", or a quoted percentage from 1% to 50% like "5%"`}}}},
		{"floor ratio too high", "[memory]\nhost_available_floor = \"60%\"",
			[]wantErr{{2, "memory.host_available_floor", []string{"out of range", "from 1% to 50%"}}}},
		{"floor zero ratio", "[memory]\nhost_available_floor = \"0%\"",
			[]wantErr{{2, "memory.host_available_floor", []string{"out of range"}}}},
		{"floor bad size", "[memory]\nhost_available_floor = \"2G\"",
			[]wantErr{{2, "memory.host_available_floor", []string{`unknown unit "G"`, "GiB"}}}},
		{"floor negative", "[memory]\nhost_available_floor = -1",
			[]wantErr{{2, "memory.host_available_floor", []string{"must not be negative"}}}},
		{"floor bool", "[memory]\nhost_available_floor = true",
			[]wantErr{{2, "memory.host_available_floor", []string{"true is a boolean"}}}},
		{"min_victim unit", "[memory]\nmin_victim = \"32mb\"",
			[]wantErr{{2, "memory.min_victim", []string{`unknown unit "mb"`}}}},
		{"min_victim negative", "[memory]\nmin_victim = -5",
			[]wantErr{{2, "memory.min_victim", []string{"-5 must not be negative"}}}},
		{"min_victim float", "[memory]\nmin_victim = 1.5",
			[]wantErr{{2, "memory.min_victim", []string{"1.5 is a float"}}}},
		{"min_victim overflow", "[memory]\nmin_victim = \"99999999999TiB\"",
			[]wantErr{{2, "memory.min_victim", []string{"too large"}}}},

		// [relief]
		{"reclaim_chunk zero", "[relief]\nreclaim_chunk = \"0\"",
			[]wantErr{{2, "relief.reclaim_chunk", []string{`"0" is out of range; must be at least 4KiB (one page)`}}}},
		{"reclaim_chunk zero bytes", "[relief]\nreclaim_chunk = 0",
			[]wantErr{{2, "relief.reclaim_chunk", []string{"0 is out of range; must be at least 4KiB (one page)"}}}},
		{"reclaim_chunk under a page", "[relief]\nreclaim_chunk = 4095",
			[]wantErr{{2, "relief.reclaim_chunk", []string{"4095 is out of range; must be at least 4KiB (one page)"}}}},
		{"reclaim_chunk 1KiB", "[relief]\nreclaim_chunk = \"1KiB\"",
			[]wantErr{{2, "relief.reclaim_chunk", []string{`"1KiB" is out of range`}}}},
		{"reclaim_max below chunk, max later", "[relief]\nreclaim_chunk = \"64MiB\"\nreclaim_max = \"32MiB\"",
			[]wantErr{{3, "relief.reclaim_max", []string{`"32MiB" must be at least relief.reclaim_chunk ("64MiB")`}}}},
		{"reclaim_max below chunk, chunk later", "[relief]\nreclaim_max = \"32MiB\"\nreclaim_chunk = \"64MiB\"",
			[]wantErr{{3, "relief.reclaim_chunk", []string{`"64MiB" must be at most relief.reclaim_max ("32MiB")`}}}},
		{"reclaim_max below the default chunk", "[relief]\nreclaim_max = \"1MiB\"",
			[]wantErr{{2, "relief.reclaim_max", []string{`"1MiB" must be at least relief.reclaim_chunk ("32MiB")`}}}},
		{"reclaim_max zero", "[relief]\n\nreclaim_max = 0",
			[]wantErr{{3, "relief.reclaim_max", []string{`"0B" must be at least relief.reclaim_chunk ("32MiB")`}}}},
		{"reclaim_chunk above the default max", "[relief]\nreclaim_chunk = \"1GiB\"",
			[]wantErr{{2, "relief.reclaim_chunk", []string{`"1GiB" must be at most relief.reclaim_max ("256MiB")`}}}},
		{"reclaim order on one line", "relief = { reclaim_max = \"8MiB\", reclaim_chunk = \"16MiB\" }",
			[]wantErr{{1, "relief.reclaim_chunk", []string{`"16MiB" must be at most relief.reclaim_max ("8MiB")`}}}},
		{"reclaim order across dotted keys", "relief.reclaim_chunk = \"16MiB\"\n\nrelief.reclaim_max = \"8MiB\"",
			[]wantErr{{3, "relief.reclaim_max", []string{`"8MiB" must be at least relief.reclaim_chunk ("16MiB")`}}}},
		{"reclaim order skipped after a bad chunk", "[relief]\nreclaim_chunk = \"0\"\nreclaim_max = 0",
			[]wantErr{{2, "relief.reclaim_chunk", []string{"at least 4KiB"}}}},
		{"reclaim_max type", "[relief]\nreclaim_max = true",
			[]wantErr{{2, "relief.reclaim_max", []string{"true is a boolean", "size"}}}},
		{"reclaim string", "[relief]\nreclaim = \"false\"",
			[]wantErr{{2, "relief.reclaim", []string{`"false" is a string`}}}},
		{"throttle_after zero", "[relief]\nthrottle_after = 0",
			[]wantErr{{2, "relief.throttle_after", []string{"0 is out of range; must be from 1 to 60"}}}},
		{"release_after short", "[relief]\nrelease_after = \"500ms\"",
			[]wantErr{{2, "relief.release_after", []string{"between 1s and 1h"}}}},
		{"release_step zero", "[relief]\nrelease_step = \"0%\"",
			[]wantErr{{2, "relief.release_step", []string{"from 5% to 100%"}}}},
		{"relief stall zero", "[relief]\nstall = \"0s\"",
			[]wantErr{{2, "relief.stall", []string{"more than 0"}}}},
		{"relief stall above pressure stall, pressure later", "[relief]\nstall = \"200ms\"\n[pressure]\nstall = \"100ms\"",
			[]wantErr{{4, "pressure.stall", []string{`"100ms" must be longer than relief.stall ("200ms")`}}}},

		// [kill]
		{"mode", "[kill]\nmode = \"podd\"",
			[]wantErr{{2, "kill.mode", []string{`"podd" is not one of pod, container, dry-run`}}}},
		{"mode case", "[kill]\nmode = \"Pod\"",
			[]wantErr{{2, "kill.mode", []string{`"Pod" is not one of`}}}},
		{"method", "[kill]\nmethod = \"oom-killer\"",
			[]wantErr{{2, "kill.method", []string{`"oom-killer" is not one of signal, oom`}}}},
		{"method type", "[kill]\nmethod = true",
			[]wantErr{{2, "kill.method", []string{"true is a boolean", "one of signal, oom"}}}},
		{"on_imminent_oom int", "[kill]\non_imminent_oom = 1",
			[]wantErr{{2, "kill.on_imminent_oom", []string{"1 is an integer", "true or false"}}}},
		{"cooldown short", "[kill]\ncooldown = \"100ms\"",
			[]wantErr{{2, "kill.cooldown", []string{"between 1s and 10m"}}}},
		{"timeout long", "[kill]\ntimeout = \"2m\"",
			[]wantErr{{2, "kill.timeout", []string{"between 100ms and 10s", "no other kill and no relief"}}}},
		{"timeout just over the cap", "[kill]\ntimeout = \"10001ms\"",
			[]wantErr{{2, "kill.timeout", []string{`"10001ms" is out of range; must be between 100ms and 10s: while the daemon waits`}}}},
		{"timeout short", "[kill]\ntimeout = \"99ms\"",
			[]wantErr{{2, "kill.timeout", []string{"between 100ms and 10s"}}}},
		{"protect unclean", "[kill]\nprotect = [\"/kubepods.slice/\"]",
			[]wantErr{{2, "kill.protect", []string{`item 1: "/kubepods.slice/" is not a clean path, so it would never match a cgroup path; write "/kubepods.slice"`}}}},
		{"protect double slash", "[kill]\nprotect = [\"/a//b*\"]",
			[]wantErr{{2, "kill.protect", []string{`write "/a/b*"`}}}},
		{"protect dotdot", "[kill]\nprotect = [\"/a\", \"/kubepods/../x*\"]",
			[]wantErr{{2, "kill.protect", []string{`item 2: "/kubepods/../x*" must not contain "..": cgroup paths have none, so it would never match`}}}},
		{"protect NUL", "[kill]\nprotect = [\"/a\\u0000*\"]",
			[]wantErr{{2, "kill.protect", []string{`item 1: "/a\x00*" must not contain a NUL byte`}}}},
		{"protect not array", "[kill]\nprotect = \"/kubepods*\"",
			[]wantErr{{2, "kill.protect", []string{"is a string", "array"}}}},
		{"protect relative", "[kill]\nprotect = [\"/ok\", \"kubepods*\"]",
			[]wantErr{{2, "kill.protect", []string{`item 2: "kubepods*" must start with "/"`}}}},
		{"protect bad pattern", "[kill]\nprotect = [\"/kubepods[\"]",
			[]wantErr{{2, "kill.protect", []string{`item 1: "/kubepods[" is not a valid pattern`}}}},
		{"protect item type", "[kill]\nprotect = [\n  \"/a\",\n  3,\n]",
			[]wantErr{{2, "kill.protect", []string{"item 2: 3 is an integer"}}}},

		// [metrics]
		{"listen relative path", "[metrics]\nlisten = \"run/kube-oomd/metrics.sock\"",
			[]wantErr{{2, "metrics.listen", []string{`"run/kube-oomd/metrics.sock" is a relative path`, `"/run/kube-oomd/metrics.sock"`}}}},
		{"listen bare name", "[metrics]\nlisten = \"metrics.sock\"",
			[]wantErr{{2, "metrics.listen", []string{`"metrics.sock" is neither host:port`, `absolute path`, `"" turns metrics off`}}}},
		{"listen garbage", "[metrics]\nlisten = \"http://127.0.0.1:9723/metrics\"",
			[]wantErr{{2, "metrics.listen", []string{`is neither host:port`}}}},
		{"listen no port", "[metrics]\nlisten = \"127.0.0.1\"",
			[]wantErr{{2, "metrics.listen", []string{`is neither host:port`}}}},
		{"listen port zero", "[metrics]\nlisten = \"127.0.0.1:0\"",
			[]wantErr{{2, "metrics.listen", []string{`"127.0.0.1:0": the port must be a number from 1024 to 65535`}}}},
		{"listen port too big", "[metrics]\nlisten = \"127.0.0.1:65536\"",
			[]wantErr{{2, "metrics.listen", []string{`from 1024 to 65535`}}}},
		{"listen port name", "[metrics]\nlisten = \"127.0.0.1:http\"",
			[]wantErr{{2, "metrics.listen", []string{`from 1024 to 65535`}}}},
		// Issue 19 item 10: the unit gives no CAP_NET_BIND_SERVICE.
		{"listen privileged port", "[metrics]\nlisten = \":80\"",
			[]wantErr{{2, "metrics.listen", []string{`":80": ports below 1024 need CAP_NET_BIND_SERVICE`, `like ":9723"`}}}},
		// Issue 19 item 10: kube-oomd's own files in its run directory.
		{"listen on the status socket", "[metrics]\nlisten = \"/run/kube-oomd/status.sock\"",
			[]wantErr{{2, "metrics.listen", []string{`"/run/kube-oomd/status.sock" is kube-oomd's own status socket`, `"/run/kube-oomd/metrics.sock"`}}}},
		{"listen on a state file", "[metrics]\nlisten = \"/run/kube-oomd/limits.json\"",
			[]wantErr{{2, "metrics.listen", []string{`is kube-oomd's own`}}}},
		{"listen on a state file's temporary copy", "[metrics]\nlisten = \"/run/kube-oomd/throttles.json.tmp\"",
			[]wantErr{{2, "metrics.listen", []string{`is kube-oomd's own`}}}},
		{"listen on the lock", "[metrics]\nlisten = \"/var/run/kube-oomd/kube-oomd.lock\"",
			[]wantErr{{2, "metrics.listen", []string{`is kube-oomd's own lock`}}}},
		{"listen on the run directory", "[metrics]\nlisten = \"/run/kube-oomd\"",
			[]wantErr{{2, "metrics.listen", []string{`is kube-oomd's own run directory`}}}},
		{"listen host name", "[metrics]\nlisten = \"node1.example.com:9723\"",
			[]wantErr{{2, "metrics.listen", []string{`the host must be an IP address, "localhost", or empty`}}}},
		{"listen unix scheme", "[metrics]\nlisten = \"unix:///run/kube-oomd/metrics.sock\"",
			[]wantErr{{2, "metrics.listen", []string{`without unix:`}}}},
		{"listen directory", "[metrics]\nlisten = \"/run/kube-oomd/\"",
			[]wantErr{{2, "metrics.listen", []string{`names a directory`, `"/run/kube-oomd/metrics.sock"`}}}},
		{"listen root", "[metrics]\nlisten = \"/\"",
			[]wantErr{{2, "metrics.listen", []string{`names a directory`}}}},
		{"listen unclean", "[metrics]\nlisten = \"/run/../run/m.sock\"",
			[]wantErr{{2, "metrics.listen", []string{`not a clean path; write "/run/m.sock"`}}}},
		{"listen too long", "[metrics]\nlisten = \"/" + strings.Repeat("x", 107) + "\"",
			[]wantErr{{2, "metrics.listen", []string{`is 108 bytes long; a unix socket's path is at most 107`}}}},
		{"listen type", "[metrics]\nlisten = 9723",
			[]wantErr{{2, "metrics.listen", []string{"9723 is an integer", `"127.0.0.1:9723"`}}}},

		// [log]
		{"level", "[log]\nlevel = \"verbose\"",
			[]wantErr{{2, "log.level", []string{`"verbose" is not one of debug, info, warn, error`}}}},
		{"level offset", "[log]\nlevel = \"info+2\"",
			[]wantErr{{2, "log.level", []string{"is not one of"}}}},
		{"format", "[log]\nformat = \"xml\"",
			[]wantErr{{2, "log.format", []string{`"xml" is not one of auto, journal, text, json`}}}},

		// Unknown keys and sections.
		{"unknown top-level key", "# c\nfoo = 1",
			[]wantErr{{2, "foo", []string{"unknown key", "cgroup, runtime, pressure, memory, relief, kill, log"}}}},
		{"top-level key of a section", "mode = \"pod\"",
			[]wantErr{{1, "mode", []string{"unknown key; mode belongs in the [kill] section"}}}},
		{"unknown section", "[kill]\nmode = \"pod\"\n\n[killer]\nmode = \"pod\"",
			[]wantErr{{4, "killer", []string{"unknown section; valid sections are cgroup, runtime, pressure, memory, relief, kill, log"}}}},
		{"unknown key in section", "[kill]\nmode = \"pod\"\nmodee = \"pod\"",
			[]wantErr{{3, "kill.modee", []string{"unknown key; did you mean kill.mode?"}}}},
		{"unknown key no near miss", "[kill]\n\nvictims = 3",
			[]wantErr{{3, "kill.victims", []string{"unknown key; valid keys in [kill] are mode, method, on_imminent_oom, cooldown, timeout, protect"}}}},
		{"key in wrong section", "[kill]\nwindow = \"1s\"",
			[]wantErr{{2, "kill.window", []string{"window belongs in the [pressure] section"}}}},
		{"key case", "[kill]\nMode = \"pod\"",
			[]wantErr{{2, "kill.Mode", []string{"did you mean kill.mode?"}}}},
		{"nested table", "[kill]\nmode = \"pod\"\n[kill.extra]\nx = 1",
			[]wantErr{{3, "kill.extra", []string{"unknown key"}}}},
		{"dotted unknown", "\nkill.modee = \"pod\"",
			[]wantErr{{2, "kill.modee", []string{"unknown key"}}}},
		{"inline unknown", "\nkill = { mode = \"pod\",\n  modee = 1 }",
			[]wantErr{{3, "kill.modee", []string{"unknown key"}}}},
		{"quoted unknown", "[kill]\n\"mo.de\" = 1",
			[]wantErr{{2, `kill."mo.de"`, []string{"unknown key"}}}},
		// Issue 19 item 11: the toml package records an empty key's
		// position under its table's name, not under its own.
		{"empty quoted key", "\n[kill]\nmode = \"pod\"\n\"\" = 1",
			[]wantErr{{4, `kill.""`, []string{"unknown key"}}}},
		{"empty quoted key, dotted", "\n\nkill.\"\"=\"\"",
			[]wantErr{{3, `kill.""`, []string{"unknown key"}}}},
		// In an inline table the toml package keeps no position for it at
		// all: the table's line.
		{"empty quoted key, inline", "\nkill = { mode = \"pod\",\n '' = 1 }",
			[]wantErr{{2, `kill.""`, []string{"unknown key"}}}},
		{"key after multi-line string", "[cgroup]\nkubepods = \"\"\"\nmodee = 1\n\"\"\"\n[kill]\nmodee = 1",
			[]wantErr{
				{2, "cgroup.kubepods", []string{"must start with"}},
				{6, "kill.modee", []string{"unknown key"}},
			}},
		{"section not a table", "kill = \"pod\"",
			[]wantErr{{1, "kill", []string{"kill is a section, not a string; write it as a [kill] table"}}}},
		{"section as array of tables", "[[kill]]\nmode = \"pod\"",
			[]wantErr{{1, "kill", []string{"not an array of tables"}}}},

		// Lines of keys however they are written.
		{"dotted key at top level", "# kill it\n\nkill.mode = \"podd\"",
			[]wantErr{{3, "kill.mode", []string{`"podd"`}}}},
		{"dotted keys across sections", "pressure.window = \"1s\"\npressure.stall = \"2s\"",
			[]wantErr{{2, "pressure.stall", []string{`"2s" must be shorter than pressure.window ("1s")`}}}},
		{"dotted key in a section", "[kill]\n\nprotect.x = 1",
			[]wantErr{{3, "kill.protect", []string{"got a table", "array"}}}},
		{"dotted keys under a key", "[kill]\nmode.x = 1\nmode.y = 2",
			[]wantErr{{2, "kill.mode", []string{"got a table"}}}},
		{"section then key", "\n[kill]\n\n\nmode = \"x\"",
			[]wantErr{{5, "kill.mode", []string{`"x" is not one of`}}}},
		{"inline table over lines", "kill = { mode = \"podd\",\n  cooldown = \"1ms\",\n  timeout = \"2m\" }",
			[]wantErr{
				{1, "kill.mode", []string{`"podd"`}},
				{2, "kill.cooldown", []string{`"1ms"`}},
				{3, "kill.timeout", []string{`"2m"`}},
			}},
		{"inline table on one line, in file order", "kill = { timeout = \"2m\", mode = \"podd\", cooldown = \"1ms\" }",
			[]wantErr{
				{1, "kill.timeout", []string{`"2m"`}},
				{1, "kill.mode", []string{`"podd"`}},
				{1, "kill.cooldown", []string{`"1ms"`}},
			}},
		{"inline table as a value in a section", "[relief]\nstall = \"10ms\"\n[kill]\nprotect = { a = 1 }",
			[]wantErr{{4, "kill.protect", []string{"got a table"}}}},
		{"array over lines", "[kill]\nprotect = [\n  \"/a\",\n  \"b\",\n]\nmode = \"x\"",
			[]wantErr{
				{2, "kill.protect", []string{`item 2: "b" must start with "/"`}},
				{6, "kill.mode", []string{`"x"`}},
			}},
		{"multi-line string value", "[cgroup]\nkubepods = \"\"\"\nkubepods\n\"\"\"\ndriver = \"x\"",
			[]wantErr{
				{2, "cgroup.kubepods", []string{`"kubepods\n" must start with "/"`}},
				{5, "cgroup.driver", []string{`"x"`}},
			}},
		{"literal multi-line strings before a key", "[cgroup]\nkubepods = '''\n[kill]\nmode = 1'''\nrescan_interval = '''1x\n'''\n[kill]\nmode = 2",
			[]wantErr{
				{2, "cgroup.kubepods", []string{"must start with"}},
				{5, "cgroup.rescan_interval", []string{`"1x\n" is not a duration`}},
				{8, "kill.mode", []string{"2 is an integer"}},
			}},
		{"byte order mark", "\ufeff\n[kill]\nmode = \"x\"",
			[]wantErr{{3, "kill.mode", []string{`"x"`}}}},
		{"CRLF", "[kill]\r\n\r\nmode = \"x\"\r\n",
			[]wantErr{{3, "kill.mode", []string{`"x"`}}}},
		{"unknown section from a dotted key", "\n\nkiller.mode = 1",
			[]wantErr{{3, "killer", []string{"unknown section"}}}},
		{"unknown section from a deeper header", "[kill]\n[killer.x]\ny = 1",
			[]wantErr{{2, "killer", []string{"unknown section"}}}},
		{"unknown implicit section: its first key", "\nx.b = 1\nx.a = 2\n",
			[]wantErr{{2, "x", []string{"unknown section"}}}},

		// Syntax errors come alone, from the TOML decoder.
		{"syntax: missing quote", "[kill]\nmode = \"pod\ncooldown = \"1s\"",
			[]wantErr{{2, "kill.mode", []string{"newline"}}}},
		{"syntax: no value", "[log]\nlevel =\n",
			[]wantErr{{2, "log.level", []string{"expected value"}}}},
		{"syntax: duplicate key", "[kill]\nmode = \"pod\"\nmode = \"pod\"",
			[]wantErr{{3, "kill.mode", []string{"already been defined"}}}},
		{"syntax: unclosed header", "[kill\nmode = \"pod\"",
			[]wantErr{{2, "", []string{"to end table name"}}}}, // the decoder blames the line break
		{"syntax: bare string", "[kill]\nmode = pod",
			[]wantErr{{2, "kill.mode", []string{`expected value but found "pod"`, "need quotes"}}}},
		{"syntax: section twice", "[kill]\nmode = \"pod\"\n[kill]",
			[]wantErr{{3, "", []string{"already been defined"}}}},
		{"syntax: value on the next line", "[kill]\nprotect =\n[\"/a\"]",
			[]wantErr{{2, "kill.protect", []string{"expected value"}}}},
		{"syntax: unclosed array", "[kill]\nprotect = [\n\"/a\",\n",
			[]wantErr{{3, "kill.protect", []string{"unexpected EOF"}}}},
		{"syntax: invalid UTF-8", "[kill]\nmode = \"\xff\"",
			[]wantErr{{2, "kill.mode", []string{"invalid UTF-8"}}}},
		{"syntax: NUL", "\x00",
			[]wantErr{{1, "", []string{"NULL"}}}},

		// Many problems are reported together, in file order.
		{"many", strings.Join([]string{
			"[cgroup]",                   // 1
			"driver = \"cgroups\"",       // 2
			"[pressure]",                 // 3
			"windows = 0",                // 4
			"kind = \"all\"",             // 5
			"[kill]",                     // 6
			"mode = \"podd\"",            // 7
			"cooldown = 10",              // 8
			"extra = true",               // 9
			"[logging]",                  // 10
			"level = \"info\"",           // 11
			"[memory]",                   // 12
			"near_limit = \"95\"",        // 13
			"min_victim = \"32MiB\"",     // 14
			"host_available_floor = 0.5", // 15
		}, "\n"),
			[]wantErr{
				{2, "cgroup.driver", []string{`"cgroups" is not one of`}},
				{4, "pressure.windows", []string{"out of range"}},
				{5, "pressure.kind", []string{`"all" is not one of`}},
				{7, "kill.mode", []string{`"podd"`}},
				{8, "kill.cooldown", []string{"10 is an integer"}},
				{9, "kill.extra", []string{"unknown key"}},
				{10, "logging", []string{"unknown section"}},
				{13, "memory.near_limit", []string{`"95" is not a percentage`}},
				{15, "memory.host_available_floor", []string{"0.5 is a float"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(testFile, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want errors", tt.in, cfg)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse(%q) error %T is not Errors", tt.in, err)
			}
			var first *Error
			if !errors.As(err, &first) || first != errs[0] {
				t.Errorf("errors.As(err, *Error) does not find the first error")
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("Parse(%q): got %d errors, want %d:\n%v", tt.in, len(errs), len(tt.want), err)
			}
			for i, w := range tt.want {
				e := errs[i]
				if e.File != testFile || e.Line != w.line || e.Key != w.key {
					t.Errorf("error %d: got %s:%d key %q, want %s:%d key %q (%v)", i, e.File, e.Line, e.Key, testFile, w.line, w.key, e)
				}
				for _, m := range w.msg {
					if !strings.Contains(e.Msg, m) {
						t.Errorf("error %d: message %q lacks %q", i, e.Msg, m)
					}
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.toml", Line: 14, Key: "kill.mode", Msg: "bad"}, "f.toml:14: kill.mode: bad"},
		{Error{File: "f.toml", Key: "kill.mode", Msg: "bad"}, "f.toml: kill.mode: bad"},
		{Error{File: "f.toml", Line: 3, Msg: "bad"}, "f.toml:3: bad"},
		{Error{Line: 3, Key: "k", Msg: "bad"}, "line 3: k: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
	errs := Errors{&tests[0].e, &tests[1].e}
	if got, want := errs.Error(), "f.toml:14: kill.mode: bad\nf.toml: kill.mode: bad"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}

func TestErrorMessagesExact(t *testing.T) {
	in := "[pressure]\nwindow = \"1s\"\nstall = \"2s\"\n[kill]\nmode = \"podd\"\nmodee = 1\n"
	_, err := Parse(testFile, []byte(in))
	want := `/etc/kube-oomd/kube-oomd.toml:3: pressure.stall: "2s" must be shorter than pressure.window ("1s")
/etc/kube-oomd/kube-oomd.toml:5: kill.mode: "podd" is not one of pod, container, dry-run
/etc/kube-oomd/kube-oomd.toml:6: kill.modee: unknown key; did you mean kill.mode?`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// TestNewChecksExact pins the whole text of the checks that keep a value
// from turning a feature off unseen.
func TestNewChecksExact(t *testing.T) {
	in := strings.Join([]string{
		"[cgroup]",                      // 1
		`kubepods = "/kube\u0000pods"`,  // 2
		"[memory]",                      // 3
		`host_available_floor = "1MiB"`, // 4
		"[relief]",                      // 5
		`reclaim_chunk = "0"`,           // 6
		"[kill]",                        // 7
		`timeout = "30s"`,               // 8
		`protect = ["/kubepods.slice/", "/a/../b"]`, // 9
	}, "\n")
	_, err := Parse(testFile, []byte(in))
	want := `/etc/kube-oomd/kube-oomd.toml:2: cgroup.kubepods: "/kube\x00pods" must not contain a NUL byte
/etc/kube-oomd/kube-oomd.toml:4: memory.host_available_floor: "1MiB" is out of range; a size must be from 16MiB to 1TiB
/etc/kube-oomd/kube-oomd.toml:6: relief.reclaim_chunk: "0" is out of range; must be at least 4KiB (one page)
/etc/kube-oomd/kube-oomd.toml:8: kill.timeout: "30s" is out of range; must be between 100ms and 10s: while the daemon waits for a killed cgroup to empty it starts no other kill and no relief
/etc/kube-oomd/kube-oomd.toml:9: kill.protect: item 1: "/kubepods.slice/" is not a clean path, so it would never match a cgroup path; write "/kubepods.slice"`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}

	in = "[relief]\nreclaim_chunk = \"64MiB\"\nreclaim_max = \"32MiB\"\n"
	_, err = Parse(testFile, []byte(in))
	want = `/etc/kube-oomd/kube-oomd.toml:3: relief.reclaim_max: "32MiB" must be at least relief.reclaim_chunk ("64MiB")`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestSyntaxErrorWrapsParseError(t *testing.T) {
	_, err := Parse(testFile, []byte("a = "))
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v does not wrap toml.ParseError", err)
	}
}
