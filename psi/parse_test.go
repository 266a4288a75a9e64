package psi

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A real /proc/pressure/memory from a machine under some memory pressure.
const realPressure = "some avg10=1.53 avg60=0.87 avg300=0.26 total=8276383\n" +
	"full avg10=0.61 avg60=0.38 avg300=0.11 total=3927160\n"

var realWant = Pressure{
	Some: Stall{Avg10: 1.53, Avg60: 0.87, Avg300: 0.26, Total: 8276383 * time.Microsecond},
	Full: Stall{Avg10: 0.61, Avg60: 0.38, Avg300: 0.11, Total: 3927160 * time.Microsecond},
}

var parseGood = []struct {
	name string
	in   string
	want Pressure
}{
	{"kernel text", realPressure, realWant},
	{"no trailing newline", strings.TrimSuffix(realPressure, "\n"), realWant},
	{"full all zeros", "some avg10=0.12 avg60=0.05 avg300=0.01 total=123456\n" +
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		Pressure{Some: Stall{Avg10: 0.12, Avg60: 0.05, Avg300: 0.01, Total: 123456 * time.Microsecond}}},
	{"idle machine", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" +
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", Pressure{}},
	{"fully stalled", "some avg10=100.00 avg60=100.00 avg300=99.99 total=9000000000\n" +
		"full avg10=100.00 avg60=100.00 avg300=99.99 total=9000000000\n",
		Pressure{
			Some: Stall{Avg10: 100, Avg60: 100, Avg300: 99.99, Total: 9000 * time.Second},
			Full: Stall{Avg10: 100, Avg60: 100, Avg300: 99.99, Total: 9000 * time.Second},
		}},
	{"lines in other order", "full avg10=0.61 avg60=0.38 avg300=0.11 total=3927160\n" +
		"some avg10=1.53 avg60=0.87 avg300=0.26 total=8276383\n", realWant},
}

var parseBad = []struct {
	name string
	in   string
}{
	{"empty", ""},
	{"only newline", "\n"},
	{"missing full line", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"missing some line", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"duplicate some", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"missing total", "some avg10=0.00 avg60=0.00 avg300=0.00\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"missing avg60", "some avg10=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"kind only", "some\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"extra field", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0 x=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"fields swapped", "some avg60=0.00 avg10=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"field without =", "some avg10 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"bad avg", "some avg10=abc avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"negative avg", "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"NaN avg", "some avg10=NaN avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"exponent avg", "some avg10=1e2 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"empty avg", "some avg10= avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"bad total", "some avg10=0.00 avg60=0.00 avg300=0.00 total=12x\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"negative total", "some avg10=0.00 avg60=0.00 avg300=0.00 total=-5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"fractional total", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"total overflows Duration", "some avg10=0.00 avg60=0.00 avg300=0.00 total=9223372036854776\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"total overflows uint64", "some avg10=0.00 avg60=0.00 avg300=0.00 total=99999999999999999999\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"unknown prefix", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\nmost avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"blank line between", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
	{"two trailing newlines", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\n"},
	{"memory.events by mistake", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseGood {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.want {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range parseBad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want an error wrapping ErrMalformed", got, err)
			}
			if got != (Pressure{}) {
				t.Errorf("Parse returned %+v along with the error, want the zero Pressure", got)
			}
		})
	}
}

// format prints p as the kernel does.
func format(p Pressure) string {
	line := func(kind Kind, s Stall) string {
		return fmt.Sprintf("%s avg10=%.2f avg60=%.2f avg300=%.2f total=%d\n",
			kind, s.Avg10, s.Avg60, s.Avg300, s.Total.Microseconds())
	}
	return line(Some, p.Some) + line(Full, p.Full)
}

func FuzzParse(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*", "memory.pressure"))
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, tc := range parseGood {
		f.Add([]byte(tc.in))
	}
	for _, tc := range parseBad {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, s := range []Stall{p.Some, p.Full} {
			for _, avg := range []float64{s.Avg10, s.Avg60, s.Avg300} {
				if avg < 0 || math.IsNaN(avg) || math.IsInf(avg, 0) {
					t.Fatalf("Parse(%q) gave average %v", data, avg)
				}
			}
			if s.Total < 0 || s.Total%time.Microsecond != 0 {
				t.Fatalf("Parse(%q) gave total %v, want a non-negative whole number of µs", data, s.Total)
			}
		}
		// Printed the kernel's way, the result parses again to the same
		// totals, and to averages within the printed precision.
		text := format(p)
		q, err := Parse([]byte(text))
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but its kernel-style text %q does not parse: %v", data, p, text, err)
		}
		if q.Some.Total != p.Some.Total || q.Full.Total != p.Full.Total {
			t.Fatalf("totals do not round-trip: %+v -> %q -> %+v", p, text, q)
		}
		near := func(a, b float64) bool { return math.Abs(a-b) <= 0.005+1e-9*math.Abs(a) }
		for _, pair := range [][2]Stall{{p.Some, q.Some}, {p.Full, q.Full}} {
			a, b := pair[0], pair[1]
			if !near(a.Avg10, b.Avg10) || !near(a.Avg60, b.Avg60) || !near(a.Avg300, b.Avg300) {
				t.Fatalf("averages do not round-trip: %+v -> %q -> %+v", p, text, q)
			}
		}
	})
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()

	good := filepath.Join(dir, "memory.pressure")
	if err := os.WriteFile(good, []byte(realPressure), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(good)
	if err != nil || got != realWant {
		t.Errorf("ReadFile = %+v, %v; want %+v", got, err, realWant)
	}

	bad := filepath.Join(dir, "bad.pressure")
	if err := os.WriteFile(bad, []byte("some nonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(bad)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadFile(malformed) = %v; want ErrMalformed naming %s", err, bad)
	}

	missing := filepath.Join(dir, "gone", "memory.pressure")
	_, err = ReadFile(missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadFile(missing) = %v; want fs.ErrNotExist naming %s", err, missing)
	}
}

func TestReadFileRealKernel(t *testing.T) {
	const path = "/proc/pressure/memory"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s on this machine: %v", path, err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
}

// The kernel answers EOPNOTSUPP while PSI is switched off. That cannot be
// arranged on a running machine, so feed the error in.
func TestDisabledErr(t *testing.T) {
	err := disabledErr(&os.PathError{Op: "read", Path: "/proc/pressure/memory", Err: unix.EOPNOTSUPP})
	if !errors.Is(err, ErrDisabled) || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("disabledErr(EOPNOTSUPP) = %v; want ErrDisabled and the errno", err)
	}
	if !strings.Contains(err.Error(), "/proc/pressure/memory") || !strings.Contains(err.Error(), "psi=1") {
		t.Errorf("disabledErr(EOPNOTSUPP) = %q; want the path and the psi=1 advice", err)
	}
	if err := disabledErr(unix.EIO); errors.Is(err, ErrDisabled) {
		t.Errorf("disabledErr(EIO) = %v; want no ErrDisabled", err)
	}
}
