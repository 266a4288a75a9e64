package daemon

import (
	"context"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// The vocabulary check: every record the daemon logs in this package's
// tests goes through a vocabLedger (the harness's logger), which notes each
// field's name and value type. TestMain fails the run when a name is not
// one of internal/vocab's, when one name carried two value types, or when
// one distinctive value was logged under two names.

// ledger is the one ledger of the package's test run.
var ledger = &vocabLedger{types: map[string]map[string]string{}, values: map[string]map[string]string{}}

type vocabLedger struct {
	mu     sync.Mutex
	types  map[string]map[string]string // name -> value type -> the first record's message
	values map[string]map[string]string // distinctive value -> name -> the first record's message
}

// vocabHandler notes each record's fields in the ledger and passes it on.
type vocabHandler struct {
	next   slog.Handler
	ledger *vocabLedger
	attrs  []slog.Attr
}

func (h vocabHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (h vocabHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, a := range h.attrs {
		h.ledger.note(r.Message, a)
	}
	r.Attrs(func(a slog.Attr) bool { h.ledger.note(r.Message, a); return true })
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h vocabHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return vocabHandler{next: h.next.WithAttrs(as), ledger: h.ledger, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h vocabHandler) WithGroup(name string) slog.Handler {
	return vocabHandler{next: h.next.WithGroup(name), ledger: h.ledger, attrs: h.attrs}
}

func (l *vocabLedger) note(msg string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			l.add(a.Key, "group", "", msg)
		}
		if a.Key == vocab.Settings || a.Key == vocab.Features {
			return // named by their owners: config's keys, cgroupv2.Features
		}
		for _, g := range v.Group() {
			l.note(msg, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	typ := v.Kind().String()
	if v.Kind() == slog.KindAny {
		typ = fmt.Sprintf("%T", v.Any())
		if _, ok := v.Any().(error); ok {
			typ = "error"
		}
	}
	val := ""
	if v.Kind() == slog.KindString && distinctive(v.String()) {
		val = v.String()
	}
	l.add(a.Key, typ, val, msg)
}

// distinctive is a value that two names would carry only if they named the
// same thing: a trigger spec, a path; not a word, a number, a boolean or a
// duration, which coincide by chance (a kill_stall of 100ms and a
// next_look of 100ms, seen under go test -count=10).
func distinctive(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err == nil || len(s) < 4 {
		return false
	}
	return strings.ContainsAny(s, "/ ")
}

func (l *vocabLedger) add(name, typ, val, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.types[name] == nil {
		l.types[name] = map[string]string{}
	}
	if _, ok := l.types[name][typ]; !ok {
		l.types[name][typ] = msg
	}
	if val == "" {
		return
	}
	if l.values[val] == nil {
		l.values[val] = map[string]string{}
	}
	if _, ok := l.values[val][name]; !ok {
		l.values[val][name] = msg
	}
}

// sameValue lists the pairs of names that may carry one value: a value
// two figures share by what they are, not a name for one thing twice.
var sameValue = map[[2]string]string{
	// The PSI trigger in force: kubepods' at start (trigger), each
	// trigger's on reload, as the status JSON's triggers say it (in_force).
	{"in_force", "trigger"}: "the start record's trigger is kubepods'; a reload record names each trigger with its file",
	// cgroup.rescan_interval: the retry of a missing kubepods and of a
	// failed inotify are both the rescan.
	{"rescan_interval", "retry"}: "the rescan that retries",
	// file is any file kube-oomd reads or writes; the config is one of them.
	{"config", "file"}: "the config file being written, named as any file is",
}

// problems lists what breaks the vocabulary.
func (l *vocabLedger) problems(names map[string]bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for name, types := range l.types {
		if !names[name] {
			out = append(out, fmt.Sprintf("%q (in %q) is not a name of internal/vocab", name, first(types)))
		}
		if len(types) > 1 {
			out = append(out, fmt.Sprintf("%q carries %d value types: %v", name, len(types), types))
		}
	}
	for val, byName := range l.values {
		keys := make([]string, 0, len(byName))
		for k := range byName {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i := range keys {
			for j := i + 1; j < len(keys); j++ {
				if _, ok := sameValue[[2]string{keys[i], keys[j]}]; !ok {
					out = append(out, fmt.Sprintf("%q is logged as %q (in %q) and as %q (in %q)",
						val, keys[i], byName[keys[i]], keys[j], byName[keys[j]]))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func first(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// vocabNames are the string constants of internal/vocab, read from its
// source: the table itself, not a copy of it. MESSAGE_ID is systemd's.
func vocabNames() (map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "../internal/vocab/vocab.go", nil, 0)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{attrMessageID: true}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			names[s] = true
		}
		return true
	})
	return names, nil
}

// TestMain runs the tests, then checks the vocabulary of every record they
// logged.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		names, err := vocabNames()
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: the journal's vocabulary:", err)
			os.Exit(1)
		}
		if len(ledger.types) == 0 && flag.Lookup("test.run").Value.String() == "" {
			fmt.Fprintln(os.Stderr, "FAIL: the journal's vocabulary: no record was checked")
			os.Exit(1)
		}
		if p := ledger.problems(names); len(p) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the journal's vocabulary (internal/vocab):\n\t%s\n", strings.Join(p, "\n\t"))
			code = 1
		}
	}
	os.Exit(code)
}

// The ledger catches a name with two value types, a name outside the
// table and one value under two names.
func TestVocabLedgerCatches(t *testing.T) {
	l := &vocabLedger{types: map[string]map[string]string{}, values: map[string]map[string]string{}}
	log := slog.New(vocabHandler{next: slog.DiscardHandler, ledger: l})
	log.Info("a", "pids", 3, "file", "/run/kube-oomd/x", "took", "1.5s")
	log.Info("b", "pids", "3", "bogus", 1, "kubepods", "/run/kube-oomd/x", "retry_after", "1.5s")
	names, err := vocabNames()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(l.problems(names), "\n")
	for _, want := range []string{`"pids" carries 2 value types`, `"bogus" (in "b") is not a name`, `"/run/kube-oomd/x" is logged as "file" (in "a") and as "kubepods" (in "b")`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "1.5s") {
		t.Errorf("a duration under two names is a coincidence, not a problem:\n%s", got)
	}
}
