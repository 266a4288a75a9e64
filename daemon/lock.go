package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kube-oomd/kube-oomd/internal/rundir"
	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning reports a second `kube-oomd run` on a node where one runs.
var ErrAlreadyRunning = errors.New("kube-oomd is already running")

// instanceLock makes sure one daemon at a time owns the run directory: its
// throttle state, its status socket. A second instance would give the
// first one's throttles back, delete its state file and its socket on its
// way out. The lock is an flock, so it goes with the process, however it
// ends; the file holds the owner's PID for the message.
type instanceLock struct{ f *os.File }

func lockInstance(runDir string) (*instanceLock, error) {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(runDir, rundir.Lock)
	// Never through a symbolic link (the PID is written over the file),
	// never blocking, only a regular file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("lock %s: a symbolic link, never followed: remove it", path)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("not a regular file (%v): remove it", fi.Mode().Type())
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		owner := "another process"
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil {
			owner = fmt.Sprintf("pid %d", pid)
		}
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s holds %s): stop it first (systemctl stop kube-oomd), "+
				"or ask it with `kube-oomd status`; `kube-oomd pods` shows the ranking without a daemon", ErrAlreadyRunning, owner, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &instanceLock{f: f}, nil
}

// release gives the lock up. The file stays: removing it would let a third
// instance lock a new file while a second still holds the old one.
func (l *instanceLock) release() { l.f.Close() }
