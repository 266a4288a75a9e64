package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/psi"
	"github.com/kube-oomd/kube-oomd/relief"
)

// `kube-oomd status` asks the running daemon, over a root-only unix socket
// in /run/kube-oomd, what it knows: like `oomctl dump`, with the pods.

const defaultSocket = "/run/kube-oomd/status.sock"

// status is the daemon's answer.
type status struct {
	Version    string            `json:"version"`
	PID        int               `json:"pid"`
	Started    time.Time         `json:"started"`
	ConfigFile string            `json:"config_file"`
	Defaults   bool              `json:"config_defaults"` // no file: built-in defaults
	Config     map[string]any    `json:"config"`
	Features   features          `json:"features"`
	Triggers   []triggerStatus   `json:"triggers"`
	Decision   decisionStatus    `json:"decision"`
	Pods       []podJSON         `json:"pods"` // ranked, as `kube-oomd pods`
	PodsError  string            `json:"pods_error,omitempty"`
	Throttles  []relief.Throttle `json:"throttles"`
	Kills      []killRecord      `json:"kills"` // the last few, newest last
}

type features struct {
	Kernel        string `json:"kernel"`
	Driver        string `json:"driver"`
	Kubepods      string `json:"kubepods"`
	CgroupKill    bool   `json:"cgroup_kill"`
	MemoryReclaim bool   `json:"memory_reclaim"`
	MemoryHighVia string `json:"memory_high_via"` // systemd or file
}

// triggerInfo is one PSI trigger in force and what it saw.
type triggerInfo struct {
	Path      string
	Spec      psi.TriggerSpec
	Requested psi.TriggerSpec
	Events    int
	Last      time.Time
}

type triggerStatus struct {
	Key       string     `json:"key"`
	File      string     `json:"file"`
	InForce   string     `json:"in_force"`
	Requested string     `json:"requested"`
	Events    int        `json:"events"`
	LastEvent *time.Time `json:"last_event"`
}

type decisionStatus struct {
	PressuredWindows int     `json:"pressured_windows"`
	WindowsNeeded    int     `json:"windows_needed"`
	StrainedWindows  int     `json:"strained_windows"`
	CalmWindows      int     `json:"calm_windows"`
	StallShare       float64 `json:"stall_share"`
	NearLimit        bool    `json:"near_limit"`
	Usage            uint64  `json:"usage_bytes"`
	Limit            uint64  `json:"limit_bytes"`
	Cooling          bool    `json:"cooling"`
}

// killRecord is one kill (or, in dry-run, one that would have happened).
type killRecord struct {
	Time       time.Time `json:"time"`
	UID        string    `json:"uid"`
	QoS        string    `json:"qos"`
	Cgroup     string    `json:"cgroup"`
	Target     string    `json:"target"`
	Reason     string    `json:"reason"`
	DryRun     bool      `json:"dry_run"`
	FreedBytes uint64    `json:"freed_bytes"`
	Confirmed  bool      `json:"confirmed"`
}

// keptKills is how many kills status remembers.
const keptKills = 20

func (d *daemon) recordKill(k killRecord) {
	d.kills = append(d.kills, k)
	if len(d.kills) > keptKills {
		d.kills = d.kills[len(d.kills)-keptKills:]
	}
}

func (d *daemon) countTriggerEvent(ev psi.Event) {
	if t, ok := d.triggerInfo[ev.Key]; ok {
		t.Events++
		t.Last = ev.Time
		if ev.Gone {
			delete(d.triggerInfo, ev.Key)
		}
	}
}

// status gathers the answer; it runs in the main loop.
func (d *daemon) status() status {
	kp := d.reader.Layout.Abs(d.reader.Layout.Kubepods)
	s := status{
		Version: versionString(), PID: os.Getpid(), Started: d.started,
		ConfigFile: d.cfgPath, Defaults: d.cfgDefaulted, Config: groupMap(d.cfg.LogValue()),
		Features: features{
			Kernel: cgroupv2.KernelRelease(d.procRoot), Driver: string(d.reader.Layout.Driver), Kubepods: d.reader.Layout.Kubepods,
			CgroupKill: fileExists(filepath.Join(kp, "cgroup.kill")), MemoryReclaim: fileExists(filepath.Join(kp, "memory.reclaim")),
			MemoryHighVia: d.setterName,
		},
		Decision: decisionStatus{
			PressuredWindows: d.verdict.Pressured, WindowsNeeded: d.th.Windows, StrainedWindows: d.verdict.Strained,
			CalmWindows: d.verdict.Calm, StallShare: round(d.verdict.Stall), NearLimit: d.verdict.Near,
			Usage: d.verdict.Usage, Limit: d.verdict.Limit, Cooling: d.verdict.Cooling,
		},
		Throttles: []relief.Throttle{},
		Kills:     append([]killRecord{}, d.kills...),
	}
	for _, key := range []string{triggerKubepods, triggerHost} {
		t, ok := d.triggerInfo[key]
		if !ok {
			continue
		}
		ts := triggerStatus{Key: key, File: t.Path, InForce: t.Spec.String(), Requested: t.Requested.String(), Events: t.Events}
		if !t.Last.IsZero() {
			last := t.Last
			ts.LastEvent = &last
		}
		s.Triggers = append(s.Triggers, ts)
	}
	for _, t := range d.throttles {
		s.Throttles = append(s.Throttles, t.Throttle)
	}
	pods, err := d.reader.ReadPods(d.pods.Pods())
	if err != nil {
		s.PodsError = err.Error()
	}
	s.Pods = podRows(policy.Rank(pods, d.rank))
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
// answer, gathered by the main loop through the returned channel.
func (d *daemon) serveStatus(ctx context.Context) (<-chan chan<- status, error) {
	path := filepath.Join(d.runDir, "status.sock")
	if err := os.MkdirAll(d.runDir, 0o700); err != nil {
		return nil, err
	}
	os.Remove(path) // left by a daemon that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // root only
		ln.Close()
		return nil, err
	}
	reqs := make(chan chan<- status)
	go func() {
		<-ctx.Done()
		ln.Close()
		os.Remove(path)
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				reply := make(chan status, 1)
				select {
				case reqs <- reply:
				case <-ctx.Done():
					return
				}
				select {
				case s := <-reply:
					conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
					json.NewEncoder(conn).Encode(s)
				case <-ctx.Done():
				}
			}()
		}
	}()
	return reqs, nil
}

