package config

import (
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"
)

// field is one configuration key and how a TOML value is checked and stored.
type field struct {
	key string // dotted, as in the file: "kill.mode"
	// set checks a decoded TOML value (string, int64, float64, bool, []any,
	// map[string]any, time.Time) and, if it is valid, stores it. The error
	// text is shown to the operator after "FILE:LINE: key: ".
	set func(v any) error
}

// fields lists every key of the file, in file order, bound to c.
func (c *Config) fields() []field {
	return []field{
		{"cgroup.kubepods", setString(&c.Cgroup.Kubepods, checkCgroupPath)},
		{"cgroup.driver", setEnum(&c.Cgroup.Driver, DriverAuto, DriverSystemd, DriverCgroupfs)},
		{"cgroup.rescan_interval", setDuration(&c.Cgroup.RescanInterval, time.Second, 10*time.Minute)},

		{"pressure.kind", setEnum(&c.Pressure.Kind, KindSome, KindFull)},
		// Must also be shorter than pressure.window; Parse checks that.
		{"pressure.stall", setDuration(&c.Pressure.Stall, 1, 10*time.Second)},
		{"pressure.window", setDuration(&c.Pressure.Window, 500*time.Millisecond, 10*time.Second)},
		{"pressure.windows", setInt(&c.Pressure.Windows, 1, 60)},
		{"pressure.watch_host", setBool(&c.Pressure.WatchHost)},

		{"memory.near_limit", setRatio(&c.Memory.NearLimit, 0.50, 1)},
		{"memory.host_available_floor", setAmount(&c.Memory.HostAvailableFloor, 0.01, 0.50)},
		{"memory.min_victim", setSize(&c.Memory.MinVictim)},

		// relief.stall must also be below pressure.stall; Parse checks that.
		{"relief.stall", setDuration(&c.Relief.Stall, 1, 10*time.Second)},
		{"relief.reclaim", setBool(&c.Relief.Reclaim)},
		{"relief.reclaim_chunk", setSize(&c.Relief.ReclaimChunk)},
		{"relief.reclaim_max", setSize(&c.Relief.ReclaimMax)},
		{"relief.throttle", setBool(&c.Relief.Throttle)},
		{"relief.throttle_after", setInt(&c.Relief.ThrottleAfter, 1, 60)},
		{"relief.throttle_below", setRatio(&c.Relief.ThrottleBelow, 0.01, 0.50)},
		{"relief.release_after", setDuration(&c.Relief.ReleaseAfter, time.Second, time.Hour)},
		{"relief.release_step", setRatio(&c.Relief.ReleaseStep, 0.05, 1)},

		{"kill.mode", setEnum(&c.Kill.Mode, ModePod, ModeContainer, ModeDryRun)},
		{"kill.on_imminent_oom", setBool(&c.Kill.OnImminentOOM)},
		{"kill.cooldown", setDuration(&c.Kill.Cooldown, time.Second, 10*time.Minute)},
		{"kill.timeout", setDuration(&c.Kill.Timeout, 100*time.Millisecond, time.Minute)},
		{"kill.protect", setGlobs(&c.Kill.Protect)},

		{"log.level", setLevel(&c.Log.Level)},
		{"log.format", setEnum(&c.Log.Format, FormatAuto, FormatJournal, FormatText, FormatJSON)},
	}
}

func setString(dst *string, check func(string) error) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return typeError(v, "a quoted string")
		}
		if err := check(s); err != nil {
			return err
		}
		*dst = s
		return nil
	}
}

func setEnum(dst *string, valid ...string) func(any) error {
	list := strings.Join(valid, ", ")
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return typeError(v, "a quoted string, one of "+list)
		}
		if !slices.Contains(valid, s) {
			return fmt.Errorf("%q is not one of %s", s, list)
		}
		*dst = s
		return nil
	}
}

func setDuration(dst *time.Duration, lo, hi time.Duration) func(any) error {
	want := fmt.Sprintf("between %s and %s", formatDuration(lo), formatDuration(hi))
	if lo == 1 {
		want = fmt.Sprintf("more than 0 and at most %s", formatDuration(hi))
	}
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return typeError(v, `a quoted duration with a unit, like "500ms", "10s" or "2m"`)
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf(`%q is not a duration; write a number and a unit (ms, s, m, h), like "500ms", "10s" or "2m"`, s)
		}
		if d < lo || d > hi {
			return fmt.Errorf("%q is out of range; must be %s", s, want)
		}
		*dst = d
		return nil
	}
}

