package config

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexKeyLines(t *testing.T) {
	const doc = `# header
top = 1

[kill]
mode = "pod"   # comment with key = 1
  cooldown="10s"
"quoted key" = 1
'literal.key' = 2
a . b = 3
protect = [
  "/x = y",
  # not = a key
  "/z",
]
text = """
fake = 1
"""
lit = '''
fake2 = 1'''
tbl = { inner = 1,
  x = { deep = 2 } }
after = true

[pressure.sub]
[[arr]]
k = 1
[[arr]]
k = 2
esc = "a\"b = c"
last = 1
`
	want := map[string]int{
		"top":                2,
		"kill":               4,
		"kill.mode":          5,
		"kill.cooldown":      6,
		`kill."quoted key"`:  7,
		`kill."literal.key"`: 8,
		"kill.a":             9,
		"kill.a.b":           9,
		"kill.protect":       10,
		"kill.text":          15,
		"kill.lit":           18,
		"kill.tbl":           20,
		"kill.tbl.inner":     20,
		"kill.tbl.x":         21,
		"kill.tbl.x.deep":    21,
		"kill.after":         22,
		"pressure":           24,
		"pressure.sub":       24,
		"arr":                25,
		"arr.k":              26,
		"arr.esc":            29,
		"arr.last":           30,
	}
	// The document must be valid TOML, as Parse only indexes such.
	var tree map[string]any
	if _, err := toml.Decode(doc, &tree); err != nil {
		t.Fatalf("test document is not TOML: %v", err)
	}
	got := indexKeyLines(doc)
	for k, l := range want {
		if got[k] != l {
			t.Errorf("line of %s = %d, want %d", k, got[k], l)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s at line %d", k, got[k])
		}
	}
}

func TestKeyLinesParentFallback(t *testing.T) {
	kl := keyLines{"kill": 3, "kill.protect": 5}
	tests := []struct {
		key  toml.Key
		want int
	}{
		{toml.Key{"kill", "protect"}, 5},
		{toml.Key{"kill", "mode"}, 3},
		{toml.Key{"kill", "protect", "x"}, 5},
		{toml.Key{"log"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := kl.line(tt.key); got != tt.want {
			t.Errorf("line(%v) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestIndexKeyLinesEscapes(t *testing.T) {
	for _, doc := range []string{
		`"\u0041\t" = 1`,
		`"\e" = 1`,
		`"a\\e" = 1`,
		`'C:\e' = 1`,
		`a."b.c".d = 1`,
		"[ a . 'b' ]\nc = 1",
	} {
		var tree map[string]any
		md, err := toml.Decode(doc, &tree)
		if err != nil {
			t.Fatalf("%q is not TOML: %v", doc, err)
		}
		index := indexKeyLines(doc)
		for _, k := range md.Keys() {
			if index[k.String()] == 0 {
				t.Errorf("%q: key %s not indexed; index: %v", doc, k, index)
			}
		}
	}
}
