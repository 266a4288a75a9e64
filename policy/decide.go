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
	ReleaseAfter  time.Duration // time calm, or not near the limit, before a throttle is released

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

	// DryRun: kill.mode dry-run. A kill is chosen and said, never carried
	// out; relief and containment are only said (see Choose).
	DryRun bool
	// Rescan is cgroup.rescan_interval: the loop looks at least this
	// often, so a look of its own is needed only sooner (Looks).
	Rescan time.Duration
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
	// Contained holds the throttled pods that are contained shielded
	// growers (PlanContain), by cgroup path: pushing against their
	// memory.high, they are held, never killed for it.
	Contained map[string]bool
	// Throttles are the throttles in force, as the relief ladder last
	// reported them (Pushing is policy's to say: State.Holds).
	Throttles []ThrottleState
	// Busy: an action is in flight or queued. Nothing new acts while one
	// is: relief waits for a later window, a kill for its report.
	Busy bool
}

// window is the window in progress: when it started, and kubepods' stall
// total and unreclaimable memory then.
type window struct {
	start     time.Time
	stall     time.Duration
	unrecl    uint64
	triggered bool // a trigger fired in it
}

func newWindow(o Observation, stall time.Duration) window {
	return window{start: o.Now, stall: stall, unrecl: unreclaimable(o.Kubepods)}
}

// FastLeakHorizon: growth that would fill what is left under kubepods'
// limit (its margin) within this time is a fast leak. Three of the
// kubelet's housekeeping periods (10 s): the relief ladder's throttle is
// for growth slower than that, which it can hold while the episode ends.
// In the VM the leaks of 01, 14, 15, 17, 18 and 20 (16 to 75 MiB/s) fill
// it in 18 s or less; 09's 1 MiB/s in 300 s.
const FastLeakHorizon = 30 * time.Second

// fastLeak says whether unreclaimable memory growing at rate (bytes a
// second, over the last window) is a fast leak: at GrowingRate or more,
// and filling the room left (under kubepods' limit and its margin; with
// no limit, the host's MemAvailable above memory.host_available_floor)
// within FastLeakHorizon. A busy but steady node does not grow: 02 and
// 08 in the VM grew by 0 in each of their pressured windows near the
// limit, with stall shares up to 0.37, more than a leak's first window
// shows, so the stall alone cannot tell them apart.
func fastLeak(o Observation, th Thresholds, rate float64) bool {
	if rate < GrowingRate {
		return false
	}
	room := float64(o.Host.MemAvailable) - float64(th.HostFloor)
	if g := o.Kubepods; limited(g) {
		target := g.Max - min(Margin(g.Max), g.Max)
		room = float64(target - min(unreclaimable(g), target))
	}
	return room <= rate*FastLeakHorizon.Seconds()
}

// unreclaimable is the memory of g that reclaim cannot take without swap:
// anon plus shmem.
func unreclaimable(g cgroupv2.Group) uint64 { return g.Stat.Anon + g.Stat.Shmem }

// State is what the decision remembers between observations. The zero
// State is a fresh start.
type State struct {
	started   bool
	win       window // the window in progress
	fastLeak  bool   // the last closed window's growth was a fast leak (fastLeak)
	lastLocal cgroupv2.MemoryEvents
	watches   map[string]throttleWatch // throttled pods, by path; never mutated, replaced

	// kubepods' unreclaimable memory (anon plus shmem), for the prediction
	unrecl   uint64
	unreclAt time.Time
	rate     float64 // bytes a second between the last two looks
	rising   int     // consecutive looks at which it grew at GrowingRate or more

	killing     bool      // a kill is in flight: recorded, not yet reported
	freedAt     time.Time // when the last kill was confirmed; zero if it was not
	restartFrom bool      // start a new window at the next observation

	Pressured int       // consecutive pressured windows so far
	Strained  int       // consecutive strained windows so far (relief level)
	Calm      int       // consecutive windows that were not strained
	Relieved  int       // consecutive windows calm or not near the limit (see Decide)
	LastKill  time.Time // zero if none

	growth Growth // each pod's growth over the episode in progress
}

