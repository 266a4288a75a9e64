// Package statefile writes kube-oomd's small state files in its run
// directory (the throttles in force, the cgroups a kill froze, the
// memory.max a kill lowered): JSON, root-only, written atomically, so that
// a crash leaves the old file or the new one, never half of one.
//
// A state file is trusted no further than its path: it is opened without
// following a symbolic link and without blocking (O_NOFOLLOW, O_NONBLOCK),
// read only if it is a regular file of at most MaxSize bytes, and written
// through a temporary file created afresh (O_EXCL, O_NOFOLLOW), so that
// nothing planted in the run directory is read, followed or written
// through, and a FIFO there cannot hang the daemon's start.
//
// Load, Add and Remove are the read-edit-write of a write-ahead record: an
// entry added before the change it names is made, removed once the change
// is undone. They do not lock: each record's owner serialises its own
// edits (one process, one mutex).
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// MaxSize bounds a state file, read or written: each holds a few entries,
// a few hundred bytes each.
const MaxSize = 1 << 20

var (
	// ErrNotRegular reports a state file's path that holds something
	// other than a regular file: a symbolic link (never followed), a FIFO,
	// a directory, a device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge reports a state file larger than MaxSize.
	ErrTooLarge = errors.New("larger than a state file may be")
)

// TempSuffix names the copy Save writes before renaming it into place.
const TempSuffix = ".tmp"

// Save writes items to path as JSON, atomically (a temporary file, then a
// rename), creating the directory root-only. No items remove the file.
// A record larger than MaxSize is not written (ErrTooLarge): Load would
// refuse it.
func Save[T any](path string, items []T) error {
	if len(items) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if len(b) > MaxSize {
		return fmt.Errorf("%s: %d bytes: %w (%d bytes): not written", path, len(b), ErrTooLarge, MaxSize)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + TempSuffix
	if err := writeNew(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeNew writes b to a file created at path, root-only. Whatever was
// there (a temporary file a crash left, or a symbolic link planted there)
// is removed first, never followed: the file is created anew, and if
// something takes its path in between, the write fails.
func writeNew(path string, b []byte) error {
	if err := unix.Unlink(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &fs.PathError{Op: "create", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// Load reads what Save wrote to path; no file is no items. The path must
// be absolute (a relative one would be read from wherever the daemon
// happens to run). A file that does not parse is an error naming it, then
// hint: what to do by hand before removing it.
func Load[T any](path, hint string) ([]T, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("state file %q: the path must be absolute", path)
	}
	b, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, hint)
	}
	var items []T
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", path, err, hint)
	}
	return items, nil
}

// read reads the state file at path: not through a symbolic link, never
// blocking (a FIFO), only a regular file, at most MaxSize bytes. Its
// errors name the file; a missing one wraps fs.ErrNotExist.
func read(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%s: a symbolic link, never followed: %w", path, ErrNotRegular)
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %s: %w", path, kind(st.Mode), ErrNotRegular)
	}
	if st.Size > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes: %w (%d bytes)", path, st.Size, ErrTooLarge, MaxSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", path, MaxSize, ErrTooLarge)
	}
	return b, nil
}

// kind names a file type that is not a regular file's.
func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return "a special file"
}

// Add appends item to the record at path (hint as for Load).
func Add[T any](path string, item T, hint string) error {
	items, err := Load[T](path, hint)
	if err != nil {
		return err
	}
	if err := Save(path, append(items, item)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Remove drops the first entry equal to item from the record at path; an
// item not there is no error.
func Remove[T comparable](path string, item T, hint string) error {
	items, err := Load[T](path, hint)
	if err != nil {
		return err
	}
	i := slices.Index(items, item)
	if i < 0 {
		return nil
	}
	if err := Save(path, slices.Delete(items, i, i+1)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
