package killer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// The fallback for kernels without a usable cgroup.kill: record the cgroup
// in the FreezeLog, freeze it so that nothing forks or moves, name every
// process with a pidfd, check that the process behind each pidfd is in the
// cgroup, SIGKILL each through its pidfd, thaw, drop the record. Frozen
// tasks still die of SIGKILL. It is also the path of every kill that
// spares processes (Target.Vet's spare): those are never signalled, and
// cgroup.kill, which would kill them too, is never written.

const (
	// freezeWait bounds the wait for "frozen 1". Tasks freeze only on their
	// way back to user space, so a task stuck in reclaim (exactly the case
	// under memory pressure) may not freeze for a long time. After this we
	// kill anyway and re-list until no new process shows up.
	freezeWait = 250 * time.Millisecond
	// freezePoll is how often cgroup.events is read while freezing.
	freezePoll = 2 * time.Millisecond
	// maxPasses bounds the re-list/kill rounds when the cgroup did not freeze.
	maxPasses = 4
)

// freezeKill kills every process of t through the freezer, except those
// whose PID is in procs.spare: they are recorded in procs.spared, never
// named again nor signalled. It returns how many processes it signalled;
// if that is 0, nothing was killed and err says why (ErrAllSpared when the
// only processes left were spared). It always thaws the cgroup once it has
// frozen it.
func (k Killer) freezeKill(ctx context.Context, dirfd int, t Target, procs *procSet) (n int, signalled bool, err error) {
	// A PID is a number, and cgroup.procs lists numbers: between the
	// listing and pidfd_open the process may exit and its number go to a
	// process elsewhere. Each process is signalled only once its pidfd is
	// open and /proc says that the process behind it is in the target or
	// below it (member).
	rel, err := k.cgroupPath(t)
	if err != nil {
		return 0, false, err
	}
	// Write ahead: a crash between freeze and thaw must leave the cgroup
	// named for the next start to thaw (FreezeLog).
	if err := cgroupv2.CanFreeze(t.Cgroup, k.Features); err != nil {
		return 0, false, noFreezer(t, err)
	}
	entry := frozenEntry{Cgroup: t.Cgroup, ID: t.ID}
	if k.FreezeLog != nil {
		if err := k.FreezeLog.add(entry); err != nil {
			return 0, false, fmt.Errorf("killer: %s: cannot record the freeze, and a cgroup that a restart could not thaw is never frozen: %w; nothing killed", t.Cgroup, err)
		}
	}
	if err := cgroupv2.Freeze(dirfd, t.Cgroup, k.Features); err != nil {
		err = freezeFailed(t, err)
		if ferr := k.forget(entry, t); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return 0, false, err
	}
	defer func() {
		if terr := thaw(dirfd, t); terr != nil {
			err = errors.Join(err, terr) // and it stays in the record
		} else if ferr := k.forget(entry, t); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}()

	frozen, err := cgroupv2.WaitFrozen(ctx, k.clock(), t.Cgroup, freezePoll, min(freezeWait, k.timeout()))
	if err != nil {
		return 0, false, fmt.Errorf("killer: %s: not killed: %w", t.Cgroup, err)
	}

	var errs []error
	for pass := 0; pass < maxPasses; pass++ {
		pids, err := cgroupv2.Procs(t.Cgroup, true)
		if err == nil && cgroupv2.Changed(t.Cgroup, t.ID) {
			err = fmt.Errorf("%s: %w", t.Cgroup, cgroupv2.ErrGone)
		}
		if err != nil {
			if n == 0 {
				return 0, false, notKilled(t, "list processes", err)
			}
			errs = append(errs, fmt.Errorf("re-list processes: %w", err))
			break
		}
		// Right before this round's signals, with the cgroup frozen:
		// what was forked since the last check is checked too.
		if err := vetAgain(t, procs); err != nil {
			if n == 0 {
				return 0, false, fmt.Errorf("killer: %s: %w: %w; nothing killed", t.Cgroup, ErrChanged, err)
			}
			errs = append(errs, err)
			break
		}
		// Name and check every listed process before signalling any. Only
		// processes listed now are killed: one that left the cgroup since
		// step 2 is not the victim any more.
		var kill []int
		failed := 0
		var openErr error
		for _, pid := range pids {
			// Spared by number, before any pidfd is resolved: a live
			// process keeps its PID, so the spared one can be behind no
			// other number, and a spared number now held by another
			// process spares that one too (too much, never too little).
			if procs.spare[pid] {
				procs.spared[pid] = true
				continue
			}
			fd, err := procs.resolve(pid)
			if err == nil && fd >= 0 && !procs.signaled[pid] {
				var in, gone bool
				if in, gone, err = k.member(pid, fd, rel); err == nil && !gone && !in {
					procs.skip(pid)
					continue
				}
				if gone {
					fd = -1
				}
			}
			if err != nil {
				failed++
				if openErr == nil {
					openErr = fmt.Errorf("pid %d: %w", pid, err)
				}
				continue
			}
			if fd >= 0 && !procs.signaled[pid] {
				kill = append(kill, pid)
			}
		}
		if failed > 0 {
			err := fmt.Errorf("cannot open a pidfd for, or check the cgroup of, %d of %d processes (%w)", failed, len(pids), openErr)
			if n == 0 {
				return 0, false, fmt.Errorf("killer: %s: %w; nothing killed: a process not named by a pidfd and checked could be another's under a reused PID", t.Cgroup, err)
			}
			errs = append(errs, err)
		}
		sent := 0
		for _, pid := range kill {
			err := sigkill(procs.fds[pid])
			switch {
			case err == nil:
				procs.signaled[pid] = true
				n++
				sent++
			case errors.Is(err, unix.ESRCH):
				procs.signaled[pid] = true // exited meanwhile
			default:
				errs = append(errs, fmt.Errorf("SIGKILL pid %d: %w", pid, err))
			}
		}
		// Frozen: nothing can fork or move in, one pass named everyone.
		if frozen || sent == 0 {
			break
		}
	}
	if n == 0 {
		if len(errs) > 0 {
			return 0, false, fmt.Errorf("killer: %s: freeze+sigkill: %w; nothing killed", t.Cgroup, errors.Join(errs...))
		}
		if len(procs.spared) > 0 {
			return 0, false, fmt.Errorf("killer: %s: %w: %d processes, all spared by the last check (oom_score_adj -1000, or the caller's choice); nothing killed, none signalled",
				t.Cgroup, ErrAllSpared, len(procs.spared))
		}
		if len(procs.outside) > 0 {
			return 0, false, fmt.Errorf("killer: %s: %w: its processes exited before the kill, %d of their PIDs now name processes elsewhere; nothing killed", t.Cgroup, ErrChanged, len(procs.outside))
		}
		return 0, false, fmt.Errorf("killer: %s: %w: its processes exited before the kill; nothing killed", t.Cgroup, ErrChanged)
	}
	if len(errs) > 0 {
		return n, true, fmt.Errorf("killer: %s: freeze+sigkill: killed %d processes%s, but: %w", t.Cgroup, n, sparedNote(procs), errors.Join(errs...))
	}
	return n, true, nil
}

