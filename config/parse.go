package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"

	"github.com/kube-oomd/kube-oomd/internal/suggest"
)

// Load reads and parses the file at path; see [Read] and [Parse]. If the
// file does not exist the error wraps fs.ErrNotExist, so that a caller can
// fall back to [Default] for the default path.
func Load(path string) (Config, error) {
	data, err := Read(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(path, data)
}

// MaxFileSize is the largest config file read: the shipped one, every key
// with its comment, is a few KiB.
const MaxFileSize = 1 << 20

// Read reads the config file at path, without ever blocking: it must be a
// regular file (a FIFO would block the read until someone writes to it, a
// device would never end) of at most MaxFileSize bytes. Otherwise the
// error wraps ErrNotRegular or ErrTooLarge; a missing file wraps
// fs.ErrNotExist.
func Read(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %w: the config must be a file; move that %s away and write the config there",
			path, &notRegularError{what: fileType(fi.Mode())}, fileType(fi.Mode()))
	}
	tooLarge := fmt.Errorf("%s %w (%s): the config is a few KiB; is it the right file?", path, ErrTooLarge, FormatSize(MaxFileSize))
	if fi.Size() > MaxFileSize {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1)) // it may grow meanwhile
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge
	}
	return data, nil
}

// fileType names the type of a file that is not a regular one.
func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// Parse parses a configuration file's contents. It starts from [Default]
// and overlays the keys the file sets. file names the file in errors.
//
// On failure the error is an [Errors] listing every problem found, each an
// [*Error] with file, line and key. A TOML syntax error stops parsing, so it
// comes alone; otherwise all bad values, wrong types and unknown keys are
// reported together.
func Parse(file string, data []byte) (Config, error) {
	m := newMerger()
	m.add(file, data)
	return m.finish()
}

// merger overlays files on [Default] one after the other, key by key, and
// collects the problems of all of them.
type merger struct {
	cfg   Config
	at    map[string]pos // where the file that last set each key sets it
	seq   map[string]int // which file that is: its place in the order read
	files []File         // the files added, in order
	errs  Errors
}

func newMerger() *merger {
	return &merger{cfg: Default(), at: map[string]pos{}, seq: map[string]int{}}
}

// add overlays one file's contents. A TOML syntax error leaves the file
// out, reported alone for it; the files after it are still checked.
func (m *merger) add(file string, data []byte) {
	seq := len(m.files)
	m.files = append(m.files, File{Path: file})
	text := string(data)
	// Each value stays a toml.Primitive until its key is known: the toml
	// package's own decoding into Config would stop at the first error and
	// match key names case-insensitively; here every key is checked,
	// exactly, and located (see locate).
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		e := syntaxError(file, text, err)
		e.seq = seq
		m.errs = append(m.errs, e)
		return
	}
	p := parser{m: m, file: file, seq: seq, md: &md, lines: newLineIndex(text)}
	for _, name := range slices.Sorted(maps.Keys(top)) {
		p.section(name, top[name])
	}
}

// finish checks the orders between keys on the merged configuration and
// returns it, or every problem of every file.
func (m *merger) finish() (Config, error) {
	for _, o := range orders {
		m.checkOrder(o)
	}
	if len(m.errs) > 0 {
		m.errs.sort()
		return Config{}, m.errs
	}
	return m.cfg, nil
}

// parser reads one file into its merger.
type parser struct {
	m     *merger
	file  string
	seq   int // the file's place in the order read
	md    *toml.MetaData
	lines lineIndex
}

// fail records a problem with key, defined at at.
func (p *parser) fail(key toml.Key, at pos, err error) {
	p.m.errs = append(p.m.errs, &Error{
		File: p.file,
		Line: at.line,
		Key:  key.String(),
		Msg:  err.Error(),
		err:  err,
		off:  at.off,
		seq:  p.seq,
	})
}

