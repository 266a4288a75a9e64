// Package killer kills one cgroup (a pod slice or a container scope) and
// reports what that freed.
//
// It kills the signal way: with cgroup.kill (5.14+), or, where the kernel
// has none or refuses it for this cgroup, or where some processes are to
// be spared, by freezing the cgroup and sending SIGKILL through pidfds
// (freeze.go). It then asks the kernel to free the victims' memory at once
// (process_mrelease, 5.15+; pidfd.go) and waits for the cgroup to empty
// (with processes spared: for every signalled one to exit). It never logs:
// the caller logs the Result.
//
// Or, when the Target names its app containers (Target.OOM), by the method
// oom (oom.go): the kernel's own OOM killer kills inside each container,
// so that the container runtime reports it OOMKilled (exit 137, reason
// OOMKilled), which a kill by signal never is. For each container still
// the one chosen, with processes to kill, it records the container's
// memory.max (and its memory.swap.max, where there is one above 0, and
// whether its memory.oom.group is to be raised from 0) in the Killer's
// LimitLog, then writes 0 to memory.swap.max (on a node with swap,
// memory.max 0 alone would swap the victim out before any OOM kill), 1 to
// memory.oom.group (so that one OOM kill takes the container whole; the
// kubelet 1.34 with containerd 1.6 of the e2e node leaves it 0, and the
// kernel then kills one process per kill, each waiting for the last
// victim's teardown) and to memory.max half the container's
// unreclaimable memory (cgroupv2.HalfUnreclaimable: as sure an OOM kill
// as 0, and the usage fits under it once the victims' memory is freed;
// 0 where it holds none), in the background, every
// container at once: the kernel reclaims, then OOM-kills in the
// container: every process of it but those at oom_score_adj -1000, which
// the kernel never chooses, the same processes that the signal way
// spares. A container that is empty, or whose every process is spared
// (Vet's, or at -1000 when it is about to be lowered), is left alone
// (Result.LeftAlone): the kernel would find no task to kill there and
// print a second report, "Out of memory and no killable processes". Once
// every process of a lowered container is dead or dying (procSet.dying:
// its pidfd polls readable, its /proc/<pid>/stat shows a SIGKILL pending
// or its exit begun, or process_mrelease accepts it, which also frees its
// memory; those /proc found dying are freed by process_mrelease once the
// kill is confirmed, after Result.Took), its write is interrupted (internal/interrupt), before
// the kernel's loop in it finds no task left and prints that second
// report; at the method's deadline, min(Killer.Timeout, OOMWait), every
// write is. The confirmation does not wait for the memory to be freed
// (Result.Took ends there); Result.Freed is read once the processes found
// dying have exited, within the deadline. Once every
// lowered container is done, or at the deadline, each original
// memory.max is put back (through the directory fd opened when it
// was checked, so never into another cgroup), memory.swap.max's with it,
// and dropped from the record.
// The rules that issue 22 added each have a switch, oomRules, for a
// build that measures one against another (defaultOOMRules).
// If processes other than spared ones, not dying, are left at the deadline, the
// fallback kills the whole target the signal way, once Vet has looked
// again (Result.Method "oom+cgroup.kill" or "oom+freeze+sigkill"); if
// what is left is all spared by then (children a spared process forked,
// at -1000 as it is), the kill is not confirmed: ErrNotConfirmed and
// ErrAllSpared, Result.Method "oom". The
// sandbox and runtime helpers are never lowered: in pod mode the method
// oom leaves the pod's sandbox running, as a kernel OOM kill does, and
// the kubelet restarts the containers by their restart policy. A
// container that holds only spared processes is not lowered; if the limit
// cannot be recorded, nothing is lowered and the kill goes the signal way.
//
// Never the wrong pod. Kill first re-checks that the cgroup is the one
// chosen (its ID) and still populated; then, once every process is named
// by a pidfd and right before the kill (the first write to cgroup.kill,
// cgroup.freeze or, with the method oom, memory.max), it calls the
// Target's Vet, the caller's own last check. Either failing is
// ErrChanged, nothing killed. Vet is called again right before each
// later round of signals (the method oom's fallback, each freezer pass
// once frozen), so that nothing forked since is signalled unchecked.
// cgroup.procs lists PID numbers, and a number may pass to a process
// elsewhere between the listing and pidfd_open: so the freezer path
// signals a process only through its pidfd, and only once
// Killer.ProcRoot/<pid>/cgroup, read after the pidfd was opened (the
// process behind it still alive), puts it in the target or below; any
// other is skipped and counted (Result.Skipped).
//
// Never a process that protects itself. The kubelet never sets
// oom_score_adj -1000 for a pod's process; one that set it itself is
// protected as the kernel's OOM killer protects it, per process: Vet
// returns such PIDs (and any the caller adds, the pod sandbox's say) as
// spare, and then cgroup.kill, which kills the whole cgroup, is never
// written. The freezer path runs instead and signals the other processes,
// the ones holding the memory, through their pidfds; a spared PID is never
// signalled (Result.Spared counts those found in the cgroup). The cgroup
// keeps the spared processes, so it never empties: the kill is confirmed
// once the pidfd of every signalled process polls as exited and a re-list
// of cgroup.procs finds no process but the spared ones, each still the
// process pinned by the pidfd opened for it (waitSignalled). If nothing
// but spared processes is left to signal, Kill signals nothing and returns
// ErrAllSpared.
//
// Never a pod left frozen: the freezer path writes the cgroup to the
// Killer's FreezeLog before it freezes it, or does not freeze it, and
// drops it once thawed; the daemon calls FreezeLog.ThawLeftovers at start
// to thaw what a crash left frozen (freezelog.go). Never a limit left
// lowered: the method oom keeps its LimitLog the same way, and the daemon
// calls LimitLog.RestoreLeftovers at start (limitlog.go). A limit (or a
// thaw) that a kill could not put back stays in its record, and the daemon
// calls the same functions again while it runs, until it is back; a kill
// of a container the record names keeps the recorded original (never the
// 0 it may read), and 0 is never recorded as an original. Neither record
// is trusted: an entry that names no container (limits) or no pod or
// container (frozen) of the kubelet's layout (FreezeLog.Layout,
// LimitLog.Layout) is never undone, and is dropped (ErrUntrusted), or
// kept while that layout is a guess (Guessed: before the config is read).
//
// Kernel facts are not decided here but in cgroupv2: which files the kernel
// has comes probed once, as Killer.Features (cgroupv2/features.go); the
// writes and what their errnos mean are cgroupv2's (cgroup.kill and the
// errnos that call for the freezer: cgroupv2.Kill and ErrNoCgroupKill;
// cgroup.freeze, thaw and the wait for frozen 1, with ErrNoFreezer on a
// kernel without it: cgroupv2.Freeze, Thaw, WaitFrozen; memory.max and
// memory.swap.max: cgroupv2.LowerMaxAt, SetMaxAt, SetSwapMaxAt); and so
// are a cgroup's identity and whether it is gone (cgroupv2.Same, OpenSame,
// Changed, GoneAt, Classify). What stays here is what only a kill needs:
// pidfds, which cgroup /proc/<pid>/cgroup puts a process in (inCgroup),
// the freeze and limit records.
//
// Every wait (for frozen 1, for populated 0) runs on Killer.Clock, one
// timer at a time, so tests step a fake clock instead of sleeping. The one
// bound in real time is the one on a memory.max write busy in the kernel,
// which no fake clock could step.
package killer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/clock"
)

