package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const shippedFile = "../packaging/kube-oomd.toml"

// tableKeys returns the dotted names of the key table, in order.
func tableKeys() []string {
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	return names
}

// TestShippedFileIsDefault checks that the shipped file, as shipped (every
// key commented out), sets no key and so parses to exactly the defaults.
func TestShippedFileIsDefault(t *testing.T) {
	got, err := Load(shippedFile)
	if err != nil {
		t.Fatalf("Load(%s): %v", shippedFile, err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("%s does not match Default():\n got %+v\nwant %+v", shippedFile, got, want)
	}
	data, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		t.Fatal(err)
	}
	if k := md.Keys(); len(k) > 0 {
		t.Errorf("%s sets %v: as shipped, every key is commented out", shippedFile, k)
	}
}

// commentedKey matches the shipped file's commented-out section headers
// ("# [kill]") and keys ("# mode = ..."); uncommented shows what the file
// documents.
var commentedKey = regexp.MustCompile(`(?m)^# (\[[a-z]+\]|[a-z_]+ = .*)$`)

// uncommented returns the shipped file with its section headers and keys
// uncommented.
func uncommented(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	return commentedKey.ReplaceAllString(string(data), "$1")
}

// TestShippedFileMatchesTable checks that the shipped file documents every
// key of the table (commented out), in its order and in its sections, with
// the table's built-in value as the file writes it, and nothing else.
func TestShippedFileMatchesTable(t *testing.T) {
	var tree map[string]any
	md, err := toml.Decode(uncommented(t), &tree)
	if err != nil {
		t.Fatal(err)
	}
	var inFile, want []string
	for _, k := range md.Keys() {
		inFile = append(inFile, k.String())
	}
	def := Default()
	for _, k := range keys {
		if !slices.Contains(want, k.section()) {
			want = append(want, k.section())
		}
		want = append(want, k.name)
		section, _ := tree[k.section()].(map[string]any)
		v, ok := section[k.short()]
		if !ok {
			t.Errorf("%s lacks %s", shippedFile, k.name)
			continue
		}
		if d := k.toml(&def); !reflect.DeepEqual(v, d) {
			t.Errorf("%s: %s = %#v, want the default %#v", shippedFile, k.name, v, d)
		}
	}
	if !slices.Equal(inFile, want) {
		t.Errorf("keys in %s (in order):\n %v\nwant the sections and keys of the table:\n %v", shippedFile, inFile, want)
	}
}

// TestKeyTableCoversConfig checks that each field of Config's sections has
// exactly one key, that each section struct holds the keys of one section,
// and that the table lists each section's keys together.
func TestKeyTableCoversConfig(t *testing.T) {
	var c Config
	fields := map[any]string{} // field address: "Section.Field"
	cv := reflect.ValueOf(&c).Elem()
	for i := range cv.NumField() {
		sv := cv.Field(i)
		for j := range sv.NumField() {
			fields[sv.Field(j).Addr().Interface()] = cv.Type().Field(i).Name + "." + sv.Type().Field(j).Name
		}
	}
	seen := map[string]string{}      // field: key
	sectionOf := map[string]string{} // Config field: section
	for _, k := range keys {
		f, ok := fields[k.ptr(&c)]
		if !ok {
			t.Errorf("%s: its field is not a field of a Config section", k.name)
			continue
		}
		if other, dup := seen[f]; dup {
			t.Errorf("%s and %s both set %s", other, k.name, f)
		}
		seen[f] = k.name
		structName, _, _ := strings.Cut(f, ".")
		if s, ok := sectionOf[structName]; ok && s != k.section() {
			t.Errorf("%s: Config.%s holds keys of [%s] and [%s]", k.name, structName, s, k.section())
		}
		sectionOf[structName] = k.section()
	}
	for _, f := range fields {
		if _, ok := seen[f]; !ok {
			t.Errorf("Config.%s has no key in the table", f)
		}
	}
	var order []string
	for _, k := range keys {
		if n := len(order); n == 0 || order[n-1] != k.section() {
			order = append(order, k.section())
		}
	}
	if !slices.Equal(order, sections()) {
		t.Errorf("the table's sections %v are not each in one run", order)
	}
	names := tableKeys()
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("the table names a key twice: %v", names)
	}
}

