package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/unixsock"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
)

// A kill is counted by its record's reason, QoS class and method, named
// in the one info series, and the gauges say what status says.
func TestMetricsOfAKill(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	tree.Write(tree.PodPath("be", cgroupv2.BestEffort), "cgroup.kill", "")
	h := start(t, tree, killOnly(config.ModePod), "", "")
	h.windows(2, 0.5, 1000*MiB)
	s := h.snapshot()
	if len(s.Kills) != 1 || s.Kills[0].UID != "be" {
		t.Fatalf("status kills = %+v, want be's:\n%s", s.Kills, h.logs)
	}
	k := s.Kills[0]
	m := h.scrape()
	kill := fmt.Sprintf(`kube_oomd_kills_total{method="%s",qos="BestEffort",reason="sustained-pressure"}`, k.Method)
	info := fmt.Sprintf(`kube_oomd_last_kill_info{method="%s",namespace="",pod="",qos="BestEffort",reason="sustained-pressure",uid="be"}`, k.Method)
	for series, want := range map[string]float64{
		kill:                                    1,
		info:                                    1,
		"kube_oomd_last_kill_timestamp_seconds": float64(k.Time.Unix()),
		`kube_oomd_pods{qos="BestEffort"}`:      2,
		`kube_oomd_pods{qos="Burstable"}`:       1,
		`kube_oomd_pods{qos="Guaranteed"}`:      1,
		`kube_oomd_trigger_events_total{trigger="kubepods"}`:                       float64(s.Triggers[0].Events),
		`kube_oomd_trigger_events_total{trigger="host"}`:                           0, // not watched: no trigger, no count
		"kube_oomd_pressured_windows":                                              float64(s.Decision.PressuredWindows),
		"kube_oomd_strained_windows":                                               float64(s.Decision.StrainedWindows),
		`kube_oomd_would_kill_total{qos="BestEffort",reason="sustained-pressure"}`: 0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (served: %v), want %v", series, got, ok, want)
		}
	}
	if s.Triggers[0].Key != triggerKubepods || s.Triggers[0].Events != 2 {
		t.Errorf("status triggers = %+v, want kubepods' 2 events", s.Triggers)
	}
	if n := sum(m, "kube_oomd_kills_total{"); n != 1 {
		t.Errorf("kills counted = %v, want 1", n)
	}
	noPodLabels(t, m)
}

// A dry run counts what it would have killed, and no kill.
func TestMetricsOfADryRunKill(t *testing.T) {
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), killOnly(config.ModeDryRun), "", "")
	h.windows(4, 0.5, 1000*MiB)
	m := h.scrape()
	if got := m[`kube_oomd_would_kill_total{qos="BestEffort",reason="sustained-pressure"}`]; got != 1 {
		t.Errorf("kube_oomd_would_kill_total of be = %v, want 1 (then the cooldown):\n%s", got, h.logs)
	}
	if n := sum(m, "kube_oomd_kills_total{"); n != 0 || m["kube_oomd_last_kill_timestamp_seconds"] != 0 {
		t.Errorf("a dry run counted %v kills, last at %v", n, m["kube_oomd_last_kill_timestamp_seconds"])
	}
	if n := sum(m, "kube_oomd_last_kill_info"); n != 0 {
		t.Errorf("a dry run named a last kill")
	}
}

// Reclaimed bytes and throttles are counted as the ladder reports them
// done; a step that failed counts nothing.
func TestMetricsOfTheLadder(t *testing.T) {
	d := &recorder{log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: metrics.New(metricLabels())}
	d.logLadder([]relief.Result{
		{Kind: relief.StepReclaim, Reclaim: relief.ReclaimResult{Asked: 64 * MiB, Freed: 40 * MiB}},
		{Kind: relief.StepReclaim, Reclaim: relief.ReclaimResult{Asked: 32 * MiB, Freed: 8 * MiB}},
		{Kind: relief.StepReclaim, Reclaim: relief.ReclaimResult{Freed: 1 * MiB}, Err: errors.New("write failed")},
		{Kind: relief.StepThrottle, Throttle: relief.Throttle{UID: "bu", Set: 100 * MiB}},
		{Kind: relief.StepThrottle, Throttle: relief.Throttle{UID: "be"}, Err: errors.New("read back differs")},
	}, "file")
	m := metricstest.Scrape(t, d.metrics.Handler())
	if m["kube_oomd_reclaimed_bytes_total"] != 48*MiB || m["kube_oomd_throttles_total"] != 1 {
		t.Errorf("kube_oomd_reclaimed_bytes_total %v, kube_oomd_throttles_total %v; want 48 MiB and 1",
			m["kube_oomd_reclaimed_bytes_total"], m["kube_oomd_throttles_total"])
	}
}

