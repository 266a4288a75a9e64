package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/internal/interrupt"
)

// memory.max and memory.swap.max, as the kernel documents them
// (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"):
//
//	memory.max
//		A read-write single value file which exists on non-root
//		cgroups.  The default is "max".
//
//		Memory usage hard limit.  This is the main mechanism to limit
//		memory usage of a cgroup.  If a cgroup's memory usage reaches
//		this limit and can't be reduced, the OOM killer is invoked in
//		the cgroup. Under certain circumstances, the usage may go over
//		the limit temporarily.
//
//	memory.swap.max
//		A read-write single value file which exists on non-root
//		cgroups.  The default is "max".
//
//		Swap usage hard limit.  If a cgroup's swap usage reaches this
//		limit, anonymous memory of the cgroup will not be swapped out.
//
// Read with ReadUint ("max" is Unlimited); a value written is kept
// rounded down to a page (RoundLimit).

// ReadMax reads dir/memory.max; "max" is Unlimited.
func ReadMax(dir string) (uint64, error) {
	return ReadUint(filepath.Join(dir, "memory.max"))
}

// ReadSwapMax reads dir/memory.swap.max. A cgroup without the file (no
// swap controller: the kernel has no swap accounting) has nothing to swap
// to, and reads as 0.
func ReadSwapMax(dir string) (uint64, error) {
	v, err := ReadUint(filepath.Join(dir, "memory.swap.max"))
	if errors.Is(err, ErrMissingFile) {
		return 0, nil
	}
	return v, err
}

// LowerMaxAt writes v, a limit under the cgroup's usage, to memory.max of
// the cgroup dirfd, interrupted when wctx ends (interrupt.Write). The
// kernel sets the limit, then, in the writer's thread, reclaims until
// reclaim makes no progress, then calls the OOM killer, again and again
// while the usage is over v (memory_max_write, mm/memcontrol.c); it
// checks for a pending signal between attempts, and a signal ends its
// loop with success: EINTR can only come before the write began, and is
// tried again until wctx ends. Errors are those of SetMaxAt.
func LowerMaxAt(wctx context.Context, dirfd int, dir string, v uint64) error {
	fd, err := unix.Openat(dirfd, "memory.max", unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return limitErr(dirfd, dir, "memory.max", v, err)
	}
	defer unix.Close(fd)
	b := []byte(FormatLimit(v))
	for {
		_, err = interrupt.Write(wctx, fd, b)
		if err != unix.EINTR || wctx.Err() != nil {
			return limitErr(dirfd, dir, "memory.max", v, err)
		}
	}
}

// JustUnder returns the highest limit under current, a memory.current,
// that the kernel keeps as written: one page under it, rounded down to a
// page (RoundLimit); 0 when current is under two pages. pageSize is
// Features.PageSize; 0 is PageSize().
//
// Lowered so, memory.max makes the kernel reclaim first: one page that
// reclaim can take (any clean page cache, the program's own text) fits
// the cgroup under it, and the write returns with nothing killed. Only
// 0, on a node without swap (or with memory.swap.max 0), is sure to end
// in an OOM kill while a process holds anonymous memory.
func JustUnder(current, pageSize uint64) uint64 {
	if pageSize == 0 {
		pageSize = PageSize()
	}
	if current < 2*pageSize {
		return 0
	}
	return RoundLimit(current-pageSize, pageSize)
}

// HalfUnreclaimable returns half of stat's unreclaimable memory (anon plus
// shmem), rounded down to a page; 0 when that is under one page.
// pageSize as JustUnder's.
//
// Lowered so, with no swap (or memory.swap.max 0), memory.max is sure to
// end in an OOM kill, as 0 is: reclaim cannot take anonymous memory. And
// once the kill freed the victims' memory the usage fits under it, so the
// kernel's loop in the write (memory_max_write) ends by itself. Under 0
// it goes on while any page is charged, and once the victims are reaped
// it calls the OOM killer again and prints a second report, "Out of
// memory and no killable processes".
func HalfUnreclaimable(stat MemoryStat, pageSize uint64) uint64 {
	if pageSize == 0 {
		pageSize = PageSize()
	}
	return RoundLimit((stat.Anon+stat.Shmem)/2, pageSize)
}

// SetMaxAt writes v to memory.max of dir, open as dirfd; a limit above
// the usage takes at once. An error names the file, and wraps ErrGone
// when the cgroup went (GoneAt).
func SetMaxAt(dirfd int, dir string, v uint64) error {
	return limitErr(dirfd, dir, "memory.max", v, writeAt(dirfd, "memory.max", FormatLimit(v)))
}

// SetSwapMaxAt writes v to memory.swap.max of dir, open as dirfd, as
// SetMaxAt.
func SetSwapMaxAt(dirfd int, dir string, v uint64) error {
	return limitErr(dirfd, dir, "memory.swap.max", v, writeAt(dirfd, "memory.swap.max", FormatLimit(v)))
}

func limitErr(dirfd int, dir, name string, v uint64, err error) error {
	switch {
	case err == nil:
		return nil
	case GoneAt(dirfd):
		return fmt.Errorf("%s: %w (write %s to %s: %w)", dir, ErrGone, FormatLimit(v), name, err)
	}
	return fmt.Errorf("write %s to %s/%s: %w", FormatLimit(v), dir, name, err)
}
