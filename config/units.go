package config

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Amount is either a fixed number of bytes or a share of some total,
// such as "512MiB" or "5%". At most one of the fields is non-zero.
type Amount struct {
	Bytes uint64  // fixed size in bytes, when Ratio is 0
	Ratio float64 // share of the total, 0..1
}

// Of returns the amount in bytes, taking a Ratio of total.
func (a Amount) Of(total uint64) uint64 {
	if a.Ratio > 0 {
		b := a.Ratio * float64(total)
		if b >= float64(total) { // a Ratio of 1, or rounding near 2^64
			return total
		}
		return uint64(b)
	}
	return a.Bytes
}

// String returns the amount as the config file writes it: "5%" or "512MiB".
func (a Amount) String() string {
	if a.Ratio > 0 {
		return formatRatio(a.Ratio)
	}
	return FormatSize(a.Bytes)
}

// MarshalText implements encoding.TextMarshaler.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler using [ParseAmount].
func (a *Amount) UnmarshalText(text []byte) error {
	v, err := ParseAmount(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// maxDigits bounds the digits of a number, keeping big-number arithmetic on
// hostile input cheap. No sensible size or ratio needs more.
const maxDigits = 64

// sizeUnits maps each accepted unit suffix to its multiplier.
func sizeUnits() map[string]int64 {
	return map[string]int64{
		"": 1, "B": 1,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, // Kubernetes style
		"kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	}
}

const sizeUnitHelp = "use B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000)"

// ParseSize parses a size in bytes: a decimal number with an optional unit,
// such as "4096", "512KiB", "64MiB", "1.5GiB" or "100MB". Binary units
// (KiB, MiB, GiB, TiB, and Kubernetes' Ki, Mi, Gi, Ti) are powers of 1024,
// decimal units (kB, MB, GB, TB) powers of 1000, and B or no unit means
// bytes. Spaces around the number and unit are ignored; fractions of a byte
// are rounded down.
func ParseSize(s string) (uint64, error) {
	num, unit := splitNumber(strings.TrimSpace(s))
	if err := checkNumber(s, num); err != nil {
		return 0, fmt.Errorf("%w; want a number of bytes with an optional unit, like \"64MiB\"", err)
	}
	unit = strings.TrimSpace(unit)
	mult, ok := sizeUnits()[unit]
	if !ok {
		return 0, fmt.Errorf("%q has unknown unit %q; %s", s, unit, sizeUnitHelp)
	}
	// n = digits without the point; size = n * mult / 10^len(frac), floored.
	whole, frac, _ := strings.Cut(num, ".")
	n, _ := new(big.Int).SetString(whole+frac, 10)
	n.Mul(n, big.NewInt(mult))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !n.IsUint64() {
		return 0, fmt.Errorf("%q is too large; the largest size is %d bytes (16EiB)", s, uint64(1<<64-1))
	}
	return n.Uint64(), nil
}

// ParseRatio parses a percentage such as "90%" or "12.5%" into a share
// between 0 and 1. Spaces around the number and "%" are ignored.
func ParseRatio(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(t, "%")
	if !ok {
		return 0, fmt.Errorf("%q is not a percentage; write it with %%, like \"90%%\"", s)
	}
	num = strings.TrimSpace(num)
	if err := checkNumber(s, num); err != nil {
		return 0, fmt.Errorf("%w; want a percentage like \"90%%\"", err)
	}
	// Shifting the decimal point in the text keeps "90%" exactly 0.9.
	r, err := strconv.ParseFloat(num+"e-2", 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage: %w", s, err)
	}
	if r > 1 {
		return 0, fmt.Errorf("%q is more than 100%%", s)
	}
	return r, nil
}

// ParseAmount parses a percentage ("5%", see [ParseRatio]) into
// Amount.Ratio, or else a size ("512MiB", see [ParseSize]) into
// Amount.Bytes.
func ParseAmount(s string) (Amount, error) {
	if strings.HasSuffix(strings.TrimSpace(s), "%") {
		r, err := ParseRatio(s)
		return Amount{Ratio: r}, err
	}
	b, err := ParseSize(s)
	if err != nil {
		return Amount{}, fmt.Errorf("%w, or a percentage like \"5%%\"", err)
	}
	return Amount{Bytes: b}, nil
}

// FormatSize writes n in the largest binary unit that holds it exactly:
// 33554432 is "32MiB", 1000 is "1000B".
func FormatSize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for n != 0 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatUint(n, 10) + units[i]
}

// splitNumber splits s into a leading number (digits, '.', and a leading
// '-' so that negative numbers get a telling error) and the rest.
func splitNumber(s string) (num, rest string) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], s[i:]
}

// checkNumber reports whether num is a plain non-negative decimal number
// ("12", "1.5"); orig is the whole input, for the message.
func checkNumber(orig, num string) error {
	switch {
	case strings.HasPrefix(num, "-"):
		return fmt.Errorf("%q must not be negative", orig)
	case num == "":
		return fmt.Errorf("%q does not start with a number", orig)
	case len(num) > maxDigits:
		return fmt.Errorf("%q has too many digits", orig)
	}
	whole, frac, hasPoint := strings.Cut(num, ".")
	if !allDigits(whole) || hasPoint && !allDigits(frac) {
		return fmt.Errorf("%q is not a plain decimal number", orig)
	}
	return nil
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatRatio writes a share as a percentage: 0.9 is "90%". It moves the
// decimal point in the text, as 0.07*100 is not exactly 7 in floating point.
func formatRatio(r float64) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(r, 'f', -1, 64), ".")
	frac += strings.Repeat("0", max(0, 2-len(frac)))
	whole = strings.TrimLeft(whole+frac[:2], "0")
	if whole == "" {
		whole = "0"
	}
	if frac = frac[2:]; frac != "" {
		whole += "." + frac
	}
	return whole + "%"
}

// formatDuration is d.String() without zero trailing units: "10m", not
// "10m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
