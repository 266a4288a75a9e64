package statefile

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSaveWritesAtomicallyAndRemovesWhenEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "state.json")
	if err := Save(path, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	var got []string
	if err != nil || json.Unmarshal(b, &got) != nil || len(got) != 2 {
		t.Fatalf("file %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode())
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	if err := Save[string](path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no items should leave no file: %v", err)
	}
	if err := Save[string](path, nil); err != nil {
		t.Errorf("removing an absent file: %v", err)
	}
}

// A record is edited entry by entry: Add appends, Remove drops the first
// equal entry, and the last one removed takes the file with it. A file
// that does not parse is left alone, and the error names it and says what
// to do.
func TestRecordAddRemove(t *testing.T) {
	type entry struct {
		Cgroup string
		ID     uint64
	}
	const hint = "check by hand"
	path := filepath.Join(t.TempDir(), "run", "record.json")
	a, b := entry{"/a", 1}, entry{"/b", 2}
	for _, e := range []entry{a, b, a} {
		if err := Add(path, e, hint); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove(path, a, hint); err != nil {
		t.Fatal(err)
	}
	if err := Remove(path, entry{"/c", 3}, hint); err != nil {
		t.Fatalf("removing an entry not there: %v", err)
	}
	got, err := Load[entry](path, hint)
	if err != nil || len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("Load = %v, %v; want [b a]", got, err)
	}
	Remove(path, a, hint)
	Remove(path, b, hint)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an empty record should leave no file: %v", err)
	}
	os.WriteFile(path, []byte("{half"), 0o600)
	if err := Add(path, a, hint); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), hint) {
		t.Errorf("Add to a broken record: %v; want an error naming the file and the hint", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{half" {
		t.Errorf("broken record rewritten: %q", b)
	}
	if _, err := Load[entry]("record.json", hint); err == nil {
		t.Error("Load of a relative path: no error")
	}
}

// A state file is read only if it is a regular file: a symbolic link at
// its path is refused, never followed, so a record cannot be made to read
// (or, by a later Save, to name) another file.
func TestLoadRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.json")
	os.WriteFile(target, []byte(`["a"]`), 0o600)
	path := filepath.Join(dir, "state.json")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	got, err := Load[string](path, "hint")
	if err == nil || !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load through a symlink = %v, %v; want ErrNotRegular naming %s", got, err, path)
	}
}

// A FIFO at a state file's path must not block whoever reads it (the
// daemon's start): Load returns an error at once.
func TestLoadRefusesFIFOPromptly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.json")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Load[string](path, "hint"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("Load of a FIFO = %v; want ErrNotRegular naming %s", err, path)
		}
	case <-time.After(10 * time.Second):
		// Let the blocked read end, so the test binary can exit.
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Load of a FIFO blocked")
	}
}

// A file over MaxSize is refused, with an error naming the file and the
// bound; Save will not write one either.
func TestLoadRefusesOversized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frozen.json")
	big := `["` + strings.Repeat("x", MaxSize) + `"]`
	os.WriteFile(path, []byte(big), 0o600)
	_, err := Load[string](path, "hint")
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1048576") {
		t.Errorf("Load of %d bytes = %v; want ErrTooLarge naming the file and the bound", len(big), err)
	}
	other := filepath.Join(t.TempDir(), "x.json")
	if err := Save(other, []string{strings.Repeat("x", MaxSize)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Save of more than MaxSize = %v; want ErrTooLarge", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an oversized record was written: %v", err)
	}
}

// A symbolic link planted at the temporary file's path is not followed:
// the file it points to is left as it was, and the record is written.
func TestSaveDoesNotFollowTempSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	path := filepath.Join(dir, "throttles.json")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if got, err := Load[string](path, "hint"); err != nil || len(got) != 1 || got[0] != "a" {
		t.Errorf("Load after Save = %v, %v", got, err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s is not a regular file: %v", path, err)
	}
}
