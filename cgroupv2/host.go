package cgroupv2

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Meminfo holds the /proc/meminfo fields kube-oomd uses, in bytes.
type Meminfo struct {
	MemTotal     uint64
	MemAvailable uint64
}

// ParseMeminfo parses /proc/meminfo ("MemTotal:  16314624 kB").
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

// ReadMeminfo reads procRoot/meminfo.
func ReadMeminfo(procRoot string) (Meminfo, error) {
	path := filepath.Join(procRoot, "meminfo")
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

// errNoProcess reports a process that exited while it was being read.
var errNoProcess = errors.New("process is gone")

// readOOMScoreAdj reads procRoot/<pid>/oom_score_adj.
func readOOMScoreAdj(buf []byte, procRoot string, pid int) (int, error) {
	var adj int
	err := parseFile(buf, pathFile(filepath.Join(procRoot, strconv.Itoa(pid), "oom_score_adj")), func(b []byte) (err error) {
		adj, err = strconv.Atoi(string(bytes.TrimSpace(b)))
		if err != nil || adj < -1000 || adj > 1000 {
			return fmt.Errorf("%w: %q is not an oom_score_adj", ErrMalformed, bytes.TrimSpace(b))
		}
		return nil
	})
	if errors.Is(err, ErrGone) || errors.Is(err, syscall.ESRCH) {
		return 0, fmt.Errorf("pid %d: %w", pid, errNoProcess)
	}
	return adj, err
}

// selfProtectedAdj is the oom_score_adj of a process that asked never to be
// killed; only such a process's RSS is read (policy.SelfProtectedAdj owns
// what it means).
const selfProtectedAdj = -1000

// readRSS returns the resident memory of pid, from procRoot/<pid>/statm.
func readRSS(buf []byte, procRoot string, pid int) (uint64, error) {
	var rss uint64
	err := parseFile(buf, pathFile(filepath.Join(procRoot, strconv.Itoa(pid), "statm")), func(b []byte) (err error) {
		rss, err = ParseStatmRSS(b, uint64(os.Getpagesize()))
		return err
	})
	if errors.Is(err, ErrGone) || errors.Is(err, syscall.ESRCH) {
		return 0, fmt.Errorf("pid %d: %w", pid, errNoProcess)
	}
	return rss, err
}

// ParseStatmRSS parses /proc/<pid>/statm ("size resident shared text lib
// data dt", in pages) and returns the resident size in bytes.
func ParseStatmRSS(b []byte, pageSize uint64) (uint64, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("%w: statm %q has no resident field", ErrMalformed, bytes.TrimSpace(b))
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil || pages > (1<<63)/max(pageSize, 1) {
		return 0, fmt.Errorf("%w: statm resident %q is not a page count", ErrMalformed, f[1])
	}
	return pages * pageSize, nil
}

// KernelRelease returns procRoot/sys/kernel/osrelease, or "unknown".
func KernelRelease(procRoot string) string {
	b, err := os.ReadFile(filepath.Join(procRoot, "sys", "kernel", "osrelease"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
