package cgroupv2_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Real kernel text, from a 6.1 kernel.
const memoryStat6_1 = `anon 210046976
file 379981824
kernel 6561792
kernel_stack 212992
pagetables 966656
sec_pagetables 0
percpu 0
sock 0
vmalloc 0
shmem 4096
zswap 0
zswapped 0
file_mapped 1290240
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 210010112
active_anon 40960
inactive_file 306245632
active_file 73736192
unevictable 0
slab_reclaimable 4362208
slab_unreclaimable 790336
slab 5152544
workingset_refault_anon 0
workingset_refault_file 45110
pgfault 81003
pgmajfault 302
pgscan 112288
pgsteal 95007
thp_fault_alloc 0
`

func TestParseMemoryStat(t *testing.T) {
	s, err := cgroupv2.ParseMemoryStat([]byte(memoryStat6_1))
	if err != nil {
		t.Fatal(err)
	}
	want := cgroupv2.MemoryStat{Anon: 210046976, File: 379981824, ActiveFile: 73736192, InactiveFile: 306245632, Shmem: 4096}
	if s != want {
		t.Errorf("ParseMemoryStat = %+v, want %+v", s, want)
	}
	for _, bad := range []string{"anon", "anon x", "anon -1", "anon 1 2", " anon 1"} {
		if _, err := cgroupv2.ParseMemoryStat([]byte(bad)); !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Errorf("ParseMemoryStat(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseMemoryEvents(t *testing.T) {
	e, err := cgroupv2.ParseMemoryEvents([]byte("low 0\nhigh 12\nmax 340\noom 2\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (cgroupv2.MemoryEvents{High: 12, Max: 340, OOM: 2, OOMKill: 1}); e != want {
		t.Errorf("ParseMemoryEvents = %+v, want %+v", e, want)
	}
}

func TestParseUint(t *testing.T) {
	for in, want := range map[string]uint64{"max\n": cgroupv2.Unlimited, "1073741824\n": 1 << 30, "0": 0} {
		if got, err := cgroupv2.ParseUint([]byte(in)); err != nil || got != want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "maximum", "-1", "1.5"} {
		if _, err := cgroupv2.ParseUint([]byte(bad)); !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Errorf("ParseUint(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseCgroupEvents(t *testing.T) {
	e, err := cgroupv2.ParseCgroupEvents([]byte("populated 0\nfrozen 1\n"))
	if err != nil || e.Populated || !e.Frozen {
		t.Errorf("ParseCgroupEvents = %+v, %v", e, err)
	}
}

// Fuzz targets: the parsers never panic, and whatever they accept, they
// accept consistently.

func FuzzParseMemoryStat(f *testing.F) {
	seed(f, "memory.stat")
	f.Add([]byte(memoryStat6_1))
	f.Add([]byte("anon 1\n\n\nfile 2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := cgroupv2.ParseMemoryStat(b)
		if err != nil {
			if !errors.Is(err, cgroupv2.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What was accepted is what the text says: the last anon line wins.
		var want uint64
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "anon "); ok {
				want, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		if s.Anon != want {
			t.Fatalf("anon = %d, the text says %d", s.Anon, want)
		}
	})
}

func FuzzParseMemoryEvents(f *testing.F) {
	seed(f, "memory.events")
	seed(f, "memory.events.local")
	f.Add([]byte("low 0\nhigh 12\nmax 340\noom 2\noom_kill 1\noom_group_kill 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := cgroupv2.ParseMemoryEvents(b); err != nil && !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

func FuzzParseCgroupEvents(f *testing.F) {
	seed(f, "cgroup.events")
	f.Add([]byte("populated 1\nfrozen 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := cgroupv2.ParseCgroupEvents(b); err != nil && !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

func FuzzParseUint(f *testing.F) {
	seed(f, "memory.max")
	f.Add([]byte("max\n"))
	f.Add([]byte("123"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := cgroupv2.ParseUint(b); err != nil && !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

// Procs lists every process below a cgroup: cgroups that vanish are
// skipped, and a subdirectory with no cgroup.procs is no cgroup, whose
// subdirectories are walked still.
func TestProcsRecursive(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cgroup.procs", "1\n")
	write("a/cgroup.procs", "2\n3\n")
	write("a/b/cgroup.procs", "4\n")
	write("nocgroup/c/cgroup.procs", "5\n")
	write("z/cgroup.procs", "")
	pids, err := cgroupv2.Procs(root, true)
	if err != nil || !slices.Equal(pids, []int{1, 2, 3, 4, 5}) {
		t.Errorf("Procs = %v, %v; want [1 2 3 4 5]", pids, err)
	}
	if pids, err := cgroupv2.Procs(root, false); err != nil || !slices.Equal(pids, []int{1}) {
		t.Errorf("Procs, not recursive = %v, %v; want [1]", pids, err)
	}
	if err := os.Remove(filepath.Join(root, "cgroup.procs")); err != nil {
		t.Fatal(err)
	}
	if _, err := cgroupv2.Procs(root, true); !errors.Is(err, cgroupv2.ErrMissingFile) || errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("Procs of a cgroup with no cgroup.procs: %v, want ErrMissingFile", err)
	}
	if _, err := cgroupv2.Procs(filepath.Join(root, "gone"), true); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("Procs of a cgroup that is gone: %v, want ErrGone", err)
	}
}

// JustUnder is one page under the usage, never a partial page, and 0
// under two pages.
func TestJustUnder(t *testing.T) {
	for _, c := range []struct{ cur, page, want uint64 }{
		{1 << 30, 4096, 1<<30 - 4096},
		{1 << 30, 65536, 1<<30 - 65536},
		{8192, 4096, 4096},
		{8191, 4096, 0},
		{4096, 4096, 0},
		{0, 4096, 0},
		{1<<20 + 100, 4096, 1<<20 - 4096}, // a usage is whole pages; rounded down anyway
	} {
		if got := cgroupv2.JustUnder(c.cur, c.page); got != c.want {
			t.Errorf("JustUnder(%d, %d) = %d, want %d", c.cur, c.page, got, c.want)
		}
	}
}

// memory.oom.group: read as a bool, written as 0 or 1; a missing file
// wraps ErrMissingFile.
func TestOOMGroup(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := cgroupv2.SetOOMGroupAt(fd, dir, true); !errors.Is(err, cgroupv2.ErrMissingFile) {
		t.Errorf("SetOOMGroupAt without the file = %v, want ErrMissingFile", err)
	}
	if _, err := cgroupv2.ReadOOMGroup(dir); !errors.Is(err, cgroupv2.ErrMissingFile) {
		t.Errorf("ReadOOMGroup without the file = %v, want ErrMissingFile", err)
	}
	os.WriteFile(filepath.Join(dir, "memory.oom.group"), []byte("0\n"), 0o644)
	for _, on := range []bool{true, false} {
		if err := cgroupv2.SetOOMGroupAt(fd, dir, on); err != nil {
			t.Fatal(err)
		}
		if got, err := cgroupv2.ReadOOMGroup(dir); err != nil || got != on {
			t.Errorf("ReadOOMGroup after writing %v = %v, %v", on, got, err)
		}
	}
}
