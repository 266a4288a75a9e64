package killer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
)

// OOMWait bounds the method oom: how long it waits, from its first write
// to memory.max, for the lowered containers to empty (or keep only spared
// processes) before the fallback kills the signal way. Killer.Timeout,
// when shorter, bounds it instead. The same bound, in real time, cuts short
// a memory.max write that is still busy in the kernel (interrupt.Write).
const OOMWait = 2 * time.Second

// oomRules are the rules of the method oom that issue 22 added, each
// switchable so that a run in the VM can measure one against the other.
// A Killer uses defaultOOMRules() unless Killer.rules says otherwise.
type oomRules struct {
	// group sets memory.oom.group to 1 on each container before its
	// memory.max is lowered (recorded, and put back with the limit), so
	// that the kernel's first OOM kill takes every process of the
	// container at once (but those at -1000), with one report, instead
	// of one process per kill, each kill waiting for the last victim to
	// be torn down (mm/oom_kill.c).
	group bool
	// unkillable leaves alone a container whose every process is spared
	// by the kill or at oom_score_adj -1000 (read from ProcRoot right
	// before the lowering, not only at Vet): the kernel's OOM killer
	// would find nothing to kill there and print a second full report,
	// "Out of memory and no killable processes" (mm/oom_kill.c,
	// out_of_memory). The -1000 ones found are spared by the fallback
	// too. Off: only Vet's spare set counts.
	unkillable bool
	// dying confirms the kill once every process of each lowered
	// container that is not spared is dead or dying (dying), not once
	// the container is empty: a process leaves cgroup.procs only after
	// its memory is freed (do_exit: exit_mm, then cgroup_exit), which
	// for a GiB can outlast OOMWait, and then the fallback signalled
	// processes that were already dying. process_mrelease frees their
	// memory meanwhile. And it writes each memory.max in the background,
	// all containers at once, and interrupts each write as soon as its
	// container's processes are all dying: the kernel's loop in the write
	// (memory_max_write, mm/memcontrol.c) goes on calling the OOM killer
	// while the usage is over 0, and once the victims are reaped it finds
	// no task and prints a second full report, "Out of memory and no
	// killable processes". Off: one write at a time, each returning when
	// the kernel's loop ends, and confirmation by cgroup.procs.
	dying bool
	// justUnder lowers memory.max to just under the container's usage
	// (cgroupv2.JustUnder: memory.current minus a page) instead of 0.
	// Measure only: the kernel reclaims before it kills, and one page
	// reclaimed fits the container under such a limit with nothing
	// killed; the victim then dies only if it allocates on until reclaim
	// fails (an idle one lives on, until the fallback kills it the
	// signal way, reported Error, not OOMKilled). With 0 and no swap,
	// a process holding anonymous memory is always OOM-killed.
	justUnder bool
	// fits lowers memory.max to half the container's unreclaimable memory
	// (cgroupv2.HalfUnreclaimable) instead of 0: as sure an OOM kill, and
	// once the victims' memory is freed the usage fits, so the kernel's
	// loop in the write ends by itself, without the second report that 0
	// leaves once the victims are reaped ("Out of memory and no killable
	// processes": 20 in make compare, in a container whose one process,
	// sleep, died at once). 0 where that is under a page.
	fits bool
}

// defaultOOMRules are the rules a Killer uses: the ones measured best.
func defaultOOMRules() oomRules {
	return oomRules{group: true, unkillable: true, dying: true, fits: true}
}

func (k Killer) oomRules() oomRules {
	if k.rules != nil {
		return *k.rules
	}
	return defaultOOMRules()
}

// oomWait is the method oom's deadline: min(Killer.Timeout, OOMWait).
func (k Killer) oomWait() time.Duration { return min(k.timeout(), OOMWait) }