// section applies one top-level entry of the file, normally a [section].
func (p *parser) section(name string, prim toml.Primitive) {
	key := toml.Key{name}
	v, sectionAt := p.locate(prim, pos{})
	if !slices.Contains(sections(), name) {
		p.fail(key, sectionAt, unknownSection(name, v))
		return
	}
	if _, ok := v.(map[string]any); !ok {
		p.fail(key, sectionAt, fmt.Errorf("%s is a section, not %s; write it as a [%s] table of keys", name, typeName(v), name))
		return
	}
	var table map[string]toml.Primitive
	if err := p.md.PrimitiveDecode(prim, &table); err != nil {
		p.fail(key, sectionAt, err) // not expected: v is a table
		return
	}
	for _, n := range slices.Sorted(maps.Keys(table)) {
		key := toml.Key{name, n}
		v, at := p.locate(table[n], sectionAt)
		k, ok := lookup(key.String())
		if !ok {
			p.fail(key, at, unknownKey(name, n))
			continue
		}
		if err := k.set(&p.m.cfg, v); err != nil {
			p.fail(key, at, err)
			continue
		}
		p.m.at[k.name], p.m.seq[k.name] = at, p.seq
		p.m.files[p.seq].Keys = append(p.m.files[p.seq].Keys, k.name)
	}
}

// checkOrder checks that the value of o.lower is below that of o.upper,
// reporting on whichever of the two keys comes later (in a later file, or
// later in the same one; a key no file sets comes first). It is skipped
// when either key was already reported.
func (m *merger) checkOrder(o order) {
	for _, e := range m.errs {
		if e.Key == o.lower || e.Key == o.upper {
			return
		}
	}
	if o.holds(&m.cfg) {
		return
	}
	lo, _ := lookup(o.lower)
	hi, _ := lookup(o.upper)
	loText, hiText := fmt.Sprintf("%q", lo.toml(&m.cfg)), fmt.Sprintf("%q", hi.toml(&m.cfg))
	if !m.before(o.lower, o.upper) {
		m.fail(lo, fmt.Errorf("%s must be %s %s (%s)", loText, o.below, o.upper, hiText))
	} else {
		m.fail(hi, fmt.Errorf("%s must be %s %s (%s)", hiText, o.above, o.lower, loText))
	}
}

// before reports whether key a is set before key b: in an earlier file,
// or earlier in the same one. A key no file sets comes first.
func (m *merger) before(a, b string) bool {
	sa, oka := m.seq[a]
	sb, okb := m.seq[b]
	switch {
	case !oka || !okb:
		return !oka
	case sa != sb:
		return sa < sb
	}
	return m.at[a].before(m.at[b])
}

// fail records a problem with key k where the file that last set it sets
// it (without a file when none does).
func (m *merger) fail(k key, err error) {
	e := &Error{Key: k.name, Msg: err.Error(), err: err, seq: m.seq[k.name]}
	if at, ok := m.at[k.name]; ok {
		e.File, e.Line, e.off = m.files[e.seq].Path, at.line, at.off
	}
	m.errs = append(m.errs, e)
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

// unknownSection explains an unknown top-level entry: a section, or a key
// written outside of any section.
func unknownSection(name string, v any) error {
	list := strings.Join(sections(), ", ")
	if _, ok := v.(map[string]any); ok {
		return fmt.Errorf("unknown section; valid sections are %s", list)
	}
	for _, s := range sections() {
		if slices.Contains(sectionKeys(s), name) {
			return fmt.Errorf("unknown key; %s belongs in the [%s] section", name, s)
		}
	}
	return fmt.Errorf("unknown key; every key belongs in one of the sections %s", list)
}

// unknownKey explains an unknown key in a known section, suggesting a near
// miss or the section the key belongs in.
func unknownKey(section, key string) error {
	valid := sectionKeys(section)
	if best, ok := suggest.Nearest(key, valid); ok {
		return fmt.Errorf("unknown key; did you mean %s.%s?", section, best)
	}
	for _, s := range sections() {
		if slices.Contains(sectionKeys(s), key) {
			return fmt.Errorf("unknown key; %s belongs in the [%s] section", key, s)
		}
	}
	return fmt.Errorf("unknown key; valid keys in [%s] are %s", section, strings.Join(valid, ", "))
}
