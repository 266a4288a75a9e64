package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads and parses the file at path; see [Parse]. If the file does not
// exist the error wraps fs.ErrNotExist, so that a caller can fall back to
// [Default] for the default path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a configuration file's contents. It starts from [Default]
// and overlays the keys the file sets. file names the file in errors.
//
// On failure the error is an [Errors] listing every problem found, each an
// [*Error] with file, line and key. A TOML syntax error stops parsing, so it
// comes alone; otherwise all bad values, wrong types and unknown keys are
// reported together.
func Parse(file string, data []byte) (Config, error) {
	text := string(data)
	var tree map[string]any
	if _, err := toml.Decode(text, &tree); err != nil {
		return Config{}, Errors{syntaxError(file, text, err)}
	}

	// The tree is walked here, rather than decoded into Config by the toml
	// package, because that stops at the first error and matches key names
	// case-insensitively; here every key is checked, exactly.
	p := parser{file: file, lines: indexKeyLines(text), cfg: Default()}
	p.fields = p.cfg.fields()
	for _, name := range slices.Sorted(maps.Keys(tree)) {
		p.section(toml.Key{name}, tree[name])
	}
	p.checkStallWindow()

	if len(p.errs) > 0 {
		p.errs.sort()
		return Config{}, p.errs
	}
	return p.cfg, nil
}

// parser collects the configuration and the problems of one file.
type parser struct {
	file   string
	lines  keyLines
	cfg    Config
	fields []field // bound to cfg
	errs   Errors
}

// fail records a problem with key.
func (p *parser) fail(key toml.Key, err error) {
	p.errs = append(p.errs, &Error{
		File: p.file,
		Line: p.lines.line(key),
		Key:  key.String(),
		Msg:  err.Error(),
		err:  err,
	})
}

// section applies one top-level entry of the file, normally a [section].
func (p *parser) section(name toml.Key, v any) {
	keys := p.sectionKeys(name[0])
	if len(keys) == 0 {
		p.fail(name, p.unknownSection(name[0], v))
		return
	}
	table, ok := v.(map[string]any)
	if !ok {
		p.fail(name, fmt.Errorf("%s is a section, not %s; write it as a [%s] table of keys", name, typeName(v), name))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(table)) {
		key := toml.Key{name[0], k}
		f, ok := p.field(key.String())
		if !ok {
			p.fail(key, p.unknownKey(name[0], k))
			continue
		}
		if err := f.set(table[k]); err != nil {
			p.fail(key, err)
		}
	}
}

// checkStallWindow checks pressure.stall < pressure.window and
// relief.stall < pressure.stall.
func (p *parser) checkStallWindow() {
	p.checkBelow(toml.Key{"pressure", "stall"}, toml.Key{"pressure", "window"}, p.cfg.Pressure.Stall, p.cfg.Pressure.Window)
	p.checkBelow(toml.Key{"relief", "stall"}, toml.Key{"pressure", "stall"}, p.cfg.Relief.Stall, p.cfg.Pressure.Stall)
}

// checkBelow checks that the duration at lower is shorter than the one at
// upper, reporting on whichever of the two keys comes later in the file. It
// is skipped when either key was already reported.
func (p *parser) checkBelow(lower, upper toml.Key, lo, hi time.Duration) {
	for _, e := range p.errs {
		if e.Key == lower.String() || e.Key == upper.String() {
			return
		}
	}
	if lo < hi {
		return
	}
	if p.lines[lower.String()] >= p.lines[upper.String()] {
		p.fail(lower, fmt.Errorf("%q must be shorter than %s (%q)", formatDuration(lo), upper, formatDuration(hi)))
	} else {
		p.fail(upper, fmt.Errorf("%q must be longer than %s (%q)", formatDuration(hi), lower, formatDuration(lo)))
	}
}

// syntaxError turns a toml decoding error into an *Error.
func syntaxError(file, text string, err error) *Error {
	e := &Error{File: file, Msg: err.Error(), err: err}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		e.Line, e.Key, e.Msg = pe.Position.Line, pe.LastKey, pe.Message
		if strings.HasPrefix(pe.Message, "expected value but found") {
			e.Msg += ` (text values need quotes, like "pod")`
		}
	}
	// Keep the line within the file even if the decoder points past its end.
	e.Line = min(max(e.Line, 0), strings.Count(text, "\n")+1)
	if e.Msg == "" {
		e.Msg = "invalid TOML"
	}
	return e
}

// field returns the field with the dotted key.
func (p *parser) field(key string) (field, bool) {
	for _, f := range p.fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// sections returns the section names, in file order.
func (p *parser) sections() []string {
	var names []string
	for _, f := range p.fields {
		if name, _, _ := strings.Cut(f.key, "."); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// sectionKeys returns the key names of one section, in file order.
func (p *parser) sectionKeys(section string) []string {
	var keys []string
	for _, f := range p.fields {
		if name, ok := strings.CutPrefix(f.key, section+"."); ok {
			keys = append(keys, name)
		}
	}
	return keys
}

// unknownSection explains an unknown top-level entry: a section, or a key
// written outside of any section.
func (p *parser) unknownSection(name string, v any) error {
	list := strings.Join(p.sections(), ", ")
	if _, ok := v.(map[string]any); ok {
		return fmt.Errorf("unknown section; valid sections are %s", list)
	}
	for _, s := range p.sections() {
		if slices.Contains(p.sectionKeys(s), name) {
			return fmt.Errorf("unknown key; %s belongs in the [%s] section", name, s)
		}
	}
	return fmt.Errorf("unknown key; every key belongs in one of the sections %s", list)
}

// unknownKey explains an unknown key in a known section, suggesting a near
// miss or the section the key belongs in.
func (p *parser) unknownKey(section, key string) error {
	valid := p.sectionKeys(section)
	best, bestDist := "", 3 // suggest only within two edits
	for _, v := range valid {
		if d := editDistance(strings.ToLower(key), v); d < bestDist {
			best, bestDist = v, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key; did you mean %s.%s?", section, best)
	}
	for _, s := range p.sections() {
		if slices.Contains(p.sectionKeys(s), key) {
			return fmt.Errorf("unknown key; %s belongs in the [%s] section", key, s)
		}
	}
	return fmt.Errorf("unknown key; valid keys in [%s] are %s", section, strings.Join(valid, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev = cur
	}
	return prev[len(b)]
}
