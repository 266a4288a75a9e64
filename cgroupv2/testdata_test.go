package cgroupv2_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// The parser fixtures: testdata/<kernel>/<file>, each kernel file as a
// kernel kube-oomd is tested on writes it (6.1-amd64; captures from the
// VM's kernels are added beside it). Every test below reads every
// testdata/*/<file> of its kernel file, and the fuzz targets start from
// them.

// fixtures returns the text of every testdata/*/name, by path.
func fixtures(t testing.TB, name string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*", name))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata/*/%s: %v", name, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

// seed adds every testdata/*/name to f's corpus.
func seed(f *testing.F, name string) {
	for _, b := range fixtures(f, name) {
		f.Add(b)
	}
}

// flat reads a flat-keyed file the plain way, as the reference the
// parsers are checked against.
func flat(t *testing.T, p string, b []byte) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(" "))
		n, err := strconv.ParseUint(string(v), 10, 64)
		if !ok || err != nil {
			t.Fatalf("%s: line %q is not \"key value\"", p, line)
		}
		m[string(k)] = n
	}
	return m
}

func TestFixtureMemoryStat(t *testing.T) {
	for p, b := range fixtures(t, "memory.stat") {
		s, err := cgroupv2.ParseMemoryStat(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		m := flat(t, p, b)
		want := cgroupv2.MemoryStat{Anon: m["anon"], File: m["file"], ActiveFile: m["active_file"], InactiveFile: m["inactive_file"], Shmem: m["shmem"]}
		if s != want || s.Anon == 0 || s.File == 0 {
			t.Errorf("%s: ParseMemoryStat = %+v, the file says %+v", p, s, want)
		}
	}
}

func TestFixtureMemoryEvents(t *testing.T) {
	for _, name := range []string{"memory.events", "memory.events.local"} {
		for p, b := range fixtures(t, name) {
			e, err := cgroupv2.ParseMemoryEvents(b)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			m := flat(t, p, b)
			want := cgroupv2.MemoryEvents{Low: m["low"], High: m["high"], Max: m["max"], OOM: m["oom"], OOMKill: m["oom_kill"], OOMGroupKill: m["oom_group_kill"]}
			if e != want {
				t.Errorf("%s: ParseMemoryEvents = %+v, the file says %+v", p, e, want)
			}
		}
	}
}

func TestFixtureCgroupEvents(t *testing.T) {
	for p, b := range fixtures(t, "cgroup.events") {
		e, err := cgroupv2.ParseCgroupEvents(b)
		m := flat(t, p, b)
		if err != nil || e.Populated != (m["populated"] == 1) || e.Frozen != (m["frozen"] == 1) {
			t.Errorf("%s: ParseCgroupEvents = %+v, %v", p, e, err)
		}
	}
}

func TestFixtureCgroupProcs(t *testing.T) {
	for p, b := range fixtures(t, "cgroup.procs") {
		pids, err := cgroupv2.ParseProcs(b)
		if err != nil || len(pids) != bytes.Count(b, []byte("\n")) {
			t.Errorf("%s: ParseProcs = %v, %v", p, pids, err)
		}
		// Procs reads the same, from a cgroup holding the file.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := cgroupv2.Procs(dir, true); err != nil || !slices.Equal(got, pids) {
			t.Errorf("%s: Procs = %v, %v; want %v", p, got, err, pids)
		}
	}
	for _, bad := range []string{"0\n", "-1\n", "12 x\n"} {
		if _, err := cgroupv2.ParseProcs([]byte(bad)); !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Errorf("ParseProcs(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestFixtureSingleValues(t *testing.T) {
	for _, name := range []string{"memory.max", "memory.high", "memory.current"} {
		for p, b := range fixtures(t, name) {
			v, err := cgroupv2.ParseUint(b)
			if err != nil || cgroupv2.FormatLimit(v)+"\n" != string(b) {
				t.Errorf("%s: ParseUint = %d, %v; FormatLimit writes %q back", p, v, err, cgroupv2.FormatLimit(v))
			}
		}
	}
}

func FuzzParseProcs(f *testing.F) {
	seed(f, "cgroup.procs")
	f.Fuzz(func(t *testing.T, b []byte) {
		pids, err := cgroupv2.ParseProcs(b)
		if err != nil {
			if !errors.Is(err, cgroupv2.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, pid := range pids {
			if pid <= 0 {
				t.Fatalf("accepted PID %d", pid)
			}
		}
	})
}
