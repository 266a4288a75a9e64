package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"github.com/kube-oomd/kube-oomd/internal/unixsock"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// DefaultSocket is where `kube-oomd status` asks the daemon.
const DefaultSocket = rundir.Dir + "/" + rundir.StatusSock

// Unlimited is a limit of "max" in a status row (a throttle's original
// memory.high).
const Unlimited = cgroupv2.Unlimited

// Status is the daemon's answer to `kube-oomd status`, as JSON.
type Status struct {
	DaemonStatus
	ConfigStatus
	Features  FeatureStatus     `json:"features"`
	Triggers  []TriggerStatus   `json:"triggers"`
	Decision  DecisionStatus    `json:"decision"`
	Action    *ActionStatus     `json:"action"` // in flight, or null
	Pods      []PodRow          `json:"pods"`   // ranked, as `kube-oomd pods`
	PodsError string            `json:"pods_error,omitempty"`
	Throttles []relief.Throttle `json:"throttles"`
	Kills     []KillRecord      `json:"kills"` // the last few, newest last

	ranking podRanking
}

// DaemonStatus is the daemon process.
type DaemonStatus struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// ConfigStatus is the config in force and where it came from.
type ConfigStatus struct {
	ConfigFile string `json:"config_file"`
	Defaults   bool   `json:"config_defaults"` // no file: built-in defaults (plus the fragments)
	// ConfigFiles are the config file and its fragments read, in order;
	// ConfigSources, each key not at its default and where it came from.
	ConfigFiles   []string       `json:"config_files"`
	ConfigSources []KeySource    `json:"config_sources"`
	Config        map[string]any `json:"config"`
}

// podRanking is what the status server needs to rank and name the pods
// off the loop.
type podRanking struct {
	names   *cri.Resolver
	refs    []cgroupv2.PodRef
	rank    policy.RankConfig
	episode policy.Episode
	layout  cgroupv2.Layout
}

// KeySource is one key not at its default, and what set it.
type KeySource struct {
	Key     string `json:"key"`     // dotted: kill.mode
	Setting string `json:"setting"` // as a file writes it: kill.mode = "dry-run"
	// File is the file that set it: the config file or a fragment;
	// "--dry-run" for kill.mode under that flag; "" for a value kept from
	// the start that waits for a restart to change.
	File string `json:"file"`
}

// keySources says where each key of cfg that is not at its default came
// from.
func keySources(cfg config.Config, src config.Sources, dryRunFlag bool) []KeySource {
	out := []KeySource{}
	for _, k := range cfg.Changed() {
		file := src.Source(k)
		if k == config.KeyKillMode && dryRunFlag {
			file = flagDryRun
		}
		out = append(out, KeySource{Key: k, Setting: cfg.Setting(k), File: file})
	}
	return out
}

// flagDryRun is the source of kill.mode under `run --dry-run`.
const flagDryRun = "--dry-run"

// FeatureStatus is what the daemon found on the node.
type FeatureStatus struct {
	Kernel        string `json:"kernel"`
	PageSize      uint64 `json:"page_size"`
	Driver        string `json:"driver"`
	Kubepods      string `json:"kubepods"`
	CgroupKill    bool   `json:"cgroup_kill"`
	MemoryReclaim bool   `json:"memory_reclaim"`
	MemoryHighVia string `json:"memory_high_via"` // systemd or file
}

// TriggerStatus is one PSI trigger.
type TriggerStatus struct {
	Key       string     `json:"key"`
	File      string     `json:"file"`
	InForce   string     `json:"in_force"`
	Requested string     `json:"requested"`
	Events    int        `json:"events"`
	LastEvent *time.Time `json:"last_event"`
}

// DecisionStatus is the decision's state.
type DecisionStatus struct {
	WindowStatus
	StallShare float64 `json:"stall_share"`
	NearLimit  bool    `json:"near_limit"`
	Usage      uint64  `json:"usage_bytes"`
	Limit      uint64  `json:"limit_bytes"`
	Cooling    bool    `json:"cooling"`
	PredictionStatus
}

// WindowStatus counts the windows of the decision.
type WindowStatus struct {
	PressuredWindows int `json:"pressured_windows"`
	WindowsNeeded    int `json:"windows_needed"`
	StrainedWindows  int `json:"strained_windows"`
	CalmWindows      int `json:"calm_windows"`
	RelievedWindows  int `json:"relieved_windows"` // calm or not near the limit: a release counts these
}

