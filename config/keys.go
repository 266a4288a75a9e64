package config

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
)

// keys is the table of configuration keys, in the order of the shipped
// file: each key is named here once, with the field that holds it, its
// built-in value and its kind. Parse, Default, LogValue (the start-up log
// and `kube-oomd status`) and the tests that keep packaging/kube-oomd.toml
// and README.md in step all go through it.
var keys = []key{
	restartOnly(newKey("cgroup.kubepods", func(c *Config) *string { return &c.Cgroup.Kubepods },
		"", cgroupPath())),
	restartOnly(newKey("cgroup.driver", func(c *Config) *string { return &c.Cgroup.Driver },
		DriverAuto, enum(DriverAuto, DriverSystemd, DriverCgroupfs))),
	restartOnly(newKey("cgroup.rescan_interval", func(c *Config) *time.Duration { return &c.Cgroup.RescanInterval },
		10*time.Second, duration(time.Second, 10*time.Minute, ""))),

	restartOnly(newKey("runtime.endpoint", func(c *Config) *string { return &c.Runtime.Endpoint },
		EndpointAuto, endpoint())),
	// The runtime is asked off the main loop, once when a pod appears; a
	// runtime that takes longer than this is one that is not answering.
	restartOnly(newKey("runtime.timeout", func(c *Config) *time.Duration { return &c.Runtime.Timeout },
		2*time.Second, duration(100*time.Millisecond, 30*time.Second, ""))),

	newKey("pressure.kind", func(c *Config) *string { return &c.Pressure.Kind },
		KindFull, enum(KindSome, KindFull)),
	newKey("pressure.stall", func(c *Config) *time.Duration { return &c.Pressure.Stall },
		100*time.Millisecond, duration(1, 10*time.Second, "")),
	newKey("pressure.window", func(c *Config) *time.Duration { return &c.Pressure.Window },
		time.Second, duration(500*time.Millisecond, 10*time.Second, "")),
	newKey("pressure.windows", func(c *Config) *int { return &c.Pressure.Windows },
		2, integer(1, 60)),
	newKey("pressure.watch_host", func(c *Config) *bool { return &c.Pressure.WatchHost },
		true, boolean()),

	newKey("memory.near_limit", func(c *Config) *float64 { return &c.Memory.NearLimit },
		0.90, ratio(0.50, 1)),
	// A floor of a few bytes is never reached, so without a kubepods limit
	// memory would never count as near it; one of terabytes would always be
	// near, and is more likely a slip of the unit.
	newKey("memory.host_available_floor", func(c *Config) *Amount { return &c.Memory.HostAvailableFloor },
		Amount{Ratio: 0.05}, amount(16<<20, 1<<40, 0.01, 0.50)),
	// 0 is valid: the size rule is off.
	newKey("memory.min_victim", func(c *Config) *uint64 { return &c.Memory.MinVictim },
		32<<20, size(0, "")),

	newKey("relief.stall", func(c *Config) *time.Duration { return &c.Relief.Stall },
		30*time.Millisecond, duration(1, 10*time.Second, "")),
	newKey("relief.reclaim", func(c *Config) *bool { return &c.Relief.Reclaim },
		true, boolean()),
	// Reclaim skips everything when a chunk is 0 (or more than
	// relief.reclaim_max, see orders), which would turn it off unseen. Its
	// floor is the smallest page a kernel has (cgroupv2.MinPageSize); on a
	// 16 or 64 KiB page kernel the daemon rounds the chunk up to a page
	// (cgroupv2.ReclaimRequest).
	newKey("relief.reclaim_chunk", func(c *Config) *uint64 { return &c.Relief.ReclaimChunk },
		32<<20, size(cgroupv2.MinPageSize, " (one page)")),
	newKey("relief.reclaim_max", func(c *Config) *uint64 { return &c.Relief.ReclaimMax },
		256<<20, size(0, "")),
	newKey("relief.throttle", func(c *Config) *bool { return &c.Relief.Throttle },
		true, boolean()),
	newKey("relief.throttle_after", func(c *Config) *int { return &c.Relief.ThrottleAfter },
		2, integer(1, 60)),
	newKey("relief.throttle_below", func(c *Config) *float64 { return &c.Relief.ThrottleBelow },
		0.05, ratio(0.01, 0.50)),
	newKey("relief.release_after", func(c *Config) *time.Duration { return &c.Relief.ReleaseAfter },
		10*time.Second, duration(time.Second, time.Hour, "")),
	newKey("relief.release_step", func(c *Config) *float64 { return &c.Relief.ReleaseStep },
		0.25, ratio(0.05, 1)),

	newKey(KeyKillMode, func(c *Config) *string { return &c.Kill.Mode },
		ModePod, enum(ModePod, ModeContainer, ModeDryRun)),
	// "oom" by default: the kubelet then reports the victim OOMKilled, as
	// Kubernetes users expect of a memory kill (measured on a real node,
	// docs/design.md's kill section); flipping it is this line, the shipped file,
	// the README's row and the man page.
	newKey("kill.method", func(c *Config) *string { return &c.Kill.Method },
		MethodOOM, enum(MethodSignal, MethodOOM)),
	newKey("kill.on_imminent_oom", func(c *Config) *bool { return &c.Kill.OnImminentOOM },
		true, boolean()),
	newKey("kill.cooldown", func(c *Config) *time.Duration { return &c.Kill.Cooldown },
		10*time.Second, duration(time.Second, 10*time.Minute, "")),
	newKey("kill.timeout", func(c *Config) *time.Duration { return &c.Kill.Timeout },
		5*time.Second, duration(100*time.Millisecond, maxKillTimeout, killTimeoutWhy)),
	newKey("kill.protect", func(c *Config) *[]string { return &c.Kill.Protect },
		nil, globs()),

	newKey("log.level", func(c *Config) *slog.Level { return &c.Log.Level },
		slog.LevelInfo, level()),
	newKey("log.format", func(c *Config) *string { return &c.Log.Format },
		FormatAuto, enum(FormatAuto, FormatJournal, FormatText, FormatJSON)),

	// Off by default: an endpoint is one more thing to secure, and the
	// shipped unit allows no TCP (a unix socket under /run/kube-oomd works
	// with it as it is; TCP needs the drop-in, see docs/metrics.md).
	restartOnly(newKey("metrics.listen", func(c *Config) *string { return &c.Metrics.Listen },
		"", listen())),
}

