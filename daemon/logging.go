package daemon

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// The record's MESSAGE_ID; every other name of a record's field, and the
// MESSAGE_IDs, are internal/vocab's.
const attrMessageID = systemd.MessageIDKey

// Reason codes of the records that are not kills (those are policy.Reason).
const (
	reasonReclaim     = "relief-reclaim"
	reasonThrottle    = "relief-throttle"
	reasonKernelKill  = "kernel-oom-kill"
	reasonNoVictim    = "no-killable-pod"
	reasonContained   = "shielded-pod-contained" // a pod whose growing processes a kill spares (-1000), held at its memory.high
	reasonVictimMoved = "victim-changed"
	reasonUntrusted   = "untrusted-state"
	// Why a kill's record was undone: at start, what an earlier run left
	// (the throttles' own code, relief.LiftEarlierRun); or while running,
	// what a kill of this run could not undo (retryLeftovers).
	reasonEarlierRun = relief.LiftEarlierRun
	reasonRetry      = "retry"
)

// ReasonCodes lists every code a record's reason (KUBE_OOMD_REASON) can
// hold: the kills' (policy.Reasons), the relief ladder's and the throttles'
// lifts (relief.Lift*), and the others above. The docs' reason table is
// checked against it.
func ReasonCodes() []string {
	var codes []string
	for _, r := range policy.Reasons() {
		codes = append(codes, string(r))
	}
	return append(codes,
		reasonReclaim, reasonThrottle, reasonContained,
		relief.LiftPressureCleared, relief.LiftPodKilled, relief.LiftStopping, relief.LiftReliefOff,
		relief.LiftEarlierRun, relief.LiftThrottleFailed, reasonRetry,
		reasonKernelKill, reasonNoVictim, reasonVictimMoved, reasonUntrusted)
}

// podAttrs names a pod in a record, inline: UID, QoS class and cgroup, and
// its namespace and name when the container runtime said them (see
// Daemon.pod).
func podAttrs(uid, qos, cgroup string, names cri.Pod) slog.Attr {
	attrs := []any{vocab.PodUID, uid}
	if names.Name != "" {
		attrs = append(attrs, vocab.PodNamespace, names.Namespace, vocab.PodName, names.Name)
	}
	return slog.Group("", append(attrs, vocab.QoS, qos, vocab.Cgroup, cgroup)...)
}

func pressureAttrs(g cgroupv2.Group) slog.Attr {
	return slog.Group(vocab.PSI,
		vocab.SomeAvg10, g.Pressure.Some.Avg10, vocab.FullAvg10, g.Pressure.Full.Avg10,
		vocab.SomeTotalUS, g.Pressure.Some.Total.Microseconds(), vocab.FullTotalUS, g.Pressure.Full.Total.Microseconds())
}

func memoryAttrs(g cgroupv2.Group, host cgroupv2.Meminfo) slog.Attr {
	limit := int64(-1)
	if g.Max != cgroupv2.Unlimited {
		limit = int64(g.Max)
	}
	return slog.Group(vocab.Memory,
		vocab.WorkingSet, g.WorkingSet, vocab.Current, g.Current, vocab.Limit, limit,
		vocab.Anon, g.Stat.Anon, vocab.FileBytes, g.Stat.File, vocab.Shmem, g.Stat.Shmem,
		vocab.HostAvailable, host.MemAvailable)
}

// NewLogger builds the logger that cfg asks for: native journald records
// when stderr is the journal (format auto) or when asked, else text or JSON
// on stderr. It returns the format in use.
func NewLogger(cfg config.LogConfig, stderr io.Writer) (*slog.Logger, string, error) {
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

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }
