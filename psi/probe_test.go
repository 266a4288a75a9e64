package psi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	t.Run("file present", func(t *testing.T) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "pressure"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "pressure", "memory"), []byte(realPressure), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Probe(root); err != nil {
			t.Errorf("Probe = %v, want nil", err)
		}
	})
	t.Run("file absent", func(t *testing.T) {
		root := t.TempDir()
		err := Probe(root)
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Probe = %v, want ErrUnsupported", err)
		}
		if want := filepath.Join(root, "pressure", "memory"); !strings.Contains(err.Error(), want) {
			t.Errorf("Probe error %q does not name %s", err, want)
		}
	})
	t.Run("file malformed", func(t *testing.T) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "pressure"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "pressure", "memory"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Probe(root); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported) {
			t.Errorf("Probe = %v, want ErrMalformed only", err)
		}
	})
	t.Run("real /proc", func(t *testing.T) {
		if _, err := os.Stat("/proc/pressure/memory"); err != nil {
			t.Skipf("no /proc/pressure/memory here: %v", err)
		}
		if err := Probe("/proc"); err != nil {
			t.Errorf("Probe(/proc) = %v, want nil", err)
		}
	})
}