// orders are the checks between two keys: the value of lower must stay
// below that of upper. Parse reports a breach on whichever of the two keys
// comes later in the file.
var orders = []order{
	// A stall is a share of one window.
	{lower: "pressure.stall", upper: "pressure.window", strict: true, below: "shorter than", above: "longer than"},
	// Relief starts before a kill is considered.
	{lower: "relief.stall", upper: "pressure.stall", strict: true, below: "shorter than", above: "longer than"},
	// Reclaim stops once the window's budget cannot pay a chunk: a budget
	// under one chunk would turn it off unseen.
	{lower: "relief.reclaim_chunk", upper: "relief.reclaim_max", below: "at most", above: "at least"},
}

// maxKillTimeout bounds kill.timeout. The daemon runs its actions one at a
// time, off its main loop: while a kill waits for the cgroup to empty, a
// kill or relief step that falls due waits behind it. A cgroup that has not
// emptied in 10s is not going to soon; the kill is logged as unconfirmed
// and the daemon can act again.
const maxKillTimeout = 10 * time.Second

// killTimeoutWhy explains maxKillTimeout in the error.
const killTimeoutWhy = ": while the daemon waits for a killed cgroup to empty it starts no other kill and no relief"

// key is one configuration key. Its functions are bound to its field.
type key struct {
	name string // dotted, as in the file: "kill.mode"

	// ptr returns the address of the key's field in c.
	ptr func(c *Config) any
	// reset stores the built-in value in c.
	reset func(c *Config)
	// set checks a decoded TOML value (string, int64, float64, bool, []any,
	// map[string]any, []map[string]any or time.Time) and, if it is valid,
	// stores it in c. The error text is shown to the operator after
	// "FILE:LINE: key: ".
	set func(c *Config, v any) error
	// toml returns the value in c as the file writes it, as decoded TOML
	// (a string, int64, bool or []any); set takes it back unchanged.
	toml func(c *Config) any
	// show returns the value in c for the start-up log and status.
	show func(c *Config) slog.Value
	// restart: a reload does not change the key; its new value waits for a
	// restart (see KeepRestartOnly).
	restart bool
}