// PredictionStatus are the prediction's figures: kubepods' anonymous plus
// shared memory, how fast it grew between the last two looks, and what
// kubepods must shed to get back under the near-limit line.
type PredictionStatus struct {
	Unreclaimable     uint64 `json:"unreclaimable_bytes"`
	UnreclaimableRate int64  `json:"unreclaimable_bytes_per_second"`
	Shed              uint64 `json:"shed_bytes"`
}

// ActionStatus is the action in flight.
type ActionStatus struct {
	Name  string    `json:"name"`
	Since time.Time `json:"since"`
}

// PodRow is one pod as `kube-oomd pods` and `kube-oomd status` show it.
type PodRow struct {
	Rank int `json:"rank"` // 1 = next victim; 0 = protected
	PodID
	PodMemory
	PSISomeAvg10 float64 `json:"psi_some_avg10"`
	PSIFullAvg10 float64 `json:"psi_full_avg10"`
	PodVictim
	Containers     int      `json:"containers"`
	ContainerNames []string `json:"container_names"` // the names the runtime gave, in cgroup order; the sandbox left out
}

// PodID names a pod in a row.
type PodID struct {
	UID       string       `json:"uid"`
	Namespace string       `json:"namespace"` // as the container runtime says; "" when it did not
	Name      string       `json:"name"`
	QoS       cgroupv2.QoS `json:"qos"`
	Cgroup    string       `json:"cgroup"`
}

// PodMemory is a pod's memory in a row.
type PodMemory struct {
	WorkingSetBytes uint64  `json:"working_set_bytes"`
	CurrentBytes    uint64  `json:"current_bytes"`
	RequestBytes    uint64  `json:"request_bytes"`
	RequestSource   string  `json:"request_source"`
	LimitBytes      *uint64 `json:"limit_bytes"` // null: no limit
}

// PodVictim is what the ranking made of a pod in a row.
type PodVictim struct {
	Protected       bool   `json:"protected"`
	ProtectedReason string `json:"protected_reason,omitempty"`
	SparedPIDs      []int  `json:"spared_pids,omitempty"`   // a kill does not signal these: -1000 processes, and then the sandbox
	GrowthPerSecond int64  `json:"growth_bytes_per_second"` // unreclaimable memory, over the episode in progress
	CanEnd          bool   `json:"can_end"`                 // its kill alone frees what the episode needs
}

// Namer names pods by UID: a cri.Resolver, or one cri.Index.
type Namer interface {
	Lookup(uid string) (cri.Pod, bool)
}

// PodRows turns a ranking into rows, with the names names knows.
func PodRows(ranked []policy.Candidate, names Namer) []PodRow {
	out := make([]PodRow, len(ranked))
	for i, c := range ranked {
		n, _ := names.Lookup(c.Pod.UID)
		p := PodRow{
			Rank:  c.Rank,
			PodID: PodID{UID: c.Pod.UID, Namespace: n.Namespace, Name: n.Name, QoS: c.Pod.QoS, Cgroup: c.Pod.Path},
			PodMemory: PodMemory{WorkingSetBytes: c.Pod.WorkingSet, CurrentBytes: c.Pod.Current,
				RequestBytes: c.Request, RequestSource: string(c.RequestSource)},
			PSISomeAvg10: c.Pod.Pressure.Some.Avg10, PSIFullAvg10: c.Pod.Pressure.Full.Avg10,
			PodVictim: PodVictim{Protected: c.Protected != "", ProtectedReason: c.Protected,
				SparedPIDs: c.Spared, GrowthPerSecond: int64(c.Growth), CanEnd: c.CanEnd},
			Containers: len(c.Pod.Containers), ContainerNames: containerNames(*c.Pod, n),
		}
		if c.Pod.Max != cgroupv2.Unlimited {
			limit := c.Pod.Max
			p.LimitBytes = &limit
		}
		out[i] = p
	}
	return out
}

