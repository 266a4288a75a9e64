package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label values known in advance. Each combination's series exists, at 0,
// from the start, so that increase() and rate() see the first event of
// each. The daemon takes them from their owners (policy, cgroupv2, killer,
// its PSI triggers); a value outside them still makes its series when it
// first occurs.
type Labels struct {
	Reasons  []string // kill reasons: policy.Reasons
	Classes  []string // QoS classes: cgroupv2.Classes
	Methods  []string // kill methods: killer.Methods
	Triggers []string // PSI trigger keys, as `kube-oomd status` shows them
	Skips    []string // why a kill that was due was not made: the daemon's reason codes (no-killable-pod, victim-changed)
}

// The results of kube_oomd_kill_failures_total.
const (
	KillFailed      = "failed"      // nothing killed, or killed with an error (a memory.max not put back)
	KillUnconfirmed = "unconfirmed" // killed, but the cgroup did not empty in time
)

// killResults are KillFailed and KillUnconfirmed, each series made at 0.
var killResults = []string{KillFailed, KillUnconfirmed}

// killDurationBuckets cover a kill's took: milliseconds for cgroup.kill,
// up to kill.timeout (5s by default) and the method oom's wait beside it.
var killDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics are the daemon's series. Its methods may be called from any
// goroutine; on a nil *Metrics they do nothing.
type Metrics struct {
	reg *prometheus.Registry

	kills          *prometheus.CounterVec
	wouldKill      *prometheus.CounterVec
	kernelOOMKills *prometheus.CounterVec
	lastKillTime   prometheus.Gauge
	lastKill       *lastKill

	killsSkipped  *prometheus.CounterVec
	killFailures  *prometheus.CounterVec
	killDuration  prometheus.Histogram
	freed         *prometheus.CounterVec
	lowered       prometheus.Gauge
	putBackFailed prometheus.Counter

	throttled       prometheus.Gauge
	throttlesTotal  prometheus.Counter
	releaseFailures prometheus.Counter
	contained       prometheus.Gauge
	containedTotal  prometheus.Counter
	reclaimed       prometheus.Counter

	pressured prometheus.Gauge
	strained  prometheus.Gauge

	pods     *prometheus.GaugeVec
	triggers *prometheus.CounterVec

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	runtimeUp  *prometheus.GaugeVec // no label: its one series is made when first reported
	buildInfo  *prometheus.GaugeVec
}