// restartOnly marks k as the table's "restart" column says: what the
// daemon opened with it at start (the pods' cgroup, the runtime's socket,
// the metrics listener) is not moved at run time, where a move could fail
// half-way and a reload never fails the daemon.
func restartOnly(k key) key {
	k.restart = true
	return k
}

// section returns the key's section: "kill" for "kill.mode".
func (k key) section() string {
	s, _, _ := strings.Cut(k.name, ".")
	return s
}

// short returns the key's name within its section: "mode" for "kill.mode".
func (k key) short() string {
	_, n, _ := strings.Cut(k.name, ".")
	return n
}

// kind is how values of one Go type are read from TOML, checked, written
// back and shown.
type kind[T any] struct {
	// parse checks a decoded TOML value and converts it.
	parse func(v any) (T, error)
	// toml writes a value as decoded TOML, as the file spells it.
	toml func(T) any
	// show is the value for the log and status; nil means the toml value.
	show func(T) slog.Value
}

// newKey binds a kind to the key's field and built-in value.
func newKey[T any](name string, field func(*Config) *T, def T, k kind[T]) key {
	show := k.show
	if show == nil {
		show = func(v T) slog.Value { return slog.AnyValue(k.toml(v)) }
	}
	return key{
		name:  name,
		ptr:   func(c *Config) any { return field(c) },
		reset: func(c *Config) { *field(c) = def },
		set: func(c *Config, v any) error {
			t, err := k.parse(v)
			if err != nil {
				return err
			}
			*field(c) = t
			return nil
		},
		toml: func(c *Config) any { return k.toml(*field(c)) },
		show: func(c *Config) slog.Value { return show(*field(c)) },
	}
}

// lookup returns the key with the dotted name.
func lookup(name string) (key, bool) {
	i := slices.IndexFunc(keys, func(k key) bool { return k.name == name })
	if i < 0 {
		return key{}, false
	}
	return keys[i], true
}