// snapshot is the daemon's state for status, gathered on the loop from
// what it holds: no file is read here.
func (d *Daemon) snapshot() Status {
	v := d.verdict
	s := Status{
		DaemonStatus: DaemonStatus{Version: d.opt.Version, PID: os.Getpid(), Started: d.started},
		ConfigStatus: ConfigStatus{ConfigFile: d.opt.ConfigPath, Defaults: d.sources.Missing, Config: groupMap(d.cfg.LogValue()),
			ConfigFiles: d.sources.Paths(), ConfigSources: keySources(d.cfg, d.sources, d.opt.DryRunFlag)},
		Features: FeatureStatus{
			Kernel: d.features.Kernel, PageSize: d.features.PageSize, Driver: string(d.layout.Driver), Kubepods: d.layout.Kubepods,
			CgroupKill: d.features.CgroupKill, MemoryReclaim: d.features.MemoryReclaim, MemoryHighVia: d.act.via,
		},
		Triggers: d.triggers.status(),
		Decision: DecisionStatus{
			WindowStatus: WindowStatus{PressuredWindows: v.Pressured, WindowsNeeded: d.th.Windows, StrainedWindows: v.Strained,
				CalmWindows: v.Calm, RelievedWindows: v.Relieved},
			StallShare: round(v.Stall), NearLimit: v.Near, Usage: v.Usage, Limit: v.Limit, Cooling: v.Cooling,
			PredictionStatus: PredictionStatus{Unreclaimable: v.Unreclaimable, UnreclaimableRate: int64(v.Rate), Shed: v.Need},
		},
		Throttles: append([]relief.Throttle{}, d.act.throttles...),
		Kills:     append([]KillRecord{}, d.kills...),
		ranking: podRanking{refs: d.pods.refs(), rank: d.th.Rank, layout: d.layout, names: d.names,
			episode: policy.EpisodeOf(v, d.state.Growth(), d.th)},
	}
	if a := d.act.running; a != nil {
		copied := *a
		s.Action = &copied
	}
	return s
}

// groupMap turns the config's log value into nested maps for JSON.
func groupMap(v slog.Value) map[string]any {
	m := map[string]any{}
	for _, a := range v.Resolve().Group() {
		if a.Value.Kind() == slog.KindGroup {
			m[a.Key] = groupMap(a.Value)
		} else {
			m[a.Key] = a.Value.Any()
		}
	}
	return m
}

// serveStatus listens on the status socket. Each connection gets one JSON
// answer: the loop hands over its snapshot through the returned channel,
// and the connection's own goroutine reads and ranks the pods, so that a
// scan of many pods never holds up the loop.
func (d *Daemon) serveStatus(ctx context.Context) (<-chan chan<- Status, error) {
	path := filepath.Join(d.opt.RunDir, rundir.StatusSock)
	if err := os.MkdirAll(d.opt.RunDir, 0o700); err != nil {
		return nil, err
	}
	ln, err := unixsock.Listen(path) // after the run directory's lock: no other daemon serves here
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err) // the error names the path
	}
	reqs := make(chan chan<- Status)
	context.AfterFunc(ctx, func() { ln.Close() }) // the socket file goes with it
	go serve(ctx, ln, reqs, d.opt.ProcRoot, func(err error) {
		d.log.Warn("status socket: cannot accept a connection; trying again", vocab.File, path, vocab.Error, err)
	})
	return reqs, nil
}

// acceptBackoff is the pause after a failed Accept (EMFILE and the like
// pass once connections close).
const acceptBackoff = 100 * time.Millisecond

// serve accepts status connections until ctx ends or ln is closed. A failed
// Accept is reported (once until one succeeds again) and retried: it must
// never end the status server for good.
func serve(ctx context.Context, ln net.Listener, reqs chan<- chan<- Status, procRoot string, failed func(error)) {
	reported := false
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if !reported {
				failed(err)
				reported = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(acceptBackoff):
			}
			continue
		}
		reported = false
		go answer(ctx, conn, reqs, procRoot)
	}
}

// answer serves one status connection.
func answer(ctx context.Context, conn net.Conn, reqs chan<- chan<- Status, procRoot string) {
	defer conn.Close()
	reply := make(chan Status, 1)
	select {
	case reqs <- reply:
	case <-ctx.Done():
		return
	}
	var s Status
	select {
	case s = <-reply:
	case <-ctx.Done():
		return
	}
	pods, err := cgroupv2.NewReader(s.ranking.layout, procRoot).ReadPods(s.ranking.refs)
	if err != nil {
		s.PodsError = err.Error()
	}
	wantNames(s.ranking.names, pods)
	s.Pods = PodRows(policy.Rank(pods, s.ranking.rank, s.ranking.episode), s.ranking.names)
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	json.NewEncoder(conn).Encode(s)
}
