package relief

import (
	"context"
	"fmt"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// ErrNoReclaim reports a kernel without memory.reclaim (before 5.19); it
// is cgroupv2's, which decides it.
var ErrNoReclaim = cgroupv2.ErrNoReclaim

// ReclaimResult says what one Reclaim did.
type ReclaimResult struct {
	Asked   uint64 // bytes asked of the kernel
	Freed   uint64 // memory.current before minus after
	Chunks  int    // writes made
	Partial bool   // the kernel reclaimed less than asked (cgroupv2.ReclaimPartial): little is left to get
	// Interrupted: ctx ended (a kill fell due, or the daemon stops) and
	// the reclaim stopped where it was; not an error.
	Interrupted bool
}

// Reclaim asks the kernel to reclaim from the cgroup dir, chunk bytes at a
// time (cgroupv2.ReclaimFile, which owns the file's errnos), until max
// bytes were asked, the kernel reclaimed less than a chunk (a normal
// partial result), or more, called after each chunk, says to stop (for
// example, because pressure fell). When ctx ends, a write in progress is
// cut short and Reclaim returns what it did, Interrupted. A kernel without
// memory.reclaim is ErrNoReclaim.
func Reclaim(ctx context.Context, dir string, chunk, max uint64, more func() bool) (ReclaimResult, error) {
	var r ReclaimResult
	if chunk == 0 {
		return r, fmt.Errorf("reclaim %s: chunk of 0 bytes", dir)
	}
	before, err := cgroupv2.ReadCurrent(dir)
	if err != nil {
		return r, err
	}
	f, err := cgroupv2.OpenReclaim(dir)
	if err != nil {
		return r, err
	}
	defer f.Close()
	for r.Asked < max && ctx.Err() == nil {
		n := min(chunk, max-r.Asked)
		r.Asked += n
		r.Chunks++
		out, err := f.Reclaim(ctx, n)
		if err != nil {
			return r, err
		}
		if out == cgroupv2.ReclaimInterrupted {
			break // a kill is due, or the daemon stops
		}
		if out == cgroupv2.ReclaimPartial {
			r.Partial = true
			break
		}
		if !more() {
			break
		}
	}
	if after, err := cgroupv2.ReadCurrent(dir); err == nil && after < before {
		r.Freed = before - after
	}
	r.Interrupted = ctx.Err() != nil
	return r, nil
}