// sections returns the section names, in file order.
func sections() []string {
	var names []string
	for _, k := range keys {
		if s := k.section(); !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names
}

// sectionKeys returns the short key names of one section, in file order.
func sectionKeys(section string) []string {
	var names []string
	for _, k := range keys {
		if k.section() == section {
			names = append(names, k.short())
		}
	}
	return names
}

// order is a check between two keys of the same type, a time.Duration or a
// uint64 (see compare).
type order struct {
	lower, upper string // key names
	strict       bool   // lower must be below upper, not equal
	below, above string // the relation, said of lower and of upper
}

// holds reports whether the order holds in c.
func (o order) holds(c *Config) bool {
	lo, _ := lookup(o.lower)
	hi, _ := lookup(o.upper)
	d := compare(lo.ptr(c), hi.ptr(c))
	return d < 0 || d == 0 && !o.strict
}

// compare compares two fields of the same ordered type.
func compare(a, b any) int {
	switch a := a.(type) {
	case *time.Duration:
		return cmp.Compare(*a, *b.(*time.Duration))
	case *uint64:
		return cmp.Compare(*a, *b.(*uint64))
	}
	panic(fmt.Sprintf("config: cannot order a %T", a))
}

func enum(valid ...string) kind[string] {
	list := strings.Join(valid, ", ")
	return kind[string]{
		parse: func(v any) (string, error) {
			s, ok := v.(string)
			if !ok {
				return "", typeError(v, "a quoted string, one of "+list)
			}
			if !slices.Contains(valid, s) {
				return "", fmt.Errorf("%q is not one of %s", s, list)
			}
			return s, nil
		},
		toml: func(s string) any { return s },
	}
}

// text is a quoted string that parse checks (and may rewrite), shown as
// empty in the log and status when it is "". want says what to write, in
// the error for a value that is not a string.
func text(want, empty string, parse func(string) (string, error)) kind[string] {
	return kind[string]{
		parse: func(v any) (string, error) {
			s, ok := v.(string)
			if !ok {
				return "", typeError(v, want)
			}
			return parse(s)
		},
		toml: func(s string) any { return s },
		show: func(s string) slog.Value {
			if s == "" {
				return slog.StringValue(empty)
			}
			return slog.StringValue(s)
		},
	}
}

// cgroupPath is cgroup.kubepods: "" (auto-detect, shown as "auto") or a
// clean absolute path below the cgroup2 mount.
func cgroupPath() kind[string] {
	return text("a quoted string", "auto", func(s string) (string, error) { return s, checkCgroupPath(s) })
}

// endpoint is runtime.endpoint: "" (EndpointAuto, shown as "auto"),
// "none", or a unix socket's path, with or without unix:// (see
// ParseEndpoint). The field keeps the path alone.
func endpoint() kind[string] {
	return text(`a quoted string: "" (find the runtime), "none", or a socket like "unix:///run/containerd/containerd.sock"`,
		"auto", ParseEndpoint)
}

// ParseEndpoint reads a value of runtime.endpoint: "" (EndpointAuto) and
// "none" (EndpointNone) are returned as they are; anything else must name a
// unix socket by its clean absolute path, with or without "unix://"
// ("unix:///run/crio/crio.sock" or "/run/crio/crio.sock"), and is returned
// as the path.
func ParseEndpoint(s string) (string, error) {
	if s == EndpointAuto || s == EndpointNone {
		return s, nil
	}
	p := strings.TrimPrefix(s, "unix://")
	if scheme, _, ok := strings.Cut(p, "://"); ok {
		return "", fmt.Errorf("%q: only unix sockets are supported (unix:///path), not %s://", s, scheme)
	}
	switch {
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("%q must not contain a NUL byte", s)
	case !strings.HasPrefix(p, "/"):
		return "", fmt.Errorf(`%q must be an absolute path to the runtime's socket, like "unix:///run/containerd/containerd.sock"; "" finds it, "none" turns the lookup off`, s)
	case path.Clean(p) != p:
		return "", fmt.Errorf("%q is not a clean path; write %q", s, path.Clean(p))
	}
	return p, nil
}

// listen is metrics.listen: "" (off, shown as "off"), host:port or the
// absolute path of a unix socket (see checkListen).
func listen() kind[string] {
	return text(`a quoted string: "" (off), host:port like "127.0.0.1:9723", or a socket's path like "/run/kube-oomd/metrics.sock"`,
		"off", func(s string) (string, error) { return s, checkListen(s) })
}

// maxSocketPath is the longest path a unix socket can be bound to: the
// kernel's sun_path holds 108 bytes, the terminating NUL included.
const maxSocketPath = 107

// ListenNetwork is the one rule that tells the two forms of a valid
// metrics.listen apart: NetworkUnix for an absolute path, NetworkTCP for
// host:port, and "" for "" (metrics off).
func ListenNetwork(listen string) string {
	switch {
	case listen == "":
		return ""
	case strings.HasPrefix(listen, "/"):
		return NetworkUnix
	}
	return NetworkTCP
}

// minPort is the lowest TCP port metrics.listen takes: the unit's
// CapabilityBoundingSet= has no CAP_NET_BIND_SERVICE for those below.
const minPort = 1024

// checkListen checks a value of metrics.listen. A socket's path must be
// clean, fit in sun_path and be none of kube-oomd's own files in its run
// directory (a socket bound there would take the status socket's place, or
// a state file's); host:port must have a port from minPort to 65535
// (0 would be a port no scraper knows) and a host that is an IP address,
// "localhost", or empty for every address: a name that needs DNS could
// fail or change at each start.
func checkListen(s string) error {
	const forms = `host:port (like "127.0.0.1:9723") or the absolute path of a unix socket (like "/run/kube-oomd/metrics.sock"); "" turns metrics off`
	switch ListenNetwork(s) {
	case "":
		return nil
	case NetworkUnix:
		switch {
		case strings.ContainsRune(s, 0):
			return fmt.Errorf("%q must not contain a NUL byte", s)
		case strings.HasSuffix(s, "/"):
			return fmt.Errorf("%q names a directory; name the socket in it, like %q", s, path.Join(s, "metrics.sock"))
		case path.Clean(s) != s:
			return fmt.Errorf("%q is not a clean path; write %q", s, path.Clean(s))
		case len(s) > maxSocketPath:
			return fmt.Errorf("%q is %d bytes long; a unix socket's path is at most %d", s, len(s), maxSocketPath)
		}
		if what, own := rundir.Own(rundir.Dir, s); own {
			return fmt.Errorf("%q is kube-oomd's own %s; name another socket, like %q", s, what, path.Join(rundir.Dir, "metrics.sock"))
		}
		return nil
	}
	if strings.HasPrefix(s, "unix:") {
		return fmt.Errorf("%q: write the socket's absolute path without unix:, like %q", s, "/run/kube-oomd/metrics.sock")
	}
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil && strings.Contains(s, "/") && !strings.Contains(s, ":"):
		return fmt.Errorf("%q is a relative path; a unix socket's path must be absolute, like %q", s, "/run/kube-oomd/metrics.sock")
	case err != nil:
		return fmt.Errorf("%q is neither %s", s, forms)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	switch {
	case err != nil || n == 0:
		return fmt.Errorf("%q: the port must be a number from %d to 65535", s, minPort)
	case n < minPort:
		return fmt.Errorf("%q: ports below %d need CAP_NET_BIND_SERVICE, which the unit does not give; use a port from %d up, like %q",
			s, minPort, minPort, net.JoinHostPort(host, "9723"))
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "" && host != "localhost" {
		return fmt.Errorf(`%q: the host must be an IP address, "localhost", or empty for every address`, s)
	}
	return nil
}

// duration accepts a quoted Go duration from lo to hi; why, if not empty,
// follows the range in the error.
func duration(lo, hi time.Duration, why string) kind[time.Duration] {
	want := fmt.Sprintf("between %s and %s", formatDuration(lo), formatDuration(hi))
	if lo == 1 {
		want = fmt.Sprintf("more than 0 and at most %s", formatDuration(hi))
	}
	return kind[time.Duration]{
		parse: func(v any) (time.Duration, error) {
			s, ok := v.(string)
			if !ok {
				return 0, typeError(v, `a quoted duration with a unit, like "500ms", "10s" or "2m"`)
			}
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return 0, fmt.Errorf(`%q is not a duration; write a number and a unit (ms, s, m, h), like "500ms", "10s" or "2m"`, s)
			}
			if d < lo || d > hi {
				return 0, fmt.Errorf("%q is out of range; must be %s%s", s, want, why)
			}
			return d, nil
		},
		toml: func(d time.Duration) any { return formatDuration(d) },
	}
}

func integer(lo, hi int) kind[int] {
	return kind[int]{
		parse: func(v any) (int, error) {
			n, ok := v.(int64)
			if !ok {
				return 0, typeError(v, fmt.Sprintf("a whole number from %d to %d, without quotes", lo, hi))
			}
			if n < int64(lo) || n > int64(hi) {
				return 0, fmt.Errorf("%d is out of range; must be from %d to %d", n, lo, hi)
			}
			return int(n), nil
		},
		toml: func(n int) any { return int64(n) },
	}
}

func boolean() kind[bool] {
	return kind[bool]{
		parse: func(v any) (bool, error) {
			b, ok := v.(bool)
			if !ok {
				return false, typeError(v, "true or false, without quotes")
			}
			return b, nil
		},
		toml: func(b bool) any { return b },
	}
}

// ratio accepts a quoted percentage from lo to hi.
func ratio(lo, hi float64) kind[float64] {
	return kind[float64]{
		parse: func(v any) (float64, error) {
			s, ok := v.(string)
			if !ok {
				return 0, typeError(v, fmt.Sprintf(`a quoted percentage from %s to %s, like "90%%"`, formatRatio(lo), formatRatio(hi)))
			}
			r, err := ParseRatio(s)
			if err != nil {
				return 0, err
			}
			if r < lo || r > hi {
				return 0, fmt.Errorf("%q is out of range; must be from %s to %s", s, formatRatio(lo), formatRatio(hi))
			}
			return r, nil
		},
		toml: func(r float64) any { return formatRatio(r) },
	}
}

// amount accepts a size from lo to hi bytes, or a percentage from rlo to
// rhi.
func amount(lo, hi uint64, rlo, rhi float64) kind[Amount] {
	sizes := fmt.Sprintf("from %s to %s", FormatSize(lo), FormatSize(hi))
	ratios := fmt.Sprintf("from %s to %s", formatRatio(rlo), formatRatio(rhi))
	return kind[Amount]{
		parse: func(v any) (Amount, error) {
			var a Amount
			switch v := v.(type) {
			case int64:
				if v < 0 {
					return a, fmt.Errorf("%d must not be negative", v)
				}
				a.Bytes = uint64(v)
			case string:
				var err error
				if a, err = ParseAmount(v); err != nil {
					return a, err
				}
				if strings.HasSuffix(strings.TrimSpace(v), "%") {
					if a.Ratio < rlo || a.Ratio > rhi {
						return Amount{}, fmt.Errorf("%q is out of range; a percentage must be %s", v, ratios)
					}
					return a, nil
				}
			default:
				return a, typeError(v, fmt.Sprintf(`a quoted size %s like "2GiB", or a quoted percentage %s like "5%%"`, sizes, ratios))
			}
			if a.Bytes < lo || a.Bytes > hi {
				return Amount{}, fmt.Errorf("%s is out of range; a size must be %s", showValue(v), sizes)
			}
			return a, nil
		},
		toml: func(a Amount) any { return a.String() },
	}
}

// size accepts a size string or a whole number of bytes, at least lo; why,
// if not empty, follows the bound in the error.
func size(lo uint64, why string) kind[uint64] {
	return kind[uint64]{
		parse: func(v any) (uint64, error) {
			var n uint64
			switch v := v.(type) {
			case int64:
				if v < 0 {
					return 0, fmt.Errorf("%d must not be negative", v)
				}
				n = uint64(v)
			case string:
				var err error
				if n, err = ParseSize(v); err != nil {
					return 0, err
				}
			default:
				return 0, typeError(v, `a quoted size like "32MiB", or a whole number of bytes`)
			}
			if n < lo {
				return 0, fmt.Errorf("%s is out of range; must be at least %s%s", showValue(v), FormatSize(lo), why)
			}
			return n, nil
		},
		toml: func(n uint64) any { return FormatSize(n) },
	}
}

func globs() kind[[]string] {
	const want = `an array of quoted patterns, like ["/kubepods.slice/kubepods-pod*.slice"]`
	return kind[[]string]{
		parse: func(v any) ([]string, error) {
			list, ok := v.([]any)
			if !ok {
				return nil, typeError(v, want)
			}
			var globs []string // nil when empty, like Default
			for i, item := range list {
				g, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("item %d: %w", i+1, typeError(item, "a quoted pattern"))
				}
				if err := checkGlob(g); err != nil {
					return nil, fmt.Errorf("item %d: %w", i+1, err)
				}
				globs = append(globs, g)
			}
			return globs, nil
		},
		toml: func(globs []string) any {
			list := make([]any, len(globs))
			for i, g := range globs {
				list[i] = g
			}
			return list
		},
		show: func(globs []string) slog.Value { return slog.AnyValue(globs) },
	}
}

