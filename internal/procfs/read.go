package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrMalformed reports a /proc file whose text could not be parsed.
var ErrMalformed = errors.New("malformed /proc file")

// ErrNoProcess reports a process that exited while it was being read.
var ErrNoProcess = errors.New("process is gone")

// bufSize fits every per-process file read here.
const bufSize = 8 << 10

// readInto reads the file at path into buf (a new buffer when buf is nil),
// with a bare open/read/close: /proc files hand over their whole text in
// one read when the buffer is big enough, so a short read is the end.
func readInto(buf []byte, path string) ([]byte, error) {
	if buf == nil {
		buf = make([]byte, bufSize)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n < len(buf) {
			return buf[:n], nil
		}
		return os.ReadFile(path) // larger than any such file should be
	}
}

// readPID reads root/<pid>/name into buf and parses it. A process that is
// gone is ErrNoProcess: ENOENT with its /proc directory gone too, ENODEV
// or ESRCH. Other errors name the file.
func readPID(buf []byte, root string, pid int, name string, parse func([]byte) error) error {
	dir := filepath.Join(root, strconv.Itoa(pid))
	path := filepath.Join(dir, name)
	b, err := readInto(buf, path)
	if err != nil {
		if gone(dir, err) {
			return fmt.Errorf("pid %d: %w (%w)", pid, ErrNoProcess, err)
		}
		return err
	}
	if err := parse(b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// gone says whether err, met on a file of the /proc directory dir, means
// that the process exited.
func gone(dir string, err error) bool {
	switch {
	case errors.Is(err, unix.ESRCH), errors.Is(err, unix.ENODEV):
		return true
	case errors.Is(err, unix.ENOENT):
		var st unix.Stat_t
		return errors.Is(unix.Stat(dir, &st), unix.ENOENT)
	}
	return false
}
