package psi

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFixtures parses every testdata/<kernel>/memory.pressure, as the
// kernels kube-oomd is tested on write it, and checks that it reads back
// as written.
func TestFixtures(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "memory.pressure"))
	if len(paths) == 0 {
		t.Fatal("no testdata/*/memory.pressure")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if format(got) != string(b) {
			t.Errorf("%s reads back as\n%s", p, format(got))
		}
	}
}
