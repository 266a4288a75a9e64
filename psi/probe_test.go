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

// A kernel booted with psi=0 (or built with CONFIG_PSI_DEFAULT_DISABLED)
// has no /proc/pressure at all on recent kernels: Probe tells it from a
// kernel without PSI by the command line, and names the boot parameter.
func TestProbePSIOffAtBoot(t *testing.T) {
	for _, tc := range []struct {
		cmdline  string
		disabled bool
	}{
		{"root=/dev/sda1 psi=0 quiet", true},
		{"psi=off", true},
		{"psi=n", true},
		{"psi=1 psi=0", true}, // the last one counts, as in the kernel
		{"psi=0 psi=1", false},
		{"root=/dev/sda1 quiet", false},
		{"", false},
	} {
		root := t.TempDir()
		if tc.cmdline != "" {
			if err := os.WriteFile(filepath.Join(root, "cmdline"), []byte(tc.cmdline+"\n"), 0o444); err != nil {
				t.Fatal(err)
			}
		}
		err := Probe(root)
		msg := err.Error()
		if tc.disabled {
			if !errors.Is(err, ErrDisabled) || errors.Is(err, ErrUnsupported) || !strings.Contains(msg, "psi=1") || strings.Contains(msg, "CONFIG_PSI,") ||
				!strings.Contains(msg, filepath.Join(root, "cmdline")) {
				t.Errorf("cmdline %q: Probe = %v; want ErrDisabled, naming psi=1 and the command line", tc.cmdline, err)
			}
			continue
		}
		// Without psi=0 it may still be off by default (RHEL 8's
		// CONFIG_PSI_DEFAULT_DISABLED): the message says both.
		if !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrDisabled) || !strings.Contains(msg, "CONFIG_PSI") || !strings.Contains(msg, "psi=1") {
			t.Errorf("cmdline %q: Probe = %v; want ErrUnsupported naming CONFIG_PSI and psi=1", tc.cmdline, err)
		}
	}
}
