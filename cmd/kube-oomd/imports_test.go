package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cmd is thin: besides the standard library and internal helpers it
// imports only daemon and config. Opening the node, reading and ranking
// the pods are the daemon's.
func TestCmdImportsOnlyDaemonAndConfig(t *testing.T) {
	const mod = "github.com/kube-oomd/kube-oomd/"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(p, ".") {
				continue // the standard library
			}
			switch rest, ok := strings.CutPrefix(p, mod); {
			case !ok:
				t.Errorf("%s imports %s, outside the module", name, p)
			case rest == "daemon", rest == "config", strings.HasPrefix(rest, "internal/"):
			default:
				t.Errorf("%s imports %s: cmd imports only daemon, config and internal helpers", name, p)
			}
		}
	}
}