// TestKeyTableRoundTrip checks that each key takes back, unchanged, the
// value it writes, for the built-in value and for another valid one.
func TestKeyTableRoundTrip(t *testing.T) {
	other, err := Parse(testFile, []byte(otherConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{Default(), other} {
		for _, k := range keys {
			var back Config
			if err := k.set(&back, k.toml(&c)); err != nil {
				t.Errorf("%s: set(%#v): %v", k.name, k.toml(&c), err)
				continue
			}
			if got, want := reflect.ValueOf(k.ptr(&back)).Elem().Interface(), reflect.ValueOf(k.ptr(&c)).Elem().Interface(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %#v came back as %#v", k.name, want, got)
			}
		}
	}
}

// TestOrdersName checks that each order names two keys of the table of one
// ordered type, and that the defaults keep it.
func TestOrders(t *testing.T) {
	def := Default()
	for _, o := range orders {
		lo, ok1 := lookup(o.lower)
		hi, ok2 := lookup(o.upper)
		if !ok1 || !ok2 {
			t.Errorf("order %s < %s names a key not in the table", o.lower, o.upper)
			continue
		}
		if reflect.TypeOf(lo.ptr(&def)) != reflect.TypeOf(hi.ptr(&def)) {
			t.Errorf("order %s < %s compares different types", o.lower, o.upper)
			continue
		}
		if !o.holds(&def) {
			t.Errorf("the defaults break %s < %s", o.lower, o.upper)
		}
	}
}

// TestShippedFileCommented checks that every key in the shipped file is
// directly preceded by a comment.
func TestShippedFileCommented(t *testing.T) {
	lines := strings.Split(uncommented(t), "\n")
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

// Issue 19 item 8: a FIFO at the config path would block the read (and
// the daemon's loop with it) until someone writes to it; a device never
// ends. Load refuses whatever is not a regular file, at once.
func TestLoadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "kube-oomd.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{fifo: "is a FIFO, not a regular file", dir: "is a directory, not a regular file"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path+" "+what) {
				t.Errorf("Load(%s): %v, want ErrNotRegular: %q", path, err, what)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) blocked", path)
		}
	}
}