// levels are the values of log.level.
var levels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// level accepts a level name in any case; the file writes it in lower case,
// the log and status as slog does ("INFO").
func level() kind[slog.Level] {
	return kind[slog.Level]{
		parse: func(v any) (slog.Level, error) {
			s, ok := v.(string)
			if !ok {
				return 0, typeError(v, "a quoted string, one of debug, info, warn, error")
			}
			for _, l := range levels {
				if strings.ToLower(s) == strings.ToLower(l.String()) {
					return l, nil
				}
			}
			return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
		},
		toml: func(l slog.Level) any { return strings.ToLower(l.String()) },
		show: func(l slog.Level) slog.Value { return slog.StringValue(l.String()) },
	}
}

// checkCgroupPath checks cgroup.kubepods: "" or a clean absolute path below
// the cgroup2 mount.
func checkCgroupPath(p string) error {
	switch {
	case p == "":
		return nil // auto-detect
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("%q must not contain a NUL byte", p)
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf(`%q must start with "/" (it is relative to the cgroup2 mount, like "/kubepods.slice"), or be "" to auto-detect`, p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Errorf(`%q must not contain ".."`, p)
	case p == "/":
		return fmt.Errorf(`%q is the root cgroup; name the cgroup that holds the pods, like "/kubepods.slice", or "" to auto-detect`, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not a clean path; write %q", p, path.Clean(p))
	}
	return nil
}

// checkGlob checks one kill.protect pattern. A pattern that no clean cgroup
// path can match would protect nothing, unseen.
func checkGlob(g string) error {
	switch {
	case !strings.HasPrefix(g, "/"):
		return fmt.Errorf(`%q must start with "/" (patterns match the pod's cgroup path from the cgroup2 mount, like "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod*.slice")`, g)
	case strings.ContainsRune(g, 0):
		return fmt.Errorf("%q must not contain a NUL byte", g)
	case slices.Contains(strings.Split(g, "/"), ".."):
		return fmt.Errorf(`%q must not contain "..": cgroup paths have none, so it would never match`, g)
	case path.Clean(g) != g:
		return fmt.Errorf("%q is not a clean path, so it would never match a cgroup path; write %q", g, path.Clean(g))
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("%q is not a valid pattern (use *, ? and [a-z] as in path.Match): %w", g, err)
	}
	return nil
}

// typeError reports a value of the wrong TOML type.
func typeError(v any, want string) error {
	switch v.(type) {
	case string, int64, float64, bool:
		return fmt.Errorf("%s is %s; want %s", showValue(v), typeName(v), want)
	}
	return fmt.Errorf("got %s; want %s", typeName(v), want)
}

// showValue writes a scalar TOML value as the file would.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// typeName names the TOML type of a decoded value, with an article.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("a %T", v)
}

// SectionMetrics is the [metrics] section's name.
const SectionMetrics = "metrics"

// KeepRestartOnly returns next with each restart-only key put back to its
// value in inForce, and the sections whose restart-only keys next changed,
// in the table's order: a reload applies the rest, and says that these
// wait for a restart.
func KeepRestartOnly(next, inForce Config) (Config, []string) {
	var sections []string
	for _, k := range keys {
		if !k.restart {
			continue
		}
		n, f := reflect.ValueOf(k.ptr(&next)).Elem(), reflect.ValueOf(k.ptr(&inForce)).Elem()
		if reflect.DeepEqual(n.Interface(), f.Interface()) {
			continue
		}
		n.Set(f)
		if !slices.Contains(sections, k.section()) {
			sections = append(sections, k.section())
		}
	}
	return next, sections
}