// sparedNote says, for an error message after "N processes signalled" or
// "killed N processes", how many were spared and not signalled; "" when
// none.
func sparedNote(procs *procSet) string {
	if len(procs.spared) == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d spared (not signalled)", len(procs.spared))
}

// freezeFailed says why 1 could not be written to cgroup.freeze
// (cgroupv2.Freeze sorts the errno).
func freezeFailed(t Target, err error) error {
	switch {
	case errors.Is(err, cgroupv2.ErrGone):
		return fmt.Errorf("killer: %s: %w: %w before the kill; nothing killed", t.Cgroup, ErrChanged, cgroupv2.ErrGone)
	case errors.Is(err, cgroupv2.ErrNoFreezer):
		return noFreezer(t, err)
	}
	return fmt.Errorf("killer: %s: cgroup.kill unusable, and %w; nothing killed", t.Cgroup, err)
}

// noFreezer is the error of a kill that needs the freezer on a kernel
// without cgroup.freeze.
func noFreezer(t Target, err error) error {
	return fmt.Errorf("killer: %s: kernel has neither cgroup.kill (5.14+) nor cgroup.freeze (5.2+): %w; nothing killed: upgrade the kernel", t.Cgroup, err)
}

// forget removes the cgroup from the FreezeLog once it is thawed, or was
// never frozen.
func (k Killer) forget(e frozenEntry, t Target) error {
	if k.FreezeLog == nil {
		return nil
	}
	if err := k.FreezeLog.remove(e); err != nil {
		return fmt.Errorf("killer: %s: not frozen, but still in the freeze record (the next start will write 0 to its cgroup.freeze): %w", t.Cgroup, err)
	}
	return nil
}

