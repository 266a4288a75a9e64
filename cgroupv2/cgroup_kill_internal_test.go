package cgroupv2

import (
	"os"
	"syscall"
	"testing"
)

// TestNeedsFreezer is the errno table of a failed cgroup.kill write: which
// errors call for the freezer.
func TestNeedsFreezer(t *testing.T) {
	for err, want := range map[error]bool{
		syscall.ENOENT:     true,
		syscall.EOPNOTSUPP: true,
		syscall.EINVAL:     true,
		&os.PathError{Op: "open", Path: "cgroup.kill", Err: syscall.ENOENT}: true,
		syscall.EACCES: false,
		syscall.EBUSY:  false,
		syscall.ENODEV: false,
	} {
		if got := needsFreezer(err); got != want {
			t.Errorf("needsFreezer(%v) = %v, want %v", err, got, want)
		}
	}
}
