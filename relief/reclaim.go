package relief

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/internal/interrupt"
)

// ErrNoReclaim reports a kernel without memory.reclaim (before 5.19).
var ErrNoReclaim = errors.New("memory.reclaim is not available: it needs Linux 5.19 or later")

// ReclaimResult says what one Reclaim did.
type ReclaimResult struct {
	Asked   uint64 // bytes asked of the kernel
	Freed   uint64 // memory.current before minus after
	Chunks  int    // writes made
	Partial bool   // the kernel reclaimed less than asked (EAGAIN): little is left to get
	// Interrupted: ctx ended (a kill fell due, or the daemon stops) and
	// the reclaim stopped where it was; not an error.
	Interrupted bool
}

// Reclaim asks the kernel to reclaim from the cgroup dir, chunk bytes at a
// time, until max bytes were asked, the kernel answers EAGAIN (it reclaimed
// less than a chunk: a normal partial result), or more, called after each
// chunk, says to stop (for example, because pressure fell). When ctx ends,
// a write in progress is interrupted (interrupt.Write) and Reclaim
// returns what it did, Interrupted.
func Reclaim(ctx context.Context, dir string, chunk, max uint64, more func() bool) (ReclaimResult, error) {
	var r ReclaimResult
	if chunk == 0 {
		return r, fmt.Errorf("reclaim %s: chunk of 0 bytes", dir)
	}
	before, err := cgroupv2.ReadUint(filepath.Join(dir, "memory.current"))
	if err != nil {
		return r, err
	}
	path := filepath.Join(dir, "memory.reclaim")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err = cgroupv2.Classify("open", path, err); errors.Is(err, cgroupv2.ErrGone) {
		// A missing memory.reclaim is a kernel without it (before 5.19)
		// if the cgroup itself is still there.
		if _, idErr := cgroupv2.ID(dir); idErr != nil {
			return r, idErr
		}
		return r, fmt.Errorf("%s: %w", path, ErrNoReclaim)
	}
	if err != nil {
		return r, err
	}
	defer f.Close()
	for r.Asked < max && ctx.Err() == nil {
		n := min(chunk, max-r.Asked)
		r.Asked += n
		r.Chunks++
		_, err := interrupt.Write(ctx, int(f.Fd()), []byte(strconv.FormatUint(n, 10)))
		if errors.Is(err, syscall.EINTR) && ctx.Err() != nil {
			break // a kill is due, or the daemon stops
		}
		if errors.Is(err, syscall.EAGAIN) {
			r.Partial = true
			break
		}
		if err != nil {
			return r, cgroupv2.Classify("write", path, err)
		}
		if !more() {
			break
		}
	}
	if after, err := cgroupv2.ReadUint(filepath.Join(dir, "memory.current")); err == nil && after < before {
		r.Freed = before - after
	}
	r.Interrupted = ctx.Err() != nil
	return r, nil
}
