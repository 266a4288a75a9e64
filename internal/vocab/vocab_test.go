package vocab

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// Each name is written once: no two constants of the table spell the same
// name, but for a metric label (Prometheus's namespace) that says what a
// journal field of the same name says.
func TestEachNameOnce(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "vocab.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Errorf("%s is not a string literal", n.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				key := v
				if strings.HasPrefix(n.Name, "Label") {
					key = "label " + v
				}
				if other, ok := seen[key]; ok {
					t.Errorf("%s and %s both spell %q", other, n.Name, v)
				}
				seen[key] = n.Name
			}
		}
	}
	if len(seen) < 100 {
		t.Errorf("read %d names from vocab.go, want the whole table", len(seen))
	}
}
