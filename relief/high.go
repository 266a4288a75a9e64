package relief

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// ErrNotInForce reports a memory.high that did not read back as set.
var ErrNotInForce = errors.New("memory.high is not the value set")

// Setter sets a cgroup's memory.high; cgroupv2.Unlimited means "max".
type Setter interface {
	SetHigh(ctx context.Context, cgroup string, value uint64) error
}

// FileSetter writes memory.high directly: the way for cgroupfs-driver pods.
// On systemd-driver slices a direct write can be undone by a daemon-reload
// or the kubelet's cgroup sync; set the unit property there instead.
type FileSetter struct{ Mount string }

// SetHigh writes memory.high of the cgroup at the path from the mount
// (cgroupv2.SetHigh): a cgroup that is gone wraps cgroupv2.ErrGone.
func (s FileSetter) SetHigh(_ context.Context, cgroup string, value uint64) error {
	return cgroupv2.SetHigh(filepath.Join(s.Mount, cgroup), value)
}

// Verify checks that memory.high of dir reads back as value, as the kernel
// keeps it: rounded down to pageSize, the kernel's page size
// (cgroupv2.Features.PageSize; see cgroupv2.RoundLimit).
func Verify(dir string, value, pageSize uint64) error {
	if pageSize == 0 {
		return fmt.Errorf("relief: verify %s/memory.high: page size 0: pass cgroupv2.Features.PageSize", dir)
	}
	got, err := cgroupv2.ReadHigh(dir)
	if err != nil {
		return err
	}
	if want := cgroupv2.RoundLimit(value, pageSize); got != want {
		return fmt.Errorf("%s/memory.high reads %s, not %s: %w", dir, cgroupv2.FormatLimit(got), cgroupv2.FormatLimit(want), ErrNotInForce)
	}
	return nil
}