// metrics.listen set to a unix socket: served from start, 0600, and gone
// once the daemon stopped.
func TestMetricsServedOnTheConfiguredSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	cfg := killOnly(config.ModePod)
	cfg.Metrics.Listen = sock
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, "", "")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != unixsock.Mode {
		t.Fatalf("socket: %v, %v; want mode %o", fi, err, unixsock.Mode)
	}
	resp, err := metricstest.UnixClient(sock).Get("http://localhost/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := metricstest.Parse(t, string(b))
	if got[`kube_oomd_pods{qos="Guaranteed"}`] != 1 {
		t.Errorf(`kube_oomd_pods{qos="Guaranteed"} = %v, want 1`, got[`kube_oomd_pods{qos="Guaranteed"}`])
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("no go_goroutines served")
	}
	if len(h.logs.records(t, "serving metrics", "")) != 1 {
		t.Errorf("no record that metrics are served:\n%s", h.logs)
	}
	h.stop()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after the daemon stopped: %v", err)
	}
}

// A listener that cannot be opened fails the start, naming the key and
// the address.
func TestMetricsListenFailureFailsTheStart(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	notSocket := filepath.Join(t.TempDir(), "metrics.sock")
	os.WriteFile(notSocket, nil, 0o644)
	cfg := testConfig(config.ModePod)
	cfg.Metrics.Listen = notSocket
	err := Run(context.Background(), Options{ConfigPath: "/nonexistent", Load: loaded(cfg, config.Sources{Path: "/nonexistent", Missing: true}),
		CgroupRoot: tree.Mount, ProcRoot: tree.Proc, RunDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if !errors.Is(err, unixsock.ErrNotSocket) || !strings.Contains(err.Error(), fmt.Sprintf("metrics.listen %q", notSocket)) {
		t.Errorf("start with a file at metrics.listen: %v; want ErrNotSocket naming metrics.listen and %s", err, notSocket)
	}
}

// The unit's sandbox refuses TCP with EAFNOSUPPORT: the error says which
// settings do it and what to install; what else stops a listener says
// what to change.
func TestListenHintNamesTheUnitSettings(t *testing.T) {
	refused := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EAFNOSUPPORT)}
	hint := listenHint(config.NetworkTCP, refused)
	for _, want := range []string{"RestrictAddressFamilies=AF_UNIX", "PrivateNetwork=no", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
		tcpDropIn, "/run/kube-oomd/", "systemctl daemon-reload"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint for EAFNOSUPPORT lacks %q: %s", want, hint)
		}
	}
	lowPort := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}
	if hint := listenHint(config.NetworkTCP, lowPort); !strings.Contains(hint, "CAP_NET_BIND_SERVICE") {
		t.Errorf("hint for EACCES on TCP: %q", hint)
	}
	if hint := listenHint(config.NetworkUnix, lowPort); hint != "" {
		t.Errorf("hint for EACCES on a socket: %q, want none", hint)
	}
	for _, c := range []struct {
		network string
		err     error
		want    string
	}{
		{config.NetworkUnix, &net.OpError{Op: "listen", Net: "unix", Err: os.NewSyscallError("bind", syscall.EROFS)}, "ProtectSystem=strict"},
		{config.NetworkUnix, &net.OpError{Op: "listen", Net: "unix", Err: os.NewSyscallError("bind", syscall.ENOENT)}, "directory does not exist"},
		{config.NetworkUnix, fmt.Errorf("/run/kube-oomd/metrics.sock: %w", unixsock.ErrInUse), "another kube-oomd"},
		{config.NetworkUnix, fmt.Errorf("/run/kube-oomd/metrics.sock: %w", unixsock.ErrNotSocket), "move that file away"},
		{config.NetworkTCP, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}, "another port"},
	} {
		if hint := listenHint(c.network, c.err); !strings.Contains(hint, c.want) {
			t.Errorf("hint for %v on %s: %q, want %q in it", c.err, c.network, hint, c.want)
		}
	}
}

