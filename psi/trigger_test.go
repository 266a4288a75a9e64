package psi

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const ms = time.Millisecond

func TestTriggerSpecString(t *testing.T) {
	for _, tc := range []struct {
		spec TriggerSpec
		want string
	}{
		{TriggerSpec{Some, 150 * ms, time.Second}, "some 150000 1000000"},
		{TriggerSpec{Full, 300 * ms, 2 * time.Second}, "full 300000 2000000"},
		{TriggerSpec{Some, 10 * time.Second, 10 * time.Second}, "some 10000000 10000000"},
		{TriggerSpec{Some, 1500 * time.Nanosecond, 500 * ms}, "some 1 500000"}, // sub-µs dropped
	} {
		if got := tc.spec.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestTriggerSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		spec TriggerSpec
		ok   bool
	}{
		{TriggerSpec{Some, 150 * ms, time.Second}, true},
		{TriggerSpec{Full, 150 * ms, time.Second}, true},
		{TriggerSpec{Some, 500 * ms, 500 * ms}, true},                  // shortest window, stall == window
		{TriggerSpec{Some, time.Microsecond, 10 * time.Second}, true},  // longest window, least stall
		{TriggerSpec{"", 150 * ms, time.Second}, false},                // no kind
		{TriggerSpec{"avg10", 150 * ms, time.Second}, false},           // unknown kind
		{TriggerSpec{"SOME", 150 * ms, time.Second}, false},            // the kernel is case-sensitive
		{TriggerSpec{Some, 100 * ms, 499 * ms}, false},                 // window too short
		{TriggerSpec{Some, 100 * ms, 10*time.Second + 1}, false},       // window too long
		{TriggerSpec{Some, 0, time.Second}, false},                     // no stall
		{TriggerSpec{Some, 999 * time.Nanosecond, time.Second}, false}, // rounds to 0µs
		{TriggerSpec{Some, -ms, time.Second}, false},
		{TriggerSpec{Some, time.Second + 1, time.Second}, false}, // stall > window
	} {
		err := tc.spec.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%#v.Validate() = %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
}

func TestUnprivileged(t *testing.T) {
	for _, tc := range []struct {
		in, want TriggerSpec
	}{
		{TriggerSpec{Some, 100 * ms, 500 * ms}, TriggerSpec{Some, 400 * ms, 2 * time.Second}},
		{TriggerSpec{Some, 150 * ms, 1 * time.Second}, TriggerSpec{Some, 300 * ms, 2 * time.Second}},
		{TriggerSpec{Full, 150 * ms, 1 * time.Second}, TriggerSpec{Full, 300 * ms, 2 * time.Second}},
		{TriggerSpec{Some, 300 * ms, 3 * time.Second}, TriggerSpec{Some, 400 * ms, 4 * time.Second}}, // tie goes up
		{TriggerSpec{Some, 2999 * ms, 2999 * ms}, TriggerSpec{Some, 2 * time.Second, 2 * time.Second}},
		{TriggerSpec{Some, 500 * ms, 5 * time.Second}, TriggerSpec{Some, 600 * ms, 6 * time.Second}}, // tie goes up
		{TriggerSpec{Some, 900 * ms, 9 * time.Second}, TriggerSpec{Some, time.Second, 10 * time.Second}},
		{TriggerSpec{Some, 7 * time.Second, 7 * time.Second}, TriggerSpec{Some, 8 * time.Second, 8 * time.Second}},
		{TriggerSpec{Some, time.Microsecond, 3 * time.Second}, TriggerSpec{Some, time.Microsecond, 4 * time.Second}},  // 1.33µs rounds to 1µs
		{TriggerSpec{Some, time.Microsecond, 5 * time.Second}, TriggerSpec{Some, time.Microsecond, 6 * time.Second}},  // 1.2µs
		{TriggerSpec{Some, time.Microsecond, 9 * time.Second}, TriggerSpec{Some, time.Microsecond, 10 * time.Second}}, // 1.11µs
		{TriggerSpec{Some, 333333 * time.Microsecond, time.Second}, TriggerSpec{Some, 666666 * time.Microsecond, 2 * time.Second}},
	} {
		if got := unprivileged(tc.in); got != tc.want {
			t.Errorf("unprivileged(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// 11s is not a window to adjust: Validate rejects it before any write.
	if err := (TriggerSpec{Some, time.Second, 11 * time.Second}).Validate(); err == nil {
		t.Error("an 11s window passed Validate")
	}
}

// FuzzUnprivileged checks that every valid spec adjusts to a valid spec with
// an allowed window at the nearest allowed place, and about the same ratio.
func FuzzUnprivileged(f *testing.F) {
	f.Add(int64(150_000), int64(1_000_000))
	f.Add(int64(1), int64(500_000))
	f.Add(int64(3_000_000), int64(3_000_000))
	f.Add(int64(1), int64(9_999_999))
	f.Fuzz(func(t *testing.T, stallUS, windowUS int64) {
		in := TriggerSpec{Some, time.Duration(stallUS) * time.Microsecond, time.Duration(windowUS) * time.Microsecond}
		if in.Validate() != nil {
			return
		}
		out := unprivileged(in)
		if err := out.Validate(); err != nil {
			t.Fatalf("unprivileged(%v) = %v: %v", in, out, err)
		}
		if out.Kind != in.Kind {
			t.Fatalf("unprivileged(%v) changed the kind: %v", in, out)
		}
		if out.Window%(2*time.Second) != 0 {
			t.Fatalf("unprivileged(%v) = %v: window not a multiple of 2s", in, out)
		}
		// Nearest: no allowed window is strictly closer; ties go up.
		d := (out.Window - in.Window).Abs()
		for w := 2 * time.Second; w <= 10*time.Second; w += 2 * time.Second {
			dw := (w - in.Window).Abs()
			if dw < d || (dw == d && w > out.Window) {
				t.Fatalf("unprivileged(%v) = %v, but %v is nearer (or a tie above)", in, out, w)
			}
		}
		// Same ratio, rounded to the nearest µs, but at least 1µs.
		want := float64(stallUS) * float64(out.Window.Microseconds()) / float64(windowUS)
		got := float64(out.Stall.Microseconds())
		if math.Abs(got-want) > 0.5+1e-9 && !(want < 1 && got == 1) {
			t.Fatalf("unprivileged(%v) = %v: stall %vµs, want %.3fµs rounded", in, out, got, want)
		}
	})
}

// kernelAnswers plays the kernel's side of the trigger writes: it answers
// the i-th write with errs[i] (nil past the end) and records what was written.
type kernelAnswers struct {
	errs    []error
	written []TriggerSpec
}

func (k *kernelAnswers) install(fd int, spec TriggerSpec) error {
	k.written = append(k.written, spec)
	if i := len(k.written) - 1; i < len(k.errs) {
		return k.errs[i]
	}
	return nil
}

// tempFile returns the path of an empty file to open triggers on.
func tempFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "memory.pressure")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenTriggerAdjustsOnEINVAL(t *testing.T) {
	path := tempFile(t)
	req := TriggerSpec{Some, 150 * ms, time.Second}
	k := &kernelAnswers{errs: []error{unix.EINVAL}}
	tr, err := openTrigger(path, req, k.install)
	if err != nil {
		t.Fatalf("openTrigger: %v", err)
	}
	defer tr.Close()
	want := TriggerSpec{Some, 300 * ms, 2 * time.Second}
	if tr.Spec != want || tr.Requested != req || !tr.Adjusted() || tr.Path != path {
		t.Errorf("trigger = %+v, want Spec %v, Requested %v, Adjusted", tr, want, req)
	}
	if len(k.written) != 2 || k.written[1] != want {
		t.Errorf("writes = %v, want %v then %v", k.written, req, want)
	}
}

func TestOpenTriggerNoAdjustmentNeeded(t *testing.T) {
	path := tempFile(t)
	req := TriggerSpec{Full, 150 * ms, time.Second}
	k := &kernelAnswers{}
	tr, err := openTrigger(path, req, k.install)
	if err != nil {
		t.Fatalf("openTrigger: %v", err)
	}
	defer tr.Close()
	if tr.Adjusted() || tr.Spec != req || len(k.written) != 1 {
		t.Errorf("trigger = %+v after writes %v; want the request in force after one write", tr, k.written)
	}
}

func TestOpenTriggerErrors(t *testing.T) {
	path := tempFile(t)
	for _, tc := range []struct {
		name       string
		spec       TriggerSpec
		errs       []error
		wantWrites int
		wantIs     []error
		wantText   []string
	}{
		{
			name:       "retry fails too",
			spec:       TriggerSpec{Some, 150 * ms, time.Second},
			errs:       []error{unix.EINVAL, unix.EINVAL},
			wantWrites: 2,
			wantIs:     []error{unix.EINVAL},
			wantText:   []string{"some 150000 1000000", "some 300000 2000000", "invalid argument"},
		},
		{
			name:       "EINVAL with a 2s window is final",
			spec:       TriggerSpec{Some, 300 * ms, 2 * time.Second},
			errs:       []error{unix.EINVAL},
			wantWrites: 1,
			wantIs:     []error{unix.EINVAL},
			wantText:   []string{"some 300000 2000000"},
		},
		{
			name:       "other errno is not retried",
			spec:       TriggerSpec{Some, 150 * ms, time.Second},
			errs:       []error{unix.ENODEV},
			wantWrites: 1,
			wantIs:     []error{unix.ENODEV},
		},
		{
			name:       "PSI disabled",
			spec:       TriggerSpec{Some, 150 * ms, time.Second},
			errs:       []error{unix.EOPNOTSUPP},
			wantWrites: 1,
			wantIs:     []error{ErrDisabled, unix.EOPNOTSUPP},
			wantText:   []string{"psi=1"},
		},
		{
			name:       "PSI disabled, seen on the retry",
			spec:       TriggerSpec{Some, 150 * ms, time.Second},
			errs:       []error{unix.EINVAL, unix.EOPNOTSUPP},
			wantWrites: 2,
			wantIs:     []error{ErrDisabled},
		},
		{
			name:       "invalid spec is not written",
			spec:       TriggerSpec{Some, 2 * time.Second, time.Second},
			wantWrites: 0,
			wantText:   []string{"stall"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kernelAnswers{errs: tc.errs}
			tr, err := openTrigger(path, tc.spec, k.install)
			if err == nil {
				tr.Close()
				t.Fatalf("openTrigger succeeded with %+v", tr)
			}
			if len(k.written) != tc.wantWrites {
				t.Errorf("writes = %v, want %d", k.written, tc.wantWrites)
			}
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %q does not wrap %v", err, target)
				}
			}
			for _, s := range append([]string{path}, tc.wantText...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestOpenTriggerMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "removed-pod", "memory.pressure")
	_, err := OpenTrigger(path, TriggerSpec{Some, 150 * ms, time.Second})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenTrigger(missing) = %v; want fs.ErrNotExist naming %s", err, path)
	}
}

func TestTriggerClose(t *testing.T) {
	tr, err := openTrigger(tempFile(t), TriggerSpec{Some, 150 * ms, time.Second}, (&kernelAnswers{}).install)
	if err != nil {
		t.Fatal(err)
	}
	fd := tr.fd
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("fd %d still open after Close (fcntl: %v)", fd, err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	// The zero Trigger owns no file: closing it must not close fd 0.
	_, before := unix.FcntlInt(0, unix.F_GETFD, 0)
	if err := (&Trigger{}).Close(); err != nil {
		t.Errorf("zero Trigger Close = %v", err)
	}
	if _, after := unix.FcntlInt(0, unix.F_GETFD, 0); before == nil && after != nil {
		t.Errorf("fd 0 is closed after closing a zero Trigger: %v", after)
	}
}

func TestTryTriggerLeavesOtherFilesAlone(t *testing.T) {
	path := tempFile(t)
	const text = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	os.WriteFile(path, []byte(text), 0o644)
	err := TryTrigger(path, TriggerSpec{Some, 150 * ms, time.Second})
	if !errors.Is(err, ErrNotKernelFile) || !strings.Contains(err.Error(), path) {
		t.Errorf("TryTrigger(regular file) = %v; want ErrNotKernelFile naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != text {
		t.Errorf("the file now reads %q: TryTrigger wrote to it", b)
	}
	missing := filepath.Join(t.TempDir(), "memory.pressure")
	if err := TryTrigger(missing, TriggerSpec{Some, 150 * ms, time.Second}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("TryTrigger(missing) = %v, want fs.ErrNotExist", err)
	}
	if err := TryTrigger(path, TriggerSpec{Some, 150 * ms, 20 * time.Second}); err == nil || errors.Is(err, ErrNotKernelFile) {
		t.Errorf("TryTrigger(invalid spec) = %v, want the spec refused before any open", err)
	}
}
