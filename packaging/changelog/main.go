// Command changelog makes the packages' changelogs from CHANGELOG.md, so that
// there is one copy to maintain: the Debian changelog (the .deb's
// /usr/share/doc/kube-oomd/changelog.gz, once gzipped) and the YAML file
// that nfpm's `changelog:` reads for the .rpm's %changelog (goreleaser/chglog
// format). packaging/build.sh runs it:
//
//	go run ./packaging/changelog -version VERSION -epoch SOURCE_DATE_EPOCH \
//		-deb OUT/changelog -rpm OUT/changelog.yml
//
// The package name, release and the packager of every entry are
// nfpm.yaml's name, release and maintainer: the address is written once,
// there.
//
// CHANGELOG.md: a section "## VERSION - YYYY-MM-DD" per release, newest
// first ("unreleased" instead of the date: only the newest), each holding
// "- " items continued on lines indented by two spaces; text before the
// first section is ignored. The package's VERSION must be the newest
// section's, or a snapshot of it: VERSION~... (before it, as 0.1.0~git42.abc
// before 0.1.0) takes its entry; VERSION+... (after it) gets an entry of its
// own above it. Anything else is an error that says what to add.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// entry is one release of CHANGELOG.md.
type entry struct {
	version string
	date    time.Time // zero: unreleased
	line    int       // of its "## " heading
	items   []string  // one line each
}

var (
	headingRE = regexp.MustCompile(`^## ([0-9][A-Za-z0-9.+~]*) - (unreleased|[0-9]{4}-[0-9]{2}-[0-9]{2})$`)
	versionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
)

// parse reads CHANGELOG.md (named file in errors).
func parse(r io.Reader, file string) ([]entry, error) {
	var entries []entry
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimRight(sc.Text(), " \t")
		if strings.HasPrefix(l, "## ") {
			m := headingRE.FindStringSubmatch(l)
			if m == nil {
				return nil, fmt.Errorf("%s:%d: %q: a section must be \"## VERSION - YYYY-MM-DD\" (or \"- unreleased\")", file, n, l)
			}
			e := entry{version: m[1], line: n}
			if m[2] != "unreleased" {
				d, err := time.Parse("2006-01-02", m[2])
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %q is not a date (YYYY-MM-DD): %w", file, n, m[2], err)
				}
				e.date = d
			} else if len(entries) > 0 {
				return nil, fmt.Errorf("%s:%d: %s is unreleased, but only the newest section may be", file, n, e.version)
			}
			entries = append(entries, e)
			continue
		}
		if len(entries) == 0 || l == "" {
			continue
		}
		e := &entries[len(entries)-1]
		switch {
		case strings.HasPrefix(l, "- "):
			e.items = append(e.items, strings.TrimSpace(l[2:]))
		case strings.HasPrefix(l, "  ") && len(e.items) > 0:
			e.items[len(e.items)-1] += " " + strings.TrimSpace(l)
		default:
			return nil, fmt.Errorf("%s:%d: %q: inside a section, only \"- \" items and their continuation lines (indented by two spaces)", file, n, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: no \"## VERSION - DATE\" section", file)
	}
	for _, e := range entries {
		if len(e.items) == 0 {
			return nil, fmt.Errorf("%s:%d: %s has no \"- \" item", file, e.line, e.version)
		}
	}
	return entries, nil
}

// forVersion returns the entries of a package of version, built at built
// (for an unreleased or snapshot entry's date).
func forVersion(entries []entry, version string, built time.Time, file string) ([]entry, error) {
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("version %q: must start with a digit and hold only letters, digits and . + ~", version)
	}
	top := entries[0]
	rest := entries[1:]
	switch {
	case version == top.version:
		if top.date.IsZero() {
			return nil, fmt.Errorf("%s:%d: %s is the version being built, but is still \"unreleased\": write its release date (YYYY-MM-DD)", file, top.line, version)
		}
		return entries, nil
	case strings.HasPrefix(version, top.version+"~"):
		// A snapshot or pre-release of the coming version: its entry.
		top.version = version
		if top.date.IsZero() {
			top.date = built
		}
		return append([]entry{top}, rest...), nil
	case strings.HasPrefix(version, top.version+"+"):
		if top.date.IsZero() {
			return nil, fmt.Errorf("%s:%d: version %s is after %s, which is still \"unreleased\"", file, top.line, version, top.version)
		}
		snap := entry{version: version, date: built, items: []string{"Development snapshot after " + top.version + ", not a release."}}
		return append([]entry{snap}, entries...), nil
	}
	return nil, fmt.Errorf("%s:%d: the newest section is %s, not %s: add a section \"## %s - YYYY-MM-DD\" above it",
		file, top.line, top.version, version, version)
}

