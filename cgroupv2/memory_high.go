package cgroupv2

import (
	"os"
	"path/filepath"
)

// memory.high, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"):
//
//	memory.high
//		A read-write single value file which exists on non-root
//		cgroups.  The default is "max".
//
//		Memory usage throttle limit.  If a cgroup's usage goes over
//		the high boundary, the processes of the cgroup are throttled
//		and put under heavy reclaim pressure.
//
//		Going over the high limit never invokes the OOM killer and
//		under extreme conditions the limit may be breached.
//
// A value written is kept rounded down to a page (RoundLimit).

// ReadHigh reads dir/memory.high; "max" is Unlimited.
func ReadHigh(dir string) (uint64, error) {
	return ReadUint(filepath.Join(dir, "memory.high"))
}

// SetHigh writes v to dir/memory.high (Unlimited: "max"). It never creates
// the file. Errors are sorted by Classify: a cgroup that is gone wraps
// ErrGone, a file missing from a live cgroup ErrMissingFile.
func SetHigh(dir string, v uint64) error {
	path := filepath.Join(dir, "memory.high")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return Classify("write", path, err) // a file: gone only with its cgroup
	}
	_, err = f.WriteString(FormatLimit(v))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Classify("write", path, err)
	}
	return nil
}
