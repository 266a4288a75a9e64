// Package statefile writes kube-oomd's small state files in its run
// directory (the throttles in force, the cgroups a kill froze): JSON,
// root-only, written atomically, so that a crash leaves the old file or the
// new one, never half of one.
package statefile

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
