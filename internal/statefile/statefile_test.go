package statefile

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
