package policy

import (
	"maps"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/psi"
)

// Thresholds configure the kill decision.
type Thresholds struct {
	Kind    psi.Kind      // which PSI line counts: some or full
	Stall   time.Duration // stall within one window that makes it a pressured window
	Window  time.Duration // the PSI window in force
	Windows int           // consecutive pressured windows needed

	// TriggerStall is the stall of the PSI trigger in force: a trigger
	// event says a window had at least that much.
	TriggerStall time.Duration

	// The relief ladder; ReliefStall 0 turns it off.
	ReliefStall   time.Duration // stall within one window that makes it strained
	Reclaim       bool
	Throttle      bool
	ThrottleAfter int           // strained windows, with memory near the limit, before a throttle
	ReleaseAfter  time.Duration // calm time before a throttle is released

	// How big the relief steps are.
	ReclaimChunk  uint64  // one memory.reclaim write
	ReclaimMax    uint64  // most reclaimed in one window
	ThrottleBelow float64 // how far under its usage a pod's memory.high goes
	ReleaseStep   float64 // share of the value set that a released throttle rises by each window

	NearLimit float64 // working set / kubepods memory.max that counts as near the limit
	HostFloor uint64  // without a kubepods limit: MemAvailable below this is near

	OnImminentOOM bool
	Cooldown      time.Duration

	// Container: kill the victim's largest container, not the pod.
	Container bool
	// PageSize is the kernel's page size: memory.high is rounded down to it.
	PageSize uint64
	// Rank is what ranking needs besides the pods.
	Rank RankConfig
}

// Observation is what the daemon read at one moment: the kubepods cgroup,
// the host, and whether a PSI trigger fired since the last one.
type Observation struct {
	Now       time.Time
	Triggered bool
	Kubepods  cgroupv2.Group
	Local     cgroupv2.MemoryEvents // kubepods memory.events.local
	Host      cgroupv2.Meminfo
	// Throttled holds, for each pod under a throttle (by cgroup path), the
	// high counter of its memory.events: how often it hit its memory.high.
	Throttled map[string]uint64
}

// State is what the decision remembers between observations. The zero
// State is a fresh start.
type State struct {
	started     bool
	windowStart time.Time
	windowStall time.Duration // stall total at windowStart
	triggered   bool          // a trigger fired in the current window
	lastLocal   cgroupv2.MemoryEvents
	watches     map[string]throttleWatch // throttled pods, by path; never mutated, replaced

	Pressured int       // consecutive pressured windows so far
	Strained  int       // consecutive strained windows so far (relief level)
	Calm      int       // consecutive windows that were not strained
	LastKill  time.Time // zero if none
}

// Reason says why a verdict says kill.
type Reason string

const (
	ReasonPressure    Reason = "sustained-pressure"  // pressure for Windows windows, memory near the limit
	ReasonImminentOOM Reason = "imminent-oom"        // kubepods hit its limit with unreclaimable memory near it
	ReasonThrottled   Reason = "leak-under-throttle" // a throttled pod kept pushing against its memory.high
)

// Verdict is the outcome of one observation, with the figures behind it.
type Verdict struct {
	Kill      bool
	Reason    Reason
	Pressured int     // consecutive pressured windows
	Strained  int     // consecutive strained windows
	Calm      int     // consecutive calm windows
	Closed    bool    // this observation completed a window
	Stall     float64 // stall share of the last completed window, 0..1
	Near      bool    // memory near the limit: working set near memory.max, or the limit hit
	LimitHit  bool    // kubepods hit its own memory.max since the last observation
	Usage     uint64  // what was compared: kubepods working set, or host MemAvailable without a limit
	Limit     uint64  // kubepods memory.max, or the host floor without a limit
	Cooling   bool    // a kill happened less than Cooldown ago
	// Victim is the throttled pod to kill for ReasonThrottled, by cgroup
	// path; for the other reasons the ranking chooses (see Victim).
	Victim string

	// The relief ladder's steps, decided once per window.
	Reclaim  bool // reclaim page cache from the top candidates
	Throttle bool // throttle the top candidate not yet throttled
	Release  bool // raise the throttles one step
}

