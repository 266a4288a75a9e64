package cgroupv2

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
)

// cgroup.procs, as the kernel documents it
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"):
//
//	cgroup.procs
//		A read-write new-line separated values file which exists on
//		all cgroups.
//
//		When read, it lists the PIDs of all processes which belong to
//		the cgroup one-per-line.  The PIDs are not ordered and the
//		same PID may show up more than once if the process got moved
//		to another cgroup and then back or the PID got recycled while
//		reading.
//
// kube-oomd only reads it.

// Procs returns the PIDs in dir/cgroup.procs and, if recursive, in every
// cgroup below it. Children that vanish during the walk are skipped; dir
// itself vanishing is ErrGone; any other error (see Classify) fails the
// whole listing, since a process left out could not be killed. A
// subdirectory with no cgroup.procs (ErrMissingFile) is no cgroup
// (cgroupfs has none such): it has no process of its own, and the cgroups
// below it are walked still.
func Procs(dir string, recursive bool) ([]int, error) {
	pids, err := readProcs(nil, pathFile(filepath.Join(dir, "cgroup.procs")))
	if err != nil || !recursive {
		return pids, err
	}
	return procsBelow(dir, pids)
}

// procsBelow appends the PIDs of every cgroup below dir to pids.
func procsBelow(dir string, pids []int) ([]int, error) {
	entries, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		own, err := readProcs(nil, pathFile(filepath.Join(sub, "cgroup.procs")))
		switch {
		case errors.Is(err, ErrGone):
			continue
		case err != nil && !errors.Is(err, ErrMissingFile):
			return nil, err
		}
		below, err := procsBelow(sub, append(pids, own...))
		switch {
		case errors.Is(err, ErrGone):
			pids = append(pids, own...)
		case err != nil:
			return nil, err
		default:
			pids = below
		}
	}
	return pids, nil
}

func readProcs(buf []byte, f file) ([]int, error) {
	var pids []int
	err := parseFile(buf, f, func(b []byte) (err error) { pids, err = ParseProcs(b); return err })
	return pids, err
}

// ParseProcs parses the text of cgroup.procs: one PID a line.
func ParseProcs(b []byte) ([]int, error) {
	var pids []int
	for _, f := range bytes.Fields(b) {
		pid, err := strconv.Atoi(string(f))
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("%w: %q is not a PID", ErrMalformed, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
