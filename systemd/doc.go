// Package systemd connects kube-oomd to systemd: structured log records for
// journald (journal.go) and service state through sd_notify (notify.go).
// Both are line-based protocols, and the text they carry may hold names
// the container runtime gave (any bytes): escape.go is the one place that
// keeps such text on one line, for STATUS= and for MESSAGE. journald's own
// fields keep the exact bytes: journal.Send sends a value with a newline
// by its length, as the native protocol requires (native_test.go).
package systemd