// cgroupPath returns t.Cgroup as /proc/<pid>/cgroup names it: its path from
// the cgroup2 mount (k.Mount), "/" for the mount itself.
func (k Killer) cgroupPath(t Target) (string, error) {
	rel, err := filepath.Rel(filepath.Clean(k.mount()), filepath.Clean(t.Cgroup))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("killer: %s: not under the cgroup2 mount %s (Killer.Mount), so its processes' cgroups cannot be checked; nothing killed", t.Cgroup, k.mount())
	}
	return filepath.Join("/", rel), nil
}

// member reports whether the process behind fd, a pidfd opened for pid, is
// in the cgroup rel (a path from the cgroup2 mount) or below it, or gone if
// it has been reaped.
//
// It reads ProcRoot/<pid>/cgroup, which is about whoever holds the number
// pid, and then checks that the process behind fd still lives: a number is
// passed on only once its process is reaped, so if it lives after the
// read, what was read was about it. With the pidfd open, a later reuse of
// the number can no longer redirect the signal.
func (k Killer) member(pid, fd int, rel string) (in, gone bool, err error) {
	b, err := os.ReadFile(filepath.Join(k.procRoot(), strconv.Itoa(pid), "cgroup"))
	if !alive(fd) {
		return false, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read its cgroup: %w", err)
	}
	in, err = inCgroup(b, rel)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", filepath.Join(k.procRoot(), strconv.Itoa(pid), "cgroup"), err)
	}
	return in, false, nil
}

// inCgroup reports whether the text of a /proc/<pid>/cgroup says that the
// process is in the cgroup rel or below it. Only the cgroup v2 line
// ("0::/path") counts. A cgroup outside the reader's cgroup namespace
// ("/../x") or removed ("/path (deleted)") is never rel.
func inCgroup(text []byte, rel string) (bool, error) {
	for line := range strings.SplitSeq(string(text), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		if strings.HasSuffix(path, " (deleted)") || !strings.HasPrefix(path, "/") {
			return false, nil
		}
		for elem := range strings.SplitSeq(path, "/") {
			if elem == ".." || elem == "." {
				return false, nil
			}
		}
		return path == rel || rel == "/" || strings.HasPrefix(path, rel+"/"), nil
	}
	return false, fmt.Errorf("no cgroup v2 line (\"0::/path\") in %q", text)
}

// thaw writes 0 to cgroup.freeze. Killed tasks must be able to run to exit,
// and a pod slice left frozen would freeze every container started in it.
// A cgroup that is gone needs no thaw.
func thaw(dirfd int, t Target) error {
	err := cgroupv2.Thaw(dirfd, t.Cgroup)
	if err == nil || errors.Is(err, cgroupv2.ErrGone) {
		return nil
	}
	return fmt.Errorf("killer: %s: thaw failed: %w; the cgroup is left FROZEN: write 0 to %s/cgroup.freeze by hand", t.Cgroup, err, t.Cgroup)
}
