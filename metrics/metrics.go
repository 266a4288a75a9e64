package metrics

import (
	"net/http"
	"sync"
	"time"

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
}

// Metrics are the daemon's series. Its methods may be called from any
// goroutine; on a nil *Metrics they do nothing.
type Metrics struct {
	reg *prometheus.Registry

	kills          *prometheus.CounterVec
	wouldKill      *prometheus.CounterVec
	kernelOOMKills *prometheus.CounterVec
	lastKillTime   prometheus.Gauge
	lastKill       *lastKill

	throttles      prometheus.Gauge
	throttlesTotal prometheus.Counter
	contained      prometheus.Gauge
	containedTotal prometheus.Counter
	reclaimed      prometheus.Counter

	pressured prometheus.Gauge
	strained  prometheus.Gauge

	pods     *prometheus.GaugeVec
	triggers *prometheus.CounterVec
}

// New makes the registry with every series of kube-oomd, the Go runtime's
// (go_*) and the process's (process_*), and the series of l at 0.
func New(l Labels) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		kills: counterVec("kube_oomd_kills_total",
			"Kills kube-oomd made (unconfirmed ones included), by reason, the victim's QoS class and how it killed.",
			"reason", "qos", "method"),
		wouldKill: counterVec("kube_oomd_would_kill_total",
			"Dry run: kills kube-oomd would have made, by reason and the victim's QoS class.", "reason", "qos"),
		kernelOOMKills: counterVec("kube_oomd_kernel_oom_kills_total",
			"Processes the kernel's own OOM killer killed in pods, by the pod's QoS class; not those a kill with kill.method oom induced.", "qos"),
		lastKillTime: gauge("kube_oomd_last_kill_timestamp_seconds",
			"When kube-oomd last killed, in seconds since the epoch; 0 before its first kill."),
		lastKill: &lastKill{desc: prometheus.NewDesc("kube_oomd_last_kill_info",
			"The last pod kube-oomd killed: one series, replaced at each kill.",
			[]string{"namespace", "pod", "uid", "qos", "reason", "method"}, nil)},
		throttles: gauge("kube_oomd_throttles", "Pods throttled now (a temporary memory.high in force)."),
		throttlesTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_throttles_total",
			Help: "Throttles set: a pod's memory.high lowered by the relief ladder."}),
		contained: gauge("kube_oomd_contained_pods", "Pods contained now: their growing processes spare themselves from a kill (oom_score_adj -1000), so kube-oomd holds them at a memory.high at or under their usage."),
		containedTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_contained_total",
			Help: "Containments: a pod whose growing processes a kill spares held at a memory.high at or under its usage."}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "kube_oomd_reclaimed_bytes_total",
			Help: "Page cache reclaimed from pods with memory.reclaim, in bytes."}),
		pressured: gauge("kube_oomd_pressured_windows", "Consecutive pressured windows of the decision, as kube-oomd status shows them."),
		strained:  gauge("kube_oomd_strained_windows", "Consecutive strained windows of the decision (relief's), as kube-oomd status shows them."),
		pods: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_oomd_pods",
			Help: "Pods kube-oomd follows, by QoS class."}, []string{"qos"}),
		triggers: counterVec("kube_oomd_trigger_events_total", "PSI trigger events, by trigger (kubepods, host).", "trigger"),
	}
	m.reg.MustRegister(m.kills, m.wouldKill, m.kernelOOMKills, m.lastKillTime, m.lastKill,
		m.throttles, m.throttlesTotal, m.contained, m.containedTotal, m.reclaimed, m.pressured, m.strained, m.pods, m.triggers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, q := range l.Classes {
		m.kernelOOMKills.WithLabelValues(q)
		m.pods.WithLabelValues(q)
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
}

// Killed counts a kill, and makes it the last one.
func (m *Metrics) Killed(k Kill) {
	if m == nil {
		return
	}
	m.kills.WithLabelValues(k.Reason, k.QoS, k.Method).Inc()
	m.lastKillTime.Set(float64(k.At.Unix()) + float64(k.At.Nanosecond())/1e9)
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
	m.throttles.Set(float64(n))
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
