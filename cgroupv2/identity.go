package cgroupv2

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A cgroup's identity, and whether it is still there. This file is the one
// rule for both: ID names a cgroup, Same and OpenSame check that a path
// still names the cgroup chosen, Changed says it does not, GoneAt says
// that an open cgroup was removed. (Classify, files.go, is the rule for an
// error met on a cgroup's path.)

// ErrReplaced reports a path that now names another cgroup than the one
// whose ID was taken: the cgroup was removed and a new one created at the
// same path. It is no ErrGone.
var ErrReplaced = errors.New("another cgroup at the same path")

// ID returns the cgroup's identity: the inode number of its directory, which
// is the kernel's cgroup ID and is never reused while the system runs. A
// victim is checked against it just before a kill.
func ID(dir string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, Classify("stat", dir, err)
	}
	return st.Ino, nil
}

// Same checks that dir is still the cgroup whose ID was id, and returns
// the ID it has now. An error wraps ErrGone when the cgroup is gone,
// ErrReplaced (now is then the new cgroup's ID) when another cgroup took
// its path, or is another error of ID's (the cgroup may still be the one).
func Same(dir string, id uint64) (now uint64, err error) {
	now, err = ID(dir)
	if err == nil && now != id {
		err = fmt.Errorf("%s: %w: cgroup ID is %d, not %d", dir, ErrReplaced, now, id)
	}
	return now, err
}

// Changed reports whether dir is known to be no longer the cgroup whose
// ID was id: it is gone, or another cgroup took its path. An error that
// leaves it open (EACCES, say) is no change.
func Changed(dir string, id uint64) bool {
	_, err := Same(dir, id)
	return errors.Is(err, ErrGone) || errors.Is(err, ErrReplaced)
}

// OpenSame opens the directory dir (O_RDONLY, for openat) if it is still
// the cgroup whose ID was id. The fd pins that cgroup: a write through it
// can never reach another cgroup created at the same path later. An error
// wraps ErrReplaced when dir is another cgroup now, ErrGone when it is
// gone (Classify); nothing is open then.
func OpenSame(dir string, id uint64) (dirfd int, err error) {
	dirfd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, Classify("open", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		unix.Close(dirfd)
		return -1, Classify("stat", dir, err)
	}
	if st.Ino != id {
		unix.Close(dirfd)
		return -1, fmt.Errorf("%s: %w: cgroup ID is %d, not %d", dir, ErrReplaced, st.Ino, id)
	}
	return dirfd, nil
}

// GoneAt reports whether the cgroup behind dirfd, an open directory, has
// been removed: to tell a failed write to a cgroup that went away from one
// the kernel refused. A removed cgroupfs directory has no link left;
// otherwise cgroup.events, which every cgroup has, is opened and any error
// is judged by Classify.
func GoneAt(dirfd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		return errors.Is(Classify("stat", "cgroup", err), ErrGone)
	}
	if st.Nlink == 0 {
		return true
	}
	fd, err := unix.Openat(dirfd, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errors.Is(Classify("open", "cgroup.events", err), ErrGone)
	}
	unix.Close(fd)
	return false
}

// writeAt writes value to the interface file name in the directory dirfd,
// with one write(2), retried on EINTR. It never creates the file: a
// missing file is ENOENT. The errno is returned as it is, for the caller
// (cgroup_kill.go, cgroup_freeze.go, memory_max.go) to give it its
// meaning.
func writeAt(dirfd int, name, value string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			return err
		}
	}
}
