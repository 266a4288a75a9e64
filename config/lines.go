package config

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLines maps keys (in toml.Key.String form, such as `kill.mode`) to the
// 1-based line that first defines them. The toml package knows these lines
// but does not expose them, so indexKeyLines finds them again in the text.
type keyLines map[string]int

// line returns the line defining key or, failing that, its nearest defined
// parent (a key inside an inline table or an array shares its parent's
// line); 0 if none is known.
func (kl keyLines) line(key toml.Key) int {
	for n := len(key); n > 0; n-- {
		if l, ok := kl[key[:n].String()]; ok {
			return l
		}
	}
	return 0
}

// maxNesting bounds recursion into arrays and inline tables.
const maxNesting = 64

// indexKeyLines finds where the keys of a TOML document are defined. It
// understands [table] and [[array]] headers, `key = value` lines, dotted and
// quoted keys, inline tables, and values spanning lines (arrays, multi-line
// strings), so that text inside them is not taken for keys. It is meant for
// documents the toml package accepted; on anything else it still terminates
// and never panics, but its answers are best effort.
func indexKeyLines(text string) keyLines {
	s := &lineScanner{s: text, line: 1, lines: keyLines{}}
	var table toml.Key
	for {
		s.skipBlank(true)
		if s.eof() {
			return s.lines
		}
		start := s.i
		if s.peek() == '[' {
			s.i++
			if s.peek() == '[' {
				s.i++
			}
			s.skipBlank(false)
			if k, ok := s.key(); ok {
				table = k
				s.record(k)
			}
		} else if k, ok := s.key(); ok {
			s.skipBlank(false)
			if s.peek() == '=' {
				s.i++
				full := append(table[:len(table):len(table)], k...)
				s.record(full)
				s.skipBlank(false)
				s.value(full, 0)
			}
		}
		if s.i == start {
			s.i++ // make progress on anything unexpected
		}
		s.skipLine()
	}
}

// lineScanner walks TOML text, counting lines.
type lineScanner struct {
	s     string
	i     int // offset of the next byte
	line  int // line of s[i]
	lines keyLines
}

func (s *lineScanner) eof() bool { return s.i >= len(s.s) }

// peek returns the next byte, or 0 at the end.
func (s *lineScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.s[s.i]
}

// hasPrefix reports whether the text at the current offset starts with p.
func (s *lineScanner) hasPrefix(p string) bool { return strings.HasPrefix(s.s[s.i:], p) }

// advance moves past one byte, counting newlines.
func (s *lineScanner) advance() {
	if s.s[s.i] == '\n' {
		s.line++
	}
	s.i++
}

// record notes the current line for key and each of its parents not seen
// before.
func (s *lineScanner) record(key toml.Key) {
	for n := 1; n <= len(key); n++ {
		k := key[:n].String()
		if _, ok := s.lines[k]; !ok {
			s.lines[k] = s.line
		}
	}
}

// skipBlank skips spaces, tabs and carriage returns, and with newlines also
// line breaks and comments.
func (s *lineScanner) skipBlank(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case newlines && c == '\n':
			s.advance()
		case newlines && c == '#':
			s.skipComment()
		default:
			return
		}
	}
}

// skipComment moves to the line break ending the current line.
func (s *lineScanner) skipComment() {
	for !s.eof() && s.peek() != '\n' {
		s.i++
	}
}

// skipLine moves past the end of the current line.
func (s *lineScanner) skipLine() {
	s.skipComment()
	if !s.eof() {
		s.advance()
	}
}

// key reads a possibly dotted key of bare and quoted parts.
func (s *lineScanner) key() (toml.Key, bool) {
	var key toml.Key
	for {
		s.skipBlank(false)
		part, ok := s.keyPart()
		if !ok {
			return nil, false
		}
		key = append(key, part)
		s.skipBlank(false)
		if s.peek() != '.' {
			return key, true
		}
		s.i++
	}
}

// keyPart reads one bare, "basic" or 'literal' key.
func (s *lineScanner) keyPart() (string, bool) {
	switch s.peek() {
	case '"', '\'':
		start := s.i
		if !s.singleLineString() {
			return "", false
		}
		raw := s.s[start:s.i]
		if raw[0] == '\'' {
			return raw[1 : len(raw)-1], true
		}
		if k, err := strconv.Unquote(goEscapes(raw)); err == nil {
			return k, true
		}
		return raw[1 : len(raw)-1], true // not valid TOML anyway
	}
	start := s.i
	for !s.eof() && isBareKeyChar(s.peek()) {
		s.i++
	}
	return s.s[start:s.i], s.i > start
}

// goEscapes rewrites the one TOML escape Go lacks, \e, as \x1b, so that
// strconv.Unquote can decode a TOML basic string.
func goEscapes(quoted string) string {
	if !strings.Contains(quoted, `\e`) {
		return quoted
	}
	var b strings.Builder
	for i := 0; i < len(quoted); i++ {
		if quoted[i] == '\\' && i+1 < len(quoted) {
			if quoted[i+1] == 'e' {
				b.WriteString(`\x1b`)
			} else {
				b.WriteString(quoted[i : i+2])
			}
			i++
			continue
		}
		b.WriteByte(quoted[i])
	}
	return b.String()
}

func isBareKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value. Keys of inline tables are recorded under prefix.
func (s *lineScanner) value(prefix toml.Key, depth int) {
	if depth > maxNesting {
		s.skipComment()
		return
	}
	switch {
	case s.hasPrefix(`"""`) || s.hasPrefix(`'''`):
		s.multiLineString()
	case s.peek() == '"' || s.peek() == '\'':
		s.singleLineString()
	case s.peek() == '[':
		s.i++
		s.list(']', func() { s.value(prefix, depth+1) })
	case s.peek() == '{':
		s.i++
		s.list('}', func() {
			k, ok := s.key()
			s.skipBlank(false)
			if !ok || s.peek() != '=' {
				return
			}
			s.i++
			full := append(prefix[:len(prefix):len(prefix)], k...)
			s.record(full)
			s.skipBlank(false)
			s.value(full, depth+1)
		})
	default: // number, boolean, date: up to a separator
		for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.peek())) {
			s.i++
		}
	}
}

// list skips comma-separated items up to and including end; item reads one.
func (s *lineScanner) list(end byte, item func()) {
	for {
		s.skipBlank(true)
		switch s.peek() {
		case 0:
			if s.eof() {
				return
			}
		case end:
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		start := s.i
		item()
		if s.i == start {
			s.advance() // make progress on anything unexpected
		}
	}
}

// singleLineString skips a "basic" or 'literal' string that ends on the
// same line and reports whether it was closed.
func (s *lineScanner) singleLineString() bool {
	quote := s.peek()
	s.i++
	for !s.eof() {
		switch c := s.peek(); {
		case c == '\n':
			return false
		case c == '\\' && quote == '"' && s.i+1 < len(s.s) && s.s[s.i+1] != '\n':
			s.i += 2
		case c == quote:
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// multiLineString skips a multi-line basic or literal string (delimited by
// three double or three single quotes), counting its lines.
func (s *lineScanner) multiLineString() {
	quote := s.peek()
	delim := s.s[s.i : s.i+3]
	s.i += 3
	for !s.eof() {
		switch {
		case s.hasPrefix(delim):
			s.i += 3
			// Up to two more quotes belong to the content: """a""""".
			for n := 0; n < 2 && s.peek() == quote; n++ {
				s.i++
			}
			return
		case quote == '"' && s.peek() == '\\' && s.i+1 < len(s.s):
			s.i++
			s.advance()
		default:
			s.advance()
		}
	}
}
