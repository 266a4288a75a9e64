package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// The relief ladder: reclaim, then throttle, before a kill; release when
// the pressure clears. policy.Decide says which step is due each window;
// this file carries the steps out and keeps the throttles in
// /run/kube-oomd, so that none outlives the daemon.

// throttled is one pod under a throttle.
type throttled struct {
	relief.Throttle
	watch policy.ThrottleWatch
}

// ladderOn tells whether any relief step is configured.
func (d *daemon) ladderOn() bool { return d.cfg.Relief.Reclaim || d.cfg.Relief.Throttle }

// setupRelief picks how memory.high is set and restores what an earlier
// run left behind.
func (d *daemon) setupRelief(ctx context.Context, l cgroupv2.Layout) {
	d.store = relief.Store{Path: filepath.Join(d.runDir, "throttles.json")}
	d.throttles = map[string]*throttled{}
	d.setter = relief.FileSetter{Mount: l.Mount}
	d.setterName = "file"
	if l.Driver == cgroupv2.DriverSystemd {
		// Not tied to ctx: the throttles must still be given back over
		// this connection after ctx is cancelled (see stopRelief).
		units, err := systemd.DialUnits(context.Background())
		if err != nil {
			d.log.Warn("cannot reach systemd over D-Bus: throttles write memory.high directly, which a daemon-reload may undo", "error", err)
		} else {
			d.setter, d.setterName, d.units = units, "systemd", units
		}
	}
	d.restoreThrottles(ctx)
}

// restoreThrottles gives back every memory.high that an earlier run of
// the daemon set and did not restore (it crashed, or was killed).
func (d *daemon) restoreThrottles(ctx context.Context) {
	ts, err := d.store.Load()
	if err != nil {
		d.log.Error("cannot read the throttles of an earlier run", "file", d.store.Path, "error", err)
		return
	}
	for _, t := range ts {
		dir := d.reader.Layout.Abs(t.Cgroup)
		if _, err := os.Stat(dir); err != nil {
			d.log.Info("a pod throttled by an earlier run is gone: nothing to restore", "pod_uid", t.UID, "qos", t.QoS, "cgroup", t.Cgroup)
			continue
		}
		if err := d.setHigh(ctx, t.Cgroup, t.Original); err != nil {
			d.log.Error("cannot restore memory.high set by an earlier run", "pod_uid", t.UID, "qos", t.QoS, "cgroup", t.Cgroup,
				"memory_high", highText(t.Original), "error", err)
			continue
		}
		d.log.Info("restored memory.high set by an earlier run", "pod_uid", t.UID, "qos", t.QoS, "cgroup", t.Cgroup,
			"memory_high", highText(t.Original), "was", highText(t.Current), "in_force", time.Since(t.Since).Round(time.Second).String())
	}
	if err := d.store.Save(nil); err != nil {
		d.log.Error("cannot clear the throttle state", "file", d.store.Path, "error", err)
	}
}