// Target is the cgroup to kill, as it was when it was chosen.
type Target struct {
	Cgroup string // absolute directory of the cgroup to kill
	ID     uint64 // cgroupv2.ID of that directory when the victim was chosen
	// Vet, if set, is called first after the pidfds of the target's
	// processes are open and immediately before the kill is written (to
	// cgroup.kill, or before the freeze, or before the method oom records
	// and lowers the first memory.max): the caller re-reads the victim
	// and re-checks it there (is it still killable?). It is called again
	// right before every later round of signals: the method oom's
	// fallback (before cgroup.kill or the freeze), and each pass of the
	// freezer path once frozen. So a process forked since the last call
	// (the child of a spared -1000 process inherits -1000) is checked
	// before it is signalled; what a call spares adds to what earlier
	// calls spared.
	//
	// A non-nil err from the first call aborts the kill with nothing
	// killed; Kill's error then wraps ErrChanged and err, and spare is
	// ignored. From a later call it stops the signals there: what was
	// signalled stays so, nothing more is, and the error says why.
	//
	// spare lists the PIDs the kill must never signal: the processes that
	// protect themselves with oom_score_adj -1000 (the kubelet never sets
	// it for a pod's process, so the process did, and the kernel's OOM
	// killer spares it, per process), and any the caller adds (the pod
	// sandbox's). With spare empty the kill is the same as with no Vet.
	// With spare not empty, cgroup.kill is never written (it would kill
	// them too): the freezer path signals every other process of the
	// cgroup through its pidfd and skips every spared PID (Result.Spared);
	// if none is left to signal, Kill returns ErrAllSpared, nothing
	// killed. A PID is spared by number for the whole kill, and pinned by
	// the pidfd opened before Vet while its process lives: a spared process
	// keeps its number as long as it lives, so it is never signalled, and
	// a spared number that passed to another process only spares that one
	// as well. PIDs not in the cgroup are harmless. Vet runs on Kill's
	// goroutine.
	Vet func() (spare []int, err error)
	// OOM, if not empty, asks for the method oom (oom.go): the app
	// containers of the victim (never the sandbox, nor a runtime helper
	// such as conmon), each as it was when the victim was chosen: in pod
	// mode every one of them, in container mode the target itself. Empty:
	// the signal way alone.
	OOM []Container
}