// Growth is each pod's growth over the episode in progress, as sampled.
func (s State) Growth() Growth { return s.growth }

// Reason says why a verdict says kill.
type Reason string

const (
	ReasonPressure    Reason = "sustained-pressure"  // pressure for Windows windows, memory near the limit
	ReasonImminentOOM Reason = "imminent-oom"        // kubepods hit its limit with unreclaimable memory near it
	ReasonThrottled   Reason = "leak-under-throttle" // a throttled pod kept pushing against its memory.high
	ReasonPredicted   Reason = "oom-predicted"       // anon plus shmem grows fast enough to reach the limit within a window
)

// Reasons lists every Reason, in the order above.
func Reasons() []Reason {
	return []Reason{ReasonPressure, ReasonImminentOOM, ReasonThrottled, ReasonPredicted}
}

// Verdict is the outcome of one observation: what was decided
// (Outcome), the relief steps due (Steps), the figures behind them
// (Figures) and when to look again (Schedule).
type Verdict struct {
	Outcome
	Steps
	Figures
	Schedule
}

// Outcome is what a verdict decided: to kill or not, and why.
type Outcome struct {
	Kill   bool
	Reason Reason
	// Victim is the throttled pod to kill for ReasonThrottled, by cgroup
	// path; for the other reasons the ranking chooses (see Choose).
	Victim string
}

// Steps are the relief ladder's steps, decided once per window.
type Steps struct {
	Reclaim  bool // reclaim page cache from the top candidates
	Throttle bool // throttle the top candidate not yet throttled
	Release  bool // raise the throttles one step
}

// Figures are the figures behind a verdict, for the logs and status.
type Figures struct {
	Pressured int     // consecutive pressured windows
	Strained  int     // consecutive strained windows
	Calm      int     // consecutive calm windows
	Relieved  int     // consecutive windows calm or not near the limit: release counts these
	Closed    bool    // this observation completed a window
	Stall     float64 // stall share of the last completed window, 0..1
	Near      bool    // memory near the limit: working set near memory.max, or the limit hit
	LimitHit  bool    // kubepods hit its own memory.max since the last observation
	Usage     uint64  // what was compared: kubepods working set, or host MemAvailable without a limit
	Limit     uint64  // kubepods memory.max, or the host floor without a limit
	Cooling   bool    // a kill happened less than Cooldown ago
	// Need is the working set kubepods must shed to get back under the
	// near-limit line (0 when it is under it): what the victims must free.
	Need uint64
	// Unreclaimable is kubepods' anonymous plus shared memory, and Rate how
	// fast it grew between the last two looks, in bytes a second.
	Unreclaimable uint64
	Rate          float64
}

// Schedule is what a verdict says of the looks to come.
type Schedule struct {
	// Track: the episode is on, so each pod's growth is followed (Growth);
	// EpisodeOver: it is over, the samples can go.
	Track, EpisodeOver bool
	// NextLook is when to look again even if no event comes, because
	// unreclaimable memory could reach the limit before then (0: no need).
	NextLook time.Duration
}

