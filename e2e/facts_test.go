//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"testing"
)

// The shapes that more than one scenario's result shares, as the guest's
// shared code (lib.sh, leak.sh, episode.sh, node.sh, watch.py) writes
// them. A scenario's typed result embeds or names them; decodeResult
// checks that each required field is there.

// pod: one simulated pod of a run (lib.sh's pod_facts, PREFIX.pods.NAME).
type pod struct {
	UID    string `json:"uid"`
	QoS    string `json:"qos"`
	Cgroup string `json:"cgroup"`
}

// pods: a run's pods by the scenario's name for them.
type pods map[string]pod

// of: the pod the scenario calls name; an error if the guest did not
// record it.
func (p pods) of(t *testing.T, path, name string) pod {
	t.Helper()
	x, ok := p[name]
	if !ok {
		t.Errorf("result %s.%s: missing (the guest did not write it)", path, name)
	}
	return x
}

// flags: facts of one kind by name, true or false (PREFIX.alive.NAME,
// PREFIX.pod_alive.NAME). A name the guest did not write is an error where
// a check reads it.
type flags map[string]bool

func (f flags) isTrue(t *testing.T, path, name string) {
	t.Helper()
	if v, ok := f[name]; !ok || !v {
		t.Errorf("%s.%s = %v, want true", path, name, show(v, ok))
	}
}

func (f flags) isFalse(t *testing.T, path, name string) {
	t.Helper()
	if v, ok := f[name]; !ok || v {
		t.Errorf("%s.%s = %v, want false", path, name, show(v, ok))
	}
}

// nums: numbers by name (PREFIX.before.pod_oom_kill.NAME).
type nums map[string]float64

func (n nums) num(t *testing.T, path, name string) float64 {
	t.Helper()
	v, ok := n[name]
	if !ok {
		t.Errorf("result %s.%s: want a number, have <nil>", path, name)
	}
	return v
}

// texts: words or numbers by name (PREFIX.qos_high.NAME).
type texts map[string]text

func (m texts) str(t *testing.T, path, name string) text {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Errorf("result %s.%s: want a string, have <nil>", path, name)
	}
	return v
}

// show: a map's value as the untyped getters printed it (<nil> if absent).
func show[T any](v T, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

// orNil: a pointer's value, as the untyped getters printed it (<nil> if
// nil).
func orNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// alive: lib.sh's pods_alive_facts.
type alive struct {
	Alive    flags `json:"alive"`
	PodAlive flags `json:"pod_alive"`
}

// oomCounts: lib.sh's oom_facts, at PREFIX.before and PREFIX.after.
type oomCounts struct {
	KubepodsOOMKill   float64 `json:"kubepods_oom_kill"`
	KubepodsLimitOOM  float64 `json:"kubepods_limit_oom"`
	KubepodsMaxEvents float64 `json:"kubepods_max_events"`
	PodOOMKill        nums    `json:"pod_oom_kill"`
}

type oomBeforeAfter struct {
	Before oomCounts `json:"before"`
	After  oomCounts `json:"after"`
}

// watchFacts: watch.py's report of a leaker (PREFIX.watch).
type watchFacts struct {
	Died        bool     `json:"died"`
	DeathS      *float64 `json:"death_s"`       // null unless it died
	FirstStallS *float64 `json:"first_stall_s"` // null: kubepods never stalled
}

// passes: the reader's passes (leak.sh, node.sh): the worst during the
// leak (null if none: an error), the median before.
type passes struct {
	WorstS      float64 `json:"worst_s"`
	BaselineS   float64 `json:"baseline_s"`
	CountDuring float64 `json:"count_during"`
}

// need: a fact that the check reads here, where the guest may leave it out
// (or null) in other cases; a test error, and zero, when it is missing.
func need[T any](t *testing.T, path string, v *T) T {
	t.Helper()
	if v == nil {
		var zero T
		t.Errorf("result %s: missing or null (the guest did not write it)", path)
		return zero
	}
	return *v
}

// The assertions of the untyped getters, on a typed result's fields; path
// names the fact in the message.

func isTrue(t *testing.T, path string, v bool) {
	t.Helper()
	if !v {
		t.Errorf("%s = %v, want true", path, v)
	}
}

func isFalse(t *testing.T, path string, v bool) {
	t.Helper()
	if v {
		t.Errorf("%s = %v, want false", path, v)
	}
}

func eq(t *testing.T, path string, got, want float64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", path, got, want)
	}
}

func atLeast(t *testing.T, path string, got, min float64) {
	t.Helper()
	if got < min {
		t.Errorf("%s = %v, want at least %v", path, got, min)
	}
}

func match[S ~string](t *testing.T, path string, s S, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(string(s)) {
		t.Errorf("%s = %q, want a match for %s", path, s, re)
	}
}

// num: a fact the guest writes as a word or a number, read as a number;
// an error if it is a word.
func (x text) num(t *testing.T, path string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(string(x), 64)
	if err != nil {
		t.Errorf("result %s: want a number, have %q", path, x)
	}
	return f
}