// Container is a cgroup whose memory.max the method oom lowers.
type Container struct {
	Cgroup string // absolute directory
	ID     uint64 // its cgroupv2.ID when the victim was chosen
}

// Method is how the processes were killed.
type Method string

const (
	MethodCgroupKill Method = "cgroup.kill"
	// MethodFreezeSigkill: frozen, then SIGKILL through pidfds. Also the
	// method of every kill with processes to spare (Result.Spared says
	// how many were found and left alive).
	MethodFreezeSigkill Method = "freeze+sigkill"
	// MethodOOM: the method oom; the kernel's OOM killer killed in the
	// victim's app containers, whose memory.max was lowered to 0, and
	// nothing was left but spared processes. Container runtimes then
	// report the containers as OOMKilled.
	MethodOOM Method = "oom"
	// MethodOOMCgroupKill and MethodOOMFreezeSigkill: the method oom left
	// processes behind at its deadline (OOMWait), and the fallback killed
	// the target the signal way.
	MethodOOMCgroupKill    Method = MethodOOM + "+" + MethodCgroupKill
	MethodOOMFreezeSigkill Method = MethodOOM + "+" + MethodFreezeSigkill
)

// Methods lists every Method a kill can report, in the order above.
func Methods() []Method {
	return []Method{MethodCgroupKill, MethodFreezeSigkill, MethodOOM, MethodOOMCgroupKill, MethodOOMFreezeSigkill}
}

// Result describes one kill. Method is empty when nothing was signalled.
type Result struct {
	Method        Method
	PIDs          int           // processes signalled/seen at kill time; method oom: those in the lowered containers, not spared (with a fallback: the larger of that and the fallback's count)
	Containers    int           // method oom: the containers whose memory.max was lowered (and put back)
	LeftAlone     int           // method oom: the containers not lowered because they held no process to kill (empty, or every one spared: -1000 or Vet's)
	Skipped       int           // freezer path: listed, but found outside the cgroup once named by a pidfd; not signalled
	Spared        int           // listed in the cgroup, but spared by Target.Vet (oom_score_adj -1000, the sandbox); not signalled, left alive
	Released      int           // process_mrelease calls that succeeded (signalled processes only, never a spared one)
	Newcomers     int           // with processes spared: processes found in the cgroup once the signalled ones exited that the kill never named (forked since by a spared one, or moved in); never signalled, left alive, the next decision's
	Before, After uint64        // memory.current just before the kill, and once it emptied (or at timeout); After includes what spared processes hold
	Freed         uint64        // Before - After (0 if After >= Before)
	Confirmed     bool          // cgroup.events said populated 0 before the timeout, or, when Vet spared PIDs, every signalled process exited and only spared ones are left
	Took          time.Duration // from the kill write to confirmation (or timeout); the method oom: to every process dead or dying, before process_mrelease frees the memory of those found dying (Freed and After are measured after it)
}