// TCP in a network namespace with nothing but lo (PrivateNetwork=yes) is
// served, and the log says who cannot reach it.
func TestMetricsOverTCPWarnsInAPrivateNetwork(t *testing.T) {
	for _, tt := range []struct {
		dev  string
		warn bool
	}{
		{"    lo: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n", true},
		{"    lo: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n  eth0: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n", false},
	} {
		tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
		tree.WriteProc("self/net/dev", "Inter-|   Receive                            |  Transmit\n"+
			" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"+tt.dev)
		cfg := killOnly(config.ModePod)
		cfg.Metrics.Listen = "127.0.0.1:0"
		h := start(t, tree, cfg, "", "")
		warned := len(h.logs.records(t, "metrics.listen is a TCP address, but kube-oomd's network namespace has no interface but lo, "+
			"as under the unit's PrivateNetwork=yes: only a process in that namespace can scrape; install the drop-in "+tcpDropIn+" (PrivateNetwork=no)", "")) == 1
		if warned != tt.warn {
			t.Errorf("net/dev %q: warned %v, want %v:\n%s", tt.dev, warned, tt.warn, h.logs)
		}
		h.stop()
	}
}

// A reload that changes [metrics] keeps the endpoint in force and says
// it takes a restart, as for [cgroup].
func TestReloadKeepsTheMetricsEndpoint(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	path := writeConfig(t, fmt.Sprintf("[metrics]\nlisten = %q\n", sock))
	cfg := killOnly(config.ModePod)
	cfg.Metrics.Listen = sock
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	os.WriteFile(path, []byte("[metrics]\nlisten = \"127.0.0.1:9723\"\n[kill]\ncooldown = \"20s\"\n"), 0o644)
	h.reload()
	s := h.snapshot()
	if l := s.Config["metrics"].(map[string]any)["listen"]; l != sock || s.Config["kill"].(map[string]any)["cooldown"] != "20s" {
		t.Errorf("after the reload: metrics.listen %v, kill.cooldown %v; want %s kept, the rest applied", l, s.Config["kill"].(map[string]any)["cooldown"], sock)
	}
	if len(h.logs.records(t, "changes to [metrics] take effect after a restart", "")) != 1 {
		t.Errorf("the reload did not say [metrics] waits for a restart:\n%s", h.logs)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the socket went with the reload: %v", err)
	}
}

// sum adds the samples of the series whose name starts with prefix.
func sum(m map[string]float64, prefix string) float64 {
	var n float64
	for s, v := range m {
		if strings.HasPrefix(s, prefix) {
			n += v
		}
	}
	return n
}

// noPodLabels fails if a kube-oomd series other than the last-kill info
// names a pod.
func noPodLabels(t *testing.T, m map[string]float64) {
	t.Helper()
	for s := range m {
		if strings.HasPrefix(s, "kube_oomd_") && !strings.HasPrefix(s, "kube_oomd_last_kill_info{") &&
			(strings.Contains(s, "namespace=") || strings.Contains(s, "pod=") || strings.Contains(s, "uid=")) {
			t.Errorf("%s names a pod", s)
		}
	}
}

// fakeNOFILE is an RLIMIT_NOFILE for descriptors: set fails with err, if
// any.
type fakeNOFILE struct {
	lim  syscall.Rlimit
	err  error
	sets int
}

func (f *fakeNOFILE) get(l *syscall.Rlimit) error { *l = f.lim; return nil }
func (f *fakeNOFILE) set(l *syscall.Rlimit) error {
	f.sets++
	if f.err != nil {
		return f.err
	}
	f.lim = *l
	return nil
}

// The soft RLIMIT_NOFILE is raised to the hard one; a limit that leaves
// kills too few descriptors, or a raise refused, is said, with what to do.
func TestDescriptorsRaiseTheSoftLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lim       syscall.Rlimit
		setErr    error
		wantSoft  uint64
		wantSets  int
		wantErr   error
		wantWords string
	}{
		{name: "systemd's default", lim: syscall.Rlimit{Cur: 1024, Max: 524288}, wantSoft: 524288, wantSets: 1},
		{name: "raised already (by the Go runtime)", lim: syscall.Rlimit{Cur: 524288, Max: 524288}, wantSoft: 524288},
		{name: "a small hard limit", lim: syscall.Rlimit{Cur: 1024, Max: 2048}, wantSoft: 2048, wantSets: 1,
			wantErr: errFewDescriptors, wantWords: "LimitNOFILE="},
		{name: "raise refused", lim: syscall.Rlimit{Cur: 1024, Max: 524288}, setErr: syscall.EPERM, wantSoft: 1024, wantSets: 1,
			wantErr: syscall.EPERM, wantWords: "LimitNOFILE="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeNOFILE{lim: tc.lim, err: tc.setErr}
			err := descriptors(f.get, f.set)
			if f.lim.Cur != tc.wantSoft || f.sets != tc.wantSets {
				t.Errorf("soft limit %d after %d setrlimit calls, want %d after %d", f.lim.Cur, f.sets, tc.wantSoft, tc.wantSets)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("descriptors: %v, want %v", err, tc.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), tc.wantWords) || !strings.Contains(err.Error(), "RLIMIT_NOFILE")) {
				t.Errorf("%q does not say what to do (%q)", err, tc.wantWords)
			}
		})
	}
}