// oomOutcome is what the method oom did.
type oomOutcome struct {
	lowered   int           // containers whose memory.max was lowered (and put back)
	pids      int           // processes in them, not spared, when they were lowered
	spared    int           // spared processes in the containers
	released  int           // processes whose memory process_mrelease freed (rule dying)
	leftAlone int           // containers not lowered: empty, or every process spared
	confirmed bool          // every lowered container emptied or kept only spared processes, and none was left out
	took      time.Duration // with the rule dying: from start to confirmation, before the memory of the dying was released
	waitErr   error         // ctx ended the wait: no fallback
	err       error         // a limit not recorded, not put back or not cleared from the record
}

// lowered is one container whose memory.max oomKill lowered.
type loweredCgroup struct {
	dirfd int // pins the cgroup: the limit is put back through it
	entry limitEntry
	to    uint64 // the limit written: 0, or with the rule justUnder, lowerTo
	// With the rule dying, the write of 0 to memory.max runs in the
	// background: stop interrupts it, done gives its result once.
	stop     context.CancelFunc
	done     chan error
	finished bool // its processes are all dying: stop was called
	// watch: memory.oom.group is 1 and the kernel counts group kills
	// (5.17+): once oom_group_kill passes groupKills, the kernel has sent
	// SIGKILL to every process it may kill in the container, and the
	// write is stopped then, before its loop finds no task left.
	watch      bool
	groupKills uint64
	writeErr   error
	returned   bool // done was received
}

// start writes 0 to l's memory.max in the background, until the write
// returns or wctx ends or l.stop is called. writes, if not nil, counts
// the writes in flight (tests wait for them before they play the kernel).
func (l *loweredCgroup) start(wctx context.Context, writes *sync.WaitGroup) {
	lctx, stop := context.WithCancel(wctx)
	l.stop, l.done = stop, make(chan error, 1)
	if writes != nil {
		writes.Add(1)
	}
	go func() {
		if writes != nil {
			defer writes.Done()
		}
		l.done <- cgroupv2.LowerMaxAt(lctx, l.dirfd, l.entry.Cgroup, l.to)
	}()
}

// poll takes the write's result if it returned; block waits for it.
func (l *loweredCgroup) poll(block bool) {
	if l.done == nil || l.returned {
		return
	}
	if block {
		l.writeErr, l.returned = <-l.done, true
		return
	}
	select {
	case l.writeErr = <-l.done:
		l.returned = true
	default:
	}
}

// groupKilled reports whether the kernel has group-killed in l since it
// was lowered (l.watch): its memory.oom.group is 1 and oom_group_kill went
// up. The kernel counts it as it starts the group kill, in the same OOM
// call that signals every member (mm/oom_kill.c, oom_kill_process), which
// an interrupt of the write cannot cut short.
func (l *loweredCgroup) groupKilled() bool {
	if !l.watch {
		return false
	}
	ev, err := cgroupv2.ReadMemoryEvents(l.entry.Cgroup)
	return err == nil && ev.OOMGroupKill > l.groupKills
}

// failed reports a write that failed, but for a container that went.
func (l *loweredCgroup) failed() bool {
	return l.returned && l.writeErr != nil && !errors.Is(l.writeErr, cgroupv2.ErrGone)
}