// ErrChanged: the target is not the cgroup that was chosen, or it has no
// processes any more. Nothing was killed.
var ErrChanged = errors.New("victim changed since it was chosen")

// ErrNotConfirmed: the kill was issued but the cgroup still had processes when
// the wait ended (with processes spared: processes other than the spared
// ones, or signalled ones not yet exited). The Result is filled in.
var ErrNotConfirmed = errors.New("kill not confirmed: cgroup still populated")

// ErrAllSpared: every process left in the cgroup is one Target.Vet spared,
// so there was nothing to signal. Nothing was killed; Result.Spared says
// how many. The victim is as chosen (not ErrChanged), but killing it frees
// nothing the spared processes hold.
var ErrAllSpared = errors.New("every process left is spared")

// DefaultTimeout is used when Killer.Timeout is zero or negative.
const DefaultTimeout = 5 * time.Second

// pollInterval is how often cgroup.events is re-read while waiting.
const pollInterval = 10 * time.Millisecond

// Killer kills cgroups. The zero value is ready to use.
type Killer struct {
	Timeout time.Duration // how long to wait for populated 0 after the kill
	// Features is the kernel's, from cgroupv2.ProbeFeatures. Without
	// CgroupKill the killer goes straight to the freezer. The zero value
	// (not probed) tries cgroup.kill and falls back when the kernel
	// refuses it, as a probed kernel with cgroup.kill also does when the
	// file refuses a cgroup (EOPNOTSUPP on a threaded cgroup, EINVAL).
	Features cgroupv2.Features
	// Clock times every wait of a kill (for populated 0, for frozen 1) and
	// Result.Took; nil is clock.Real(). Tests pass a *clock.Fake.
	Clock clock.Clock
	// ProcRoot is /proc ("" is "/proc") and Mount the cgroup2 mount that
	// Target.Cgroup is under ("" is "/sys/fs/cgroup"). The freezer path
	// checks each process's cgroup in ProcRoot/<pid>/cgroup, where it is
	// a path from Mount, before it signals the process.
	ProcRoot string
	Mount    string
	// FreezeLog, if not nil, records each cgroup the freezer path freezes
	// until it is thawed, so that a restart after a crash thaws it
	// (FreezeLog.ThawLeftovers); if the record cannot be written, the
	// freezer path freezes nothing and kills nothing. nil keeps no record.
	FreezeLog *FreezeLog
	// Limits records each memory.max the method oom lowers until it is put
	// back, so that a restart after a crash puts it back
	// (LimitLog.RestoreLeftovers). nil: the method oom is never used, the
	// kill goes the signal way.
	Limits *LimitLog

	// rules, if not nil, replaces defaultOOMRules(): tests set it, and
	// so can a build that measures one rule against another (oom.go).
	rules *oomRules
	// writes, if not nil, counts the method oom's memory.max writes in
	// flight in the background (rule dying): tests wait for them before
	// they play the kernel.
	writes *sync.WaitGroup
}

func (k Killer) procRoot() string {
	if k.ProcRoot == "" {
		return "/proc"
	}
	return k.ProcRoot
}

func (k Killer) mount() string {
	if k.Mount == "" {
		return "/sys/fs/cgroup"
	}
	return k.Mount
}

func (k Killer) clock() clock.Clock {
	if k.Clock == nil {
		return clock.Real()
	}
	return k.Clock
}

func (k Killer) timeout() time.Duration {
	if k.Timeout <= 0 {
		return DefaultTimeout
	}
	return k.Timeout
}