// A kill that was due and not made (every pod protected) is counted by
// its journal reason: the kernel's OOM killer is left to act, and on-call
// must hear of it.
func TestMetricsOfASkippedKill(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.AddPod(cgrouptest.Pod{UID: "crit", QoS: cgroupv2.BestEffort, Current: 900 * MiB,
		Containers: []cgrouptest.Container{{Current: 899 * MiB, Adj: []int{-997}}}})
	h := start(t, tree, killOnly(config.ModePod), "", "")
	h.windows(3, 0.5, 1000*MiB)
	m := h.scrape()
	for series, want := range map[string]float64{
		`kube_oomd_kills_skipped_total{reason="` + reasonNoVictim + `"}`:    1,
		`kube_oomd_kills_skipped_total{reason="` + reasonVictimMoved + `"}`: 0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (served: %v), want %v:\n%s", series, got, ok, want, h.logs)
		}
	}
	if n := sum(m, "kube_oomd_kills_total{"); n != 0 {
		t.Errorf("%v kills counted with every pod protected", n)
	}
}

// The config's last load is served: successful at start, 0 after an
// invalid reload (with the time of the last good one kept), 1 again after
// a valid one. The build is named by the version the daemon was given.
func TestMetricsOfAReload(t *testing.T) {
	path := writeConfig(t, "[kill]\nmode = \"pod\"\n")
	cfg, _ := config.Load(path)
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	at := float64(h.clock.Now().Unix())
	m := h.scrape()
	if m["kube_oomd_config_last_reload_successful"] != 1 || m["kube_oomd_config_last_reload_success_timestamp_seconds"] != at {
		t.Errorf("at start: successful %v at %v, want 1 at %v", m["kube_oomd_config_last_reload_successful"],
			m["kube_oomd_config_last_reload_success_timestamp_seconds"], at)
	}
	if sum(m, `kube_oomd_build_info{goversion="`) != 1 || sum(m, "kube_oomd_build_info") != 1 {
		t.Errorf("%v kube_oomd_build_info series, want one", sum(m, "kube_oomd_build_info"))
	}
	for s := range m {
		if strings.HasPrefix(s, "kube_oomd_build_info") && !strings.Contains(s, `version="test"`) {
			t.Errorf("%s: want the daemon's version, test", s)
		}
	}
	os.WriteFile(path, []byte("[kill]\nmode = \"everything\"\n"), 0o644)
	h.reload()
	if m := h.scrape(); m["kube_oomd_config_last_reload_successful"] != 0 || m["kube_oomd_config_last_reload_success_timestamp_seconds"] != at {
		t.Errorf("after an invalid reload: successful %v, last success at %v; want 0, at %v", m["kube_oomd_config_last_reload_successful"],
			m["kube_oomd_config_last_reload_success_timestamp_seconds"], at)
	}
	os.WriteFile(path, []byte("[kill]\nmode = \"dry-run\"\n"), 0o644)
	h.reload()
	if m := h.scrape(); m["kube_oomd_config_last_reload_successful"] != 1 {
		t.Errorf("after a valid reload: successful %v, want 1", m["kube_oomd_config_last_reload_successful"])
	}
}

// The runtime's state, as the resolver reports it, is served.
func TestMetricsOfTheRuntime(t *testing.T) {
	d := &Daemon{recorder: &recorder{log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: metrics.New(metricLabels())}}
	if _, ok := metricstest.Scrape(t, d.metrics.Handler())["kube_oomd_runtime_up"]; ok {
		t.Errorf("kube_oomd_runtime_up served before the runtime was asked")
	}
	d.logRuntime(runtimeState{socket: "/run/containerd/containerd.sock", err: errors.New("connection refused")})
	if got := metricstest.Scrape(t, d.metrics.Handler())["kube_oomd_runtime_up"]; got != 0 {
		t.Errorf("kube_oomd_runtime_up = %v with the runtime unreachable, want 0", got)
	}
	d.logRuntime(runtimeState{socket: "/run/containerd/containerd.sock"})
	if got := metricstest.Scrape(t, d.metrics.Handler())["kube_oomd_runtime_up"]; got != 1 {
		t.Errorf("kube_oomd_runtime_up = %v once the runtime answers, want 1", got)
	}
}