// Decide folds one observation into the state and says whether to kill.
// Pressure alone never kills: memory must also be near the limit.
func Decide(s State, o Observation, th Thresholds) (State, Verdict) {
	total := stallTotal(o.Kubepods, th.Kind)
	if !s.started {
		s = State{started: true, windowStart: o.Now, windowStall: total, lastLocal: o.Local, LastKill: s.LastKill}
	}
	v := Verdict{}
	if o.Triggered {
		s.triggered = true
	}

	// Close the window once it has lasted about as long as the PSI window.
	if elapsed := o.Now.Sub(s.windowStart); elapsed >= th.Window*9/10 && elapsed > 0 {
		v.Closed = true
		v.Stall = float64(total-s.windowStall) / float64(elapsed)
		triggeredKill := s.triggered && th.TriggerStall >= th.Stall
		pressured := triggeredKill || v.Stall >= float64(th.Stall)/float64(th.Window)
		strained := s.triggered || (th.ReliefStall > 0 && v.Stall >= float64(th.ReliefStall)/float64(th.Window))
		if elapsed > 2*th.Window {
			// Nobody looked for a while, which only happens when no trigger
			// fired: the windows in between were calm, and this one's stall
			// share is spread thin over them.
			s.Pressured, s.Strained = 0, 0
			s.Calm += int(elapsed/th.Window) - 1
		}
		s.Pressured = next(s.Pressured, pressured)
		s.Strained = next(s.Strained, strained || pressured)
		s.Calm = next(s.Calm, !strained && !pressured)
		s.windowStart, s.windowStall, s.triggered = o.Now, total, false
	}
	v.Pressured, v.Strained, v.Calm = s.Pressured, s.Strained, s.Calm

	limitHit := o.Local.Max > s.lastLocal.Max || o.Local.OOM > s.lastLocal.OOM
	s.lastLocal = o.Local
	v.Near, v.Usage, v.Limit = near(o, th)
	// Hitting kubepods' own memory.max is being at the limit, even when the
	// working set reads lower: under thrashing the kernel deactivates hot
	// page cache, which then no longer counts as working set.
	v.LimitHit = limitHit
	v.Near = v.Near || limitHit

	if v.Closed {
		s.watches = watchThrottled(s.watches, o.Throttled, v)
	}
	if v.Closed && th.ReliefStall > 0 && th.Window > 0 {
		v.Release = s.Calm > 0 && time.Duration(s.Calm)*th.Window >= th.ReleaseAfter
	}
	if !s.LastKill.IsZero() && o.Now.Sub(s.LastKill) < th.Cooldown {
		// Pressure is re-checked after the cooldown, from scratch: windows
		// that still show the last victim dying do not count.
		v.Cooling = true
		s.Pressured, v.Pressured = 0, 0
		return s, v
	}
	switch {
	case v.Near && s.Pressured >= th.Windows:
		v.Kill, v.Reason = true, ReasonPressure
	case th.OnImminentOOM && limitHit && unreclaimableNear(o.Kubepods, th):
		v.Kill, v.Reason = true, ReasonImminentOOM
	case leaking(s.watches, th.Windows) != "":
		v.Kill, v.Reason, v.Victim = true, ReasonThrottled, leaking(s.watches, th.Windows)
	case v.Closed && th.ReliefStall > 0 && s.Strained > 0:
		v.Reclaim = th.Reclaim
		v.Throttle = th.Throttle && v.Near && s.Strained >= th.ThrottleAfter
	}
	return s, v
}

// next counts a streak: one more if it goes on, else back to zero.
func next(n int, on bool) int {
	if on {
		return n + 1
	}
	return 0
}

// ActionKind is what the daemon did on a verdict.
type ActionKind int

const (
	// ActKill: a kill, or in dry-run a kill that would have happened. The
	// cooldown starts and pressure must build up again before the next one.
	ActKill ActionKind = iota
	// ActThrottle: a pod was throttled. The next throttle needs
	// ThrottleAfter more strained windows.
	ActThrottle
)

// Action is one thing done on a verdict, for Record.
type Action struct {
	Kind ActionKind
	At   time.Time
	Pod  string // the pod's cgroup path
}

// Record folds an action into the state: the one call that tells the
// decision what was done on its verdict.
func Record(s State, a Action) State {
	switch a.Kind {
	case ActKill:
		s.LastKill = a.At
		s.Pressured = 0
		s.windowStart, s.triggered = a.At, false
		if _, ok := s.watches[a.Pod]; ok {
			w := maps.Clone(s.watches)
			delete(w, a.Pod)
			s.watches = w
		}
	case ActThrottle:
		s.Strained = 0
	}
	return s
}

// nearLimit is the one rule for "near the limit": usage against kubepods'
// memory.max, or, when kubepods has no limit, the host's MemAvailable
// against the floor. It returns the two figures compared.
func nearLimit(usage uint64, g cgroupv2.Group, host cgroupv2.Meminfo, th Thresholds) (ok bool, compared, limit uint64) {
	if g.Max != cgroupv2.Unlimited && g.Max > 0 {
		return float64(usage) >= th.NearLimit*float64(g.Max), usage, g.Max
	}
	return host.MemAvailable < th.HostFloor, host.MemAvailable, th.HostFloor
}

// near says whether the pods' working set (what the kubelet counts as used:
// page cache that can go does not count) is near the limit.
func near(o Observation, th Thresholds) (ok bool, usage, limit uint64) {
	return nearLimit(o.Kubepods.WorkingSet, o.Kubepods, o.Host, th)
}

// ReclaimEnough says whether reclaim has made room: kubepods' usage, page
// cache included (what the kernel's limit counts), is no longer near the
// limit. Reclaim re-measures after each chunk and stops once it is.
func ReclaimEnough(g cgroupv2.Group, host cgroupv2.Meminfo, th Thresholds) bool {
	ok, _, _ := nearLimit(g.Current, g, host, th)
	return !ok
}

// unreclaimableNear says whether memory that reclaim cannot free without
// swap (anonymous and shared memory) fills kubepods up to the near-limit
// share: then hitting the limit means the kernel OOM killer is next. Page
// cache hitting the limit is the normal life of a busy node.
func unreclaimableNear(g cgroupv2.Group, th Thresholds) bool {
	if g.Max == cgroupv2.Unlimited || g.Max == 0 {
		return false
	}
	return float64(g.Stat.Anon+g.Stat.Shmem) >= th.NearLimit*float64(g.Max)
}

func stallTotal(g cgroupv2.Group, k psi.Kind) time.Duration {
	if k == psi.Some {
		return g.Pressure.Some.Total
	}
	return g.Pressure.Full.Total
}