// Kill kills every process in t.Cgroup and below (with the method oom and
// no fallback: every process in the containers of t.OOM), after checking
// that the cgroup is still the one chosen and still has processes.
//
// Errors: ErrChanged (also wrapping cgroupv2.ErrGone when the directory is
// gone), ErrAllSpared and any error returned with an empty Result.Method
// mean nothing was signalled. Once a kill was issued, Result is filled in
// and the error, if any, wraps ErrNotConfirmed (and ctx.Err() when ctx
// ended the wait) and/or says what else went wrong (a cgroup left frozen,
// some processes that could not be signalled, a memory.max that the method
// oom could not record, and so did not lower, or could not put back).
func (k Killer) Kill(ctx context.Context, t Target) (Result, error) {
	var res Result
	if !filepath.IsAbs(t.Cgroup) {
		return res, fmt.Errorf("killer: %q: target cgroup must be an absolute directory; nothing killed", t.Cgroup)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("killer: %s: not killed: %w", t.Cgroup, err)
	}

	// 1. Verify. The directory fd pins the cgroup: every write below goes
	// through it, so a cgroup removed and replaced at the same path after
	// this check cannot be hit by mistake.
	dirfd, err := verify(t)
	if err != nil {
		return res, err
	}
	defer unix.Close(dirfd)

	// 2. Measure, and open a pidfd for every process so that no PID can be
	// reused under us. Failing to open some pidfds (ENOMEM, EMFILE under
	// pressure) only costs process_mrelease on the cgroup.kill path; the
	// fallback path re-checks and refuses to kill what it cannot name.
	res.Before, err = cgroupv2.ReadCurrent(t.Cgroup)
	if err != nil {
		return res, notKilled(t, "read memory.current", err)
	}
	pids, err := cgroupv2.Procs(t.Cgroup, true)
	if err != nil {
		return res, notKilled(t, "list processes", err)
	}
	procs := newProcSet()
	procs.root = k.procRoot()
	defer procs.close()
	procs.add(pids)

	// 3. Vet: the caller's last look at the victim, as late as can be:
	// after every listed process is named, right before the kill. What it
	// spares is pinned by the pidfds opened above.
	if t.Vet != nil {
		spare, err := t.Vet()
		if err != nil {
			return res, fmt.Errorf("killer: %s: %w: refused by the last check before the kill: %w; nothing killed", t.Cgroup, ErrChanged, err)
		}
		procs.setSpare(spare)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("killer: %s: not killed: %w", t.Cgroup, err)
	}

	// 4. Kill: the method oom first, if asked (oom.go); the signal way
	// (cgroup.kill, or the freezer) when it lowered nothing, or as its
	// fallback when it left processes behind.
	clk := k.clock()
	start := clk.Now()
	var (
		confirmed bool
		waitErr   error
		note      error // a trouble of the method oom, told with the outcome
	)
	if len(t.OOM) > 0 {
		o := k.oomKill(ctx, clk, start, t, procs)
		note = o.err
		res.LeftAlone = o.leftAlone
		if o.lowered > 0 { // else the signal way alone, as if not asked
			res.Method, res.PIDs, res.Spared, res.Containers, res.Released = MethodOOM, o.pids, o.spared, o.lowered, o.released
			confirmed, waitErr = o.confirmed, o.waitErr // ctx ended the wait: no fallback
			res.Took = o.took
		}
	}
	if res.Method == "" || (!confirmed && waitErr == nil) {
		var (
			sig       Result
			err       error
			signalled bool
		)
		if res.Method != "" {
			// The fallback, OOMWait after Vet: the processes forked
			// meanwhile were never vetted (the child of a spared -1000
			// process is at -1000 too, and the kernel spared it). Look
			// again before any signal, cgroup.kill included.
			err = vetAgain(t, procs)
		}
		if err == nil {
			sig, confirmed, waitErr, signalled, err = k.signal(ctx, clk, dirfd, t, procs)
		}
		switch {
		case signalled:
			res.Method = res.Method.then(sig.Method)
			res.PIDs = max(res.PIDs, sig.PIDs)
			res.Skipped, res.Released, res.Newcomers = sig.Skipped, sig.Released, sig.Newcomers
			res.Spared = max(res.Spared, sig.Spared)
			note = errors.Join(note, err)
		case res.Method == "":
			sig.Before = res.Before
			return sig, errors.Join(note, err)
		case errors.Is(err, ErrAllSpared):
			// The method oom killed all it could: what is left protects
			// itself, and keeps its memory. Not over, and said so.
			res.Spared = max(res.Spared, len(procs.spared))
			waitErr = fmt.Errorf("the method oom left %d processes that protect themselves (oom_score_adj -1000 at the last check) and keep their memory; the fallback signalled none: %w",
				len(procs.spared), ErrAllSpared)
		case errors.Is(err, ErrChanged) && !errors.Is(err, errRefused):
			// The method oom left nothing the fallback could signal:
			// the cgroup went, or its processes exited meanwhile.
			confirmed = true
		default:
			// Not wrapped: the fallback's "nothing killed" is not this
			// kill's, which the method oom did.
			waitErr = fmt.Errorf("the method oom left processes, and the fallback signalled none: %v", err)
		}
	}
	if res.Method != MethodOOM || !confirmed { // else the method oom's own, to its confirmation
		res.Took = clk.Now().Sub(start)
	}
	res.Confirmed = confirmed
	res.After = after(t, res.Before)
	if res.After < res.Before {
		res.Freed = res.Before - res.After
	}
	if !confirmed {
		err := fmt.Errorf("killer: %s: %w after %v (%s; %d processes killed%s): %w; check cgroup.procs for processes stuck in D state",
			t.Cgroup, ErrNotConfirmed, res.Took.Round(time.Millisecond), res.Method, res.PIDs, sparedNote(procs), waitErr)
		return res, errors.Join(err, note)
	}
	return res, note
}

