package procfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Meminfo holds the /proc/meminfo fields kube-oomd uses, in bytes. The
// kernel's text (Documentation/filesystems/proc.rst, "meminfo"):
//
//	Provides information about distribution and utilization of memory.
//	[...]
//	MemTotal
//	              Total usable RAM (i.e. physical RAM minus a few reserved
//	              bits and the kernel binary code)
//	MemAvailable
//	              An estimate of how much memory is available for starting
//	              new applications, without swapping.
//
// As text, one "Key:   value kB" a line ("MemTotal:       16314624 kB";
// testdata/*/meminfo); a few keys (HugePages_Total) have no unit.
type Meminfo struct {
	MemTotal     uint64
	MemAvailable uint64
}

// ParseMeminfo parses /proc/meminfo; MemTotal and MemAvailable must be
// there.
func ParseMeminfo(b []byte) (Meminfo, error) {
	var m Meminfo
	var haveTotal, haveAvail bool
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		key, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "MemTotal":
			dst, haveTotal = &m.MemTotal, true
		case "MemAvailable":
			dst, haveAvail = &m.MemAvailable, true
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return m, fmt.Errorf("%w: meminfo %s has no value", ErrMalformed, key)
		}
		v, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return m, fmt.Errorf("%w: meminfo %s: %q is not a number", ErrMalformed, key, f[0])
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			v *= 1024
		}
		*dst = v
	}
	if !haveTotal || !haveAvail {
		return m, fmt.Errorf("%w: meminfo lacks MemTotal or MemAvailable", ErrMalformed)
	}
	return m, nil
}

// ReadMeminfo reads root/meminfo.
func ReadMeminfo(root string) (Meminfo, error) {
	path := filepath.Join(root, "meminfo")
	b, err := os.ReadFile(path)
	if err != nil {
		return Meminfo{}, err
	}
	m, err := ParseMeminfo(b)
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
