package statefile

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