func setInt(dst *int, lo, hi int) func(any) error {
	return func(v any) error {
		n, ok := v.(int64)
		if !ok {
			return typeError(v, fmt.Sprintf("a whole number from %d to %d, without quotes", lo, hi))
		}
		if n < int64(lo) || n > int64(hi) {
			return fmt.Errorf("%d is out of range; must be from %d to %d", n, lo, hi)
		}
		*dst = int(n)
		return nil
	}
}

func setBool(dst *bool) func(any) error {
	return func(v any) error {
		b, ok := v.(bool)
		if !ok {
			return typeError(v, "true or false, without quotes")
		}
		*dst = b
		return nil
	}
}

func setRatio(dst *float64, lo, hi float64) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return typeError(v, fmt.Sprintf(`a quoted percentage from %s to %s, like "90%%"`, formatRatio(lo), formatRatio(hi)))
		}
		r, err := ParseRatio(s)
		if err != nil {
			return err
		}
		if r < lo || r > hi {
			return fmt.Errorf("%q is out of range; must be from %s to %s", s, formatRatio(lo), formatRatio(hi))
		}
		*dst = r
		return nil
	}
}

// setAmount accepts a size, or a percentage between lo and hi.
func setAmount(dst *Amount, lo, hi float64) func(any) error {
	return func(v any) error {
		var a Amount
		switch v := v.(type) {
		case int64:
			if v < 0 {
				return fmt.Errorf("%d must not be negative", v)
			}
			a.Bytes = uint64(v)
		case string:
			var err error
			if a, err = ParseAmount(v); err != nil {
				return err
			}
			isRatio := strings.HasSuffix(strings.TrimSpace(v), "%")
			if isRatio && (a.Ratio < lo || a.Ratio > hi) {
				return fmt.Errorf("%q is out of range; a percentage must be from %s to %s", v, formatRatio(lo), formatRatio(hi))
			}
		default:
			return typeError(v, fmt.Sprintf(`a quoted size like "512MiB", or a quoted percentage from %s to %s like "5%%"`, formatRatio(lo), formatRatio(hi)))
		}
		*dst = a
		return nil
	}
}

// setSize accepts a size string or a whole number of bytes.
func setSize(dst *uint64) func(any) error {
	return func(v any) error {
		switch v := v.(type) {
		case int64:
			if v < 0 {
				return fmt.Errorf("%d must not be negative", v)
			}
			*dst = uint64(v)
		case string:
			n, err := ParseSize(v)
			if err != nil {
				return err
			}
			*dst = n
		default:
			return typeError(v, `a quoted size like "32MiB", or a whole number of bytes`)
		}
		return nil
	}
}

func setGlobs(dst *[]string) func(any) error {
	const want = `an array of quoted patterns, like ["/kubepods.slice/kubepods-pod*.slice"]`
	return func(v any) error {
		list, ok := v.([]any)
		if !ok {
			return typeError(v, want)
		}
		var globs []string // nil when empty, like Default
		for i, item := range list {
			g, ok := item.(string)
			if !ok {
				return fmt.Errorf("item %d: %w", i+1, typeError(item, "a quoted pattern"))
			}
			if err := checkGlob(g); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
			globs = append(globs, g)
		}
		*dst = globs
		return nil
	}
}

func setLevel(dst *slog.Level) func(any) error {
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	}
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return typeError(v, "a quoted string, one of debug, info, warn, error")
		}
		l, ok := levels[strings.ToLower(s)]
		if !ok {
			return fmt.Errorf("%q is not one of debug, info, warn, error", s)
		}
		*dst = l
		return nil
	}
}

// checkCgroupPath checks cgroup.kubepods: "" or a clean absolute path below
// the cgroup2 mount.
func checkCgroupPath(p string) error {
	switch {
	case p == "":
		return nil // auto-detect
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

// checkGlob checks one kill.protect pattern.
func checkGlob(g string) error {
	if !strings.HasPrefix(g, "/") {
		return fmt.Errorf(`%q must start with "/" (patterns match the pod's cgroup path from the cgroup2 mount, like "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod*.slice")`, g)
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