// judge folds one observation into the state and says whether to kill.
// Pressure alone never kills: memory must also be near the limit.
func judge(s State, o Observation, th Thresholds) (State, Verdict) {
	total := stallTotal(o.Kubepods, th.Kind)
	if !s.started {
		s = State{started: true, win: newWindow(o, total), lastLocal: o.Local, LastKill: s.LastKill, growth: s.growth}
	}
	if s.restartFrom {
		// The last kill was confirmed: windows count from now, the
		// victim's dying stall not in them.
		s.win, s.restartFrom = newWindow(o, total), false
	}
	v := Verdict{}
	if o.Triggered {
		s.win.triggered = true
	}
	s = s.followUnreclaimable(o)
	v.Unreclaimable, v.Rate = s.unrecl, s.rate

	// Close the window once it has lasted about as long as the PSI window.
	if elapsed := o.Now.Sub(s.win.start); elapsed >= th.Window*9/10 && elapsed > 0 {
		v.Closed = true
		v.Stall = float64(total-s.win.stall) / float64(elapsed)
		s.fastLeak = fastLeak(o, th, (float64(unreclaimable(o.Kubepods))-float64(s.win.unrecl))/elapsed.Seconds())
		triggeredKill := s.win.triggered && th.TriggerStall >= th.Stall
		pressured := triggeredKill || v.Stall >= float64(th.Stall)/float64(th.Window)
		strained := s.win.triggered || (th.ReliefStall > 0 && v.Stall >= float64(th.ReliefStall)/float64(th.Window))
		if elapsed > 2*th.Window {
			// Nobody looked for a while, which only happens when no trigger
			// fired: the windows in between were calm, and this one's stall
			// share is spread thin over them.
			s.Pressured, s.Strained = 0, 0
			s.Calm += int(elapsed/th.Window) - 1
			s.Relieved += int(elapsed/th.Window) - 1
		}
		s.Pressured = next(s.Pressured, pressured)
		s.Strained = next(s.Strained, strained || pressured)
		s.Calm = next(s.Calm, !strained && !pressured)
		s.win = newWindow(o, total)
	}
	limitHit := o.Local.Max > s.lastLocal.Max || o.Local.OOM > s.lastLocal.OOM
	s.lastLocal = o.Local
	v.Near, v.Usage, v.Limit = near(o, th)
	// Hitting kubepods' own memory.max is being at the limit, even when the
	// working set reads lower: under thrashing the kernel deactivates hot
	// page cache, which then no longer counts as working set.
	v.LimitHit = limitHit
	v.Near = v.Near || limitHit
	if v.Closed {
		// A throttle is there to hold kubepods off its limit. A window
		// far from it has nothing for a throttle to do, strained or not:
		// the stall left is mostly the throttled pod's own, stalled at
		// its memory.high, which kubepods' PSI counts too. Waiting for
		// calm there would hold the throttle for as long as the pod
		// pushes against it, with no kill to end it (a kill needs memory
		// near the limit). Released, a pod that still grows comes near
		// the limit again, and the rules below decide.
		s.Relieved = next(s.Relieved, s.Calm > 0 || !v.Near)
	}
	v.Pressured, v.Strained, v.Calm, v.Relieved = s.Pressured, s.Strained, s.Calm, s.Relieved

	v.Need = shed(o, th)
	v.NextLook = nextLook(s, o.Kubepods, th)
	predicted := th.OnImminentOOM && s.predicted(o.Kubepods, th)
	imminent := th.OnImminentOOM && (limitHit || atLimit(o.Kubepods)) && unreclaimableNear(o.Kubepods, th)
	v.Track = s.Strained > 0 || s.Pressured > 0 || v.Near || predicted || (v.NextLook > 0 && v.NextLook < th.Window)
	v.EpisodeOver = v.Closed && s.Calm > 0 && !v.Track

	if v.Closed {
		s.watches = watchThrottled(s.watches, o.Throttled, v)
	}
	if v.Closed && th.ReliefStall > 0 && th.Window > 0 {
		v.Release = s.Relieved > 0 && time.Duration(s.Relieved)*th.Window >= th.ReleaseAfter
	}
	windows := th.Windows
	if !s.LastKill.IsZero() && o.Now.Sub(s.LastKill) < th.Cooldown {
		v.Cooling = true
		if s.killing || s.freedAt.IsZero() {
			// The last kill has not freed its memory yet (or never
			// confirmed it did): nothing is decided on figures that still
			// show the victim.
			s.Pressured, v.Pressured = 0, 0
			return s, v
		}
		// The cooldown lets PSI averages settle; it never hands an
		// episode to the kernel. Since the last kill freed its memory,
		// one pressured window near the limit is pressure still
		// sustained, and an imminent or predicted OOM is acted on at once.
		windows = 1
	}
	if s.fastLeak && windows > 1 {
		// A fast leak under way: waiting the last window out only lets
		// it take everyone else's page cache, and a throttle would only
		// put its end off (fastLeak).
		windows--
	}
	switch {
	case v.Near && s.Pressured >= windows:
		v.Kill, v.Reason = true, ReasonPressure
	case imminent:
		v.Kill, v.Reason = true, ReasonImminentOOM
	case predicted:
		v.Kill, v.Reason = true, ReasonPredicted
	case leaking(s.watches, th.Windows, o.Contained) != "":
		v.Kill, v.Reason, v.Victim = true, ReasonThrottled, leaking(s.watches, th.Windows, o.Contained)
	case v.Closed && th.ReliefStall > 0 && s.Strained > 0:
		v.Reclaim = th.Reclaim
		v.Throttle = th.Throttle && v.Near && s.Strained >= th.ThrottleAfter
	}
	return s, v
}