// A kill that failed or was not confirmed is counted by its reason and
// result; a kill is timed and what it freed counted; a victim that
// changed is a kill skipped.
func TestMetricsOfKillOutcomes(t *testing.T) {
	d := &recorder{log: slog.New(slog.NewTextHandler(io.Discard, nil)), clock: clock.NewFake(epoch), metrics: metrics.New(metricLabels())}
	rec := KillRecord{KilledPod: KilledPod{UID: "be", QoS: "BestEffort"}, Reason: string(policy.ReasonPressure)}
	d.killed(rec, nil, killer.Result{}, errors.New("open cgroup.kill: permission denied"))
	d.killed(rec, nil, killer.Result{Method: killer.MethodCgroupKill, Took: 5 * time.Second}, fmt.Errorf("x: %w", killer.ErrNotConfirmed))
	d.killed(rec, nil, killer.Result{Method: killer.MethodCgroupKill, Took: 20 * time.Millisecond, Freed: 100 << 20, Confirmed: true}, nil)
	d.killed(rec, nil, killer.Result{}, fmt.Errorf("x: %w", killer.ErrChanged))
	m := metricstest.Scrape(t, d.metrics.Handler())
	for series, want := range map[string]float64{
		`kube_oomd_kill_failures_total{reason="sustained-pressure",result="failed"}`:      1,
		`kube_oomd_kill_failures_total{reason="sustained-pressure",result="unconfirmed"}`: 1,
		`kube_oomd_kills_skipped_total{reason="victim-changed"}`:                          1,
		`kube_oomd_kill_duration_seconds_count`:                                           2,
		`kube_oomd_kill_duration_seconds_bucket{le="0.025"}`:                              1,
		`kube_oomd_freed_bytes_total{qos="BestEffort"}`:                                   100 << 20,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (served: %v), want %v", series, got, ok, want)
		}
	}
}

// A memory.max not put back is served as a lowered limit until a later
// attempt puts it back, and each failed attempt is counted.
func TestMetricsOfLimitsNotPutBack(t *testing.T) {
	d := &recorder{log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: metrics.New(metricLabels())}
	scrape := func() (float64, float64) {
		m := metricstest.Scrape(t, d.metrics.Handler())
		return m["kube_oomd_lowered_limits"], m["kube_oomd_limit_putback_failures_total"]
	}
	d.logRestored("limits.json", []killer.RestoreResult{
		{Cgroup: "/a", Err: errors.New("write: device busy")},
		{Cgroup: "/b"},
		{Cgroup: "/c", Err: fmt.Errorf("x: %w", killer.ErrUntrusted)},
	}, nil, reasonRetry, false)
	if lowered, failures := scrape(); lowered != 1 || failures != 1 {
		t.Errorf("lowered %v, failures %v; want 1 and 1", lowered, failures)
	}
	d.logRestored("limits.json", nil, errors.New("limits.json: bad JSON"), reasonRetry, false)
	if lowered, failures := scrape(); lowered != 1 || failures != 2 {
		t.Errorf("after an unreadable record: lowered %v, failures %v; want 1 (as last known) and 2", lowered, failures)
	}
	d.logRestored("limits.json", []killer.RestoreResult{{Cgroup: "/a"}}, nil, reasonRetry, false)
	if lowered, failures := scrape(); lowered != 0 || failures != 2 {
		t.Errorf("once put back: lowered %v, failures %v; want 0 and 2", lowered, failures)
	}
}

// A throttle that cannot be given back is counted.
func TestMetricsOfAThrottleNotGivenBack(t *testing.T) {
	d := &recorder{log: slog.New(slog.NewTextHandler(io.Discard, nil)), clock: clock.NewFake(epoch), metrics: metrics.New(metricLabels())}
	d.logLadder([]relief.Result{{Kind: relief.StepLift, Why: relief.LiftPressureCleared, Err: errors.New("write memory.high: EBUSY"),
		Throttle: relief.Throttle{UID: "bu", QoS: "Burstable", Cgroup: "/kubepods.slice/bu"}}}, "file")
	if got := metricstest.Scrape(t, d.metrics.Handler())["kube_oomd_throttle_release_failures_total"]; got != 1 {
		t.Errorf("kube_oomd_throttle_release_failures_total = %v, want 1", got)
	}
}