// New makes the registry with every series of kube-oomd, the Go runtime's
// (go_*) and the process's (process_*), and the series of l at 0.
func New(l Labels) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		kills: counterVec("kube_oomd_kills_total",
			"Kills kube-oomd made (unconfirmed ones included), by reason, the victim's QoS class and how it killed.",
			vocab.LabelReason, vocab.LabelQoS, vocab.LabelMethod),
		wouldKill: counterVec("kube_oomd_would_kill_total",
			"Dry run: kills kube-oomd would have made, by reason and the victim's QoS class.", vocab.LabelReason, vocab.LabelQoS),
		kernelOOMKills: counterVec("kube_oomd_kernel_oom_kills_total",
			"Processes the kernel's own OOM killer killed in pods, by the pod's QoS class; not those a kill with kill.method oom induced.", vocab.LabelQoS),
		lastKillTime: gauge("kube_oomd_last_kill_timestamp_seconds",
			"When kube-oomd last killed, in seconds since the epoch; 0 before its first kill."),
		lastKill: &lastKill{desc: prometheus.NewDesc("kube_oomd_last_kill_info",
			"The last pod kube-oomd killed: one series, replaced at each kill.",
			[]string{vocab.LabelNamespace, vocab.LabelPod, vocab.LabelUID, vocab.LabelQoS, vocab.LabelReason, vocab.LabelMethod}, nil)},
		killsSkipped: counterVec("kube_oomd_kills_skipped_total",
			"Kills that were due and not made, by why (no-killable-pod, victim-changed): the kernel's OOM killer is left to act.", vocab.LabelReason),
		killFailures: counterVec("kube_oomd_kill_failures_total",
			"Kills that failed (nothing killed, or killed with an error) or were not confirmed (the cgroup did not empty in time), by the kill's reason and result (failed, unconfirmed).",
			vocab.LabelReason, vocab.LabelResult),
		killDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kube_oomd_kill_duration_seconds",
			Help: "How long kills took, from the kill to the cgroup's emptying (or the timeout): the kill record's took.", Buckets: killDurationBuckets}),
		freed: counterVec("kube_oomd_freed_bytes_total", "Bytes kills freed (the victim's memory.current before, less after), by the victim's QoS class.", vocab.LabelQoS),
		lowered: gauge("kube_oomd_lowered_limits",
			"Containers a kill with kill.method oom left at a lowered memory.max (0) that could not be put back yet, as the last attempt found them; retried at each rescan."),
		putBackFailed: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_limit_putback_failures_total",
			Help: "Failed attempts at putting back a memory.max a kill lowered (or at reading their record)."}),
		throttled: gauge("kube_oomd_throttled_pods", "Pods throttled now (a temporary memory.high in force)."),
		throttlesTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_throttles_total",
			Help: "Throttles set: a pod's memory.high lowered by the relief ladder."}),
		releaseFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_throttle_release_failures_total",
			Help: "Failed attempts at giving a throttled pod its memory.high back; the throttle stays in force and is retried."}),
		contained: gauge("kube_oomd_contained_pods", "Pods contained now: their growing processes spare themselves from a kill (oom_score_adj -1000), so kube-oomd holds them at a memory.high at or under their usage."),
		containedTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_contained_total",
			Help: "Containments: a pod whose growing processes a kill spares held at a memory.high at or under its usage."}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_reclaimed_bytes_total",
			Help: "Page cache reclaimed from pods with memory.reclaim, in bytes."}),
		pressured: gauge("kube_oomd_pressured_windows", "Consecutive pressured windows of the decision, as kube-oomd status shows them."),
		strained:  gauge("kube_oomd_strained_windows", "Consecutive strained windows of the decision (relief's), as kube-oomd status shows them."),
		pods: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_oomd_pods",
			Help: "Pods kube-oomd follows, by QoS class."}, []string{vocab.LabelQoS}),
		triggers: counterVec("kube_oomd_trigger_events_total", "PSI trigger events, by trigger (kubepods, host).", vocab.LabelTrigger),
		reloadOK: gauge("kube_oomd_config_last_reload_successful",
			"1 if the last load of the config file (at start, on SIGHUP or on change) succeeded, 0 if it failed and the configuration before it stays in force."),
		reloadTime: gauge("kube_oomd_config_last_reload_success_timestamp_seconds",
			"When the config file was last loaded successfully, in seconds since the epoch."),
		runtimeUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_oomd_runtime_up",
			Help: "1 if the container runtime (CRI) answered when last asked for the pods' names, 0 if it could not be asked; absent with runtime.endpoint \"none\" and until first asked."}, nil),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_oomd_build_info",
			Help: "kube-oomd's build: its version, the VCS revision and the Go version it was built from; always 1."}, []string{vocab.LabelVersion, vocab.LabelRevision, vocab.LabelGoVersion}),
	}
	m.reg.MustRegister(m.kills, m.wouldKill, m.kernelOOMKills, m.lastKillTime, m.lastKill,
		m.killsSkipped, m.killFailures, m.killDuration, m.freed, m.lowered, m.putBackFailed,
		m.throttled, m.throttlesTotal, m.releaseFailures, m.contained, m.containedTotal, m.reclaimed, m.pressured, m.strained, m.pods, m.triggers,
		m.reloadOK, m.reloadTime, m.runtimeUp, m.buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range l.Skips {
		m.killsSkipped.WithLabelValues(r)
	}
	for _, r := range l.Reasons {
		for _, res := range killResults {
			m.killFailures.WithLabelValues(r, res)
		}
	}
	for _, q := range l.Classes {
		m.kernelOOMKills.WithLabelValues(q)
		m.pods.WithLabelValues(q)
		m.freed.WithLabelValues(q)
		for _, r := range l.Reasons {
			m.wouldKill.WithLabelValues(r, q)
			for _, k := range l.Methods {
				m.kills.WithLabelValues(r, q, k)
			}
		}
	}
	for _, t := range l.Triggers {
		m.triggers.WithLabelValues(t)
	}
	return m
}

