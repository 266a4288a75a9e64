package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Journal MESSAGE_IDs: fixed, so that `journalctl MESSAGE_ID=...` finds every
// record of one kind across versions.
const (
	msgKilled    = "7afd622d79014eba9c7ef0a2d0c2ec1f" // kube-oomd killed a pod or container
	msgWouldKill = "23add67a5aff44b8a893a749c6904f70" // dry run: what would have been killed
	msgKernelOOM = "1ef63ccdd1ef45c9990585debd6744dc" // the kernel OOM killer killed inside a pod
)

// newLogger builds the logger that cfg asks for: native journald records
// when stderr is the journal (format auto) or when asked, else text or JSON
// on stderr.
func newLogger(cfg config.LogConfig, stderr io.Writer) (*slog.Logger, string, error) {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	format := cfg.Format
	if format == config.FormatAuto {
		format = config.FormatText
		if systemd.JournalAvailable() {
			format = config.FormatJournal
		}
	}
	switch format {
	case config.FormatJournal:
		return slog.New(systemd.NewJournalHandler(cfg.Level, nil)), format, nil
	case config.FormatText:
		return slog.New(slog.NewTextHandler(stderr, opts)), format, nil
	case config.FormatJSON:
		return slog.New(slog.NewJSONHandler(stderr, opts)), format, nil
	}
	return nil, "", fmt.Errorf("log.format %q is not one of auto, journal, text, json", cfg.Format)
}
