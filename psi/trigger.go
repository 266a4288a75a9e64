package psi

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// Kind says which line of a pressure file a trigger watches.
type Kind string

const (
	// Some fires on time in which at least one task was stalled.
	Some Kind = "some"
	// Full fires on time in which all non-idle tasks were stalled at once.
	Full Kind = "full"
)

// Trigger window limits, and the granularity the kernel demands from callers
// without CAP_SYS_RESOURCE.
const (
	minWindow          = 500 * time.Millisecond
	maxWindow          = 10 * time.Second
	unprivilegedWindow = 2 * time.Second
)

// TriggerSpec asks the kernel to signal when stall time of the given Kind
// within any Window exceeds Stall. The kernel counts in microseconds; finer
// parts of the durations are dropped.
type TriggerSpec struct {
	Kind   Kind
	Stall  time.Duration
	Window time.Duration
}

// String returns the text written to the kernel: "some 150000 1000000"
// (stall and window in microseconds).
func (s TriggerSpec) String() string {
	return fmt.Sprintf("%s %d %d", s.Kind, s.Stall.Microseconds(), s.Window.Microseconds())
}

// Validate checks the spec against the kernel's limits: Kind some or full,
// Window from 500ms to 10s, and 0 < Stall <= Window (at least 1µs).
func (s TriggerSpec) Validate() error {
	if s.Kind != Some && s.Kind != Full {
		return fmt.Errorf("psi trigger %q: kind must be %q or %q", s, Some, Full)
	}
	if s.Window < minWindow || s.Window > maxWindow {
		return fmt.Errorf("psi trigger %q: window %v outside [%v, %v]", s, s.Window, minWindow, maxWindow)
	}
	if s.Stall < time.Microsecond || s.Stall > s.Window {
		return fmt.Errorf("psi trigger %q: stall %v must be at least 1µs and at most the window %v", s, s.Stall, s.Window)
	}
	return nil
}

// unprivileged returns the spec the kernel accepts without CAP_SYS_RESOURCE
// that is closest to s: the window rounded to the nearest multiple of 2s
// within [2s, 10s] (ties go up), and the stall scaled to keep the same
// stall/window ratio, to the nearest microsecond. s must be valid.
func unprivileged(s TriggerSpec) TriggerSpec {
	n := (s.Window + unprivilegedWindow/2) / unprivilegedWindow
	n = min(max(n, 1), maxWindow/unprivilegedWindow)
	window := n * unprivilegedWindow

	// Microseconds, as the kernel counts: at most 1e7 * 1e7, no overflow.
	stallUS, oldUS, newUS := s.Stall.Microseconds(), s.Window.Microseconds(), window.Microseconds()
	scaled := (stallUS*newUS + oldUS/2) / oldUS
	scaled = min(max(scaled, 1), newUS)
	return TriggerSpec{Kind: s.Kind, Stall: time.Duration(scaled) * time.Microsecond, Window: window}
}

// Trigger is an open pressure file with a trigger installed. Close it to
// remove the trigger.
type Trigger struct {
	// Path is the pressure file.
	Path string
	// Spec is the trigger in force.
	Spec TriggerSpec
	// Requested is what the caller asked for. It differs from Spec when
	// the kernel demanded a 2s-multiple window (see OpenTrigger).
	Requested TriggerSpec

	fd   int
	open bool // fd is ours; false in the zero Trigger and after Close
}

// Adjusted reports whether the trigger in force differs from the one asked
// for. Callers should log it.
func (t *Trigger) Adjusted() bool { return t.Spec != t.Requested }

// OpenTrigger opens the pressure file at path (a cgroup's memory.pressure or
// /proc/pressure/memory) and installs a trigger for spec.
//
// Without CAP_SYS_RESOURCE the kernel only accepts windows that are a
// multiple of 2s and answers EINVAL otherwise. OpenTrigger then retries once
// with the nearest such window and the stall scaled to the same ratio; the
// result has Spec set to what is in force and Adjusted reporting true.
//
// Errors name the file. A missing file gives an error wrapping
// fs.ErrNotExist; PSI switched off gives one wrapping ErrDisabled.
func OpenTrigger(path string, spec TriggerSpec) (*Trigger, error) {
	return openTrigger(path, spec, install)
}

// openTrigger is OpenTrigger with the trigger write passed in, so that tests
// can play the kernel's answers.
func openTrigger(path string, spec TriggerSpec, install func(fd int, spec TriggerSpec) error) (*Trigger, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, disabledErr(&fs.PathError{Op: "open", Path: path, Err: err})
	}
	t := &Trigger{Path: path, Spec: spec, Requested: spec, fd: fd, open: true}

	err = install(fd, spec)
	if errors.Is(err, unix.EINVAL) && spec.Window%unprivilegedWindow != 0 {
		// A failed write leaves no trigger behind, so the same file takes
		// the retry.
		adjusted := unprivileged(spec)
		if err2 := install(fd, adjusted); err2 != nil {
			unix.Close(fd)
			return nil, disabledErr(fmt.Errorf("%s: psi trigger %q: %w; retry as %q for the unprivileged 2s-window rule: %w",
				path, spec, err, adjusted, err2))
		}
		t.Spec, err = adjusted, nil
	}
	if err != nil {
		unix.Close(fd)
		return nil, disabledErr(fmt.Errorf("%s: psi trigger %q: %w", path, spec, err))
	}
	return t, nil
}

// ErrNotKernelFile reports a path that is not on a cgroup2 or proc file
// system, so not a kernel pressure file: TryTrigger leaves it untouched.
var ErrNotKernelFile = errors.New("not a kernel pressure file (on neither cgroup2 nor proc)")

// TryTrigger installs spec on the pressure file at path exactly as given,
// with none of OpenTrigger's adjustment, and removes it at once. It tells
// what the kernel accepts from this process: an error wrapping unix.EINVAL
// for a window that is not a multiple of 2 s means no CAP_SYS_RESOURCE.
//
// It writes only to a file of a cgroup2 or proc file system. Anywhere else
// (a test's fake tree, where the write would overwrite the file's text) it
// writes nothing and returns an error wrapping ErrNotKernelFile. Other
// errors are as OpenTrigger's, and name the file.
func TryTrigger(path string, spec TriggerSpec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return disabledErr(&fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	if t := uint32(sfs.Type); t != unix.CGROUP2_SUPER_MAGIC && t != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s: %w", path, ErrNotKernelFile)
	}
	if err := install(fd, spec); err != nil {
		return disabledErr(fmt.Errorf("%s: psi trigger %q: %w", path, spec, err))
	}
	return nil
}

// install writes the trigger text in one write. It ends with a NUL, as in
// psi.rst's example: /proc/pressure files overwrite the last byte written
// with a terminator, so without one they would lose the window's last digit.
func install(fd int, spec TriggerSpec) error {
	text := []byte(spec.String() + "\x00")
	for {
		n, err := unix.Write(fd, text)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("write: %w", err)
		case n != len(text):
			return fmt.Errorf("write: short write (%d of %d bytes)", n, len(text))
		}
		return nil
	}
}

// Close removes the trigger by closing its file. Closing twice is a no-op.
func (t *Trigger) Close() error {
	if !t.open {
		return nil
	}
	t.open = false
	if err := unix.Close(t.fd); err != nil {
		return &fs.PathError{Op: "close", Path: t.Path, Err: err}
	}
	return nil
}
