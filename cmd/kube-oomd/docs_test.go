package main

// The claims that drift: the docs say them in prose, the code decides them.
// Each test here reads the docs as shipped (README.md, the man page, the
// packages' description) and holds them to the code.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/daemon"
)

const root = "../.."

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// between returns s from the end of start to the beginning of end; it fails
// the test if either is missing, so that a moved heading is noticed rather
// than widening or emptying what is checked.
func between(t *testing.T, name, s, start, end string) string {
	t.Helper()
	_, after, ok := strings.Cut(s, start)
	if !ok {
		t.Fatalf("%s: no %q", name, start)
	}
	part, _, ok := strings.Cut(after, end)
	if !ok {
		t.Fatalf("%s: no %q after %q", name, end, start)
	}
	return part
}

// openings are the texts that say in a few lines what kube-oomd does: the
// README's first paragraphs, the man page's description (up to its
// requirements) and the packages' description.
func openings(t *testing.T) map[string]string {
	readme := readDoc(t, "README.md")
	man := readDoc(t, "packaging/kube-oomd.8")
	nfpm := readDoc(t, "packaging/nfpm.yaml")
	return map[string]string{
		"README.md (before its first section)":            between(t, "README.md", readme, "# kube-oomd\n", "\n## "),
		"packaging/kube-oomd.8 (DESCRIPTION)":             between(t, "packaging/kube-oomd.8", man, "\n.SH DESCRIPTION\n", "\n.PP\nIt needs root"),
		"packaging/nfpm.yaml (description)":               between(t, "packaging/nfpm.yaml", nfpm, "\ndescription: |-\n", "\n\n"),
		"packaging/kube-oomd.8 (memory.min_victim entry)": between(t, "packaging/kube-oomd.8", man, "\n.BR memory.min_victim ", "\n.TP\n"),
	}
}

// killMechanism is what each kill.method does, as the docs must name it.
var killMechanism = map[string]string{
	config.MethodOOM:    "memory.max",
	config.MethodSignal: "cgroup.kill",
}

// TestDocsNameTheDefaultKill: each opening names how the default kill.method
// kills, and never the other method's way, so that none calls it the
// default.
func TestDocsNameTheDefaultKill(t *testing.T) {
	def := config.Default().Kill.Method
	want, ok := killMechanism[def]
	if !ok {
		t.Fatalf("the default kill.method %q has no mechanism in killMechanism: add it", def)
	}
	for name, text := range openings(t) {
		if strings.Contains(name, "min_victim") {
			continue
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s does not name the default kill.method %q (%s):\n%s", name, def, want, text)
		}
		for m, other := range killMechanism {
			if m != def && strings.Contains(text, other) {
				t.Errorf("%s names %s, the kill.method %q's way, not the default %q's", name, other, m, def)
			}
		}
	}
}

// TestDocsNameTheRanking: the ranking is the kubelet's eviction order (pods
// over their request first; policy.Rank), not the QoS classes' order, and a
// pod too small to free memory.min_victim is never chosen, not ranked last.
func TestDocsNameTheRanking(t *testing.T) {
	for name, text := range openings(t) {
		flat := strings.Join(strings.Fields(text), " ")
		if strings.Contains(name, "min_victim") {
			if !strings.Contains(flat, "never chosen") {
				t.Errorf("%s does not say a smaller pod is never chosen:\n%s", name, text)
			}
		} else if !strings.Contains(flat, "eviction order") {
			t.Errorf("%s does not name the kubelet's eviction order:\n%s", name, text)
		}
		for _, wrong := range []string{"QoS order", "BestEffort, Burstable, Guaranteed", "rank last"} {
			if strings.Contains(flat, wrong) {
				t.Errorf("%s says %q: the ranking is the kubelet's eviction order", name, wrong)
			}
		}
	}
}

// TestDocsListEveryReasonCode: the reason table (README.md, after a
// "| reason |" header) holds every code daemon.ReasonCodes can log, and no
// other.
func TestDocsListEveryReasonCode(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, table, ok := strings.Cut(readme, "\n| reason | ")
	if !ok {
		t.Fatal("README.md: no reason table (a header row starting | reason |)")
	}
	code := regexp.MustCompile("`([a-z0-9-]+)`")
	var listed []string
	for _, l := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(l, "| ") {
			break
		}
		first, _, _ := strings.Cut(l[2:], " | ")
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			listed = append(listed, m[1])
		}
	}
	want := daemon.ReasonCodes()
	for _, c := range want {
		if !slices.Contains(listed, c) {
			t.Errorf("README.md's reason table lacks `%s`", c)
		}
	}
	for _, c := range listed {
		if !slices.Contains(want, c) {
			t.Errorf("README.md's reason table has `%s`, which no record logs (daemon.ReasonCodes)", c)
		}
	}
}

// exitMeaning is a word each exit code's line must hold, beside its number.
var exitMeaning = map[int]string{
	exitOK:     "success",
	exitFailed: "failed",
	exitUsage:  "command line",
}

// TestDocsListTheExitCodes: the README's exit code table and the man page's
// EXIT STATUS list exactly the codes the command returns.
func TestDocsListTheExitCodes(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, table, ok := strings.Cut(readme, "\n| exit code | ")
	if !ok {
		t.Fatal("README.md: no exit code table (a header row starting | exit code |)")
	}
	got := map[int]string{}
	for _, l := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(l, "| ") {
			break
		}
		n, rest, _ := strings.Cut(l[2:], " | ")
		c, err := strconv.Atoi(n)
		if err != nil {
			t.Errorf("README.md: exit code row %q: %v", l, err)
			continue
		}
		got[c] = rest
	}
	checkExitCodes(t, "README.md", got)

	man := readDoc(t, "packaging/kube-oomd.8")
	section := between(t, "packaging/kube-oomd.8", man, "\n.SH EXIT STATUS\n", "\n.SH ")
	got = map[int]string{}
	for _, item := range strings.Split(section, ".TP\n")[1:] {
		n, rest, _ := strings.Cut(strings.TrimPrefix(item, ".B "), "\n")
		c, err := strconv.Atoi(n)
		if err != nil {
			t.Errorf("packaging/kube-oomd.8: EXIT STATUS item %q: %v", item, err)
			continue
		}
		got[c] = rest
	}
	checkExitCodes(t, "packaging/kube-oomd.8", got)
}

func checkExitCodes(t *testing.T, name string, got map[int]string) {
	t.Helper()
	for c, word := range exitMeaning {
		text, ok := got[c]
		switch {
		case !ok:
			t.Errorf("%s does not list exit code %d", name, c)
		case !strings.Contains(strings.ToLower(strings.Join(strings.Fields(text), " ")), word):
			t.Errorf("%s: exit code %d does not say %q: %q", name, c, word, text)
		}
	}
	for c := range got {
		if _, ok := exitMeaning[c]; !ok {
			t.Errorf("%s lists exit code %d, which the command never returns", name, c)
		}
	}
}