// errRefused: Target.Vet, called again right before a signal, refused
// the kill. What was signalled before stays signalled; nothing more is.
var errRefused = errors.New("refused by the check right before the signal")

// vetAgain calls t.Vet again, right before a round of signals, and spares
// what it spares now as well: a process forked since the last call (the
// child of a spared -1000 process is at -1000 too), or one that lowered
// its oom_score_adj. PIDs spared before stay spared (too much, never too
// little). An error wraps errRefused and Vet's.
func vetAgain(t Target, procs *procSet) error {
	if t.Vet == nil {
		return nil
	}
	spare, err := t.Vet()
	if err != nil {
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	procs.setSpare(spare)
	return nil
}

// then is the method of a kill that m finished after k: "oom+cgroup.kill".
func (k Method) then(m Method) Method {
	if k == "" {
		return m
	}
	return k + "+" + m
}

// signal kills t the signal way: cgroup.kill, or, where the kernel has none
// or refuses it, or some processes are to be spared, the freezer
// (freezeKill); then it frees the victims' memory and waits for the kill's
// end (waitEmpty, or waitSignalled when sparing). signalled false means
// nothing was killed, and err says why, Result as Kill returns it then.
func (k Killer) signal(ctx context.Context, clk clock.Clock, dirfd int, t Target, procs *procSet) (res Result, confirmed bool, waitErr error, signalled bool, err error) {
	// Never cgroup.kill when some processes are to be spared.
	sparing := len(procs.spare) > 0
	kill := errSparing
	if !sparing {
		kill = cgroupv2.Kill(dirfd, k.Features)
	}
	switch {
	case kill == nil:
		res.Method = MethodCgroupKill
		res.PIDs = len(procs.fds)
	case kill == errSparing || errors.Is(kill, cgroupv2.ErrNoCgroupKill):
		if cgroupv2.GoneAt(dirfd) {
			return res, false, nil, false, fmt.Errorf("killer: %s: %w: %w before the kill; nothing killed", t.Cgroup, ErrChanged, cgroupv2.ErrGone)
		}
		n, ok, ferr := k.freezeKill(ctx, dirfd, t, procs)
		res.Skipped = len(procs.outside)
		res.Spared = len(procs.spared)
		if !ok {
			return res, false, nil, false, ferr
		}
		res.Method = MethodFreezeSigkill
		res.PIDs = n
		err = ferr
	default:
		if cgroupv2.GoneAt(dirfd) {
			return res, false, nil, false, fmt.Errorf("killer: %s: %w: %w before the kill; nothing killed", t.Cgroup, ErrChanged, cgroupv2.ErrGone)
		}
		return res, false, nil, false, fmt.Errorf("killer: %s: write 1 to cgroup.kill: %w; nothing killed", t.Cgroup, kill)
	}

	// Free the victims' memory now, then drop the pidfds (when sparing,
	// the wait needs them: they are closed on return).
	res.Released = procs.releaseAll()
	if !sparing {
		procs.close()
	}

	// Wait for the cgroup to empty (for the signalled processes to exit,
	// when sparing).
	if sparing {
		confirmed, waitErr = waitSignalled(ctx, clk, t, procs, k.timeout())
		res.Newcomers = procs.newcomers
	} else {
		confirmed, waitErr = waitEmpty(ctx, clk, t, k.timeout())
	}
	return res, confirmed, waitErr, true, err
}

// verify checks that t.Cgroup is still the chosen cgroup and still has
// processes, and returns an open directory fd for it (cgroupv2.OpenSame,
// which pins it).
func verify(t Target) (int, error) {
	id, err := cgroupv2.Same(t.Cgroup, t.ID)
	if errors.Is(err, cgroupv2.ErrReplaced) {
		return -1, fmt.Errorf("killer: %s: %w: cgroup ID is %d, the victim's was %d (a new cgroup at the same path); nothing killed, choose again",
			t.Cgroup, ErrChanged, id, t.ID)
	}
	if err != nil {
		return -1, notKilled(t, "check identity", err)
	}
	dirfd, err := cgroupv2.OpenSame(t.Cgroup, t.ID)
	if errors.Is(err, cgroupv2.ErrReplaced) {
		return -1, fmt.Errorf("killer: %s: %w: directory replaced while being checked; nothing killed, choose again", t.Cgroup, ErrChanged)
	}
	if err != nil {
		return -1, notKilled(t, "open", err)
	}
	ev, err := cgroupv2.ReadCgroupEvents(t.Cgroup)
	if err != nil {
		unix.Close(dirfd)
		return -1, notKilled(t, "read cgroup.events", err)
	}
	if !ev.Populated {
		unix.Close(dirfd)
		return -1, fmt.Errorf("killer: %s: %w: no processes left (populated 0); nothing killed", t.Cgroup, ErrChanged)
	}
	return dirfd, nil
}

// notKilled wraps an error met before any signal was sent. A cgroup that is
// gone is ErrChanged too.
func notKilled(t Target, what string, err error) error {
	if errors.Is(err, cgroupv2.ErrGone) {
		return fmt.Errorf("killer: %s: %w: %w; nothing killed", t.Cgroup, ErrChanged, err)
	}
	return fmt.Errorf("killer: %s: %s: %w; nothing killed", t.Cgroup, what, err)
}

// errSparing: some processes are to be spared, and cgroup.kill would kill
// them too; it is not written.
var errSparing = errors.New("processes to spare: cgroup.kill not used")

// waitEmpty waits until the cgroup has no processes, for at most timeout on
// clk or until ctx is done.
//
// It polls cgroup.events every 10 ms instead of using inotify. The wait only
// runs during a kill and usually lasts a few milliseconds, so the cost is a
// handful of small reads. Polling also covers what inotify misses: a cgroup
// removed meanwhile gets no IN_DELETE_SELF on its files, while a read sees
// ENOENT at once. It needs no extra fd or goroutine either, and behaves the
// same on the fake trees the tests use.
//
// A cgroup that is gone, or whose path now names another cgroup, counts as
// empty: the kernel refuses to remove a populated cgroup.
func waitEmpty(ctx context.Context, clk clock.Clock, t Target, timeout time.Duration) (bool, error) {
	var lastErr error
	empty, err := clock.Poll(ctx, clk, pollInterval, timeout, func() bool {
		ev, err := cgroupv2.ReadCgroupEvents(t.Cgroup)
		switch {
		case errors.Is(err, cgroupv2.ErrGone) || cgroupv2.Changed(t.Cgroup, t.ID):
			return true
		case err != nil:
			lastErr = err // keep trying until the deadline
			return false
		}
		return !ev.Populated
	})
	switch {
	case empty:
		return true, nil
	case err != nil:
		return false, err
	case lastErr != nil:
		return false, fmt.Errorf("still populated at timeout %v; last read error: %w", timeout, lastErr)
	}
	return false, fmt.Errorf("still populated at timeout %v", timeout)
}

// waitSignalled is waitEmpty for a kill that spared processes: the cgroup
// keeps those and never empties. It waits, for at most timeout on clk or
// until ctx is done, until the cgroup is empty or gone (as waitEmpty), or
// until procs.leftover finds nothing left but the spared processes.
func waitSignalled(ctx context.Context, clk clock.Clock, t Target, procs *procSet, timeout time.Duration) (bool, error) {
	var last error
	done, err := clock.Poll(ctx, clk, pollInterval, timeout, func() bool {
		last = procs.leftover(t)
		return last == nil
	})
	switch {
	case done:
		return true, nil
	case err != nil:
		return false, errors.Join(err, last)
	}
	return false, fmt.Errorf("at timeout %v: %w", timeout, last)
}

// leftover says what keeps a kill that spared processes from being over,
// or nil once nothing but spared processes is left in t.Cgroup.
//
// Signalled processes are judged by their pidfds, which cannot pass to
// another process: each must poll as exited (one that moved out of the
// cgroup still counts, its memory stays charged here). PID numbers can be
// reused, so a re-list of cgroup.procs (recursive) must show no PID but
// spared ones, each still held by the live process its pinned pidfd names
// (spareHeld); a process forked after the last pass, or one that took a
// spared number, keeps the kill unconfirmed.
func (s *procSet) leftover(t Target) error {
	ev, err := cgroupv2.ReadCgroupEvents(t.Cgroup)
	if errors.Is(err, cgroupv2.ErrGone) || cgroupv2.Changed(t.Cgroup, t.ID) || (err == nil && !ev.Populated) {
		return nil
	}
	running := 0
	for pid, fd := range s.fds {
		if s.signaled[pid] && !exited(fd) {
			running++
		}
	}
	if running > 0 {
		return fmt.Errorf("%d signalled processes not exited yet", running)
	}
	pids, err := cgroupv2.Procs(t.Cgroup, true)
	switch {
	case errors.Is(err, cgroupv2.ErrGone):
		return nil
	case err != nil:
		return fmt.Errorf("re-list processes: %w", err)
	}
	newcomers := 0
	for _, pid := range pids {
		switch {
		case s.spareHeld(pid):
		case s.spare[pid]:
			return fmt.Errorf("pid %d, spared, is in the cgroup but no longer the process that was spared", pid)
		case s.named(pid):
			return fmt.Errorf("pid %d, not spared, is still in the cgroup", pid)
		case s.knows(pid) || !newcomer(pid):
			// Exited (a zombie not yet gone from the list; a number
			// that a newcomer took is taken for that too, and waits),
			// or gone since the listing: the next look will not list it.
			return fmt.Errorf("pid %d, exited, is still listed", pid)
		default:
			newcomers++
		}
	}
	s.newcomers = newcomers
	return nil
}

// named says whether pid is a process this kill named with a pidfd, still
// alive. Once every signalled process exited, a PID in the cgroup that no
// live pidfd of the kill names is a newcomer: forked since the last pass
// (a spared -1000 supervisor restarts its worker: stress-ng does) or moved
// in. The kill never vetted it and never signals it; it does not hold the
// kill open either, or the daemon would wait out Killer.Timeout blind
// while the newcomer grows (16 in make compare, 2a5ef3b: the kernel's OOM
// killer came first). It is the next decision's, counted in
// Result.Newcomers.
func (s *procSet) named(pid int) bool {
	fd, ok := s.fds[pid]
	return ok && !exited(fd)
}

// knows says whether the kill named pid with a pidfd, alive or not.
func (s *procSet) knows(pid int) bool {
	_, ok := s.fds[pid]
	return ok
}

// newcomer says whether pid, which no live pidfd of the kill names, is
// held by a live process now: a pidfd opened on it now does not poll
// exited. A PID still listed for a process that exited (its pidfd
// readable, the number not yet reused) is no newcomer.
func newcomer(pid int) bool {
	fd, err := openPidfd(pid)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return !exited(fd)
}

// after reads memory.current once the wait is over. A cgroup that vanished
// freed everything. If it cannot be read for another reason, it reports
// before, so that Freed is 0 rather than a guess.
func after(t Target, before uint64) uint64 {
	if cgroupv2.Changed(t.Cgroup, t.ID) {
		return 0
	}
	v, err := cgroupv2.ReadCurrent(t.Cgroup)
	if errors.Is(err, cgroupv2.ErrGone) {
		return 0
	}
	if err != nil {
		return before
	}
	return v
}
