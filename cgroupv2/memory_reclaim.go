package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/kube-oomd/kube-oomd/internal/interrupt"
)

// memory.reclaim, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"):
//
//	memory.reclaim
//		A write-only nested-keyed file which exists for all cgroups.
//
//		This is a simple interface to trigger memory reclaim in the
//		target cgroup.
//
//		Example::
//
//		  echo "1G" > memory.reclaim
//
//		Please note that the kernel can over or under reclaim from
//		the target cgroup. If less bytes are reclaimed than the
//		specified amount, -EAGAIN is returned.
//
// It is 5.19+ (Features.MemoryReclaim). The bytes written are turned into
// pages rounded down: ask with ReclaimRequest.

// ErrNoReclaim reports a kernel without memory.reclaim (before 5.19): the
// file is missing from a cgroup that is still there.
var ErrNoReclaim = errors.New("memory.reclaim is not available: it needs Linux 5.19 or later")

// ReclaimFile is a cgroup's memory.reclaim, open for writing.
type ReclaimFile struct {
	f    *os.File
	path string
}

// OpenReclaim opens dir/memory.reclaim. A missing file is ErrNoReclaim if
// the cgroup itself is still there; ErrGone if it is not.
func OpenReclaim(dir string) (*ReclaimFile, error) {
	path := filepath.Join(dir, "memory.reclaim")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err = Classify("open", path, err); errors.Is(err, ErrGone) {
		if _, idErr := ID(dir); idErr != nil {
			return nil, idErr
		}
		return nil, fmt.Errorf("%s: %w", path, ErrNoReclaim)
	}
	if err != nil {
		return nil, err
	}
	return &ReclaimFile{f: f, path: path}, nil
}

// Close closes the file.
func (r *ReclaimFile) Close() error { return r.f.Close() }

// ReclaimOutcome is what one memory.reclaim write did.
type ReclaimOutcome int

const (
	// Reclaimed: the kernel reclaimed what was asked.
	Reclaimed ReclaimOutcome = iota
	// ReclaimPartial: it reclaimed less (EAGAIN), a normal answer: little
	// is left to get.
	ReclaimPartial
	// ReclaimInterrupted: ctx ended during the write, which was cut short
	// (interrupt.Write); no error.
	ReclaimInterrupted
)

// Reclaim writes n to memory.reclaim: the kernel reclaims in the writer's
// thread, for as long as it takes, unless ctx ends. An error is neither
// EAGAIN nor an interruption; it names the file, and wraps ErrGone when
// the cgroup went (Classify).
func (r *ReclaimFile) Reclaim(ctx context.Context, n uint64) (ReclaimOutcome, error) {
	_, err := interrupt.Write(ctx, int(r.f.Fd()), []byte(strconv.FormatUint(n, 10)))
	switch {
	case err == nil:
		return Reclaimed, nil
	case errors.Is(err, syscall.EINTR) && ctx.Err() != nil:
		return ReclaimInterrupted, nil
	case errors.Is(err, syscall.EAGAIN):
		return ReclaimPartial, nil
	}
	return Reclaimed, Classify("write", r.path, err)
}
