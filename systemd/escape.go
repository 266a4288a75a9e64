package systemd

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Names the container runtime gives (pods, namespaces, containers) reach
// journald and sd_notify as they are: any bytes. Both protocols are
// line-based, so this file is the one place that keeps such text from
// ending a line or writing escape codes to a terminal, with Go's escapes
// (\n, \x1b, \u2028, \xff for a byte that is not UTF-8).

// printable tells whether s is valid UTF-8 of printable characters only
// (strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the
// ASCII space; no control character, no other space).
func printable(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// messageValue formats a value for MESSAGE, after its key and "=": as it
// is when it is printable and has no space, quote or "=", else quoted with
// strconv.Quote. So a value is one token without control characters, and
// reads back exactly: through strconv.Unquote when it begins with a quote.
func messageValue(s string) string {
	if printable(s) && !strings.ContainsAny(s, " \"=") {
		return s
	}
	return strconv.Quote(s)
}

// oneLine escapes the control and non-printable characters of s as Go
// does in a quoted string, and leaves the rest, quotes and backslashes
// included, as it is: text for a person on one line.
func oneLine(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			q := strconv.Quote(s[i : i+1]) // "\xff"
			b.WriteString(q[1 : len(q)-1])
		case !strconv.IsPrint(r):
			q := strconv.QuoteRune(r) // '\n', '\u2028'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
