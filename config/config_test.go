package config

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const shippedFile = "../packaging/kube-oomd.toml"

// structKeys returns the dotted keys named by Config's toml tags.
func structKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sf := ct.Field(i)
		for j := range sf.Type.NumField() {
			kf := sf.Type.Field(j)
			keys = append(keys, sf.Tag.Get("toml")+"."+kf.Tag.Get("toml"))
		}
	}
	return keys
}

func TestShippedFileIsDefault(t *testing.T) {
	got, err := Load(shippedFile)
	if err != nil {
		t.Fatalf("Load(%s): %v", shippedFile, err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("%s does not match Default():\n got %+v\nwant %+v", shippedFile, got, want)
	}
}

func TestShippedFileHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		t.Fatal(err)
	}
	var inFile []string
	for _, k := range md.Keys() {
		if len(k) == 2 {
			inFile = append(inFile, k.String())
		}
	}
	want := structKeys(t)
	if !slices.Equal(inFile, want) {
		t.Errorf("keys in %s (in order):\n %v\nwant the struct's toml tags:\n %v", shippedFile, inFile, want)
	}
}

// TestKeyTableMatchesStruct keeps the parser's key table and Config's toml
// tags in step.
func TestKeyTableMatchesStruct(t *testing.T) {
	var c Config
	var table []string
	for _, f := range c.fields() {
		table = append(table, f.key)
	}
	if want := structKeys(t); !slices.Equal(table, want) {
		t.Errorf("key table:\n %v\nstruct toml tags:\n %v", table, want)
	}
}

// TestShippedFileCommented checks that every key in the shipped file is
// directly preceded by a comment.
func TestShippedFileCommented(t *testing.T) {
	data, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if !strings.Contains(l, "=") || strings.HasPrefix(l, "#") {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("%s:%d: %q has no comment above it", shippedFile, i+1, l)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestLoadReportsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kube-oomd.toml")
	if err := os.WriteFile(path, []byte("[kill]\nmode = \"podd\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:2: kill.mode: "podd" is not one of pod, container, dry-run`
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}

func TestLogValue(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("start", "config", Default())
	for _, want := range []string{
		"config.cgroup.kubepods=auto", "config.pressure.window=1s",
		"config.memory.near_limit=90%", "config.memory.host_available_floor=5%",
		"config.memory.min_victim=32MiB", "config.kill.mode=pod", "config.log.level=INFO",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}