// Holds says whether the throttled pod at path is still held by its
// memory.high: it hit it (the high counter of its memory.events.local
// rose) in the last window, and either kubepods was strained and near its
// limit then, or the pod's unreclaimable memory still grows (rate, in
// bytes a second, Growth.Rates; 0 if not sampled). A pod held at or under
// its usage hits its memory.high with any page cache it charges (logging,
// file reads): that alone does not hold it, or it would be held for ever.
// Held or not, a release happens only after relief.release_after calm or
// far from the limit (Verdict.Release), which a pressing window resets.
func (s State) Holds(path string, rate float64) bool {
	w := s.watches[path]
	return w.pushed && (w.pressing || rate >= GrowingRate)
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
	// ActKill: a kill was started, or in dry-run a kill that would have
	// happened (in dry-run no ActKillDone follows). The cooldown starts and
	// pressure must build up again before the next one.
	ActKill ActionKind = iota
	// ActKillDone: the kill started with ActKill reported. Confirmed (its
	// cgroup emptied, its memory freed): the decision looks again at
	// once, with one window enough (see Decide). Not Killed (nothing was
	// signalled): the cooldown is lifted.
	ActKillDone
	// ActThrottle: a pod was throttled. The next throttle needs
	// ThrottleAfter more strained windows.
	ActThrottle
)

// Action is one thing done on a verdict, for Record.
type Action struct {
	Kind ActionKind
	At   time.Time
	Pod  string // the pod's cgroup path

	Killed, Confirmed bool // ActKillDone: something was signalled; it all died
	// Forget (ActKillDone): the pods a kill signalled, by cgroup path:
	// their memory was freed, their growth samples go.
	Forget []string
}

