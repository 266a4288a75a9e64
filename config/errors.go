package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of Read about the file itself.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("is larger than the most a config file may be")
)

// notRegularError is ErrNotRegular for a file of a given type.
type notRegularError struct{ what string }

func (e *notRegularError) Error() string { return "is a " + e.what + ", not a regular file" }
func (e *notRegularError) Unwrap() error { return ErrNotRegular }

// Error is one problem in a configuration file.
type Error struct {
	File string // file name as given to Parse or Load
	Line int    // 1-based line; 0 if unknown
	Key  string // dotted key such as "kill.mode"; may be empty for syntax errors
	Msg  string // what is wrong and what is valid

	err error // underlying error, if any
	off int   // byte offset in the file, to order errors on one line
	seq int   // the file's place in the order read, to order errors of several files
}

// Error formats the problem as "FILE:LINE: key: msg", leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error, such as a toml.ParseError.
func (e *Error) Unwrap() error { return e.err }

// Errors holds every problem found in a file, or in a file and its
// fragments, in the order read and then in file order.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is look at each *Error.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sort orders the problems by file, in the order read, then as they come
// in the file, by line and then offset; problems at one place by key.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.Line, b.Line), cmp.Compare(a.off, b.off), cmp.Compare(a.Key, b.Key))
	})
}
