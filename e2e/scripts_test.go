package e2e

// Not behind the e2e tag: `go test ./...` (make unit) runs it, so that a
// shell script that does not parse fails in seconds, not in the VM after
// the image is built and the scenarios before it have run.

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestShellScriptsParse(t *testing.T) {
	var scripts []string
	for _, glob := range []string{"*.sh", "guest/*.sh", "guest/scenarios/*.sh", "image/*.sh", "node/*.sh", "../packaging/*.sh", "../.ci/run"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, m...)
	}
	if len(scripts) < 30 {
		t.Fatalf("found %d shell scripts, want the e2e suite's and packaging's: %v", len(scripts), scripts)
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}