// oomKill is the method oom: for each container of t.OOM that is still the
// one chosen and has processes to kill, it records the container's
// memory.max in k.Limits, then writes 0 to it, so that the kernel's OOM
// killer kills in it as for a container over its limit (every process but
// those at -1000, with memory.oom.group). With the rule dying (the
// default) the writes run in the background, all at once, and oomKill
// waits, at most k.oomWait() from start on clk, for every process of each
// lowered container to be spared, dead or dying (procSet.dying), freeing
// their memory with process_mrelease as it goes, and interrupts each
// container's write as soon as its processes are; without it, each write
// returns when the kernel's loop in it ends, and oomKill then waits for
// each container to empty or to keep only spared processes. Then it puts
// every original memory.max back and drops it from the record. It lowers
// nothing (lowered 0) without a LimitLog or when the first record fails;
// a container it had to leave out (unreadable, no record for it, or a
// write that failed) leaves the kill unconfirmed, for the fallback.
func (k Killer) oomKill(ctx context.Context, clk clock.Clock, start time.Time, t Target, procs *procSet) (o oomOutcome) {
	if k.Limits == nil {
		return o
	}
	wait := k.oomWait()
	// Real time: it bounds writes that block in the kernel, which no fake
	// clock can step. The wait below runs on clk.
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var (
		lowered []*loweredCgroup
		leftOut bool
		rules   = k.oomRules()
	)
	defer func() {
		for _, l := range lowered {
			unix.Close(l.dirfd)
		}
	}()
	for _, c := range t.OOM {
		ct := Target{Cgroup: c.Cgroup, ID: c.ID}
		dirfd, err := verify(ct)
		if errors.Is(err, ErrChanged) {
			continue // emptied, gone, or another cgroup: not the one chosen
		}
		if err != nil {
			// Left to the fallback; the error names the container.
			o.err = errors.Join(o.err, err)
			leftOut = true
			continue
		}
		pids, spared, err := k.count(ct, procs)
		o.spared += spared
		if err != nil && !errors.Is(err, cgroupv2.ErrGone) {
			o.err = errors.Join(o.err, fmt.Errorf("%s: %w", c.Cgroup, err))
			leftOut = true
		}
		if err == nil && pids == 0 {
			o.leftAlone++ // none, or only spared ones: nothing for the OOM killer
		}
		if err != nil || pids == 0 {
			unix.Close(dirfd)
			continue
		}
		var e limitEntry
		if rules.dying {
			e, err = k.prepare(dirfd, c)
		} else {
			e, err = k.lower(wctx, dirfd, c)
		}
		if errors.Is(err, cgroupv2.ErrGone) {
			unix.Close(dirfd) // emptied and removed meanwhile: nothing to kill
			continue
		}
		if err != nil {
			o.err = errors.Join(o.err, err)
			leftOut = true
			unix.Close(dirfd)
			if errors.Is(err, errNotRecorded) {
				break // no more without a record
			}
			continue
		}
		l := &loweredCgroup{dirfd: dirfd, entry: e}
		if rules.dying {
			l.to = k.lowerTo(e)
			if on, err := cgroupv2.ReadOOMGroup(c.Cgroup); err == nil && on {
				ev, err := cgroupv2.ReadMemoryEvents(c.Cgroup)
				l.watch, l.groupKills = err == nil, ev.OOMGroupKill
			}
			l.start(wctx, k.writes)
		}
		lowered = append(lowered, l)
		o.pids += pids
	}
	o.lowered = len(lowered)
	if o.lowered == 0 {
		o.pids, o.spared = 0, 0
		return o
	}
	if rules.dying {
		// With a container left out, the wait still lets the kernel kill
		// in those lowered (the old synchronous writes waited for it
		// too), but the kill stays unconfirmed, for the fallback.
		failed := false
		o.confirmed, o.waitErr = clock.Poll(ctx, clk, pollInterval, wait-clk.Now().Sub(start), func() bool {
			all := true
			for _, l := range lowered {
				l.poll(false)
				if l.failed() {
					failed = true // left to the fallback: no use waiting
				}
				if !l.finished && l.groupKilled() {
					// Before process_mrelease below reaps them: the
					// sooner their memory goes, the sooner the kernel's
					// loop finds no task left to kill.
					l.stop()
				}
				if !l.finished && procs.dying(Target{Cgroup: l.entry.Cgroup, ID: l.entry.ID}) == nil {
					l.finished = true
					l.stop() // before the kernel's loop finds no task to kill
				}
				all = all && l.finished
			}
			return all || failed
		})
		o.confirmed = o.confirmed && !failed && !leftOut
		if o.confirmed {
			o.took = clk.Now().Sub(start)
		}
	}
	if !leftOut && !rules.dying {
		o.confirmed, o.waitErr = clock.Poll(ctx, clk, pollInterval, wait-clk.Now().Sub(start), func() bool {
			for _, l := range lowered {
				if procs.leftover(Target{Cgroup: l.entry.Cgroup, ID: l.entry.ID}) != nil {
					return false
				}
			}
			return true
		})
	}
	// Every write still in the kernel ends before any limit goes back:
	// the kernel's loop compares the usage with the 0 it was given, not
	// with memory.max as it is now.
	for _, l := range lowered {
		if l.stop == nil {
			continue
		}
		l.stop()
		l.poll(true)
		if l.failed() {
			o.confirmed = false
			o.err = errors.Join(o.err, fmt.Errorf("killer: %s: lower memory.max to 0: %w", l.entry.Cgroup, l.writeErr))
		}
	}
	for _, l := range lowered {
		o.err = errors.Join(o.err, k.putBack(*l))
	}
	// The processes found dying by /proc: their memory now, the limits
	// back and the kill confirmed (Result.Took is over); then the wait
	// for them to exit, which frees it if process_mrelease could not (a
	// process already in its own exit), so that Result.Freed and the
	// daemon's next look see the memory gone (bounded by the method's
	// deadline).
	procs.releaseLater()
	o.released = len(procs.released)
	if o.confirmed {
		clock.Poll(ctx, clk, pollInterval, max(wait-clk.Now().Sub(start), 0), procs.laterExited)
	}
	return o
}

