package daemon

import (
	"context"
	"fmt"
	"maps"
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
	src     triggerSource
	info    map[string]*triggerInfo
	metrics *metrics.Metrics // counts the events too
}

// triggerSource is where PSI trigger events come from: the kernel's
// triggers (kernelTriggers), or a test's, which plays the events itself.
type triggerSource interface {
	// open registers a trigger on a pressure file; it returns the spec
	// in force (the kernel may lengthen the window), and what add takes.
	open(path string, spec psi.TriggerSpec) (*psi.Trigger, psi.TriggerSpec, error)
	// add makes an opened trigger key's; remove drops key's.
	add(key string, t *psi.Trigger) error
	remove(key string)
	// start delivers the events until ctx ends, or sends the error that
	// ended it on errc.
	start(ctx context.Context, errc chan<- error) <-chan psi.Event
	close()
}

// kernelTriggers are the kernel's PSI triggers, waited on by one
// psi.Watcher.
type kernelTriggers struct{ w *psi.Watcher }

func (k kernelTriggers) open(path string, spec psi.TriggerSpec) (*psi.Trigger, psi.TriggerSpec, error) {
	t, err := psi.OpenTrigger(path, spec)
	if err != nil {
		return nil, spec, err
	}
	return t, t.Spec, nil
}

func (k kernelTriggers) add(key string, t *psi.Trigger) error { return k.w.Add(key, t) }
func (k kernelTriggers) remove(key string)                    { k.w.Remove(key) }
func (k kernelTriggers) close()                               { k.w.Close() }

func (k kernelTriggers) start(ctx context.Context, errc chan<- error) <-chan psi.Event {
	out := make(chan psi.Event, 16)
	go func() { errc <- k.w.Run(ctx, out) }()
	return out
}

// newTriggerSet takes its events from src, or from the kernel when src is
// nil.
func newTriggerSet(src triggerSource, m *metrics.Metrics) (*triggerSet, error) {
	if src == nil {
		w, err := psi.NewWatcher()
		if err != nil {
			return nil, err
		}
		src = kernelTriggers{w}
	}
	return &triggerSet{src: src, info: map[string]*triggerInfo{}, metrics: m}, nil
}

// apply makes the triggers in force those of files (by key), all with spec.
// It opens every new trigger before it replaces any: if one fails, the
// triggers in force stay as they were. It returns the triggers whose window
// the kernel adjusted, for the log.
func (s *triggerSet) apply(spec psi.TriggerSpec, files map[string]string) (adjusted []*triggerInfo, err error) {
	type openedTrigger struct {
		t       *psi.Trigger
		inForce psi.TriggerSpec
	}
	opened := map[string]openedTrigger{}
	for key, path := range files {
		if cur, ok := s.info[key]; ok && cur.Requested == spec && cur.Path == path {
			continue // already in force
		}
		t, inForce, err := s.src.open(path, spec)
		if err != nil {
			for _, o := range opened {
				if o.t != nil {
					o.t.Close()
				}
			}
			return nil, fmt.Errorf("cannot register the PSI trigger: %w", err)
		}
		opened[key] = openedTrigger{t, inForce}
	}
	for _, key := range slices.Sorted(maps.Keys(s.info)) {
		if _, wanted := files[key]; !wanted {
			s.remove(key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(opened)) {
		o := opened[key]
		s.remove(key)
		info := &triggerInfo{Path: files[key], Spec: o.inForce, Requested: spec}
		if err := s.src.add(key, o.t); err != nil {
			return adjusted, err
		}
		s.info[key] = info
		if info.Spec != info.Requested {
			adjusted = append(adjusted, info)
		}
	}
	return adjusted, nil
}

func (s *triggerSet) remove(key string) {
	s.src.remove(key)
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

// start delivers trigger events until ctx ends (triggerSource.start).
func (s *triggerSet) start(ctx context.Context, errc chan<- error) <-chan psi.Event {
	return s.src.start(ctx, errc)
}

func (s *triggerSet) close() { s.src.close() }

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
