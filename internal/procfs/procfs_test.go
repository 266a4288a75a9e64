package procfs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/procfs"
)

// fixtures returns the text of every testdata/<kernel>/<name>: files as
// the kernels kube-oomd is tested on write them.
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

func TestFixtures(t *testing.T) {
	for p, b := range fixtures(t, "meminfo") {
		m, err := procfs.ParseMeminfo(b)
		if err != nil || m.MemTotal == 0 || m.MemAvailable > m.MemTotal || m.MemTotal%1024 != 0 {
			t.Errorf("%s: ParseMeminfo = %+v, %v", p, m, err)
		}
	}
	for p, b := range fixtures(t, "statm") {
		if rss, err := procfs.ParseStatmRSS(b, 4096); err != nil || rss == 0 {
			t.Errorf("%s: ParseStatmRSS = %d, %v", p, rss, err)
		}
	}
	for p, b := range fixtures(t, "oom_score_adj") {
		if _, err := procfs.ParseOOMScoreAdj(b); err != nil {
			t.Errorf("%s: ParseOOMScoreAdj: %v", p, err)
		}
	}
	// The VM of the e2e suite has no NIC (qemu -nic none): lo alone.
	loopbackOnly := map[string]bool{"6.1-amd64": false, "6.1-amd64-vm": true}
	for p, b := range fixtures(t, "net_dev") {
		want, ok := loopbackOnly[filepath.Base(filepath.Dir(p))]
		if !ok {
			t.Errorf("%s: a new fixture: say in loopbackOnly whether it has a NIC", p)
		}
		if only, err := procfs.ParseLoopbackOnly(bytes.NewReader(b)); err != nil || only != want {
			t.Errorf("%s: ParseLoopbackOnly = %v, %v; want %v", p, only, err, want)
		}
	}
	for p := range fixtures(t, "osrelease") {
		root := t.TempDir()
		write(t, root, "sys/kernel/osrelease", string(fixtures(t, "osrelease")[p]))
		if got := procfs.KernelRelease(root); got == "unknown" || strings.ContainsAny(got, " \n") {
			t.Errorf("%s: KernelRelease = %q", p, got)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := procfs.ParseMeminfo([]byte("MemTotal:       16314624 kB\nMemFree:  1 kB\nMemAvailable:    9876543 kB\nHugePages_Total:       0\n"))
	if err != nil || m.MemTotal != 16314624*1024 || m.MemAvailable != 9876543*1024 {
		t.Errorf("ParseMeminfo = %+v, %v", m, err)
	}
	if _, err := procfs.ParseMeminfo([]byte("MemTotal: 1 kB\n")); !errors.Is(err, procfs.ErrMalformed) {
		t.Errorf("no MemAvailable: err = %v, want ErrMalformed", err)
	}
}

func TestReadMeminfo(t *testing.T) {
	root := t.TempDir()
	if _, err := procfs.ReadMeminfo(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no meminfo: %v", err)
	}
	write(t, root, "meminfo", "MemTotal: 1 kB\n")
	if _, err := procfs.ReadMeminfo(root); !errors.Is(err, procfs.ErrMalformed) || !strings.Contains(err.Error(), filepath.Join(root, "meminfo")) {
		t.Errorf("malformed meminfo: %v, want ErrMalformed naming the file", err)
	}
}

func TestParseStatmRSS(t *testing.T) {
	got, err := procfs.ParseStatmRSS([]byte("2566 897 745 1 0 134 0\n"), 4096)
	if err != nil || got != 897*4096 {
		t.Errorf("ParseStatmRSS = %d, %v; want %d", got, err, 897*4096)
	}
	if got, _ := procfs.ParseStatmRSS([]byte("2566 897 745 1 0 134 0\n"), 16384); got != 897*16384 {
		t.Errorf("ParseStatmRSS on 16 KiB pages = %d, want %d", got, 897*16384)
	}
	for _, bad := range []string{"", "12", "12 x 3", "1 99999999999999999999"} {
		if _, err := procfs.ParseStatmRSS([]byte(bad), 4096); !errors.Is(err, procfs.ErrMalformed) {
			t.Errorf("ParseStatmRSS(%q): err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseOOMScoreAdj(t *testing.T) {
	for text, want := range map[string]int{"-1000\n": -1000, "0\n": 0, "1000": 1000, " -997 \n": -997} {
		if got, err := procfs.ParseOOMScoreAdj([]byte(text)); err != nil || got != want {
			t.Errorf("ParseOOMScoreAdj(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1001", "1001", "1 2"} {
		if _, err := procfs.ParseOOMScoreAdj([]byte(bad)); !errors.Is(err, procfs.ErrMalformed) {
			t.Errorf("ParseOOMScoreAdj(%q): err = %v, want ErrMalformed", bad, err)
		}
	}
}

// A process that exits while it is read is ErrNoProcess: its /proc
// directory is gone. A file missing from a live process's directory is a
// real error, naming the file.
func TestReadPerProcess(t *testing.T) {
	root := t.TempDir()
	write(t, root, "42/oom_score_adj", "-1000\n")
	write(t, root, "42/statm", "10 3 1 1 0 2 0\n")
	buf := make([]byte, 64)
	if adj, err := procfs.ReadOOMScoreAdj(buf, root, 42); err != nil || adj != -1000 {
		t.Errorf("ReadOOMScoreAdj = %d, %v", adj, err)
	}
	if rss, err := procfs.ReadRSS(nil, root, 42, 4096); err != nil || rss != 3*4096 {
		t.Errorf("ReadRSS = %d, %v", rss, err)
	}
	if _, err := procfs.ReadOOMScoreAdj(buf, root, 43); !errors.Is(err, procfs.ErrNoProcess) {
		t.Errorf("exited process: %v, want ErrNoProcess", err)
	}
	if _, err := procfs.ReadRSS(buf, root, 43, 4096); !errors.Is(err, procfs.ErrNoProcess) {
		t.Errorf("exited process: %v, want ErrNoProcess", err)
	}
	write(t, root, "44/statm", "10 3 1 1 0 2 0\n")
	if _, err := procfs.ReadOOMScoreAdj(buf, root, 44); err == nil || errors.Is(err, procfs.ErrNoProcess) || !strings.Contains(err.Error(), "44/oom_score_adj") {
		t.Errorf("file missing from a live process: %v, want an error naming it", err)
	}
	write(t, root, "45/oom_score_adj", "x\n")
	if _, err := procfs.ReadOOMScoreAdj(buf, root, 45); !errors.Is(err, procfs.ErrMalformed) || !strings.Contains(err.Error(), "45/oom_score_adj") {
		t.Errorf("malformed: %v, want ErrMalformed naming the file", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	const head = "Inter-|   Receive                            |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes\n"
	for dev, want := range map[string]bool{
		head + "    lo: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n":                                          true,
		head + "    lo: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n  eth0: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n": false,
		head: false,
	} {
		root := t.TempDir()
		write(t, root, "self/net/dev", dev)
		if got, err := procfs.LoopbackOnly(root); err != nil || got != want {
			t.Errorf("LoopbackOnly(%q) = %v, %v; want %v", dev, got, err, want)
		}
	}
	if _, err := procfs.LoopbackOnly(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no net/dev: %v", err)
	}
}

func TestKernelRelease(t *testing.T) {
	if got := procfs.KernelRelease(t.TempDir()); got != "unknown" {
		t.Errorf("no osrelease: %q, want unknown", got)
	}
}

func write(t testing.TB, root, name, text string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Fuzz targets: the parsers never panic, and fail only with ErrMalformed.
// Their seeds are the fixtures.

func seed(f *testing.F, name string) {
	for _, b := range fixtures(f, name) {
		f.Add(b)
	}
}

func FuzzParseMeminfo(f *testing.F) {
	seed(f, "meminfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := procfs.ParseMeminfo(b); err != nil && !errors.Is(err, procfs.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

func FuzzParseStatmRSS(f *testing.F) {
	seed(f, "statm")
	f.Fuzz(func(t *testing.T, b []byte) {
		rss, err := procfs.ParseStatmRSS(b, 4096)
		if err != nil {
			if !errors.Is(err, procfs.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if rss%4096 != 0 {
			t.Fatalf("rss %d is not a whole number of pages", rss)
		}
	})
}

func FuzzParseOOMScoreAdj(f *testing.F) {
	seed(f, "oom_score_adj")
	f.Fuzz(func(t *testing.T, b []byte) {
		adj, err := procfs.ParseOOMScoreAdj(b)
		if err != nil {
			if !errors.Is(err, procfs.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if adj < -1000 || adj > 1000 {
			t.Fatalf("accepted %d, out of range", adj)
		}
	})
}

func FuzzParseLoopbackOnly(f *testing.F) {
	seed(f, "net_dev")
	f.Fuzz(func(t *testing.T, b []byte) {
		only, err := procfs.ParseLoopbackOnly(bytes.NewReader(b))
		if only && !bytes.Contains(b, []byte("lo")) {
			t.Fatalf("loopback only, with no lo: %q (err %v)", b, err)
		}
	})
}

func TestParseStatDying(t *testing.T) {
	// Fields 4 to 31 after the state; flags is field 9, signal field 31.
	line := func(comm, state string, flags, signal uint64) []byte {
		f := make([]string, 29)
		for i := range f {
			f[i] = "0"
		}
		f[0], f[9-3], f[31-3] = state, strconv.FormatUint(flags, 10), strconv.FormatUint(signal, 10)
		return []byte("1234 (" + comm + ") " + strings.Join(f, " ") + " 0 0 0\n")
	}
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"running", line("python3", "R", 4194304, 0), false},
		{"sleeping, SIGTERM pending", line("python3", "S", 4194304, 1<<14), false},
		{"SIGKILL pending", line("python3", "S", 4194304, 1<<8), true},
		{"exiting (PF_EXITING), its SIGKILL taken", line("python3", "D", 4194304|4, 0), true},
		{"zombie", line("python3", "Z", 4194316, 0), true},
		{"dead", line("python3", "X", 0, 0), true},
		{"comm with spaces and parentheses", line("a) R 1 (b", "R", 0, 0), false},
		{"comm with spaces and parentheses, SIGKILL", line("a) Z 1 (b", "S", 0, 1<<8), true},
	}
	for _, tt := range tests {
		got, err := procfs.ParseStatDying(tt.b)
		if err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	for p, b := range fixtures(t, "stat") {
		if d, err := procfs.ParseStatDying(b); err != nil || d {
			t.Errorf("%s (a live process): %v, %v; want false", p, d, err)
		}
	}
	for _, bad := range []string{"", "1234 python3 R", "1234 (x) R 1 2", "1234 (x) RR" + strings.Repeat(" 0", 28)} {
		if _, err := procfs.ParseStatDying([]byte(bad)); !errors.Is(err, procfs.ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

func FuzzParseStatDying(f *testing.F) {
	seed(f, "stat")
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := procfs.ParseStatDying(b); err != nil && !errors.Is(err, procfs.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}
