package daemon

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Journal MESSAGE_IDs: fixed, so that `journalctl MESSAGE_ID=...` finds every
// record of one kind across versions.
const (
	MsgKilled    = "7afd622d79014eba9c7ef0a2d0c2ec1f" // kube-oomd killed a pod or container
	MsgWouldKill = "23add67a5aff44b8a893a749c6904f70" // dry run: what would have been killed
	MsgKernelOOM = "1ef63ccdd1ef45c9990585debd6744dc" // the kernel OOM killer killed inside a pod
)

// The names of log attributes: each is written once, here. Under journald
// each becomes a field, KUBE_OOMD_<NAME> (groups join with "_"). A name
// keeps one meaning and one type in every record.
const (
	attrMessageID = systemd.MessageIDKey // becomes the record's MESSAGE_ID

	attrPodUID       = "pod_uid"       // the pod's UID
	attrPodNamespace = "pod_namespace" // the pod's namespace, as the container runtime says; only when known
	attrPodName      = "pod_name"      // the pod's name, as the container runtime says; only when known
	attrContainer    = "container"     // a killed container's name, as the container runtime says; only when known
	attrRuntime      = "runtime"       // the container runtime's CRI socket (or the sockets tried)
	attrQoS          = "qos"           // BestEffort, Burstable or Guaranteed
	attrCgroup       = "cgroup"        // a pod's cgroup, from the cgroup2 mount
	attrReason       = "reason"        // a code, never prose: sustained-pressure, relief-throttle, pressure-cleared…
	attrError        = "error"         // what went wrong
	attrFile         = "file"          // a file kube-oomd read or wrote
	attrConfig       = "config"        // the config file's path
	attrFiles        = "config_files"  // the config file and its fragments read, in order
	attrKubepods     = "kubepods"      // the pods' parent cgroup's path
	attrMode         = "mode"          // kill.mode in force
	attrListen       = "listen"        // metrics.listen in force

	attrPSI      = "psi"    // group: kubepods' pressure figures
	attrMemory   = "memory" // group: kubepods' memory figures
	attrFeatures = "kernel" // group: the kernel's features
	attrSettings = "settings"

	attrPressured = "pressured_windows"
	attrStrained  = "strained_windows"
	attrStall     = "stall_share"
	attrAction    = "action" // the action in flight or done: kill, relief, lift…
	attrTook      = "took"
	attrMethod    = "method"             // how a kill was done: killer.Result.Method
	attrOOMKills  = "oom_kills"          // processes the kernel OOM killer killed in a pod (since the last look, or in a kill with kill.method oom)
	attrLowered   = "lowered_containers" // kill.method oom: containers whose memory.max a kill lowered and put back
	attrMemoryMax = "memory_max"         // a memory.max put back, as the file writes it
	attrSwapMax   = "memory_swap_max"    // a memory.swap.max put back with it, as the file writes it
)

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
	attrs := []any{attrPodUID, uid}
	if names.Name != "" {
		attrs = append(attrs, attrPodNamespace, names.Namespace, attrPodName, names.Name)
	}
	return slog.Group("", append(attrs, attrQoS, qos, attrCgroup, cgroup)...)
}

func pressureAttrs(g cgroupv2.Group) slog.Attr {
	return slog.Group(attrPSI,
		"some_avg10", g.Pressure.Some.Avg10, "full_avg10", g.Pressure.Full.Avg10,
		"some_total_us", g.Pressure.Some.Total.Microseconds(), "full_total_us", g.Pressure.Full.Total.Microseconds())
}

func memoryAttrs(g cgroupv2.Group, host cgroupv2.Meminfo) slog.Attr {
	limit := int64(-1)
	if g.Max != cgroupv2.Unlimited {
		limit = int64(g.Max)
	}
	return slog.Group(attrMemory,
		"working_set_bytes", g.WorkingSet, "current_bytes", g.Current, "limit_bytes", limit,
		"anon_bytes", g.Stat.Anon, "file_bytes", g.Stat.File, "shmem_bytes", g.Stat.Shmem,
		"host_available_bytes", host.MemAvailable)
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
