package cgroupv2

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Unlimited is the value of a limit file that reads "max".
const Unlimited uint64 = math.MaxUint64

// FormatLimit writes a limit as the kernel's limit files do (memory.max,
// memory.high): "max" for Unlimited, else the number in decimal. ParseUint
// reads it back.
func FormatLimit(v uint64) string {
	if v == Unlimited {
		return "max"
	}
	return strconv.FormatUint(v, 10)
}

// ErrGone reports that a cgroup was removed while it was being read or
// written. Pods come and go all the time, so callers treat it as normal, not
// as a failure. Classify decides what counts as gone.
var ErrGone = errors.New("cgroup is gone")

// ErrMissingFile reports an interface file missing from a cgroup that is
// still there: a controller not enabled for it, or a feature switched off
// (cgroup.pressure set to 0 removes the *.pressure files). It is no
// ErrGone; Classify decides.
var ErrMissingFile = errors.New("interface file missing while its cgroup is there")

// Classify is kube-oomd's one rule for "this cgroup is gone", for an error
// met on a cgroup's directory or on one of its files. op is what was done
// to path: "open", "stat" or "readdir" to the cgroup's directory, "read" or
// "write" to one of its files (opening the file included), whose directory
// is the cgroup:
//
//   - ENOENT (fs.ErrNotExist) on the directory: it does not exist, the
//     cgroup was removed.
//   - ENOENT on a file ("read", "write"): the cgroup was removed only if
//     its directory is gone too, which Classify looks up then (ENOENT is
//     the rare case: it costs nothing otherwise). A file can be missing
//     from a cgroup that is still there: a controller not enabled for it,
//     or cgroup.pressure set to 0, which removes the *.pressure files. That
//     is no ErrGone but an *fs.PathError wrapping ErrMissingFile and ENOENT.
//   - ENODEV: the file or directory was open when its cgroup was removed;
//     reads, writes and readdir through it fail so.
//
// Gone returns an error wrapping ErrGone (and the errno) that names path.
// Anything else (EMFILE, ENFILE, EACCES, ENOMEM, EIO, EBUSY...) is a real
// error: the cgroup may well still be there, and treating it as gone would
// drop a live pod from a scan or report a victim as vanished. It is returned
// as an *fs.PathError naming op and path. nil stays nil; an error that
// already wraps ErrGone is returned as it is.
func Classify(op, path string, err error) error {
	if err == nil || errors.Is(err, ErrGone) {
		return err
	}
	cause := err
	if pe, ok := err.(*fs.PathError); ok {
		cause = pe.Err
	}
	gone := errors.Is(cause, unix.ENODEV)
	if errors.Is(cause, fs.ErrNotExist) {
		gone = true
		if op == "read" || op == "write" {
			var st unix.Stat_t
			if err := unix.Stat(filepath.Dir(path), &st); !errors.Is(err, unix.ENOENT) {
				return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w: %w", ErrMissingFile, cause)}
			}
		}
	}
	if gone {
		return fmt.Errorf("%s: %w (%s: %w)", path, ErrGone, op, cause)
	}
	return &fs.PathError{Op: op, Path: path, Err: cause}
}

// readDir is os.ReadDir; tests replace it to play errors that a real
// directory cannot be made to return (EMFILE, or EACCES for root).
var readDir = os.ReadDir

// listDir lists a cgroup directory, with errors sorted by Classify.
func listDir(dir string) ([]os.DirEntry, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, Classify("readdir", dir, err)
	}
	return entries, nil
}

// ErrMalformed reports a kernel file whose text could not be parsed.
var ErrMalformed = errors.New("malformed cgroup file")

// readBufSize fits every file a Reader reads; memory.stat, the largest, is
// about 1.5 KiB on Linux 6.x.
const readBufSize = 8 << 10

// file is a kernel file to read: name in the directory dir, which the
// caller may hold open as dirfd so that the kernel does not walk the whole
// path for every file (dirfd is unix.AT_FDCWD otherwise).
type file struct {
	dirfd     int
	dir, name string
}

// pathFile is a file by its whole path.
func pathFile(path string) file { return file{dirfd: unix.AT_FDCWD, name: path} }

func (f file) String() string {
	if f.dir == "" {
		return f.name
	}
	return f.dir + "/" + f.name
}

// parseFile reads a small kernel file and hands its text to parse, which
// must not keep it. A full scan reads tens of thousands of these files, so
// with a scratch buffer (a Reader's) it reads with a bare openat/read/close
// and allocates nothing; with buf nil it allocates. Errors are sorted by
// Classify (a file of a removed cgroup is ErrGone) and name the file.
func parseFile(buf []byte, f file, parse func([]byte) error) error {
	text, err := readInto(buf, f)
	if err != nil {
		return Classify("read", f.String(), err)
	}
	if err := parse(text); err != nil {
		return fmt.Errorf("%s: %w", f, err)
	}
	return nil
}

// readInto reads the file into buf, or into a new slice when buf is nil or
// too small.
func readInto(buf []byte, f file) ([]byte, error) {
	if buf == nil {
		buf = make([]byte, readBufSize)
	}
	fd, err := unix.Openat(f.dirfd, f.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// Kernel files hand over their whole text in one read when the buffer
	// is big enough, so a short read is the end: no read(2) for EOF.
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n < len(buf) {
			return buf[:n], nil
		}
		break
	}
	return os.ReadFile(f.String()) // larger than any such file should be
}

// openDir opens a cgroup directory to read its files with openat, and
// returns its stat: the inode is the cgroup's ID (see ID), the link count
// tells whether it has subdirectories (see readBelow).
func openDir(dir string) (fd int, st unix.Stat_t, err error) {
	if fd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return -1, st, Classify("open", dir, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, Classify("stat", dir, err)
	}
	return fd, st, nil
}

// ReadUint reads a single-value file such as memory.current or memory.max.
// "max" reads as Unlimited.
func ReadUint(path string) (uint64, error) { return readUint(nil, pathFile(path)) }

func readUint(buf []byte, f file) (uint64, error) {
	var v uint64
	err := parseFile(buf, f, func(b []byte) (err error) { v, err = ParseUint(b); return err })
	return v, err
}

// ParseUint parses the text of a single-value file; "max" is Unlimited.
func ParseUint(b []byte) (uint64, error) {
	s := bytes.TrimSpace(b)
	if string(s) == "max" {
		return Unlimited, nil
	}
	v, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: want a number or \"max\", got %q", ErrMalformed, s)
	}
	return v, nil
}

// eachKeyValue calls fn for every "key value" line of a flat-keyed file
// (memory.stat, memory.events, cgroup.events). Lines that do not have that
// shape are errors: the kernel never writes them.
func eachKeyValue(b []byte, fn func(key []byte, value uint64)) error {
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		if len(line) == 0 {
			continue
		}
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 {
			return fmt.Errorf("%w: line %q is not \"key value\"", ErrMalformed, line)
		}
		v, err := strconv.ParseUint(string(line[sp+1:]), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %q has no number", ErrMalformed, line)
		}
		fn(line[:sp], v)
	}
	return nil
}
