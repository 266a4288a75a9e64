package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeSet writes a main file (unless main is "-": missing) and the named
// entries of its drop-in directory (a nil files map: no directory).
func writeSet(t *testing.T, main string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "kube-oomd.toml")
	if main != "-" {
		if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if files != nil {
		if err := os.Mkdir(DropinDir(path), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(DropinDir(path), name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// Issue 21 item 2: fragments are read after the file in lexical order, and
// override it key by key.
func TestLoadSetMerges(t *testing.T) {
	tests := []struct {
		name    string
		main    string
		files   map[string]string
		check   func(Config) string // "" if right
		read    []string            // base names, in order
		ignored []string
		sources map[string]string // key: base name of the file that set it
	}{
		{
			name: "no directory", main: "[kill]\nmode = \"container\"\n",
			check: func(c Config) string { return want(c.Kill.Mode, ModeContainer) },
			read:  []string{"kube-oomd.toml"}, sources: map[string]string{"kill.mode": "kube-oomd.toml", "kill.cooldown": ""},
		},
		{
			name: "a fragment overrides one key of a section", main: "[kill]\nmode = \"container\"\ncooldown = \"30s\"\n",
			files: map[string]string{"10-dry-run.toml": "[kill]\nmode = \"dry-run\"\n"},
			check: func(c Config) string {
				return want(c.Kill.Mode, ModeDryRun) + want(c.Kill.Cooldown, 30*time.Second)
			},
			read:    []string{"kube-oomd.toml", "10-dry-run.toml"},
			sources: map[string]string{"kill.mode": "10-dry-run.toml", "kill.cooldown": "kube-oomd.toml"},
		},
		{
			name: "lexical order: the later file wins", main: "",
			files: map[string]string{
				"20-b.toml": "[kill]\nmode = \"container\"\n",
				"10-a.toml": "[kill]\nmode = \"dry-run\"\ncooldown = \"20s\"\n",
				"9-c.toml":  "[kill]\nmode = \"pod\"\n", // "9" sorts after "2"
			},
			check:   func(c Config) string { return want(c.Kill.Mode, ModePod) + want(c.Kill.Cooldown, 20*time.Second) },
			read:    []string{"kube-oomd.toml", "10-a.toml", "20-b.toml", "9-c.toml"},
			sources: map[string]string{"kill.mode": "9-c.toml", "kill.cooldown": "10-a.toml"},
		},
		{
			name: "only .toml files count", main: "[kill]\nmode = \"container\"\n",
			files: map[string]string{
				"10-dry-run.toml.disabled": "[kill]\nmode = \"dry-run\"\n",
				"10-dry-run.toml~":         "[kill]\nmode = \"dry-run\"\n",
				".10-dry-run.toml":         "[kill]\nmode = \"dry-run\"\n",
				"README":                   "not toml at all",
			},
			check:   func(c Config) string { return want(c.Kill.Mode, ModeContainer) },
			read:    []string{"kube-oomd.toml"},
			ignored: []string{".10-dry-run.toml", "10-dry-run.toml.disabled", "10-dry-run.toml~", "README"},
			sources: map[string]string{"kill.mode": "kube-oomd.toml"},
		},
		{
			name: "missing main file: the defaults plus the fragments", main: "-",
			files: map[string]string{"10-dry-run.toml": "[kill]\nmode = \"dry-run\"\n"},
			check: func(c Config) string {
				d := Default()
				d.Kill.Mode = ModeDryRun
				return want(fmtV(c), fmtV(d))
			},
			read: []string{"10-dry-run.toml"}, sources: map[string]string{"kill.mode": "10-dry-run.toml", "kill.method": ""},
		},
		{
			name: "an order between keys of two files holds on the merged set",
			main: "[pressure]\nwindow = \"4s\"\n", files: map[string]string{"50.toml": "[pressure]\nstall = \"2s\"\n"},
			check: func(c Config) string { return want(c.Pressure.Stall, 2*time.Second) },
			read:  []string{"kube-oomd.toml", "50.toml"}, sources: map[string]string{"pressure.window": "kube-oomd.toml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSet(t, tt.main, tt.files)
			cfg, src, err := LoadSet(path, true)
			if err != nil {
				t.Fatalf("LoadSet: %v", err)
			}
			if msg := tt.check(cfg); msg != "" {
				t.Error(msg)
			}
			var read, ignored []string
			for _, p := range src.Paths() {
				read = append(read, filepath.Base(p))
			}
			for _, p := range src.Ignored {
				ignored = append(ignored, filepath.Base(p))
			}
			if !slices.Equal(read, tt.read) || !slices.Equal(ignored, tt.ignored) {
				t.Errorf("read %q, ignored %q; want read %q, ignored %q", read, ignored, tt.read, tt.ignored)
			}
			if src.Missing != (tt.main == "-") || src.NoDir != (tt.files == nil) {
				t.Errorf("Missing %v, NoDir %v", src.Missing, src.NoDir)
			}
			for k, f := range tt.sources {
				if got := filepath.Base(src.Source(k)); f != "" && got != f || f == "" && src.Source(k) != "" {
					t.Errorf("Source(%s) = %q, want %q", k, src.Source(k), f)
				}
			}
		})
	}
}

func want[T comparable](got, want T) string {
	if got != want {
		return fmt.Sprintf("got %+v, want %+v; ", got, want)
	}
	return ""
}

// Each problem is reported with the fragment's path and its line, every
// problem of every file at once.
func TestLoadSetErrors(t *testing.T) {
	tests := []struct {
		name  string
		main  string
		files map[string]string
		want  []string // FILE (base name):LINE: ..., in order
	}{
		{
			name: "unknown key in a fragment", main: "[kill]\nmode = \"pod\"\n",
			files: map[string]string{"10-x.toml": "# a comment\n[kill]\nmdoe = \"dry-run\"\n"},
			want:  []string{"10-x.toml:3: kill.mdoe: unknown key; did you mean kill.mode?"},
		},
		{
			name: "errors of several files, in the order read", main: "[kill]\nmode = \"podd\"\n",
			files: map[string]string{
				"20-b.toml": "[pressure]\nwindows = 0\n",
				"10-a.toml": "[kill]\ncooldown = \"1ms\"\n",
			},
			want: []string{
				`kube-oomd.toml:2: kill.mode: "podd" is not one of pod, container, dry-run`,
				"10-a.toml:2: kill.cooldown: ",
				"20-b.toml:2: pressure.windows: ",
			},
		},
		{
			name: "a syntax error in one fragment, a bad value in another", main: "",
			files: map[string]string{"10-a.toml": "[kill]\nmode = dry-run\n", "20-b.toml": "\n\n[log]\nlevel = \"loud\"\n"},
			want:  []string{"10-a.toml:2: kill.mode: expected value", "20-b.toml:4: log.level: "},
		},
		{
			name: "an order broken across files is reported on the later file",
			main: "[pressure]\nstall = \"50ms\"\n", files: map[string]string{"10-a.toml": "\n[relief]\nstall = \"60ms\"\n"},
			want: []string{`10-a.toml:3: relief.stall: "60ms" must be shorter than pressure.stall ("50ms")`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSet(t, tt.main, tt.files)
			_, _, err := LoadSet(path, false)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("LoadSet: %v, want Errors", err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i, e := range es {
				got := strings.TrimPrefix(e.Error(), filepath.Dir(path)+"/")
				got = strings.TrimPrefix(got, "kube-oomd.toml.d/")
				if !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("error %d: %q, want %q...", i, got, tt.want[i])
				}
				if !filepath.IsAbs(e.File) {
					t.Errorf("error %d names %q, want the fragment's path", i, e.File)
				}
			}
		})
	}
}

// A main file named on the command line must exist; the default one may
// be missing. A fragment that is not a regular file is refused at once.
func TestLoadSetFiles(t *testing.T) {
	path := writeSet(t, "-", map[string]string{})
	if _, _, err := LoadSet(path, false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing required file: %v, want fs.ErrNotExist", err)
	}
	if cfg, src, err := LoadSet(path, true); err != nil || !src.Missing || len(src.Files) != 0 || cfg.Kill.Mode != ModePod {
		t.Errorf("a missing optional file, no fragment: %v, %+v, want the defaults", err, src)
	}
	if err := os.Mkdir(filepath.Join(DropinDir(path), "sub.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadSet(path, true); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "sub.toml") {
		t.Errorf("a directory called *.toml: %v, want ErrNotRegular naming it", err)
	}
	file := writeSet(t, "", nil)
	os.WriteFile(DropinDir(file), nil, 0o644)
	if _, _, err := LoadSet(file, false); err == nil || !strings.Contains(err.Error(), DropinDir(file)) {
		t.Errorf("a file at the drop-in directory: %v, want an error naming it", err)
	}
}

func TestChangedAndSetting(t *testing.T) {
	c := Default()
	c.Kill.Mode = ModeDryRun
	c.Kill.Protect = []string{"/a*", "/b"}
	if got := c.Changed(); !slices.Equal(got, []string{"kill.mode", "kill.protect"}) {
		t.Errorf("Changed() = %q", got)
	}
	if got := c.Setting("kill.mode"); got != `kill.mode = "dry-run"` {
		t.Errorf("Setting = %s", got)
	}
	if got := c.Setting("kill.protect"); got != `kill.protect = ["/a*", "/b"]` {
		t.Errorf("Setting = %s", got)
	}
	if got := Default().Changed(); len(got) != 0 {
		t.Errorf("Default().Changed() = %q", got)
	}
}

func fmtV(v any) string { return fmt.Sprintf("%+v", v) }
