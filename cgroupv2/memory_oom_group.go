package cgroupv2

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// memory.oom.group, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"):
//
//	memory.oom.group
//		A read-write single value file which exists on non-root
//		cgroups.  The default value is "0".
//
//		Determines whether the cgroup should be treated as
//		an indivisible workload by the OOM killer. If set,
//		all tasks belonging to the cgroup or to its descendants
//		(if the memory cgroup is not the root cgroup) are killed
//		together or not at all. This can be used to avoid
//		partial kills to guarantee workload integrity.
//
//		Tasks with the OOM protection (oom_score_adj set to -1000)
//		are treated as an exception and are never killed.
//
// It is 4.19+. With 0, a memory.max lowered under the usage makes the
// kernel kill one task at a time, each kill waiting for the last victim
// to be torn down, with a full OOM report for each; with 1, one report and
// one kill take the whole cgroup (mm/oom_kill.c, mem_cgroup_get_oom_group).

// ReadOOMGroup reads dir/memory.oom.group: true for 1. A cgroup without
// the file (a kernel before 4.19, or the memory controller off there)
// wraps ErrMissingFile.
func ReadOOMGroup(dir string) (bool, error) {
	v, err := ReadUint(filepath.Join(dir, "memory.oom.group"))
	if err != nil {
		return false, err
	}
	return v == 1, nil
}

// SetOOMGroupAt writes on (1) or off (0) to memory.oom.group of dir, open
// as dirfd. An error names the file, and wraps ErrGone when the cgroup
// went (GoneAt); a missing file on a live cgroup wraps ErrMissingFile.
func SetOOMGroupAt(dirfd int, dir string, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	err := writeAt(dirfd, "memory.oom.group", v)
	switch {
	case err == nil:
		return nil
	case GoneAt(dirfd):
		return fmt.Errorf("%s: %w (write %s to memory.oom.group: %w)", dir, ErrGone, v, err)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s/memory.oom.group: %w: %w", dir, ErrMissingFile, err)
	}
	return fmt.Errorf("write %s to %s/memory.oom.group: %w", v, dir, err)
}
