package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// fuzzSeeds returns TOML snippets for the fuzz targets, besides the shipped
// file.
func fuzzSeeds() []string {
	return []string{
		"",
		"[kill]\nmode = \"podd\"\nmodee = 1\n",
		"[pressure]\nwindow = \"1s\"\nstall = \"2s\"\n",
		"kill = { mode = \"pod\",\n protect = [\"/a\", 3] }\n",
		"[kill]\nprotect = [\n\"/x\", # c\n]\ntext = \"\"\"\nmode = 1\n\"\"\"\n",
		"[[kill]]\n[kill.x]\n'a.b' = 1\n\"c\\\"d\" = 2\n",
		"[memory]\nmin_victim = \"99999999999TiB\"\nnear_limit = 0.9\n",
		"a = [[[[[{b = {c = 1}}]]]]]\n",
		"x = '''\n''''\n",
		"[kill\nmode = \"pod",
		"\"\\e\\u0041\" = 1\n[ a . 'b' ]\n",
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(shippedFile); err == nil {
		f.Add(data)
	}
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err == nil {
			if cfg.Pressure.Stall <= 0 || cfg.Pressure.Stall >= cfg.Pressure.Window {
				t.Fatalf("accepted stall %v with window %v", cfg.Pressure.Stall, cfg.Pressure.Window)
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error %T %v is not a non-empty Errors", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range errs {
			if e.Line < 0 || e.Line > lines {
				t.Errorf("line %d outside 0..%d: %v", e.Line, lines, e)
			}
			if e.Key == "" && e.Msg == "" {
				t.Errorf("error with neither key nor message: %+v", e)
			}
			if e.File != "fuzz.toml" {
				t.Errorf("file %q, want fuzz.toml", e.File)
			}
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "4096", "64MiB", "1.5GiB", " 100 MB ", "-1", "99999999999TiB", "18446744073709551615", "1.", "5%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Errorf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			if err.Error() == "" {
				t.Errorf("ParseSize(%q): empty error message", s)
			}
			return
		}
		// A size printed by FormatSize parses back to itself.
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v", n, FormatSize(n), back, err)
		}
		// Amounts parse sizes the same way.
		if a, err := ParseAmount(s); err != nil || a != (Amount{Bytes: n}) {
			t.Errorf("ParseAmount(%q) = %+v, %v; want %d bytes", s, a, err, n)
		}
	})
}

func FuzzLineIndex(f *testing.F) {
	if data, err := os.ReadFile(shippedFile); err == nil {
		f.Add(string(data))
	}
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Count(text, "\n") + 1
		index := indexKeyLines(text)
		for k, l := range index {
			if k == "" || l < 1 || l > lines {
				t.Errorf("key %q at line %d, want a key within lines 1..%d", k, l, lines)
			}
		}
		// In valid TOML, the index finds every key the decoder finds.
		var tree map[string]any
		md, err := toml.Decode(text, &tree)
		if err != nil {
			return
		}
		for _, k := range md.Keys() {
			if _, ok := index[k.String()]; !ok {
				t.Errorf("key %s not indexed", k)
			}
		}
	})
}
