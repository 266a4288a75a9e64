// Package systemd connects kube-oomd to systemd: structured log records for
// journald (journal.go) and service state through sd_notify (notify.go).
package systemd