// dying says what keeps the method oom's kill in the container ct from
// being over (rule dying), or nil once every process listed in it now is
// spared (and still the process that was spared), or dead or dying:
// dying(fd). A process listed that no pidfd names yet (forked since the
// kill began, or whose number was reused) gets one first; one that cannot
// be opened (gone meanwhile) keeps the kill going until a look no longer
// lists it.
func (s *procSet) dying(ct Target) error {
	ev, err := cgroupv2.ReadCgroupEvents(ct.Cgroup)
	if errors.Is(err, cgroupv2.ErrGone) || cgroupv2.Changed(ct.Cgroup, ct.ID) || (err == nil && !ev.Populated) {
		return nil
	}
	pids, err := cgroupv2.Procs(ct.Cgroup, true)
	switch {
	case errors.Is(err, cgroupv2.ErrGone):
		return nil
	case err != nil:
		return fmt.Errorf("re-list processes: %w", err)
	}
	for _, pid := range pids {
		switch {
		case s.spareHeld(pid):
			continue
		case s.spare[pid]:
			return fmt.Errorf("pid %d, spared, is in the cgroup but no longer the process that was spared", pid)
		}
		fd, err := s.resolve(pid) // the pidfd of the process holding pid now
		switch {
		case err != nil:
			return fmt.Errorf("pid %d: pidfd_open: %w", pid, err)
		case fd < 0:
			// Listed, then gone before its pidfd opened: the next look
			// will not list it (a process leaves cgroup.procs before it
			// is reaped). Never judged dead on a number alone.
			return fmt.Errorf("pid %d listed, then gone", pid)
		}
		ok, released := s.dyingNow(pid, fd)
		if released {
			s.released[pid] = true
		}
		if !ok {
			return fmt.Errorf("pid %d is still alive", pid)
		}
	}
	return nil
}

// count counts the processes of the container ct that the method oom is
// to kill, and those it spares (marking them spared in procs). With the
// rule unkillable, a process at oom_score_adj -1000 now is spared too,
// and added to procs' spare set: the kernel never kills it, and neither
// will the fallback. A process whose oom_score_adj cannot be read (but
// for one that exited) counts as one to kill: the kernel spares it
// anyway if it is at -1000, and the fallback looks again (Vet).
func (k Killer) count(ct Target, procs *procSet) (kill, spared int, err error) {
	pids, err := cgroupv2.Procs(ct.Cgroup, true)
	if err != nil {
		return 0, 0, err
	}
	unkillable := k.oomRules().unkillable
	for _, pid := range pids {
		if !procs.spare[pid] && unkillable {
			adj, err := procfs.ReadOOMScoreAdj(nil, k.procRoot(), pid)
			if errors.Is(err, procfs.ErrNoProcess) {
				continue // exited: nothing to kill
			}
			if err == nil && adj == procfs.OOMScoreAdjMin {
				procs.setSpare([]int{pid})
			}
		}
		if procs.spare[pid] {
			procs.spared[pid] = true
			spared++
		} else {
			kill++
		}
	}
	return kill, spared, nil
}