// ErrNotRunning says there is no daemon to ask.
var errNotRunning = errors.New("kube-oomd is not running")

// statusCmd is `kube-oomd status`.
func (e *env) statusCmd(args []string) error {
	fs := e.flags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	socket := fs.String("socket", defaultSocket, "the daemon's status socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("status takes no arguments, got %q", fs.Args())}
	}
	conn, err := net.DialTimeout("unix", *socket, 5*time.Second)
	if err != nil {
		return fmt.Errorf("%w (no answer on %s: %v); start it with `systemctl start kube-oomd`, or see the pods without it with `kube-oomd pods`",
			errNotRunning, *socket, errors.Unwrap(err))
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("read %s: %w", *socket, err)
	}
	var s status
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("the daemon's answer on %s is not status JSON: %w", *socket, err)
	}
	if *asJSON {
		_, err := e.stdout.Write(b)
		return err
	}
	return renderStatus(e.stdout, s)
}

// renderStatus prints the status for a person.
func renderStatus(w io.Writer, s status) error {
	cfg := s.ConfigFile
	if s.Defaults {
		cfg += " (not found: built-in defaults)"
	}
	kill, _ := s.Config["kill"].(map[string]any)
	fmt.Fprintf(w, "kube-oomd %s, pid %d, running since %s (%s)\n", s.Version, s.PID,
		s.Started.Format(time.RFC3339), time.Since(s.Started).Round(time.Second))
	fmt.Fprintf(w, "Config:   %s, mode %v\n", cfg, kill["mode"])
	f := s.Features
	fmt.Fprintf(w, "Node:     kernel %s, %s driver, pods under %s, cgroup.kill %s, memory.reclaim %s, memory.high via %s\n",
		f.Kernel, f.Driver, f.Kubepods, yesNo(f.CgroupKill), yesNo(f.MemoryReclaim), f.MemoryHighVia)

	fmt.Fprintln(w, "\nTriggers:")
	for _, t := range s.Triggers {
		last := "never"
		if t.LastEvent != nil {
			last = time.Since(*t.LastEvent).Round(time.Second).String() + " ago"
		}
		adj := ""
		if t.InForce != t.Requested {
			adj = fmt.Sprintf(" (asked %q)", t.Requested)
		}
		fmt.Fprintf(w, "  %-9s %q on %s%s: %d events, last %s\n", t.Key, t.InForce, t.File, adj, t.Events, last)
	}
	dc := s.Decision
	fmt.Fprintf(w, "\nDecision: %d of %d pressured windows, %d strained, %d calm; last window's stall %.1f%%; memory near the limit: %s",
		dc.PressuredWindows, dc.WindowsNeeded, dc.StrainedWindows, dc.CalmWindows, dc.StallShare*100, yesNo(dc.NearLimit))
	if dc.Limit > 0 {
		fmt.Fprintf(w, " (%s of %s)", config.FormatSize(dc.Usage), config.FormatSize(dc.Limit))
	}
	if dc.Cooling {
		fmt.Fprint(w, "; cooling down after a kill")
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nPods, ranked (1 = next victim):")
	if s.PodsError != "" {
		fmt.Fprintln(w, "  cannot read the pods:", s.PodsError)
	}
	if err := writePodTable(w, s.Pods, "  "); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nThrottles:")
	if len(s.Throttles) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, t := range s.Throttles {
		fmt.Fprintf(w, "  %s %s: memory.high %s (set %s, original %s) for %s, %s\n", t.QoS, t.UID,
			config.FormatSize(t.Current), config.FormatSize(t.Set), highText(t.Original),
			time.Since(t.Since).Round(time.Second), t.Cgroup)
	}

	fmt.Fprintln(w, "\nLast kills:")
	if len(s.Kills) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range s.Kills {
		what := "killed"
		if k.DryRun {
			what = "would have killed (dry run)"
		}
		fmt.Fprintf(w, "  %s %s %s %s (%s), reason %s, freed %s, %s\n", k.Time.Format(time.RFC3339), what, k.QoS, k.UID,
			k.Target, k.Reason, config.FormatSize(k.FreedBytes), k.Cgroup)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
