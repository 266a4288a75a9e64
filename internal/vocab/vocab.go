// Package vocab owns kube-oomd's vocabulary: the journal's MESSAGE_IDs,
// the name of every field of a journal record (a log attribute), and the
// labels of the metrics. Each name is written once, here, with its meaning;
// a name keeps one meaning and one value type in every record. The daemon,
// the metrics and the e2e suite import the names instead of spelling them.
//
// It is a leaf: it imports nothing, so that any package, the e2e suite
// included, may import it without pulling in the daemon.
//
// Under journald each field becomes KUBE_OOMD_<NAME> (groups join with
// "_"); MESSAGE_ID is the record's own (systemd.MessageIDKey).
package vocab

// Journal MESSAGE_IDs: fixed, so that `journalctl MESSAGE_ID=...` finds
// every record of one kind across versions.
const (
	MsgKilled    = "7afd622d79014eba9c7ef0a2d0c2ec1f" // kube-oomd killed a pod or container
	MsgWouldKill = "23add67a5aff44b8a893a749c6904f70" // dry run: what would have been killed
	MsgKernelOOM = "1ef63ccdd1ef45c9990585debd6744dc" // the kernel OOM killer killed inside a pod
)

// The fields of journal records.
const (
	// A pod, named in a record (inline).
	PodUID       = "pod_uid"       // the pod's UID
	PodNamespace = "pod_namespace" // the pod's namespace, as the container runtime says; only when known
	PodName      = "pod_name"      // the pod's name, as the container runtime says; only when known
	Container    = "container"     // a killed container's name, as the container runtime says; only when known
	QoS          = "qos"           // BestEffort, Burstable or Guaranteed
	Cgroup       = "cgroup"        // a pod's cgroup, from the cgroup2 mount

	Runtime  = "runtime"      // the container runtime's CRI socket (or the sockets tried)
	Reason   = "reason"       // a code, never prose: sustained-pressure, relief-throttle, pressure-cleared…
	Error    = "error"        // what went wrong
	File     = "file"         // a file kube-oomd read or wrote
	Config   = "config"       // the config file's path
	Files    = "config_files" // the config file and its fragments read, in order
	Kubepods = "kubepods"     // the pods' parent cgroup's path
	Mode     = "mode"         // kill.mode in force
	Listen   = "listen"       // metrics.listen in force
	Path     = "path"         // the metrics endpoint's HTTP path
	Retry    = "retry"        // how long until kube-oomd asks again (a duration)
	Rescan   = "rescan_interval"

	// Groups.
	PSI      = "psi"      // group: kubepods' pressure figures
	Memory   = "memory"   // group: kubepods' memory figures
	Features = "kernel"   // group: the kernel's features
	Settings = "settings" // group: the config in force

	// In group psi.
	SomeAvg10   = "some_avg10"
	FullAvg10   = "full_avg10"
	SomeTotalUS = "some_total_us"
	FullTotalUS = "full_total_us"

	// In group memory.
	WorkingSet     = "working_set_bytes"
	Current        = "current_bytes"
	Limit          = "limit_bytes" // -1: no limit
	Anon           = "anon_bytes"
	FileBytes      = "file_bytes"
	Shmem          = "shmem_bytes"
	HostAvailable  = "host_available_bytes"
	MemTotal       = "mem_total_bytes" // the host's MemTotal, at start
	Unreclaimable  = "unreclaimable_bytes"
	Rate           = "unreclaimable_bytes_per_second"
	Shed           = "shed_bytes" // what kubepods has to shed
	NearLimit      = "near_limit"
	Cooling        = "cooling"
	NextLook       = "next_look"
	Tracking       = "tracking"
	Triggered      = "triggered"
	Pressured      = "pressured_windows"
	Strained       = "strained_windows"
	Stall          = "stall_share"
	ReclaimPlanned = "reclaim"  // dry run: the reclaim steps relief would take
	ThrottlePlan   = "throttle" // dry run: the throttle relief would set

	// Start-up.
	Version       = "version"
	Driver        = "driver"
	Trigger       = "trigger"    // the kubepods PSI trigger in force
	KillStall     = "kill_stall" // the stall share that counts a window as pressured
	Relief        = "relief"     // whether the relief ladder is on
	MemoryHighVia = "memory_high_via"
	Pods          = "pods" // how many pods kube-oomd follows
	LogFormat     = "log_format"

	// A PSI trigger (at start and on reload): the spec asked for and the one
	// the kernel took.
	Requested = "requested"
	InForce   = "in_force" // a trigger spec in force, as the status JSON says it

	// A kill, and a verdict that found no victim.
	Action       = "action" // the action in flight or done: kill, relief, lift…
	Took         = "took"
	Method       = "method" // how a kill was done: killer.Result.Method
	Verdict      = "verdict"
	Why          = "why"
	Target       = "target"
	Rank         = "rank"
	PodWorkSet   = "pod_working_set_bytes"
	PodRequest   = "pod_request_bytes"
	ReqSource    = "request_source"
	PodAboveReq  = "pod_above_request_bytes"
	PodGrowth    = "pod_growth_bytes_per_second"
	PodCurrent   = "pod_current_bytes"
	Frees        = "frees_bytes"
	Freed        = "freed_bytes"
	PIDs         = "pids"
	SkippedPIDs  = "skipped_pids"
	SparedPIDs   = "spared_pids"
	NewPIDs      = "new_pids" // processes that appeared in the victim once its signalled ones exited (forked by a spared one): left alive, the next decision's
	Released     = "released"
	Confirmed    = "confirmed"
	OOMKills     = "oom_kills"          // processes the kernel OOM killer killed in a pod (since the last look, or in a kill with kill.method oom)
	OOMKillTotal = "oom_kills_total"    // the pod's memory.events oom_kill count
	Lowered      = "lowered_containers" // kill.method oom: containers whose memory.max a kill lowered and put back
	MemoryMax    = "memory_max"         // a memory.max put back, as the file writes it
	SwapMax      = "memory_swap_max"    // a memory.swap.max put back with it, as the file writes it

	// Relief: reclaim and memory.high.
	Asked        = "asked_bytes"
	Chunks       = "chunks"
	Partial      = "partial"
	Interrupted  = "interrupted"
	MemoryHigh   = "memory_high" // a memory.high to put back, as the file writes it
	HighBytes    = "memory_high_bytes"
	Original     = "original" // the memory.high before kube-oomd's throttle, as the file writes it
	Ceiling      = "ceiling_bytes"
	Via          = "via" // how memory.high is set: systemd or the file
	WasBytes     = "was_bytes"
	SetBytes     = "set_bytes"
	ThrottledFor = "throttled_for" // how long a throttle held (a duration); "in_force" until issue 20
)

// The labels of the metrics (Prometheus's own, not the journal's names).
const (
	LabelNamespace = "namespace"
	LabelPod       = "pod"
	LabelUID       = "uid"
	LabelQoS       = "qos"
	LabelReason    = "reason"
	LabelMethod    = "method"
	LabelVersion   = "version"
	LabelRevision  = "revision"
	LabelGoVersion = "goversion"
	LabelResult    = "result"  // a kill failure: failed or unconfirmed
	LabelTrigger   = "trigger" // kubepods or host
)