// Record folds an action into the state: the one call that tells the
// decision what was done on its verdict.
func Record(s State, a Action) State {
	switch a.Kind {
	case ActKill:
		s.LastKill, s.killing, s.freedAt = a.At, true, time.Time{}
		s.Pressured = 0
		s.win.start, s.win.triggered, s.win.unrecl = a.At, false, s.unrecl
		if _, ok := s.watches[a.Pod]; ok {
			w := maps.Clone(s.watches)
			delete(w, a.Pod)
			s.watches = w
		}
	case ActKillDone:
		s.killing = false
		if len(a.Forget) > 0 {
			s.growth = s.growth.Forget(a.Forget...)
		}
		switch {
		case !a.Killed:
			s.LastKill = time.Time{}
		case a.Confirmed:
			s.freedAt, s.restartFrom, s.Pressured = a.At, true, 0
			s.rising = 0 // the victim's growth is over
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
	if limited(g) {
		return float64(usage) >= nearLine(g, th), usage, g.Max
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
	return limited(g) && float64(g.Stat.Anon+g.Stat.Shmem) >= nearLine(g, th)
}

// limited is the one rule for "kubepods has a limit": a memory.max that
// is a number, and not 0. Without one, the host's MemAvailable against
// the floor says how near the node is (nearLimit).
func limited(g cgroupv2.Group) bool { return isLimit(g.Max) }

// isLimit says whether a memory limit file's value limits: a number, not
// "max" (cgroupv2.Unlimited), and not 0 (unset).
func isLimit(v uint64) bool { return v != cgroupv2.Unlimited && v > 0 }

// nearLine is the one rule for the near-limit line of a limited kubepods:
// memory.near_limit's share of its memory.max.
func nearLine(g cgroupv2.Group, th Thresholds) float64 { return th.NearLimit * float64(g.Max) }

// Margin is how far under kubepods' memory.max the prediction aims to act,
// the way Tencent TKE's OOM-Guard keeps a margin under each limit: 2 % of
// the limit, clamped to 1 to 50 MiB.
func Margin(limit uint64) uint64 {
	return min(max(limit/50, 1<<20), 50<<20)
}

// atLimit says whether kubepods' usage is within the margin of its limit.
func atLimit(g cgroupv2.Group) bool {
	return limited(g) && g.Current+Margin(g.Max) >= g.Max
}

// minRateSpan is the shortest time between two looks that measures a rate:
// looks closer than that (two events at once) would make noise of it.
const minRateSpan = 50 * time.Millisecond

// followUnreclaimable measures how fast kubepods' unreclaimable memory
// grows, from one look to the next.
func (s State) followUnreclaimable(o Observation) State {
	u := unreclaimable(o.Kubepods)
	if s.unreclAt.IsZero() {
		s.unrecl, s.unreclAt = u, o.Now
		return s
	}
	d := o.Now.Sub(s.unreclAt)
	if d < minRateSpan {
		return s
	}
	s.rate = (float64(u) - float64(s.unrecl)) / d.Seconds()
	s.rising = next(s.rising, s.rate >= GrowingRate)
	s.unrecl, s.unreclAt = u, o.Now
	return s
}

// predicted says whether kubepods' unreclaimable memory, growing for two
// looks in a row, would reach the margin under the limit within one
// window: PSI warns only when there is something to reclaim, and without
// page cache it stays at zero until the kernel OOM killer acts. A full
// but steady node is not an emergency.
func (s State) predicted(g cgroupv2.Group, th Thresholds) bool {
	if !limited(g) || s.rising < 2 {
		return false
	}
	return float64(s.unrecl)+s.rate*th.Window.Seconds() >= float64(g.Max-min(Margin(g.Max), g.Max))
}

// AssumedGrowth is how fast unreclaimable memory is assumed to be able to
// grow when no growth has been measured: 64 MiB a second. It sets how
// often the daemon looks at kubepods without an event (NextLook).
const AssumedGrowth = 64 << 20

// nextLook is how soon to look again without an event, so that memory
// growing at twice the measured rate (or at AssumedGrowth) is seen before
// it reaches the margin: at least a tenth of a window, 0 when kubepods has
// no limit.
func nextLook(s State, g cgroupv2.Group, th Thresholds) time.Duration {
	if !limited(g) {
		return 0
	}
	floor := max(th.Window/10, minRateSpan)
	target := g.Max - min(Margin(g.Max), g.Max)
	u := g.Stat.Anon + g.Stat.Shmem // now, even when too close to the last look to measure a rate
	if u >= target {
		return floor
	}
	rate := max(2*s.rate, AssumedGrowth)
	return max(time.Duration(float64(target-u)/rate*float64(time.Second)), floor)
}

// shed is the working set kubepods must shed to get back under the
// near-limit line, or, without a kubepods limit, what the host lacks to
// reach the floor of MemAvailable.
func shed(o Observation, th Thresholds) uint64 {
	g := o.Kubepods
	if limited(g) {
		line := uint64(nearLine(g, th))
		return g.WorkingSet - min(line, g.WorkingSet)
	}
	return th.HostFloor - min(o.Host.MemAvailable, th.HostFloor)
}

func stallTotal(g cgroupv2.Group, k psi.Kind) time.Duration {
	if k == psi.Some {
		return g.Pressure.Some.Total
	}
	return g.Pressure.Full.Total
}
