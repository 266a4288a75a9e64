package psi

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrMalformed reports pressure text that does not have the kernel's format.
var ErrMalformed = errors.New("malformed pressure stall information")

// ErrDisabled reports a kernel that has PSI compiled in but switched off, so
// pressure files answer EOPNOTSUPP.
var ErrDisabled = errors.New("pressure stall information is disabled: boot the kernel with psi=1")

// Stall is one line of a pressure file.
type Stall struct {
	// Avg10, Avg60 and Avg300 are the share of wall time, in percent, spent
	// stalled over the last 10, 60 and 300 seconds.
	Avg10, Avg60, Avg300 float64
	// Total is the cumulative stall time since boot (or since the cgroup was
	// created). The kernel counts it in microseconds.
	Total time.Duration
}

// Pressure is the content of a memory pressure file.
type Pressure struct {
	// Some is time in which at least one task was stalled on memory.
	Some Stall
	// Full is time in which all non-idle tasks were stalled at once: lost
	// throughput.
	Full Stall
}

// Parse parses the text of /proc/pressure/memory or a cgroup's
// memory.pressure:
//
//	some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// Both lines must be present, once each, with exactly these four fields in
// this order. Errors wrap ErrMalformed.
func Parse(data []byte) (Pressure, error) {
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return Pressure{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	var p Pressure
	var seenSome, seenFull bool
	for _, line := range strings.Split(text, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		var dst *Stall
		switch {
		case kind == string(Some) && !seenSome:
			dst, seenSome = &p.Some, true
		case kind == string(Full) && !seenFull:
			dst, seenFull = &p.Full, true
		default:
			return Pressure{}, fmt.Errorf("%w: unexpected line %q", ErrMalformed, line)
		}
		s, err := parseStall(rest)
		if err != nil {
			return Pressure{}, fmt.Errorf("%w: line %q: %w", ErrMalformed, line, err)
		}
		*dst = s
	}
	if !seenSome || !seenFull {
		return Pressure{}, fmt.Errorf("%w: want a %q and a %q line", ErrMalformed, Some, Full)
	}
	return p, nil
}

// parseStall parses "avg10=0.12 avg60=0.05 avg300=0.01 total=123456".
func parseStall(fields string) (Stall, error) {
	f := strings.Fields(fields)
	if len(f) != 4 {
		return Stall{}, fmt.Errorf("want 4 fields, got %d", len(f))
	}
	var s Stall
	var err error
	if s.Avg10, err = parseAvg(f[0], "avg10"); err != nil {
		return Stall{}, err
	}
	if s.Avg60, err = parseAvg(f[1], "avg60"); err != nil {
		return Stall{}, err
	}
	if s.Avg300, err = parseAvg(f[2], "avg300"); err != nil {
		return Stall{}, err
	}
	if s.Total, err = parseTotal(f[3]); err != nil {
		return Stall{}, err
	}
	return s, nil
}

// field returns the value of "name=value".
func field(kv, name string) (string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k != name {
		return "", fmt.Errorf("want %s=, got %q", name, kv)
	}
	return v, nil
}

// parseAvg parses a percentage as the kernel prints it ("%lu.%02lu"): digits
// with at most one decimal point, so no signs, exponents, NaN or Inf.
func parseAvg(kv, name string) (float64, error) {
	v, err := field(kv, name)
	if err != nil {
		return 0, err
	}
	intPart, frac, _ := strings.Cut(v, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%s: bad percentage %q", name, v)
	}
	return strconv.ParseFloat(v, 64)
}

// parseTotal parses "total=<µs>".
func parseTotal(kv string) (time.Duration, error) {
	v, err := field(kv, "total")
	if err != nil {
		return 0, err
	}
	if !allDigits(v) {
		return 0, fmt.Errorf("total: bad number %q", v)
	}
	us, err := strconv.ParseUint(v, 10, 64)
	if err != nil || us > math.MaxInt64/uint64(time.Microsecond) {
		return 0, fmt.Errorf("total: %q out of range", v)
	}
	return time.Duration(us) * time.Microsecond, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ReadFile reads and parses a pressure file. Errors name the path; a kernel
// with PSI switched off gives an error wrapping ErrDisabled.
func ReadFile(path string) (Pressure, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Pressure{}, disabledErr(err)
	}
	p, err := Parse(data)
	if err != nil {
		return Pressure{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// disabledErr adds ErrDisabled to an error caused by EOPNOTSUPP, which is
// how the kernel answers on pressure files while PSI is switched off.
func disabledErr(err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%w (%w)", err, ErrDisabled)
	}
	return err
}
