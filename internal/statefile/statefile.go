// Package statefile writes kube-oomd's small state files in its run
// directory (the throttles in force, the cgroups a kill froze, the
// memory.max a kill lowered): JSON, root-only, written atomically, so that
// a crash leaves the old file or the new one, never half of one.
//
// Load, Add and Remove are the read-edit-write of a write-ahead record: an
// entry added before the change it names is made, removed once the change
// is undone. They do not lock: each record's owner serialises its own
// edits (one process, one mutex).
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// TempSuffix names the copy Save writes before renaming it into place.
const TempSuffix = ".tmp"

// Save writes items to path as JSON, atomically (a temporary file, then a
// rename), creating the directory root-only. No items remove the file.
func Save[T any](path string, items []T) error {
	if len(items) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + TempSuffix
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads what Save wrote to path; no file is no items. The path must
// be absolute (a relative one would be read from wherever the daemon
// happens to run). A file that does not parse is an error naming it, then
// hint: what to do by hand before removing it.
func Load[T any](path, hint string) ([]T, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("state file %q: the path must be absolute", path)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var items []T
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", path, err, hint)
	}
	return items, nil
}

// Add appends item to the record at path (hint as for Load).
func Add[T any](path string, item T, hint string) error {
	items, err := Load[T](path, hint)
	if err != nil {
		return err
	}
	if err := Save(path, append(items, item)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Remove drops the first entry equal to item from the record at path; an
// item not there is no error.
func Remove[T comparable](path string, item T, hint string) error {
	items, err := Load[T](path, hint)
	if err != nil {
		return err
	}
	i := slices.Index(items, item)
	if i < 0 {
		return nil
	}
	if err := Save(path, slices.Delete(items, i, i+1)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