// errNotRecorded: the limit could not be written to the LimitLog, so it
// was not lowered.
var errNotRecorded = errors.New("memory.max not recorded")

// lower records c's memory.max in k.Limits, then writes 0 to it through
// dirfd, c's directory. The write returns when the kernel's OOM killer is
// done in c, or when wctx ends (interrupt.Write): the limit is in force
// either way. An error means nothing is lowered, and nothing added to the
// record; it wraps cgroupv2.ErrGone when the container went meanwhile.
//
// A container the record already names (the same cgroup, by its ID) is
// one an earlier kill could not put back: its limit may still be the 0
// that kill wrote, so the recorded original is kept, and nothing added.
// Otherwise 0 is never recorded: it is the value kube-oomd lowers to,
// never one to put back; a container at 0 that the record does not name
// is not lowered (errZeroMax), and is left to the fallback.
func (k Killer) lower(wctx context.Context, dirfd int, c Container) (limitEntry, error) {
	e, recorded, err := k.record(c)
	if err != nil {
		return e, err
	}
	err = k.setUp(dirfd, c, e)
	if err == nil {
		err = cgroupv2.LowerMaxAt(wctx, dirfd, c.Cgroup, k.lowerTo(e))
	}
	if err != nil {
		return e, k.undo(dirfd, c, e, recorded, err)
	}
	return e, nil
}

// prepare is lower but for the write to memory.max (rule dying: it runs
// in the background, loweredCgroup.start).
func (k Killer) prepare(dirfd int, c Container) (limitEntry, error) {
	e, recorded, err := k.record(c)
	if err != nil {
		return e, err
	}
	if err := k.setUp(dirfd, c, e); err != nil {
		return e, k.undo(dirfd, c, e, recorded, err)
	}
	return e, nil
}

// record finds c in k.Limits, or records it there with its original
// memory.max, memory.swap.max and whether memory.oom.group is to be
// raised; recorded says it was there already.
func (k Killer) record(c Container) (e limitEntry, recorded bool, err error) {
	e, recorded, err = k.Limits.find(c.Cgroup, c.ID)
	if err != nil {
		return e, false, fmt.Errorf("killer: %s: %w, and a limit that a restart could not put back is never lowered: %w; not lowered", c.Cgroup, errNotRecorded, err)
	}
	if !recorded {
		orig, err := cgroupv2.ReadMax(c.Cgroup)
		if err != nil {
			return limitEntry{}, false, fmt.Errorf("killer: %s: read memory.max: %w; not lowered", c.Cgroup, err)
		}
		if orig == 0 {
			return limitEntry{}, false, fmt.Errorf("killer: %s: %w: no original to put back after the kill, as the limits record %s names none; not lowered, left to the signal way. If kube-oomd left it so, write the container's limit back to its memory.max",
				c.Cgroup, errZeroMax, k.Limits.Path)
		}
		e = limitEntry{Cgroup: c.Cgroup, ID: c.ID, Original: orig}
		// On a node with swap, memory.max 0 alone swaps the victim out
		// before the OOM killer kills: swap goes to 0 first.
		swap, err := cgroupv2.ReadSwapMax(c.Cgroup) // 0 with no swap controller: nothing to swap to
		if err != nil {
			return limitEntry{}, false, fmt.Errorf("killer: %s: read memory.swap.max: %w; not lowered", c.Cgroup, err)
		}
		e.Swap = swap // 0: already none, nothing to put back
		if k.oomRules().group {
			// A file missing (before 4.19) leaves the kernel's default,
			// one process per kill: the kill is the same, only slower.
			on, err := cgroupv2.ReadOOMGroup(c.Cgroup)
			if err != nil && !errors.Is(err, cgroupv2.ErrMissingFile) {
				return limitEntry{}, false, fmt.Errorf("killer: %s: read memory.oom.group: %w; not lowered", c.Cgroup, err)
			}
			e.GroupRaised = err == nil && !on
		}
		// Write ahead: a crash while the limit is lowered must leave it
		// named for the next start to put back (LimitLog).
		if err := k.Limits.add(e); err != nil {
			return e, false, fmt.Errorf("killer: %s: %w, and a limit that a restart could not put back is never lowered: %w; not lowered", c.Cgroup, errNotRecorded, err)
		}
	}
	return e, recorded, nil
}