// relieve carries out the relief steps of one verdict. A dry run changes
// nothing: it only says which step would have been taken.
func (d *daemon) relieve(ctx context.Context, v policy.Verdict, o policy.Observation) {
	if d.cfg.Kill.Mode == config.ModeDryRun {
		if v.Reclaim || v.Throttle {
			d.log.Info("dry run: would relieve", "reclaim", v.Reclaim, "throttle", v.Throttle,
				"strained_windows", v.Strained, "stall_share", round(v.Stall), pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		}
		return
	}
	if v.Closed && d.watchThrottled(ctx, v, o) {
		return // a kill: the cooldown starts, relief waits too
	}
	if v.Reclaim && !d.noReclaim {
		d.reclaim(ctx, v, o)
	}
	if v.Throttle {
		d.throttle(ctx, v, o)
	}
	if v.Release {
		d.release(ctx)
	}
}

// reliefCandidates reads the BestEffort and Burstable pods and ranks them:
// relief never touches Guaranteed or protected pods.
func (d *daemon) reliefCandidates() ([]policy.Candidate, error) {
	var refs []cgroupv2.PodRef
	for _, r := range d.pods.Pods() {
		if r.QoS != cgroupv2.Guaranteed {
			refs = append(refs, r)
		}
	}
	pods, err := d.reader.ReadPods(refs)
	if err != nil {
		return nil, err
	}
	return policy.ReliefCandidates(policy.Rank(pods, d.rank)), nil
}

// reclaim asks the kernel to reclaim page cache from the top candidates,
// in chunks, until memory is no longer near the limit or the window's
// budget is spent.
func (d *daemon) reclaim(ctx context.Context, v policy.Verdict, o policy.Observation) {
	cs, err := d.reliefCandidates()
	if err != nil {
		d.log.Error("cannot read the pods to reclaim from", "error", err)
		return
	}
	budget := d.cfg.Relief.ReclaimMax
	chunk := d.cfg.Relief.ReclaimChunk
	for _, c := range cs {
		if budget < chunk || !d.stillNear() {
			return
		}
		if c.Pod.Stat.File < chunk {
			continue // not enough page cache to be worth it
		}
		r, err := relief.Reclaim(ctx, d.reader.Layout.Abs(c.Pod.Path), chunk, min(budget, c.Pod.Stat.File), d.stillNear)
		switch {
		case errors.Is(err, relief.ErrNoReclaim):
			d.noReclaim = true
			d.log.Warn("proactive reclaim is not available on this kernel: skipping that step", "error", err)
			return
		case errors.Is(err, cgroupv2.ErrGone):
			continue
		case err != nil:
			d.log.Error("reclaim failed", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS.String(), "cgroup", c.Pod.Path, "error", err)
			continue
		}
		budget -= r.Asked
		d.log.Info("reclaimed page cache", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS.String(), "cgroup", c.Pod.Path,
			"reason", "relief-reclaim", "asked_bytes", r.Asked, "freed_bytes", r.Freed, "chunks", r.Chunks, "partial", r.Partial,
			"pod_file_bytes", c.Pod.Stat.File, "strained_windows", v.Strained, "stall_share", round(v.Stall),
			pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
	}
}

// stillNear re-measures kubepods after a reclaim chunk: is memory still
// near the limit?
func (d *daemon) stillNear() bool {
	g, _, err := d.reader.ReadKubepods()
	if err != nil {
		return false
	}
	if g.Max != cgroupv2.Unlimited {
		return float64(g.Current) >= d.th.NearLimit*float64(g.Max)
	}
	host, err := cgroupv2.ReadMeminfo(d.procRoot)
	return err == nil && host.MemAvailable < d.th.HostFloor
}

// throttle sets memory.high a little below the usage of the top candidate.
// One pod at a time: if pressure stays while it is throttled, the kill rule
// decides, rather than throttling pods that are not growing one after the
// other. Size here is usage (memory.current), not working set: a throttle
// squeezes page cache too, so a pod streaming through the cache is a
// fitting target even though its working set is small.
func (d *daemon) throttle(ctx context.Context, v policy.Verdict, o policy.Observation) {
	if len(d.throttles) > 0 {
		return
	}
	cs, err := d.reliefCandidates()
	if err != nil {
		d.log.Error("cannot read the pods to throttle", "error", err)
		return
	}
	for _, c := range cs {
		if c.Pod.Current < d.rank.MinVictim {
			continue
		}
		dir := d.reader.Layout.Abs(c.Pod.Path)
		original, err := relief.ReadHigh(dir)
		if err != nil {
			continue // gone
		}
		value := policy.ThrottleValue(c.Pod.Current, c.Pod.Stat.Anon+c.Pod.Stat.Shmem, d.cfg.Relief.ThrottleBelow)
		if original <= value {
			continue // already held lower than this
		}
		ceiling := c.Pod.Max
		if ceiling == cgroupv2.Unlimited {
			ceiling = o.Kubepods.Max
		}
		if ceiling == cgroupv2.Unlimited {
			ceiling = o.Host.MemTotal
		}
		t := &throttled{Throttle: relief.Throttle{Cgroup: c.Pod.Path, UID: c.Pod.UID, QoS: c.Pod.QoS.String(),
			Original: original, Set: value, Current: value, Ceiling: ceiling, Since: time.Now()}}
		// Record before setting: a crash in between must still restore.
		d.throttles[c.Pod.Path] = t
		d.saveThrottles()
		if err := d.setHigh(ctx, c.Pod.Path, value); err != nil {
			d.log.Error("cannot throttle", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS.String(), "cgroup", c.Pod.Path, "error", err)
			d.unthrottle(ctx, c.Pod.Path, "throttle failed")
			continue
		}
		d.log.Warn("throttled pod", "pod_uid", c.Pod.UID, "qos", c.Pod.QoS.String(), "cgroup", c.Pod.Path,
			"reason", "relief-throttle", "memory_high_bytes", value, "original", highText(original), "usage_bytes", c.Pod.Current,
			"via", d.setterName, "strained_windows", v.Strained, "stall_share", round(v.Stall),
			pressureAttrs(o.Kubepods), memoryAttrs(o.Kubepods, o.Host))
		d.state = policy.Throttled(d.state)
		d.setStatus()
		return
	}
}

// watchThrottled kills a throttled pod that keeps pushing against its
// memory.high while kubepods stays strained near the limit, and says
// whether it did.
func (d *daemon) watchThrottled(ctx context.Context, v policy.Verdict, o policy.Observation) bool {
	for path, t := range d.throttles {
		ev, err := cgroupv2.ReadMemoryEvents(d.reader.Layout.Abs(path))
		if err != nil {
			continue
		}
		var kill bool
		t.watch, kill = policy.WatchThrottled(t.watch, ev.High, v, d.th)
		if !kill || v.Cooling {
			continue
		}
		ref, ok := d.reader.Layout.PodOf(path)
		if !ok {
			continue
		}
		p, err := d.reader.ReadPod(ref)
		if err != nil {
			continue
		}
		victim := policy.Rank([]cgroupv2.Pod{p}, d.rank)[0]
		if victim.Protected != "" {
			continue
		}
		v.Kill, v.Reason = true, policy.ReasonThrottled
		d.kill(ctx, victim, v, o)
		d.state = policy.Acted(d.state, time.Now())
		return true
	}
	return false
}

// release raises every throttle one step, and restores the original
// memory.high once a throttle reaches its ceiling.
func (d *daemon) release(ctx context.Context) {
	for path, t := range d.throttles {
		next, done := policy.ReleaseStep(t.Current, t.Set, d.cfg.Relief.ReleaseStep, t.Ceiling)
		if done {
			d.unthrottle(ctx, path, "pressure cleared")
			continue
		}
		if err := d.setHigh(ctx, path, next); err != nil {
			d.log.Error("cannot raise a throttle", "pod_uid", t.UID, "qos", t.QoS, "cgroup", path, "error", err)
			continue
		}
		t.Current = next
		d.saveThrottles()
		d.log.Info("raised throttle", "pod_uid", t.UID, "qos", t.QoS, "cgroup", path, "memory_high_bytes", next)
	}
}

// unthrottle restores a throttled pod's original memory.high.
func (d *daemon) unthrottle(ctx context.Context, path, why string) {
	t, ok := d.throttles[path]
	if !ok {
		return
	}
	err := d.setHigh(ctx, path, t.Original)
	if errors.Is(err, cgroupv2.ErrGone) {
		err = nil
	}
	if err != nil {
		d.log.Error("cannot restore memory.high", "pod_uid", t.UID, "qos", t.QoS, "cgroup", path, "memory_high", highText(t.Original), "error", err)
		return
	}
	delete(d.throttles, path)
	d.saveThrottles()
	d.log.Info("throttle released", "pod_uid", t.UID, "qos", t.QoS, "cgroup", path, "reason", why,
		"memory_high", highText(t.Original), "was_bytes", t.Current, "set_bytes", t.Set,
		"in_force", time.Since(t.Since).Round(time.Millisecond).String())
	d.setStatus()
}

// stopRelief gives back every throttle, then closes the D-Bus connection:
// on a clean stop no pod stays throttled because kube-oomd went away.
func (d *daemon) stopRelief() {
	d.restoreAll()
	if d.units != nil {
		d.units.Close()
	}
}

// restoreAll gives back every throttle.
func (d *daemon) restoreAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for path := range d.throttles {
		d.unthrottle(ctx, path, "kube-oomd stopping")
	}
}

// forget drops the throttle of a pod that went away.
func (d *daemon) forget(path string) {
	if t, ok := d.throttles[path]; ok {
		delete(d.throttles, path)
		d.saveThrottles()
		d.log.Info("throttled pod removed", "pod_uid", t.UID, "qos", t.QoS, "cgroup", path)
	}
}

// setHigh sets memory.high and checks that it is in force.
func (d *daemon) setHigh(ctx context.Context, path string, value uint64) error {
	if err := d.setter.SetHigh(ctx, path, value); err != nil {
		return err
	}
	dir := d.reader.Layout.Abs(path)
	var err error
	for range 10 { // systemd may apply a property a moment later
		if err = relief.Verify(dir, value); err == nil || errors.Is(err, cgroupv2.ErrGone) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (d *daemon) saveThrottles() {
	ts := make([]relief.Throttle, 0, len(d.throttles))
	for _, t := range d.throttles {
		ts = append(ts, t.Throttle)
	}
	if err := d.store.Save(ts); err != nil {
		d.log.Error("cannot save the throttle state: a restart could not restore these limits", "file", d.store.Path, "error", err)
	}
}

func highText(v uint64) string {
	if v == cgroupv2.Unlimited {
		return "max"
	}
	return fmt.Sprint(v)
}
