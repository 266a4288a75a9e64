package config

import (
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// The toml package records where each key is defined but exports that
// position only in the toml.ParseError of a value that fails to decode: the
// error's Position is the one recorded for the key being decoded. So locate
// decodes a key's toml.Primitive into a probe that takes the raw value and
// then fails, and reads the position off the error.
//
// The recorded position is that of the key's value (of the "[" of a
// [table] header, of the key itself inside an inline table). Its Line is
// where the lexer stood at the value's end, which for a string spanning
// lines is its last line, but its Start is the byte offset of the value's
// start; TOML puts that on the key's own line. So the line is counted up to
// Start. Tables that exist only through dotted keys or deeper headers
// ("kill.mode = ..." makes "kill", "[a.b]" makes "a") have no position of
// their own; they take that of the first key defined in them.
//
// An empty key ("" = 1) has no position of its own either: the toml
// package records it under the name of the key's table, in place of the
// table's. So a key without a position takes that of its table, and a
// table that holds an empty key is placed on that key's line.

// probe is a toml.Unmarshaler that keeps the raw value and fails, so that
// the decoder returns the key's position in a toml.ParseError.
type probe struct{ v any }

var errProbe = errors.New("config: probe")

func (p *probe) UnmarshalTOML(v any) error {
	p.v = v
	return errProbe
}

// pos is where a key is defined: its 1-based line, 0 if unknown, and the
// byte offset that orders keys on one line.
type pos struct{ line, off int }

// before reports whether a comes before b in the file; an unknown position
// comes first.
func (a pos) before(b pos) bool {
	return a.line < b.line || a.line == b.line && a.off < b.off
}

// locate returns the raw value of prim (string, int64, float64, bool,
// []any, map[string]any, []map[string]any or time.Time) and where the file
// defines it; table is where its table is (pos{} at the top level).
func (p *parser) locate(prim toml.Primitive, table pos) (any, pos) {
	var pr probe
	err := p.md.PrimitiveDecode(prim, &pr)
	var pe toml.ParseError
	// ParseError does not wrap the probe's error; its Message is the text.
	if !errors.As(err, &pe) || pe.Message != errProbe.Error() {
		return pr.v, table
	}
	if pe.Position.Line > 0 {
		return pr.v, pos{p.lines.line(pe.Position.Start), pe.Position.Start}
	}
	// A table made implicitly: where the first key within it is. None of
	// its keys is an empty one without a position (which would have given
	// the table one), so none of them needs the table's.
	var first pos
	if _, ok := pr.v.(map[string]any); ok {
		var keys map[string]toml.Primitive
		if p.md.PrimitiveDecode(prim, &keys) == nil {
			for _, n := range slices.Sorted(maps.Keys(keys)) {
				if _, at := p.locate(keys[n], pos{}); at.line > 0 && (first.line == 0 || at.before(first)) {
					first = at
				}
			}
		}
	}
	if first.line == 0 {
		first = table // an empty key: the toml package put it on its table
	}
	return pr.v, first
}

// lineIndex maps byte offsets of the text the toml package lexed to lines.
type lineIndex []int // offsets of the line breaks

// newLineIndex indexes text as the toml package reads it: without the
// byte order mark it skips, as its offsets start after that.
func newLineIndex(text string) lineIndex {
	switch {
	case strings.HasPrefix(text, "\xff\xfe") || strings.HasPrefix(text, "\xfe\xff"):
		text = text[2:]
	case strings.HasPrefix(text, "\xef\xbb\xbf"):
		text = text[3:]
	}
	var breaks lineIndex
	for i := range len(text) {
		if text[i] == '\n' {
			breaks = append(breaks, i)
		}
	}
	return breaks
}

// line returns the 1-based line holding the byte at offset.
func (li lineIndex) line(offset int) int {
	return 1 + sort.SearchInts(li, offset)
}
