package killer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frozenKill runs a freezer kill of f with log and returns the record as
// it was while the cgroup was frozen: what a crash then would have left.
// onFreeze, if not nil, runs when the kernel sees the freeze, after the
// record was read.
func frozenKill(t *testing.T, f *fakeCG, log *FreezeLog, onFreeze func()) (Result, error, []byte) {
	t.Helper()
	var (
		rec    []byte
		recErr = errors.New("the kernel never saw cgroup.freeze 1")
	)
	k := &kernel{f: f, onFreeze: func() {
		rec, recErr = os.ReadFile(log.Path)
		if onFreeze != nil {
			onFreeze()
		}
	}}
	kl := f.killer(5 * time.Second)
	kl.FreezeLog = log
	res, err, _ := runKill(t, context.Background(), kl, f.target(), k)
	if recErr != nil {
		t.Fatalf("no freeze record while the cgroup was frozen: %v", recErr)
	}
	return res, err, rec
}

func noRecord(t *testing.T, log *FreezeLog) {
	t.Helper()
	if _, err := os.Stat(log.Path); !errors.Is(err, fs.ErrNotExist) {
		b, _ := os.ReadFile(log.Path)
		t.Errorf("%s left behind (%v): %s", log.Path, err, b)
	}
}

// A daemon that crashed between freeze and thaw left the record it wrote
// before freezing; the next one's ThawLeftovers thaws what it names, if
// that cgroup is still there and still the same one, and clears the record.
func TestFreezeLogThawsAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *fakeCG) // after the crash, before the restart
		thawed bool
	}{
		{"still there", func(*testing.T, *fakeCG) {}, true},
		{"removed", func(t *testing.T, f *fakeCG) {
			if err := os.Rename(f.dir, f.dir+".gone"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"replaced", func(t *testing.T, f *fakeCG) {
			// Another cgroup at the same path, frozen by someone else:
			// not ours to thaw.
			if err := os.Rename(f.dir, f.dir+".old"); err != nil {
				t.Fatal(err)
			}
			os.Mkdir(f.dir, 0o755)
			writeAtomic(t, filepath.Join(f.dir, "cgroup.freeze"), "1\n")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, false)
			log := &FreezeLog{Path: filepath.Join(t.TempDir(), "run", "frozen.json"), Layout: f.layout()}
			res, err, rec := frozenKill(t, f, log, nil)
			if err != nil || res.Method != MethodFreezeSigkill {
				t.Fatalf("Kill: %v, %+v", err, res)
			}
			for _, c := range f.children {
				c.waitKilled(t)
			}
			noRecord(t, log) // a kill that ends leaves none

			// The crash: the record as it was while frozen, and the
			// cgroup left frozen.
			writeAtomic(t, log.Path, string(rec))
			writeAtomic(t, filepath.Join(f.dir, "cgroup.freeze"), "1\n")
			tc.change(t, f)

			got, err := log.ThawLeftovers()
			if err != nil {
				t.Fatalf("ThawLeftovers: %v", err)
			}
			want := 0
			if tc.thawed {
				want = 1
			}
			if len(got) != want || (want == 1 && (got[0].Cgroup != f.dir || got[0].Err != nil)) {
				t.Fatalf("ThawLeftovers = %+v, want %d thawed: %s", got, want, f.dir)
			}
			wantFreeze := "1" // removed: the moved-away files; replaced: the newcomer's
			if tc.thawed {
				wantFreeze = "0"
			}
			if tc.name == "removed" {
				f.dir += ".gone"
			}
			if fr := f.read("cgroup.freeze"); fr != wantFreeze {
				t.Errorf("cgroup.freeze = %q, want %q", fr, wantFreeze)
			}
			noRecord(t, log)
			if got, err := log.ThawLeftovers(); len(got) != 0 || err != nil {
				t.Errorf("second ThawLeftovers = %+v, %v; want nothing", got, err)
			}
		})
	}
}

// A record that cannot be written means no freeze: never freeze what a
// restart could not thaw. cgroup.kill needs no record.
func TestFreezeLogUnwritablePreventsFreeze(t *testing.T) {
	for _, withKill := range []bool{false, true} {
		t.Run(map[bool]string{false: "freezer", true: "cgroup.kill"}[withKill], func(t *testing.T) {
			f := newFake(t, withKill)
			blocker := filepath.Join(t.TempDir(), "run")
			writeAtomic(t, blocker, "a file where a directory must be\n")
			log := &FreezeLog{Path: filepath.Join(blocker, "frozen.json")}
			kl := f.killer(5 * time.Second)
			kl.FreezeLog = log
			res, err, took := runKill(t, context.Background(), kl, f.target(), &kernel{f: f})
			if withKill {
				if err != nil || res.Method != MethodCgroupKill {
					t.Fatalf("Kill: %v, %+v; want a cgroup.kill, which needs no record", err, res)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), log.Path) {
				t.Fatalf("err = %v, want one naming %s", err, log.Path)
			}
			if res.Method != "" || took != 0 {
				t.Errorf("Method = %q, waited %v; want nothing done", res.Method, took)
			}
			if got := f.read("cgroup.freeze"); got != "0" {
				t.Errorf("cgroup.freeze = %q: nothing may be frozen without a record", got)
			}
			for _, c := range f.children {
				c.mustBeAlive(t)
			}
		})
	}
}

