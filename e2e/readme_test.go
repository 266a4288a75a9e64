package e2e

// Not behind the e2e tag: `go test ./...` (make unit) runs it, so that the
// README's Install section and the VM scenario that runs it cannot drift
// apart unnoticed.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installBlock returns the command lines of README.md's Install section:
// the fenced block between <!-- install:begin --> and <!-- install:end -->.
func installBlock(t *testing.T, readme string) []string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "<!-- install:begin -->")
	j := strings.Index(s, "<!-- install:end -->")
	if i < 0 || j < i {
		t.Fatalf("%s: no <!-- install:begin --> ... <!-- install:end --> block", readme)
	}
	var lines []string
	inFence := false
	fences := 0
	for _, l := range strings.Split(s[i:j], "\n")[1:] {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			fences++
			continue
		}
		if inFence && strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if fences != 2 || len(lines) == 0 {
		t.Fatalf("%s: the install block must be one fenced code block with commands (found %d fences, %d lines)", readme, fences, len(lines))
	}
	return lines
}

// TestReadmeInstallIsScenario11: every line of README.md's install block is
// a line of guest/scenarios/11-deb.sh, verbatim, in the same order, each
// alone in a `step NAME <<'CMD'` here-document (which runs it as it is), so
// the VM test runs exactly what the README tells people to run.
func TestReadmeInstallIsScenario11(t *testing.T) {
	want := installBlock(t, filepath.Join("..", "README.md"))
	script := filepath.Join("guest", "scenarios", "11-deb.sh")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	stepLine := regexp.MustCompile(`^step [a-z_]+ <<'CMD'$`)
	next := 0
	for i, l := range lines {
		if next == len(want) {
			break
		}
		if l != want[next] {
			continue
		}
		if i == 0 || i+1 == len(lines) || !stepLine.MatchString(lines[i-1]) || lines[i+1] != "CMD" {
			t.Errorf("%s:%d: %q is not alone in a step NAME <<'CMD' here-document", script, i+1, l)
		}
		t.Logf("%s:%d: %s", script, i+1, l)
		next++
	}
	if next < len(want) {
		t.Errorf("%s does not run README.md's install command %q (line %d of %d of the block) as a line of its own after the ones before it",
			script, want[next], next+1, len(want))
	}
}

// TestReadmeRolloutUsesTheFragment: the README rolls out with the shipped
// dry-run fragment and arms by removing it: it never edits the conffile
// (an edited conffile stops each later upgrade at dpkg's prompt), and the
// fragment it copies is the one the packages ship, which sets dry-run.
func TestReadmeRolloutUsesTheFragment(t *testing.T) {
	const frag = "/usr/share/kube-oomd/10-dry-run.toml"
	var cp, rm bool
	for _, l := range installBlock(t, filepath.Join("..", "README.md")) {
		if strings.HasPrefix(l, "sed ") || strings.Contains(l, "> /etc/kube-oomd/kube-oomd.toml ") || strings.HasSuffix(l, "/etc/kube-oomd/kube-oomd.toml") {
			t.Errorf("README install block edits the conffile: %q", l)
		}
		cp = cp || l == "cp "+frag+" /etc/kube-oomd/kube-oomd.toml.d/"
		rm = rm || l == "rm /etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml"
	}
	if !cp || !rm {
		t.Errorf("README install block: copies the dry-run fragment %v, removes it %v: want both", cp, rm)
	}
	b, err := os.ReadFile(filepath.Join("..", "packaging", "10-dry-run.toml"))
	if err != nil {
		t.Fatalf("the shipped dry-run fragment: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\[kill\]\s*\nmode = "dry-run"$`).Match(b) {
		t.Errorf("packaging/10-dry-run.toml does not set [kill] mode = \"dry-run\":\n%s", b)
	}
}
