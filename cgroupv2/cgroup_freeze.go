package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/internal/clock"
)

// cgroup.freeze, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"):
//
//	cgroup.freeze
//		A read-write single value file which exists on non-root
//		cgroups.  Allowed values are "0" and "1". The default is "0".
//
//		Writing "1" to the file causes freezing of the cgroup and all
//		descendant cgroups. This means that all belonging processes
//		will be stopped and will not run until the cgroup will be
//		explicitly unfrozen. Freezing of the cgroup may take some
//		time; when this action is completed, the "frozen" value in
//		the cgroup.events control file will be updated to "1" and the
//		corresponding notification will be issued.
//
//		Processes in the frozen cgroup can be killed by a fatal
//		signal. They also can enter and leave a frozen cgroup: either
//		by an explicit move by a user, or if freezing of the cgroup
//		races with fork().
//
// It is 5.2+ (Features.CgroupFreeze).

// ErrNoFreezer reports a kernel without cgroup.freeze (before 5.2): the
// probed features say so, or the file is missing from a cgroup that is
// still there.
var ErrNoFreezer = errors.New("no cgroup.freeze (Linux 5.2+)")

// CanFreeze says whether the kernel f describes has cgroup.freeze, before
// anything is done to freeze dir: an error wrapping ErrNoFreezer, naming
// dir, when f was probed and found none. The zero Features (not probed)
// can: Freeze tells then.
func CanFreeze(dir string, f Features) error {
	if !f.CgroupFreeze && f != (Features{}) {
		return fmt.Errorf("%s/cgroup.freeze: %w", dir, ErrNoFreezer)
	}
	return nil
}

// Freeze writes 1 to cgroup.freeze of dir, open as dirfd (OpenSame), after
// CanFreeze. An error wraps ErrNoFreezer (no such file on a cgroup that is
// still there), ErrGone (the cgroup went, GoneAt), or is the errno,
// naming the file.
func Freeze(dirfd int, dir string, f Features) error {
	if err := CanFreeze(dir, f); err != nil {
		return err
	}
	return freezeErr(dirfd, dir, "1", writeAt(dirfd, "cgroup.freeze", "1"))
}

// Thaw writes 0 to cgroup.freeze of dir, open as dirfd. Errors are sorted
// as Freeze's; a thaw of a cgroup that is gone wraps ErrGone, which a
// caller takes as done.
func Thaw(dirfd int, dir string) error {
	return freezeErr(dirfd, dir, "0", writeAt(dirfd, "cgroup.freeze", "0"))
}

func freezeErr(dirfd int, dir, value string, err error) error {
	switch {
	case err == nil:
		return nil
	case GoneAt(dirfd):
		return fmt.Errorf("%s: %w (write %s to cgroup.freeze: %w)", dir, ErrGone, value, err)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s/cgroup.freeze: %w", dir, ErrNoFreezer)
	}
	return fmt.Errorf("write %s to %s/cgroup.freeze: %w", value, dir, err)
}

// WaitFrozen waits, at most limit on clk and looking every interval, for
// dir's cgroup.events to say frozen 1. Tasks freeze only on their way back
// to user space, so one stuck in reclaim may not freeze for long: running
// out of time is no error (false, nil); ctx ending is.
func WaitFrozen(ctx context.Context, clk clock.Clock, dir string, interval, limit time.Duration) (bool, error) {
	return clock.Poll(ctx, clk, interval, limit, func() bool {
		ev, err := ReadCgroupEvents(dir)
		return err == nil && ev.Frozen
	})
}
