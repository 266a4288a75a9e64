package metrics

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
)

var labels = Labels{
	Reasons:  []string{"sustained-pressure", "imminent-oom"},
	Classes:  []string{"BestEffort", "Burstable", "Guaranteed"},
	Methods:  []string{"cgroup.kill", "oom"},
	Triggers: []string{"kubepods", "host"},
	Skips:    []string{"no-killable-pod", "victim-changed"},
}

// Before any event, every known combination is served at 0, the
// standard collectors' series are there, and no kill is named.
func TestNewServesKnownSeriesAtZero(t *testing.T) {
	got := metricstest.Scrape(t, New(labels).Handler())
	for _, s := range []string{
		`kube_oomd_kills_total{method="oom",qos="Guaranteed",reason="imminent-oom"}`,
		`kube_oomd_kills_total{method="cgroup.kill",qos="BestEffort",reason="sustained-pressure"}`,
		`kube_oomd_would_kill_total{qos="Burstable",reason="imminent-oom"}`,
		`kube_oomd_kernel_oom_kills_total{qos="BestEffort"}`,
		`kube_oomd_pods{qos="Guaranteed"}`,
		`kube_oomd_trigger_events_total{trigger="host"}`,
		`kube_oomd_throttled_pods`, `kube_oomd_throttles_total`, `kube_oomd_reclaimed_bytes_total`,
		`kube_oomd_pressured_windows`, `kube_oomd_strained_windows`, `kube_oomd_last_kill_timestamp_seconds`,
		`kube_oomd_kills_skipped_total{reason="no-killable-pod"}`, `kube_oomd_kills_skipped_total{reason="victim-changed"}`,
		`kube_oomd_kill_failures_total{reason="imminent-oom",result="failed"}`,
		`kube_oomd_kill_failures_total{reason="sustained-pressure",result="unconfirmed"}`,
		`kube_oomd_lowered_limits`, `kube_oomd_limit_putback_failures_total`, `kube_oomd_throttle_release_failures_total`,
		`kube_oomd_config_last_reload_successful`, `kube_oomd_config_last_reload_success_timestamp_seconds`,
		`kube_oomd_kill_duration_seconds_count`, `kube_oomd_kill_duration_seconds_sum`, `kube_oomd_kill_duration_seconds_bucket{le="+Inf"}`,
		`kube_oomd_freed_bytes_total{qos="Burstable"}`,
	} {
		v, ok := got[s]
		if !ok || v != 0 {
			t.Errorf("%s = %v (served: %v), want 0", s, v, ok)
		}
	}
	if n := count(got, "kube_oomd_kills_total{"); n != 2*3*2 {
		t.Errorf("%d kill series, want every reason, class and method: 12", n)
	}
	for _, s := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if _, ok := got[s]; !ok {
			t.Errorf("no %s: the standard collectors are not registered", s)
		}
	}
	if n := count(got, "kube_oomd_last_kill_info"); n != 0 {
		t.Errorf("%d last-kill series before any kill", n)
	}
	if _, ok := got["kube_oomd_throttles"]; ok {
		t.Errorf("kube_oomd_throttles served: a gauge beside the counter kube_oomd_throttles_total collides under OpenMetrics")
	}
	// Not known before the daemon says: the runtime's state, the build.
	if n := count(got, "kube_oomd_runtime_up") + count(got, "kube_oomd_build_info"); n != 0 {
		t.Errorf("%d runtime or build series before they were reported", n)
	}
}