// seconds is t in seconds since the epoch.
func seconds(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// Kill is one kill, as its record says.
type Kill struct {
	Namespace, Pod string // as the container runtime named the pod; "" when it did not
	UID            string
	QoS            string
	Reason         string
	Method         string
	At             time.Time
	Took           time.Duration // from the kill to the cgroup's emptying, or the timeout
	Freed          uint64        // bytes
}

// Killed counts a kill, how long it took and what it freed, and makes it
// the last one.
func (m *Metrics) Killed(k Kill) {
	if m == nil {
		return
	}
	m.kills.WithLabelValues(k.Reason, k.QoS, k.Method).Inc()
	m.killDuration.Observe(k.Took.Seconds())
	m.freed.WithLabelValues(k.QoS).Add(float64(k.Freed))
	m.lastKillTime.Set(seconds(k.At))
	m.lastKill.set(k)
}

// WouldKill counts a kill a dry run would have made.
func (m *Metrics) WouldKill(reason, qos string) {
	if m == nil {
		return
	}
	m.wouldKill.WithLabelValues(reason, qos).Inc()
}

// KernelOOMKills counts n processes the kernel's own OOM killer killed in
// a pod of class qos.
func (m *Metrics) KernelOOMKills(qos string, n uint64) {
	if m == nil {
		return
	}
	m.kernelOOMKills.WithLabelValues(qos).Add(float64(n))
}

// KillSkipped counts a kill that was due and not made, with the reason
// code the journal gives it.
func (m *Metrics) KillSkipped(reason string) {
	if m == nil {
		return
	}
	m.killsSkipped.WithLabelValues(reason).Inc()
}

// KillFailed counts a kill of that reason that failed or was not
// confirmed (result: KillFailed or KillUnconfirmed).
func (m *Metrics) KillFailed(reason, result string) {
	if m == nil {
		return
	}
	m.killFailures.WithLabelValues(reason, result).Inc()
}

// LoweredLimits says how many containers are left at a memory.max a kill
// lowered, as the last attempt at putting them back found.
func (m *Metrics) LoweredLimits(n int) {
	if m == nil {
		return
	}
	m.lowered.Set(float64(n))
}

// PutBackFailed counts n failed attempts at putting back a memory.max.
func (m *Metrics) PutBackFailed(n int) {
	if m == nil {
		return
	}
	m.putBackFailed.Add(float64(n))
}

// ThrottleReleaseFailed counts a throttle that could not be given back.
func (m *Metrics) ThrottleReleaseFailed() {
	if m == nil {
		return
	}
	m.releaseFailures.Inc()
}

// ConfigReloaded reports a load of the config file at that time: ok, or
// failed (the configuration before it stays in force).
func (m *Metrics) ConfigReloaded(ok bool, at time.Time) {
	if m == nil {
		return
	}
	if !ok {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.Set(seconds(at))
}

// RuntimeUp reports whether the container runtime answered (true) or
// could not be asked (false).
func (m *Metrics) RuntimeUp(up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.runtimeUp.WithLabelValues().Set(v)
}

// BuildInfo makes kube_oomd_build_info's one series: version as the
// build set it (main.version, what `kube-oomd version` prints, without
// its revision in parentheses), and the VCS revision and Go version from
// the binary's build information.
func (m *Metrics) BuildInfo(version string) {
	if m == nil {
		return
	}
	version, _, _ = strings.Cut(version, " ")
	revision := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, revision, runtime.Version()).Set(1)
}

// Throttled counts a throttle set.
func (m *Metrics) Throttled() {
	if m == nil {
		return
	}
	m.throttlesTotal.Inc()
}

// ThrottlesInForce says how many throttles are in force now.
func (m *Metrics) ThrottlesInForce(n int) {
	if m == nil {
		return
	}
	m.throttled.Set(float64(n))
}

// Contained counts a containment: a shielded grower held at its memory.high.
func (m *Metrics) Contained() {
	if m == nil {
		return
	}
	m.containedTotal.Inc()
}

// ContainedInForce says how many pods are contained now.
func (m *Metrics) ContainedInForce(n int) {
	if m == nil {
		return
	}
	m.contained.Set(float64(n))
}

// Reclaimed counts bytes reclaimed from a pod.
func (m *Metrics) Reclaimed(bytes uint64) {
	if m == nil {
		return
	}
	m.reclaimed.Add(float64(bytes))
}

// Windows is the decision's state after a look: its pressured and
// strained windows.
func (m *Metrics) Windows(pressured, strained int) {
	if m == nil {
		return
	}
	m.pressured.Set(float64(pressured))
	m.strained.Set(float64(strained))
}

// Pods says how many pods of class qos are followed now.
func (m *Metrics) Pods(qos string, n int) {
	if m == nil {
		return
	}
	m.pods.WithLabelValues(qos).Set(float64(n))
}

// TriggerEvent counts an event of the PSI trigger with that key.
func (m *Metrics) TriggerEvent(trigger string) {
	if m == nil {
		return
	}
	m.triggers.WithLabelValues(trigger).Inc()
}

// lastKill is kube_oomd_last_kill_info: the labels of the last kill, as
// one series with the value 1, or none before the first kill. It names
// the pod, which no counter does: an alert on kube_oomd_kills_total can
// say which pod went by joining it (or by a query in its annotation)
// without a series per pod ever killed. It is one series at any time,
// replaced at each kill under a lock, so a scrape never sees two or none
// in between; Prometheus keeps one more series per kill, and kills are
// rare (kill.cooldown apart, at least, and usually hours).
type lastKill struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	labels []string // nil before the first kill
}

func (l *lastKill) set(k Kill) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.labels = []string{k.Namespace, k.Pod, k.UID, k.QoS, k.Reason, k.Method}
}

func (l *lastKill) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *lastKill) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	labels := l.labels
	l.mu.Unlock()
	if labels != nil {
		ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, 1, labels...)
	}
}

// Handler serves the registry, in the format the scraper asks for.
func (m *Metrics) Handler() http.Handler {
	return handler(m.reg, nil)
}