// A config file is small: one that is not is refused, not read whole.
func TestLoadRefusesAHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kube-oomd.toml")
	if err := os.WriteFile(path, bytes.Repeat([]byte("# comment\n"), MaxFileSize/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1MiB") {
		t.Errorf("Load of a %d-byte file: %v, want ErrTooLarge naming the file and the bound", MaxFileSize+10, err)
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

// otherConfig sets every key to a valid value other than its default.
const otherConfig = `
[cgroup]
kubepods = "/k"
driver = "systemd"
rescan_interval = "1m"
[runtime]
endpoint = "unix:///run/k3s/containerd/containerd.sock"
timeout = "500ms"
[pressure]
kind = "some"
stall = "200ms"
window = "2s"
windows = 3
watch_host = false
[memory]
near_limit = "87.5%"
host_available_floor = "2GiB"
min_victim = 1000
[relief]
stall = "50ms"
reclaim = false
reclaim_chunk = "4KiB"
reclaim_max = "1GB"
throttle = false
throttle_after = 5
throttle_below = "10%"
release_after = "1h"
release_step = "100%"
[kill]
mode = "dry-run"
method = "oom"
on_imminent_oom = false
cooldown = "30s"
timeout = "10s"
protect = ["/a*", "/kubepods.slice/b[0-9]"]
[log]
level = "debug"
format = "json"
[metrics]
listen = "/run/kube-oomd/metrics.sock"
`

// TestLogValue checks the shape the start-up log and `kube-oomd status`
// show: one group per section, in file order, each key once.
func TestLogValue(t *testing.T) {
	tests := []struct {
		name string
		cfg  func() Config
		want string
	}{
		{"default", Default, "config.cgroup.kubepods=auto config.cgroup.driver=auto config.cgroup.rescan_interval=10s " +
			"config.runtime.endpoint=auto config.runtime.timeout=2s " +
			"config.pressure.kind=full config.pressure.stall=100ms config.pressure.window=1s config.pressure.windows=2 config.pressure.watch_host=true " +
			"config.memory.near_limit=90% config.memory.host_available_floor=5% config.memory.min_victim=32MiB " +
			"config.relief.stall=30ms config.relief.reclaim=true config.relief.reclaim_chunk=32MiB config.relief.reclaim_max=256MiB " +
			"config.relief.throttle=true config.relief.throttle_after=2 config.relief.throttle_below=5% config.relief.release_after=10s config.relief.release_step=25% " +
			"config.kill.mode=pod config.kill.method=oom config.kill.on_imminent_oom=true config.kill.cooldown=10s config.kill.timeout=5s config.kill.protect=[] " +
			"config.log.level=INFO config.log.format=auto config.metrics.listen=off"},
		{"other", func() Config {
			c, err := Parse(testFile, []byte(otherConfig))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, "config.cgroup.kubepods=/k config.cgroup.driver=systemd config.cgroup.rescan_interval=1m " +
			"config.runtime.endpoint=/run/k3s/containerd/containerd.sock config.runtime.timeout=500ms " +
			"config.pressure.kind=some config.pressure.stall=200ms config.pressure.window=2s config.pressure.windows=3 config.pressure.watch_host=false " +
			"config.memory.near_limit=87.5% config.memory.host_available_floor=2GiB config.memory.min_victim=1000B " +
			"config.relief.stall=50ms config.relief.reclaim=false config.relief.reclaim_chunk=4KiB config.relief.reclaim_max=1000000000B " +
			"config.relief.throttle=false config.relief.throttle_after=5 config.relief.throttle_below=10% config.relief.release_after=1h config.relief.release_step=100% " +
			"config.kill.mode=dry-run config.kill.method=oom config.kill.on_imminent_oom=false config.kill.cooldown=30s config.kill.timeout=10s config.kill.protect=\"[/a* /kubepods.slice/b[0-9]]\" " +
			"config.log.level=DEBUG config.log.format=json config.metrics.listen=/run/kube-oomd/metrics.sock"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		noTime := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("start", "config", tt.cfg())
		if got, want := strings.TrimSpace(buf.String()), "level=INFO msg=start "+tt.want; got != want {
			t.Errorf("%s: log line\n %s\nwant\n %s", tt.name, got, want)
		}
	}
}

// TestLogValueKinds checks the kinds of the values status turns into JSON:
// numbers and booleans stay numbers and booleans, an empty kill.protect is
// null.
func TestLogValueKinds(t *testing.T) {
	kinds := map[string]slog.Kind{}
	var protect any = "unset"
	for _, g := range Default().LogValue().Group() {
		for _, a := range g.Value.Group() {
			kinds[g.Key+"."+a.Key] = a.Value.Kind()
			if g.Key+"."+a.Key == "kill.protect" {
				protect = a.Value.Any()
			}
		}
	}
	for name, want := range map[string]slog.Kind{
		"pressure.windows": slog.KindInt64, "relief.throttle_after": slog.KindInt64,
		"pressure.watch_host": slog.KindBool, "relief.reclaim": slog.KindBool, "relief.throttle": slog.KindBool,
		"kill.on_imminent_oom": slog.KindBool, "kill.protect": slog.KindAny, "kill.mode": slog.KindString, "kill.method": slog.KindString,
	} {
		if kinds[name] != want {
			t.Errorf("%s is a %s, want a %s", name, kinds[name], want)
		}
	}
	if b, err := json.Marshal(protect); err != nil || string(b) != "null" {
		t.Errorf("kill.protect shows as %s, %v; want null", b, err)
	}
	if len(kinds) != len(keys) {
		t.Errorf("LogValue shows %d keys, the table has %d", len(kinds), len(keys))
	}
}

// A reload keeps the restart-only keys ([cgroup], [runtime], [metrics]) at
// their values in force and names their sections, in the table's order.
func TestKeepRestartOnly(t *testing.T) {
	inForce := Default()
	next := Default()
	next.Metrics.Listen = "127.0.0.1:9"
	next.Cgroup.RescanInterval = time.Minute
	next.Kill.Mode = ModeDryRun
	got, sections := KeepRestartOnly(next, inForce)
	if !slices.Equal(sections, []string{"cgroup", SectionMetrics}) {
		t.Errorf("sections = %q, want cgroup, metrics", sections)
	}
	if got.Metrics != inForce.Metrics || got.Cgroup != inForce.Cgroup || got.Kill.Mode != ModeDryRun {
		t.Errorf("got %+v %+v mode %s: want the restart-only keys kept, kill.mode applied", got.Cgroup, got.Metrics, got.Kill.Mode)
	}
	if _, none := KeepRestartOnly(inForce, inForce); len(none) != 0 {
		t.Errorf("no change: sections = %q", none)
	}
	for _, k := range keys {
		want := k.section() == "cgroup" || k.section() == "runtime" || k.section() == SectionMetrics
		if k.restart != want {
			t.Errorf("%s: restart = %v, want %v", k.name, k.restart, want)
		}
	}
}