// lowerTo is the limit e's container is lowered to: 0, or with the rule
// justUnder, one page under its memory.current read now, or with the rule
// fits, half its unreclaimable memory read now (0 when that cannot be
// read, or would not be under the original limit).
func (k Killer) lowerTo(e limitEntry) uint64 {
	var v uint64
	switch rules := k.oomRules(); {
	case rules.justUnder:
		cur, err := cgroupv2.ReadCurrent(e.Cgroup)
		if err != nil {
			return 0
		}
		v = cgroupv2.JustUnder(cur, k.Features.PageSize)
	case rules.fits:
		stat, err := cgroupv2.ReadMemoryStat(e.Cgroup)
		if err != nil {
			return 0
		}
		v = cgroupv2.HalfUnreclaimable(stat, k.Features.PageSize)
	}
	if v >= e.Original {
		return 0
	}
	return v
}

// setUp writes 0 to c's memory.swap.max and 1 to its memory.oom.group,
// where e says so, through dirfd, ahead of memory.max.
func (k Killer) setUp(dirfd int, c Container, e limitEntry) error {
	if e.Swap > 0 {
		if err := cgroupv2.SetSwapMaxAt(dirfd, c.Cgroup, 0); err != nil {
			return err
		}
	}
	if e.GroupRaised {
		return cgroupv2.SetOOMGroupAt(dirfd, c.Cgroup, true)
	}
	return nil
}

// undo tells err, a write of lower's that failed, and puts back what may
// have been written (e's record is dropped), unless recorded: then the
// record is left as it was, for the retry.
func (k Killer) undo(dirfd int, c Container, e limitEntry, recorded bool, err error) error {
	err = fmt.Errorf("killer: %s: lower memory.swap.max and memory.max to 0: %w; not lowered", c.Cgroup, err)
	if recorded {
		return err // as it was: still in the record, for the retry
	}
	if (e.Swap > 0 || e.GroupRaised) && !cgroupv2.GoneAt(dirfd) {
		// memory.swap.max may be 0 already, memory.oom.group 1:
		// back, or kept in the record for the retry.
		if rerr := restoreMax(dirfd, e); rerr != nil {
			return errors.Join(err, fmt.Errorf("killer: %s: LEFT LOWERED, kept in the limits record for the retry: %w", c.Cgroup, rerr))
		}
	}
	if rerr := k.Limits.remove(e); rerr != nil {
		err = errors.Join(err, fmt.Errorf("killer: %s: still in the limits record (the next start will write %s to its memory.max): %w",
			c.Cgroup, cgroupv2.FormatLimit(e.Original), rerr))
	}
	return err
}

// errZeroMax: a container's memory.max is 0, and the limits record holds
// no original for it.
var errZeroMax = errors.New("memory.max is already 0")

// putBack writes l's original memory.max back, and drops it from the
// record. A container that is gone needs nothing back. One whose limit
// cannot be put back stays in the record, for the next start.
func (k Killer) putBack(l loweredCgroup) error {
	e := l.entry
	if err := restoreMax(l.dirfd, e); err != nil && !errors.Is(err, cgroupv2.ErrGone) {
		return fmt.Errorf("killer: %s: memory.max LEFT LOWERED (it stays in the limits record, for the next start): %w", e.Cgroup, err)
	}
	if err := k.Limits.remove(e); err != nil {
		return fmt.Errorf("killer: %s: memory.max put back, but still in the limits record (the next start will write %s to it again): %w",
			e.Cgroup, cgroupv2.FormatLimit(e.Original), err)
	}
	return nil
}
