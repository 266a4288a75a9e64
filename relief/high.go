package relief

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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

// SetHigh writes memory.high of the cgroup at the path from the mount.
func (s FileSetter) SetHigh(_ context.Context, cgroup string, value uint64) error {
	path := filepath.Join(s.Mount, cgroup, "memory.high")
	text := "max"
	if value != cgroupv2.Unlimited {
		text = strconv.FormatUint(value, 10)
	}
	if err := os.WriteFile(path, []byte(text), 0); err != nil {
		if _, statErr := os.Stat(filepath.Dir(path)); statErr != nil {
			return fmt.Errorf("%s: %w", filepath.Dir(path), cgroupv2.ErrGone)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadHigh reads a cgroup's memory.high.
func ReadHigh(dir string) (uint64, error) {
	return cgroupv2.ReadUint(filepath.Join(dir, "memory.high"))
}

// Verify checks that memory.high of dir reads back as value, which the
// kernel rounds down to a page.
func Verify(dir string, value uint64) error {
	got, err := ReadHigh(dir)
	if err != nil {
		return err
	}
	want := value
	if want != cgroupv2.Unlimited {
		want = want / 4096 * 4096
	}
	if got != want {
		return fmt.Errorf("%s/memory.high reads %s, not %s: %w", dir, format(got), format(want), ErrNotInForce)
	}
	return nil
}

func format(v uint64) string {
	if v == cgroupv2.Unlimited {
		return "max"
	}
	return strconv.FormatUint(v, 10)
}