// A thaw that fails keeps its entry, for the next start to try again.
func TestFreezeLogKeepsWhatCouldNotBeThawed(t *testing.T) {
	f := newFake(t, false)
	log := &FreezeLog{Path: filepath.Join(t.TempDir(), "frozen.json"), Layout: f.layout()}
	freeze := filepath.Join(f.dir, "cgroup.freeze")
	unwritable := func() { // writes to a directory fail (EISDIR)
		os.Remove(freeze)
		os.Mkdir(freeze, 0o755)
	}
	_, err, _ := frozenKill(t, f, log, unwritable)
	if err == nil || !strings.Contains(err.Error(), "FROZEN") {
		t.Fatalf("err = %v, want the thaw failure", err)
	}
	for _, c := range f.children {
		c.waitKilled(t)
	}
	got, err := log.ThawLeftovers()
	if err != nil || len(got) != 1 || got[0].Cgroup != f.dir || got[0].Err == nil {
		t.Fatalf("ThawLeftovers = %+v, %v; want %s with an error", got, err, f.dir)
	}
	if _, err := os.Stat(log.Path); err != nil {
		t.Fatalf("the record was cleared though the thaw failed: %v", err)
	}
	os.Remove(freeze)
	writeAtomic(t, freeze, "1\n")
	got, err = log.ThawLeftovers()
	if err != nil || len(got) != 1 || got[0].Cgroup != f.dir || got[0].Err != nil {
		t.Fatalf("ThawLeftovers = %+v, %v; want %s thawed", got, err, f.dir)
	}
	if fr := f.read("cgroup.freeze"); fr != "0" {
		t.Errorf("cgroup.freeze = %q, want 0", fr)
	}
	noRecord(t, log)
}

// A record that cannot be read is kept as it is, for a human: it may name
// frozen cgroups. Until then nothing is frozen.
func TestFreezeLogMalformed(t *testing.T) {
	log := &FreezeLog{Path: filepath.Join(t.TempDir(), "frozen.json")}
	if got, err := log.ThawLeftovers(); len(got) != 0 || err != nil {
		t.Fatalf("no file: ThawLeftovers = %+v, %v; want nothing", got, err)
	}
	writeAtomic(t, log.Path, "{half a reco")
	if _, err := log.ThawLeftovers(); err == nil || !strings.Contains(err.Error(), log.Path) {
		t.Errorf("ThawLeftovers: err = %v, want one naming the file", err)
	}
	if b, _ := os.ReadFile(log.Path); string(b) != "{half a reco" {
		t.Errorf("the record was changed to %q", b)
	}
	f := newFake(t, false)
	kl := f.killer(5 * time.Second)
	kl.FreezeLog = log
	res, err, _ := runKill(t, context.Background(), kl, f.target(), &kernel{f: f})
	if err == nil || res.Method != "" || f.read("cgroup.freeze") != "0" {
		t.Errorf("Kill = %+v, %v, cgroup.freeze %q; want an error and nothing frozen", res, err, f.read("cgroup.freeze"))
	}
	for _, c := range f.children {
		c.mustBeAlive(t)
	}
}

// A FreezeLog without a path records nothing, so it freezes nothing (and
// writes no file in the working directory).
func TestFreezeLogNoPath(t *testing.T) {
	if _, err := (&FreezeLog{}).ThawLeftovers(); err == nil {
		t.Error("ThawLeftovers with no Path: no error")
	}
	f := newFake(t, false)
	kl := f.killer(5 * time.Second)
	kl.FreezeLog = &FreezeLog{Path: "frozen.json"}
	res, err, _ := runKill(t, context.Background(), kl, f.target(), &kernel{f: f})
	if err == nil || res.Method != "" || f.read("cgroup.freeze") != "0" {
		t.Errorf("Kill = %+v, %v; want an error and nothing frozen", res, err)
	}
	if _, err := os.Stat("frozen.json"); err == nil {
		os.Remove("frozen.json")
		t.Error("frozen.json written in the working directory")
	}
}
