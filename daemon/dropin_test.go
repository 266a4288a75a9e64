package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// The shipped layout: the config file with every key commented out, and
// the dry-run fragment copied into its drop-in directory.
const (
	commentedConfig = "# [kill]\n# mode = \"pod\"\n"
	dryRunFragment  = "# roll out in dry-run\n[kill]\nmode = \"dry-run\"\n"
)

// writeDropin writes the config file and the fragments into its drop-in
// directory; it returns the config file's path.
func writeDropin(t *testing.T, main string, fragments map[string]string) string {
	t.Helper()
	path := writeConfig(t, main)
	if err := os.Mkdir(config.DropinDir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range fragments {
		if err := os.WriteFile(filepath.Join(config.DropinDir(path), name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// startDropin starts the daemon on the config at path, loaded as `run`
// loads it.
func startDropin(t *testing.T, path string) *harness {
	t.Helper()
	cfg, _, err := config.LoadSet(path, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	return start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
}

// settleEdit steps the clock until the loop has applied an edit on disk.
func (h *harness) settleEdit(what string, done func(Status) bool) {
	h.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(h.snapshot()); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s was never reloaded:\n%s", what, h.logs)
		}
		h.clock.Step(configSettle)
	}
}

// lastMode is the mode the last "config reloaded" record says is in force.
func (h *harness) lastMode() any {
	r := h.logs.records(h.t, "config reloaded", "")
	if len(r) == 0 {
		return nil
	}
	return r[len(r)-1][vocab.Mode]
}

// Issue 21 item 2: removing the dry-run fragment arms the daemon, through
// the watcher (rm is a finished change) and through SIGHUP (systemctl
// reload), and the reload's record says the mode now in force.
func TestRemovingDryRunFragmentArms(t *testing.T) {
	for _, how := range []string{"watcher", "SIGHUP"} {
		t.Run(how, func(t *testing.T) {
			path := writeDropin(t, commentedConfig, map[string]string{"10-dry-run.toml": dryRunFragment})
			h := startDropin(t, path)
			if s := h.snapshot(); mode(s) != "dry-run" {
				t.Fatalf("started in mode %v, want dry-run from the fragment", mode(s))
			}
			if err := os.Remove(filepath.Join(config.DropinDir(path), "10-dry-run.toml")); err != nil {
				t.Fatal(err)
			}
			if how == "SIGHUP" {
				h.reload()
			} else {
				h.settleEdit("the fragment's removal", func(s Status) bool { return mode(s) == "pod" })
			}
			if s := h.snapshot(); mode(s) != "pod" || h.lastMode() != "pod" {
				t.Fatalf("after rm and reload: mode %v, logged %v; want pod:\n%s", mode(s), h.lastMode(), h.logs)
			}
			if n := len(h.logs.records(t, "config reload failed: keeping the configuration in force", "")); n != 0 {
				t.Errorf("a reload failed:\n%s", h.logs)
			}
		})
	}
}

// A fragment copied in (cp: created, written, closed) or renamed in is
// applied once settled; one that is not *.toml is not read.
func TestDropinAddedIsApplied(t *testing.T) {
	path := writeDropin(t, commentedConfig, nil)
	h := startDropin(t, path)
	dir := config.DropinDir(path)
	os.WriteFile(filepath.Join(dir, "10-dry-run.toml.disabled"), []byte(dryRunFragment), 0o644)
	h.reload()
	if s := h.snapshot(); mode(s) != "pod" {
		t.Fatalf("a file not named *.toml was read: mode %v", mode(s))
	}
	os.WriteFile(filepath.Join(dir, "10-dry-run.toml"), []byte(dryRunFragment), 0o644)
	h.settleEdit("a fragment copied in", func(s Status) bool { return mode(s) == "dry-run" })
	tmp := filepath.Join(dir, ".20-cooldown.toml.tmp")
	os.WriteFile(tmp, []byte("[kill]\ncooldown = \"30s\"\n"), 0o644)
	os.Rename(tmp, filepath.Join(dir, "20-cooldown.toml"))
	h.settleEdit("a fragment renamed in", func(s Status) bool { return s.Config["kill"].(map[string]any)["cooldown"] == "30s" })
	s := h.snapshot()
	want := []KeySource{
		// The test's own, kept from the start: [cgroup] waits for a restart.
		{Key: "cgroup.rescan_interval", Setting: `cgroup.rescan_interval = "24h"`},
		{Key: "kill.mode", Setting: `kill.mode = "dry-run"`, File: filepath.Join(dir, "10-dry-run.toml")},
		{Key: "kill.cooldown", Setting: `kill.cooldown = "30s"`, File: filepath.Join(dir, "20-cooldown.toml")},
	}
	if fmt.Sprint(s.ConfigSources) != fmt.Sprint(want) {
		t.Errorf("status sources %+v, want %+v", s.ConfigSources, want)
	}
	if got := strings.Join(s.ConfigFiles, " "); got != path+" "+want[1].File+" "+want[2].File {
		t.Errorf("status files %q", got)
	}
}

// A bad fragment keeps the configuration in force, whole, and the error
// names the fragment and its line; a fragment emptied in place is refused
// as the file is.
func TestDropinReloadWholeOrNothing(t *testing.T) {
	path := writeDropin(t, "[kill]\ncooldown = \"20s\"\n", map[string]string{"10-dry-run.toml": dryRunFragment})
	h := startDropin(t, path)
	dir := config.DropinDir(path)
	os.WriteFile(path, []byte("[kill]\ncooldown = \"30s\"\n"), 0o644)
	bad := filepath.Join(dir, "20-bad.toml")
	os.WriteFile(bad, []byte("[kill]\nmdoe = \"pod\"\n"), 0o644)
	h.reload()
	s := h.snapshot()
	if mode(s) != "dry-run" || s.Config["kill"].(map[string]any)["cooldown"] != "20s" {
		t.Fatalf("a set with a bad fragment was applied in part: %v", s.Config["kill"])
	}
	r := h.logs.records(t, "config reload failed: keeping the configuration in force", "")
	if len(r) != 1 || !strings.Contains(fmt.Sprint(r[0][vocab.Error]), bad+":2: kill.mdoe: unknown key") {
		t.Fatalf("want the failure logged as FRAGMENT:LINE:\n%s", h.logs)
	}
	os.Remove(bad)
	os.WriteFile(filepath.Join(dir, "10-dry-run.toml"), []byte("# emptied\n"), 0o644)
	h.reload()
	if s := h.snapshot(); mode(s) != "dry-run" {
		t.Fatalf("a fragment emptied in place turned dry-run into %v", mode(s))
	}
	if r := h.logs.records(t, "config reload failed: keeping the configuration in force", ""); len(r) != 2 {
		t.Errorf("want the emptied fragment refused:\n%s", h.logs)
	}
}

// A missing config file with fragments: the defaults plus the fragments,
// at start and at each reload.
func TestMissingFileWithFragments(t *testing.T) {
	path := writeDropin(t, "", map[string]string{"10-dry-run.toml": dryRunFragment})
	os.Remove(path)
	cfg, src, err := config.LoadSet(path, true)
	if err != nil || !src.Missing || cfg.Kill.Mode != config.ModeDryRun {
		t.Fatalf("LoadSet: %v, %+v, mode %s", err, src, cfg.Kill.Mode)
	}
	h := start(t, cgrouptest.Node(t, cgroupv2.DriverSystemd), cfg, path, "")
	os.WriteFile(filepath.Join(config.DropinDir(path), "20-cooldown.toml"), []byte("[kill]\ncooldown = \"30s\"\n"), 0o644)
	h.reload()
	s := h.snapshot()
	if mode(s) != "dry-run" || s.Config["kill"].(map[string]any)["cooldown"] != "30s" || !s.Defaults {
		t.Errorf("mode %v, kill %v, defaults %v: want the defaults plus both fragments", mode(s), s.Config["kill"], s.Defaults)
	}
}

// The watcher follows the fragments: cp (created, written, closed), rm,
// renamed in and away; a drop-in directory made later is watched from then.
func TestDropinEditIsNoticed(t *testing.T) {
	path := writeConfig(t, "")
	dir := config.DropinDir(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed, dropin, err := watchConfig(ctx, path)
	if err != nil || changed == nil || dropin {
		t.Fatalf("watchConfig: %v, drop-in watched %v before it exists", err, dropin)
	}
	next := func(want configEvent, what string) {
		t.Helper()
		select {
		case ev := <-changed:
			if ev.kind != want {
				t.Fatalf("%s: event %v, want %v", what, ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event", what)
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case ev := <-changed:
			t.Fatalf("%s: event %v", what, ev)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	next(configWritten, "the drop-in directory made")
	frag := filepath.Join(dir, "10-dry-run.toml")
	f, err := os.Create(frag) // cp
	if err != nil {
		t.Fatal(err)
	}
	next(configWriting, "fragment created")
	f.WriteString(dryRunFragment)
	next(configWriting, "fragment written")
	f.Close()
	next(configWritten, "fragment closed")
	os.Remove(frag) // rm
	next(configRemoved, "fragment removed")
	tmp := filepath.Join(dir, "x.tmp")
	os.WriteFile(tmp, []byte(dryRunFragment), 0o644)
	none("a file not named *.toml")
	os.Rename(tmp, frag)
	next(configWritten, "fragment renamed in")
	os.Rename(frag, frag+".disabled")
	next(configRemoved, "fragment renamed away")
	os.WriteFile(filepath.Join(dir, "README"), nil, 0o644)
	none("a file not named *.toml")
	os.Remove(filepath.Join(dir, "README"))
	os.Remove(frag + ".disabled")
	os.Remove(tmp)
	none("files not named *.toml removed")
	if err := syscall.Rmdir(dir); err != nil {
		t.Fatal(err)
	}
	for drained := false; !drained; { // the directory's own going, and its parent's word
		select {
		case ev := <-changed:
			if ev.kind != configWritten && ev.kind != configRemoved {
				t.Fatalf("the drop-in directory removed: event %v", ev)
			}
		case <-time.After(100 * time.Millisecond):
			drained = true
		}
	}
	os.Mkdir(dir, 0o755)
	next(configWritten, "the drop-in directory made again")
	os.WriteFile(frag, []byte(dryRunFragment), 0o644)
	next(configWriting, "fragment created in the new directory")
}

// A drop-in directory renamed away and made again is watched: `mv X.d
// X.d.bak; mkdir X.d; cp 20-protect.toml X.d/`.
func TestDropinDirRenamedAwayAndMadeAgainIsWatched(t *testing.T) {
	path := writeConfig(t, "")
	dir := config.DropinDir(path)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed, dropin, err := watchConfig(ctx, path)
	if err != nil || !dropin {
		t.Fatalf("watchConfig: %v, drop-in watched %v", err, dropin)
	}
	drain := func() {
		for {
			select {
			case <-changed:
			case <-time.After(100 * time.Millisecond):
				return
			}
		}
	}
	if err := os.Rename(dir, dir+".bak"); err != nil {
		t.Fatal(err)
	}
	drain()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	drain()
	frag := filepath.Join(dir, "20-protect.toml")
	os.WriteFile(frag, []byte(dryRunFragment), 0o644)
	for {
		select {
		case ev := <-changed:
			if ev.file == frag && ev.kind == configWritten {
				// And the old directory, renamed away, is not watched.
				os.WriteFile(filepath.Join(dir+".bak", "30-x.toml"), nil, 0o644)
				select {
				case ev := <-changed:
					t.Fatalf("event %v for %s, in the directory renamed away", ev.kind, ev.file)
				case <-time.After(100 * time.Millisecond):
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a fragment put in the drop-in directory made again was never seen")
		}
	}
}

// A drop-in directory made that cannot be watched (not a directory, or
// fs.inotify.max_user_watches reached) is said, naming it.
func TestDropinDirUnwatchableIsSaid(t *testing.T) {
	path := writeConfig(t, "")
	dir := config.DropinDir(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed, _, err := watchConfig(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir, nil, 0o644) // a file where the directory goes
	for {
		select {
		case ev := <-changed:
			if ev.file == dir && ev.err != nil {
				if !strings.Contains(ev.err.Error(), dir) {
					t.Errorf("error %q does not name %s", ev.err, dir)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no error for a drop-in directory that cannot be watched")
		}
	}
}