// Each event moves its own series, by the labels it was given.
func TestEventsMoveTheirSeries(t *testing.T) {
	m := New(labels)
	at := time.Unix(1_700_000_000, 250_000_000)
	m.Killed(Kill{Namespace: "shop", Pod: "cart", UID: "u1", QoS: "BestEffort", Reason: "sustained-pressure", Method: "oom", At: at})
	m.Killed(Kill{UID: "u2", QoS: "Burstable", Reason: "leak-under-throttle", Method: "oom+cgroup.kill", At: at.Add(time.Minute),
		Took: 300 * time.Millisecond, Freed: 64 << 20})
	m.KillSkipped("no-killable-pod")
	m.KillFailed("sustained-pressure", KillUnconfirmed)
	m.KillFailed("imminent-oom", KillFailed)
	m.KillFailed("imminent-oom", KillFailed)
	m.LoweredLimits(2)
	m.PutBackFailed(2)
	m.ThrottleReleaseFailed()
	m.ConfigReloaded(true, at)
	m.ConfigReloaded(false, at.Add(time.Hour))
	m.RuntimeUp(false)
	m.BuildInfo("1.2.3 (0123456789ab)")
	m.WouldKill("imminent-oom", "BestEffort")
	m.WouldKill("imminent-oom", "BestEffort")
	m.KernelOOMKills("Burstable", 3)
	m.Throttled()
	m.ThrottlesInForce(1)
	m.Reclaimed(32 << 20)
	m.Reclaimed(1 << 20)
	m.Windows(2, 5)
	m.Pods("BestEffort", 7)
	m.TriggerEvent("kubepods")
	got := metricstest.Scrape(t, m.Handler())
	for s, want := range map[string]float64{
		`kube_oomd_kills_total{method="oom",qos="BestEffort",reason="sustained-pressure"}`:             1,
		`kube_oomd_kills_total{method="oom+cgroup.kill",qos="Burstable",reason="leak-under-throttle"}`: 1, // not known in advance
		`kube_oomd_kills_total{method="cgroup.kill",qos="BestEffort",reason="sustained-pressure"}`:     0,
		`kube_oomd_would_kill_total{qos="BestEffort",reason="imminent-oom"}`:                           2,
		`kube_oomd_kernel_oom_kills_total{qos="Burstable"}`:                                            3,
		`kube_oomd_kernel_oom_kills_total{qos="BestEffort"}`:                                           0,
		`kube_oomd_throttled_pods`:                           1,
		`kube_oomd_throttles_total`:                          1,
		`kube_oomd_reclaimed_bytes_total`:                    33 << 20,
		`kube_oomd_pressured_windows`:                        2,
		`kube_oomd_strained_windows`:                         5,
		`kube_oomd_pods{qos="BestEffort"}`:                   7,
		`kube_oomd_trigger_events_total{trigger="kubepods"}`: 1,
		`kube_oomd_trigger_events_total{trigger="host"}`:     0,
		`kube_oomd_last_kill_timestamp_seconds`:              1_700_000_060.25,
		`kube_oomd_last_kill_info{method="oom+cgroup.kill",namespace="",pod="",qos="Burstable",reason="leak-under-throttle",uid="u2"}`: 1,
		`kube_oomd_kills_skipped_total{reason="no-killable-pod"}`:                                                                      1,
		`kube_oomd_kills_skipped_total{reason="victim-changed"}`:                                                                       0,
		`kube_oomd_kill_failures_total{reason="sustained-pressure",result="unconfirmed"}`:                                              1,
		`kube_oomd_kill_failures_total{reason="imminent-oom",result="failed"}`:                                                         2,
		`kube_oomd_kill_failures_total{reason="imminent-oom",result="unconfirmed"}`:                                                    0,
		`kube_oomd_lowered_limits`:                               2,
		`kube_oomd_limit_putback_failures_total`:                 2,
		`kube_oomd_throttle_release_failures_total`:              1,
		`kube_oomd_config_last_reload_successful`:                0,
		`kube_oomd_config_last_reload_success_timestamp_seconds`: 1_700_000_000.25,
		`kube_oomd_runtime_up`:                                   0,
		`kube_oomd_kill_duration_seconds_count`:                  2,
		`kube_oomd_kill_duration_seconds_sum`:                    0.3,
		`kube_oomd_kill_duration_seconds_bucket{le="0.25"}`:      1, // the first, 0s
		`kube_oomd_kill_duration_seconds_bucket{le="0.5"}`:       2,
		`kube_oomd_freed_bytes_total{qos="Burstable"}`:           64 << 20,
		`kube_oomd_freed_bytes_total{qos="BestEffort"}`:          0,
	} {
		if v, ok := got[s]; !ok || v != want {
			t.Errorf("%s = %v (served: %v), want %v", s, v, ok, want)
		}
	}
	if n := count(got, "kube_oomd_last_kill_info"); n != 1 {
		t.Errorf("%d last-kill series, want the last kill's alone", n)
	}
	goVersion := runtime.Version()
	if n := count(got, `kube_oomd_build_info{goversion="`+goVersion+`",revision="`); n != 1 || count(got, "kube_oomd_build_info") != 1 {
		t.Errorf("build info: %d series of go %s, want one: %v", n, goVersion, got)
	}
	for s, v := range got {
		if strings.HasPrefix(s, "kube_oomd_build_info") && (!strings.HasSuffix(s, `version="1.2.3"}`) || v != 1) {
			t.Errorf("%s = %v, want version 1.2.3 (the revision in its own label) and 1", s, v)
		}
	}
	for s := range got {
		if strings.HasPrefix(s, "kube_oomd_") && !strings.HasPrefix(s, "kube_oomd_last_kill_info") &&
			(strings.Contains(s, "namespace=") || strings.Contains(s, "pod=") || strings.Contains(s, "uid=")) {
			t.Errorf("%s names a pod", s)
		}
	}
}

// Metrics off is a nil *Metrics: every event is a no-op.
func TestNilMetricsIsOff(t *testing.T) {
	var m *Metrics
	m.Killed(Kill{QoS: "BestEffort"})
	m.WouldKill("r", "q")
	m.KernelOOMKills("q", 1)
	m.Throttled()
	m.ThrottlesInForce(1)
	m.Reclaimed(1)
	m.Windows(1, 1)
	m.Pods("q", 1)
	m.TriggerEvent("kubepods")
	m.KillSkipped("r")
	m.KillFailed("r", KillFailed)
	m.LoweredLimits(1)
	m.PutBackFailed(1)
	m.ThrottleReleaseFailed()
	m.ConfigReloaded(true, time.Time{})
	m.RuntimeUp(true)
	m.BuildInfo("v")
}

// Two daemons in one process (tests) do not share series: each has its
// own registry, not the default one.
func TestRegistriesArePrivate(t *testing.T) {
	a, b := New(labels), New(labels)
	a.Throttled()
	if got := metricstest.Scrape(t, b.Handler())["kube_oomd_throttles_total"]; got != 0 {
		t.Errorf("another Metrics' throttle shows: %v", got)
	}
}

func count(got map[string]float64, prefix string) int {
	n := 0
	for s := range got {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}
