package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sample = `# Changelog

Text before the first section is ignored.

## 0.2.0 - unreleased

- Two
  lines.
- One.

## 0.1.0 - 2026-11-22

- First.
`

var built = time.Date(2026, 12, 1, 10, 11, 12, 0, time.UTC)

func TestSnapshotTakesTheComingEntry(t *testing.T) {
	entries, err := parse(strings.NewReader(sample), "CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	entries, err = forVersion(entries, "0.2.0~git42.abc1234", built, "CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	got := debian(entries, "kube-oomd", "1", "M <m@example.org>")
	want := `kube-oomd (0.2.0~git42.abc1234-1) unstable; urgency=medium

  * Two lines.
  * One.

 -- M <m@example.org>  Tue, 01 Dec 2026 10:11:12 +0000

kube-oomd (0.1.0-1) unstable; urgency=medium

  * First.

 -- M <m@example.org>  Sun, 22 Nov 2026 00:00:00 +0000
`
	if got != want {
		t.Errorf("debian:\n%s\nwant:\n%s", got, want)
	}
	y := chglogYAML(entries, "1", "M <m@example.org>")
	wantY := `- semver: "0.2.0~git42.abc1234-1"
  date: 2026-12-01T10:11:12Z
  packager: "M <m@example.org>"
  changes:
    - note: "Two lines."
    - note: "One."
- semver: "0.1.0-1"
  date: 2026-11-22T00:00:00Z
  packager: "M <m@example.org>"
  changes:
    - note: "First."
`
	if y != wantY {
		t.Errorf("yaml:\n%s\nwant:\n%s", y, wantY)
	}
}

func TestVersionRules(t *testing.T) {
	released := strings.Replace(sample, "0.2.0 - unreleased", "0.2.0 - 2026-11-30", 1)
	for _, c := range []struct {
		text, version, top, err string
		n                       int
	}{
		{released, "0.2.0", "0.2.0", "", 2},
		{released, "0.2.0+git3.gabc1234", "0.2.0+git3.gabc1234", "", 3},
		{sample, "0.2.0", "", "still \"unreleased\"", 0},
		{sample, "0.2.0+git3.gabc1234", "", "still \"unreleased\"", 0},
		{sample, "0.3.0", "", `add a section "## 0.3.0 - YYYY-MM-DD"`, 0},
		{sample, "0.1.0", "", "the newest section is 0.2.0", 0},
		{sample, "0.2.0-1", "", "must start with a digit", 0},
	} {
		entries, err := parse(strings.NewReader(c.text), "CHANGELOG.md")
		if err != nil {
			t.Fatal(err)
		}
		entries, err = forVersion(entries, c.version, built, "CHANGELOG.md")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one with %q", c.version, err, c.err)
			}
			continue
		}
		if err != nil || len(entries) != c.n || entries[0].version != c.top {
			t.Errorf("%s: %d entries, top %+v, %v; want %d, top %s", c.version, len(entries), entries, err, c.n, c.top)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for text, want := range map[string]string{
		"## 1.0 -- 2026-01-01\n- x\n":                 "CHANGELOG.md:1: ",
		"## 1.0 - 2026-13-01\n- x\n":                  "CHANGELOG.md:1: \"2026-13-01\" is not a date",
		"## 1.0 - 2026-01-01\nprose\n":                "CHANGELOG.md:2: ",
		"## 1.0 - 2026-01-01\n":                       "CHANGELOG.md:1: 1.0 has no",
		"## 2 - 2026-01-01\n- x\n## 1 - unreleased\n": "CHANGELOG.md:3: 1 is unreleased",
		"# Changelog\n":                               "no \"## VERSION - DATE\"",
	} {
		_, err := parse(strings.NewReader(text), "CHANGELOG.md")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one with %q", text, err, want)
		}
	}
}

func TestWrapKeepsDebianLinesShort(t *testing.T) {
	got := wrap(strings.Repeat("word ", 40), "  * ", "    ", 78)
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if len(l) > 78 || !strings.HasPrefix(l, "  ") {
			t.Errorf("line %q: longer than 78 or not indented", l)
		}
	}
}

// The repository's own files: CHANGELOG.md parses and the maintainer is
// nfpm.yaml's.
func TestRepositoryFiles(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := parse(f, "CHANGELOG.md"); err != nil {
		t.Error(err)
	}
	conf, err := os.ReadFile(filepath.Join("..", "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := maintainer(conf, "nfpm.yaml")
	if err != nil || !strings.Contains(m, "@") {
		t.Errorf("maintainer %q, %v", m, err)
	}
	if _, err := maintainer([]byte("name: x\n"), "nfpm.yaml"); err == nil {
		t.Error("no maintainer line: no error")
	}
}
