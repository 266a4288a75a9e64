package cgroupv2

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// cgroup.kill, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"):
//
//	cgroup.kill
//		A write-only single value file which exists in non-root
//		cgroups. The only allowed value is "1".
//
//		Writing "1" to the file causes the cgroup and all descendant
//		cgroups to be killed. This means that all processes located
//		in the affected cgroup tree will be killed via SIGKILL.
//
//		Killing a cgroup tree will deal with concurrent forks
//		appropriately and is protected against migrations.
//
//		In a threaded cgroup, writing this file fails with EOPNOTSUPP
//		as killing cgroups is a process directed operation, i.e. it
//		affects the whole thread-group.
//
// It is 5.14+.

// ErrNoCgroupKill reports that cgroup.kill cannot kill this cgroup: the
// probed kernel has none (before 5.14), the file is missing (ENOENT), or
// the kernel refuses it for this cgroup (EOPNOTSUPP on a threaded cgroup,
// EINVAL). The freezer is the way then (cgroup_freeze.go).
var ErrNoCgroupKill = errors.New("no usable cgroup.kill (Linux 5.14+)")

// Kill writes 1 to cgroup.kill of the cgroup dirfd (opened by OpenSame),
// unless f, probed, says the kernel has none: then it returns
// ErrNoCgroupKill without trying. The zero Features (not probed) tries.
// An error wraps ErrNoCgroupKill when the kernel's errno calls for the
// freezer (needsFreezer); any other is the errno as it is, for the caller
// to tell (GoneAt) a cgroup that went from a real failure.
func Kill(dirfd int, f Features) error {
	if !f.CgroupKill && f != (Features{}) {
		return ErrNoCgroupKill
	}
	err := writeAt(dirfd, "cgroup.kill", "1")
	if err != nil && needsFreezer(err) {
		return fmt.Errorf("%w: %w", ErrNoCgroupKill, err)
	}
	return err
}

// needsFreezer is the errno table of a failed cgroup.kill write that calls
// for the freezer: the file is missing (kernel < 5.14), or the kernel
// refuses it (EOPNOTSUPP on threaded cgroups, EINVAL). EACCES, EBUSY,
// ENODEV (the cgroup was removed) and the rest do not.
func needsFreezer(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}