// field is the value of nfpm.yaml's top-level "key:" line, unquoted.
func field(nfpm []byte, key, file string) (string, error) {
	for _, l := range strings.Split(string(nfpm), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			v = strings.TrimSpace(v)
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: no top-level \"%s:\" line", file, key)
}

// maintainer is nfpm.yaml's maintainer, "Name <address>".
func maintainer(nfpm []byte, file string) (string, error) {
	v, err := field(nfpm, "maintainer", file)
	if err != nil {
		return "", err
	}
	if !regexp.MustCompile(`^[^<>]+ <[^<>@\s]+@[^<>@\s]+>$`).MatchString(v) {
		return "", fmt.Errorf("%s: maintainer %q is not \"Name <address>\"", file, v)
	}
	return v, nil
}

// wrap folds s into lines of at most width columns (words longer than a
// line stay whole), the first prefixed by first and the others by cont.
func wrap(s, first, cont string, width int) string {
	var b strings.Builder
	line, words := first, 0
	for _, w := range strings.Fields(s) {
		if words > 0 && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, words = cont, 0
		}
		if words > 0 {
			line += " "
		}
		line += w
		words++
	}
	b.WriteString(line + "\n")
	return b.String()
}

// debian is the Debian changelog (deb-changelog(5)) of the entries.
func debian(entries []entry, name, release, packager string) string {
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s (%s-%s) unstable; urgency=medium\n\n", name, e.version, release)
		for _, it := range e.items {
			b.WriteString(wrap(it, "  * ", "    ", 78))
		}
		fmt.Fprintf(&b, "\n -- %s  %s\n", packager, e.date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	return b.String()
}

// chglogYAML is the entries in the YAML of goreleaser/chglog, which nfpm's
// `changelog:` reads (the .rpm's %changelog: "* DATE PACKAGER - VERSION-RELEASE").
// Strings are JSON-quoted, which YAML reads as double-quoted scalars.
func chglogYAML(entries []entry, release, packager string) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "- semver: %s\n", strconv.Quote(e.version+"-"+release))
		fmt.Fprintf(&b, "  date: %s\n", e.date.UTC().Format(time.RFC3339))
		fmt.Fprintf(&b, "  packager: %s\n", strconv.Quote(packager))
		b.WriteString("  changes:\n")
		for _, it := range e.items {
			fmt.Fprintf(&b, "    - note: %s\n", strconv.Quote(it))
		}
	}
	return b.String()
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("changelog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "CHANGELOG.md", "the changelog to read")
	nfpm := fs.String("nfpm", "packaging/nfpm.yaml", "the nfpm configuration: its name, release and maintainer")
	version := fs.String("version", "", "the package version (packaging/version.sh)")
	epoch := fs.Int64("epoch", -1, "SOURCE_DATE_EPOCH: the date of an unreleased or snapshot entry")
	deb := fs.String("deb", "", "write the Debian changelog here")
	rpm := fs.String("rpm", "", "write nfpm's changelog YAML here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" || *epoch < 0 || *deb == "" || *rpm == "" || fs.NArg() > 0 {
		return errors.New("usage: changelog -version V -epoch SECONDS -deb FILE -rpm FILE [-in CHANGELOG.md] [-nfpm nfpm.yaml]")
	}
	conf, err := os.ReadFile(*nfpm)
	if err != nil {
		return err
	}
	packager, err := maintainer(conf, *nfpm)
	if err != nil {
		return err
	}
	name, err := field(conf, "name", *nfpm)
	if err != nil {
		return err
	}
	release, err := field(conf, "release", *nfpm)
	if err != nil {
		return err
	}
	if !regexp.MustCompile(`^[0-9A-Za-z.+~]+$`).MatchString(release) {
		return fmt.Errorf("%s: release %q: only letters, digits and . + ~", *nfpm, release)
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := parse(f, *in)
	if err != nil {
		return err
	}
	entries, err = forVersion(entries, *version, time.Unix(*epoch, 0).UTC(), *in)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*deb, []byte(debian(entries, name, release, packager)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(*rpm, []byte(chglogYAML(entries, release, packager)), 0o644)
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "changelog:", err)
		os.Exit(1)
	}
}
