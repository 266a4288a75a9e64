package config

import (
	"errors"
	"net"
	"os"
	"path"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/kube-oomd/kube-oomd/internal/rundir"
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
		"\ufeff[kill]\nmode = \"x\"\n",
		"kill.mode = \"pod\"\n[relief]\nreclaim_max = \"1KiB\"\n",
		"[cgroup]\nkubepods = \"/a\\u0000b\"\n[kill]\ntimeout = \"30s\"\nprotect = [\"/a/\", \"/../x\"]\n",
		"a.b.c = 1\n[x.y]\nz = \"\"\"\n\n\"\"\"\n",
		"0.\"\"=\"\"", // issue 19 item 11: an empty quoted key
		"\n[a]\nb = 1\n''.x = 2\n\"\" = 3\n",
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
			for _, o := range orders {
				if !o.holds(&cfg) {
					t.Fatalf("accepted %s not below %s: %+v", o.lower, o.upper, cfg)
				}
			}
			// Every key takes back the value it writes.
			for _, k := range keys {
				back := cfg
				if err := k.set(&back, k.toml(&cfg)); err != nil || !reflect.DeepEqual(back, cfg) {
					t.Fatalf("%s: %#v does not come back: %v", k.name, k.toml(&cfg), err)
				}
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

func FuzzParseRatio(f *testing.F) {
	for _, s := range []string{"90%", "87.5%", " 5 % ", "0%", "100%", "101%", "0.9", "-5%", "1e2%", "%", "0.000000000000000000001%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRatio(s)
		if err != nil {
			if r != 0 || err.Error() == "" {
				t.Errorf("ParseRatio(%q) = %v, %v", s, r, err)
			}
			return
		}
		if r < 0 || r > 1 {
			t.Errorf("ParseRatio(%q) = %v, outside 0..1", s, r)
		}
		// A ratio printed by formatRatio parses back to itself.
		if back, err := ParseRatio(formatRatio(r)); err != nil || back != r {
			t.Errorf("ParseRatio(formatRatio(%v) = %q) = %v, %v", r, formatRatio(r), back, err)
		}
		if a, err := ParseAmount(s); err != nil || a != (Amount{Ratio: r}) {
			t.Errorf("ParseAmount(%q) = %+v, %v; want ratio %v", s, a, err, r)
		}
	})
}

// FuzzKeyLines checks the lines locate finds for the keys of any TOML
// document: within the file, and on a line that holds the key's name.
func FuzzKeyLines(f *testing.F) {
	if data, err := os.ReadFile(shippedFile); err == nil {
		f.Add(string(data))
	}
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var top map[string]toml.Primitive
		md, err := toml.Decode(text, &top)
		if err != nil {
			return
		}
		p := parser{md: &md, lines: newLineIndex(text)}
		lines := strings.Split(text, "\n")
		var walk func(key toml.Key, prim toml.Primitive, table pos)
		walk = func(key toml.Key, prim toml.Primitive, parent pos) {
			v, at := p.locate(prim, parent)
			line := at.line
			if line < 1 || line > len(lines) {
				t.Fatalf("key %s at line %d, want one of 1..%d", key, line, len(lines))
			}
			// A bare name is spelt as it is, unless written quoted with
			// escapes. A table holding an empty key is on that key's line
			// (see locate).
			name, text := key[len(key)-1], lines[line-1]
			m, isTable := v.(map[string]any)
			_, hasEmpty := m[""]
			if key[len(key)-1:].String() == name && !strings.Contains(text, `\`) && !strings.Contains(text, name) && !hasEmpty {
				t.Errorf("key %s at line %d: %q", key, line, lines[line-1])
			}
			if !isTable {
				return
			}
			var table map[string]toml.Primitive
			if err := md.PrimitiveDecode(prim, &table); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			for name, prim := range table {
				walk(append(key[:len(key):len(key)], name), prim, at)
			}
		}
		for name, prim := range top {
			walk(toml.Key{name}, prim, pos{})
		}
	})
}

// FuzzParseEndpoint checks runtime.endpoint: an accepted value is "",
// "none" or a clean absolute path, which reads back as itself, and the
// unix:// form reads as the same path.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"", "none", "unix:///run/containerd/containerd.sock", "/run/crio/crio.sock",
		"unix://", "unix://relative", "tcp://127.0.0.1:1", "/a//b", "/a/../b", "/", "unix:///x\x00", "npipe:////./pipe/x", "unix://unix:///a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseEndpoint(s)
		if err != nil {
			if p != "" {
				t.Fatalf("ParseEndpoint(%q) = %q with error %v", s, p, err)
			}
			return
		}
		if p == EndpointAuto || p == EndpointNone {
			if p != s {
				t.Fatalf("ParseEndpoint(%q) = %q", s, p)
			}
			return
		}
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsRune(p, 0) || strings.Contains(p, "://") {
			t.Fatalf("ParseEndpoint(%q) = %q: not a clean absolute path", s, p)
		}
		if back, err := ParseEndpoint(p); err != nil || back != p {
			t.Fatalf("ParseEndpoint(%q) = %q, %v; want it back", p, back, err)
		}
		if back, err := ParseEndpoint("unix://" + p); err != nil || back != p {
			t.Fatalf("ParseEndpoint(unix://%s) = %q, %v; want %q", p, back, err, p)
		}
	})
}

// FuzzCheckListen checks metrics.listen: an accepted value is "", a clean
// absolute path that fits a unix socket, or host:port with a port from
// 1024 to 65535; ListenNetwork tells them apart as the value reads.
func FuzzCheckListen(f *testing.F) {
	for _, s := range []string{"", "127.0.0.1:9723", ":9723", "[::1]:1", "localhost:65535", "/run/kube-oomd/metrics.sock",
		"/", "/a/", "/a//b", "run/x.sock", "x.sock", "127.0.0.1:0", "1.2.3.4:65536", "h:1", ":1023", ":1024", "/run/kube-oomd/status.sock", "/run/kube-oomd/x", "unix:///a", "[::1%eth0]:80", "/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkListen(s) != nil {
			return
		}
		switch ListenNetwork(s) {
		case "":
			if s != "" {
				t.Fatalf("ListenNetwork(%q) = off", s)
			}
		case NetworkUnix:
			if path.Clean(s) != s || len(s) > maxSocketPath || strings.ContainsRune(s, 0) || s == "/" {
				t.Fatalf("checkListen(%q) accepted a path that is not a socket's", s)
			}
			if what, own := rundir.Own(rundir.Dir, s); own {
				t.Fatalf("checkListen(%q) accepted kube-oomd's own %s", s, what)
			}
		case NetworkTCP:
			_, port, err := net.SplitHostPort(s)
			if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1024 || n > 65535 {
				t.Fatalf("checkListen(%q) accepted host:port with port %q (%v)", s, port, err)
			}
		default:
			t.Fatalf("ListenNetwork(%q) = %q", s, ListenNetwork(s))
		}
	})
}
