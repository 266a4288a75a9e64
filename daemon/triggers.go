package daemon

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/psi"
)

// Keys of the PSI triggers.
const (
	triggerKubepods = "kubepods"
	triggerHost     = "host"
)

// triggerInfo is one PSI trigger in force and what it saw.
type triggerInfo struct {
	Path      string
	Spec      psi.TriggerSpec // in force
	Requested psi.TriggerSpec // asked for: differs when the kernel demanded a 2 s window
	Events    int
	Last      time.Time
}

// triggerSet owns the PSI triggers: registration (with the kernel's window
// fallback), replacement on reload, and the count of their events.
type triggerSet struct {
	w       *psi.Watcher // nil: fake, for tests on trees where epoll cannot wait
	info    map[string]*triggerInfo
	metrics *metrics.Metrics // counts the events too
}

func newTriggerSet(fake bool, m *metrics.Metrics) (*triggerSet, error) {
	s := &triggerSet{info: map[string]*triggerInfo{}, metrics: m}
	if fake {
		return s, nil
	}
	w, err := psi.NewWatcher()
	if err != nil {
		return nil, err
	}
	s.w = w
	return s, nil
}

// apply makes the triggers in force those of files (by key), all with spec.
// It opens every new trigger before it replaces any: if one fails, the
// triggers in force stay as they were. It returns the triggers whose window
// the kernel adjusted, for the log.
func (s *triggerSet) apply(spec psi.TriggerSpec, files map[string]string) (adjusted []*triggerInfo, err error) {
	opened := map[string]*psi.Trigger{}
	for key, path := range files {
		if cur, ok := s.info[key]; ok && cur.Requested == spec && cur.Path == path {
			continue // already in force
		}
		if s.w == nil {
			// Fake: no trigger, but a missing file fails as the kernel's would.
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("cannot register the PSI trigger: %w", err)
			}
			opened[key] = nil
			continue
		}
		t, err := psi.OpenTrigger(path, spec)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return nil, fmt.Errorf("cannot register the PSI trigger: %w", err)
		}
		opened[key] = t
	}
	for _, key := range slices.Sorted(maps.Keys(s.info)) {
		if _, wanted := files[key]; !wanted {
			s.remove(key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(opened)) {
		t := opened[key]
		s.remove(key)
		info := &triggerInfo{Path: files[key], Spec: spec, Requested: spec}
		if t != nil {
			info.Spec = t.Spec
			if err := s.w.Add(key, t); err != nil {
				return adjusted, err
			}
		}
		s.info[key] = info
		if info.Spec != info.Requested {
			adjusted = append(adjusted, info)
		}
	}
	return adjusted, nil
}

func (s *triggerSet) remove(key string) {
	if s.w != nil {
		s.w.Remove(key)
	}
	delete(s.info, key)
}

// inForce is the kubepods trigger in force.
func (s *triggerSet) inForce() psi.TriggerSpec {
	if t, ok := s.info[triggerKubepods]; ok {
		return t.Spec
	}
	return psi.TriggerSpec{}
}

// count records an event.
func (s *triggerSet) count(ev psi.Event) {
	if t, ok := s.info[ev.Key]; ok {
		t.Events++
		t.Last = ev.Time
		s.metrics.TriggerEvent(ev.Key)
		if ev.Gone {
			delete(s.info, ev.Key)
		}
	}
}

// run delivers trigger events until ctx ends; a fake set delivers none.
func (s *triggerSet) run(ctx context.Context, out chan<- psi.Event) error {
	if s.w == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.w.Run(ctx, out)
}

func (s *triggerSet) close() {
	if s.w != nil {
		s.w.Close()
	}
}

// status lists the triggers for `kube-oomd status`.
func (s *triggerSet) status() []TriggerStatus {
	var out []TriggerStatus
	for _, key := range []string{triggerKubepods, triggerHost} {
		t, ok := s.info[key]
		if !ok {
			continue
		}
		ts := TriggerStatus{Key: key, File: t.Path, InForce: t.Spec.String(), Requested: t.Requested.String(), Events: t.Events}
		if !t.Last.IsZero() {
			last := t.Last
			ts.LastEvent = &last
		}
		out = append(out, ts)
	}
	return out
}
