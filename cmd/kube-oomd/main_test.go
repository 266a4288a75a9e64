package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

const MiB = 1 << 20

// kube runs the command line and returns its exit code and output.
func kube(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	// The run directory is the test's own: never /run/kube-oomd, which a
	// daemon (or another test run) may hold.
	e := &env{stdout: &out, stderr: &errb, cgroupRoot: "/sys/fs/cgroup", procRoot: "/proc", runDir: t.TempDir()}
	code = e.main(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestPodsRanksByQoS(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.Node(t, d)
			code, out, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "pods", "--json", "--config", writeConfig(t, noRuntime))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var pods []map[string]any
			if err := json.Unmarshal([]byte(out), &pods); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			got := map[string]float64{}
			for _, p := range pods {
				for _, k := range []string{"uid", "qos", "cgroup", "working_set_bytes", "request_bytes", "limit_bytes", "protected", "rank"} {
					if _, ok := p[k]; !ok {
						t.Errorf("pod %v lacks key %q", p["uid"], k)
					}
				}
				got[p["uid"].(string)] = p["rank"].(float64)
			}
			want := map[string]float64{"be": 1, "bu": 2, "gu": 3, "crit": 0}
			for uid, r := range want {
				if got[uid] != r {
					t.Errorf("%s rank = %v, want %v (all: %v)", uid, got[uid], r, got)
				}
			}
			if pods[0]["qos"] != "BestEffort" || pods[0]["limit_bytes"] != nil {
				t.Errorf("first pod = %v, want the BestEffort one with no limit", pods[0])
			}
		})
	}
}

// podsJSON runs `kube-oomd pods --json` on the tree and returns its rows by
// UID, with the exit code and stderr.
func podsJSON(t *testing.T, tree *cgrouptest.Tree) (rows map[string]map[string]any, code int, stderr string) {
	t.Helper()
	code, out, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "pods", "--json", "--config", writeConfig(t, noRuntime))
	if code != 0 {
		return nil, code, errs
	}
	var pods []map[string]any
	if err := json.Unmarshal([]byte(out), &pods); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	rows = map[string]map[string]any{}
	for _, p := range pods {
		rows[p["uid"].(string)] = p
	}
	return rows, code, errs
}

// A node-critical process protects its pod, and a process at -1000 is
// spared (its pod's other processes are not), wherever it runs in the pod:
// in a cgroup nested in a container (systemd or Docker in the container, a
// kind node) or in a directory of the pod that is no container.
// cgroup.kill would reach it there too.
func TestPodsProtectsNestedProcesses(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.Node(t, d)
			tree.AddPod(cgrouptest.Pod{UID: "dind", QoS: cgroupv2.BestEffort, Current: 3000 * MiB,
				Containers: []cgrouptest.Container{{Current: 2999 * MiB, Adj: []int{1000},
					Nested: []cgrouptest.Cgroup{{Path: "init.scope", Adj: []int{1000}}, {Path: "system.slice/containerd.service", Adj: []int{-1000}}}}}})
			tree.AddPod(cgrouptest.Pod{UID: "kind", QoS: cgroupv2.Burstable, Current: 2000 * MiB,
				Containers: []cgrouptest.Container{{Current: 1999 * MiB, Adj: []int{900}}},
				Other:      []cgrouptest.Cgroup{{Path: "kubelet.slice/kubelet.service", Adj: []int{-997}}}})
			rows, code, errs := podsJSON(t, tree)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if p := rows["kind"]; p["protected"] != true || p["rank"] != 0.0 || !strings.Contains(fmt.Sprint(p["protected_reason"]), "node-critical") {
				t.Errorf("pod kind: protected %v (%v), rank %v; want protected (node-critical), rank 0", p["protected"], p["protected_reason"], p["rank"])
			}
			// dind's 3 GiB are its other processes': it ranks first, and
			// its kill would spare the -1000 process and the sandbox.
			if p := rows["dind"]; p["protected"] != false || p["rank"] != 1.0 || len(p["spared_pids"].([]any)) != 2 {
				t.Errorf("pod dind: protected %v, rank %v, spared %v; want killable, rank 1, 2 spared", p["protected"], p["rank"], p["spared_pids"])
			}
		})
	}
}

func TestPodsTable(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	code, out, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", writeConfig(t, noRuntime))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "RANK") {
		t.Fatalf("table:\n%s", out)
	}
	for i, want := range []string{"1 - - be BestEffort", "2 - - bu Burstable", "3 - - gu Guaranteed", "- - - crit BestEffort"} {
		if got := strings.Join(strings.Fields(lines[i+1])[:5], " "); got != want {
			t.Errorf("row %d = %q, want %q", i+1, got, want)
		}
	}
	if !strings.Contains(lines[4], "node-critical") {
		t.Errorf("critical row does not say why it is protected: %q", lines[4])
	}
}

// One pod that cannot be read does not hide the others: `pods` prints the
// pods it could read and then, on stderr, one line per pod it could not,
// naming the file and what is wrong. It fails only when it could read none.
func TestPodsShowsWhatItCanRead(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	bu := tree.PodPath("bu", cgroupv2.Burstable)
	tree.Write(bu, "memory.stat", "anon\n")
	for _, asJSON := range []bool{false, true} {
		args := []string{"--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "pods", "--config", writeConfig(t, noRuntime)}
		if asJSON {
			args = append(args, "--json")
		}
		code, out, errs := kube(t, args...)
		if code != 0 {
			t.Fatalf("json %v: exit %d, stderr %q: want 0, the other pods shown", asJSON, code, errs)
		}
		for _, uid := range []string{"be", "gu", "crit"} {
			if !strings.Contains(out, uid) {
				t.Errorf("json %v: pod %s missing:\n%s", asJSON, uid, out)
			}
		}
		if strings.Contains(out, "\"bu\"") || strings.Contains(out, " bu ") {
			t.Errorf("json %v: the broken pod is shown:\n%s", asJSON, out)
		}
		if asJSON {
			var rows []map[string]any
			if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
				t.Errorf("json: %d rows, %v; want 3 as JSON", len(rows), err)
			}
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		file := filepath.Join(tree.Mount, bu, "memory.stat")
		if len(lines) != 1 || !strings.Contains(lines[0], "bu") || !strings.Contains(lines[0], file) || !strings.Contains(lines[0], "malformed") {
			t.Errorf("json %v: stderr %q, want one line naming pod bu, %s and what is wrong", asJSON, errs, file)
		}
	}

	for _, uid := range []string{"be", "gu", "crit"} {
		q := map[string]cgroupv2.QoS{"be": cgroupv2.BestEffort, "gu": cgroupv2.Guaranteed, "crit": cgroupv2.BestEffort}[uid]
		tree.Write(tree.PodPath(uid, q), "memory.current", "lots\n")
	}
	code, out, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "pods", "--config", writeConfig(t, noRuntime))
	if code != 1 || out != "" || strings.Count(errs, "\n") != 5 || !strings.Contains(errs, "none of the 4 pods") {
		t.Errorf("no pod readable: exit %d, stdout %q, stderr %q; want 1, nothing, a line per pod and why it failed", code, out, errs)
	}
}

// A pod whose memory.pressure is missing (cgroup.pressure 0) is shown, with
// no pressure; one missing another file is named as unreadable. Neither
// vanishes as if it were gone.
func TestPodsMissingFiles(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	for uid, file := range map[string]string{"be": "memory.pressure", "bu": "memory.stat"} {
		q := map[string]cgroupv2.QoS{"be": cgroupv2.BestEffort, "bu": cgroupv2.Burstable}[uid]
		if err := os.Remove(filepath.Join(tree.Mount, tree.PodPath(uid, q), file)); err != nil {
			t.Fatal(err)
		}
	}
	rows, code, errs := podsJSON(t, tree)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if be, ok := rows["be"]; !ok || be["rank"] != 1.0 || be["psi_some_avg10"] != 0.0 {
		t.Errorf("pod be without memory.pressure: %v, want it ranked 1 with no pressure", be)
	}
	if _, ok := rows["bu"]; ok || !strings.Contains(errs, "bu") || !strings.Contains(errs, "memory.stat") {
		t.Errorf("pod bu without memory.stat: shown %v, stderr %q; want it named on stderr, with the file", ok, errs)
	}
}

func TestPodsWithoutCgroup2Memory(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.Write("/", "cgroup.controllers", "cpu pids\n")
	code, _, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", writeConfig(t, noRuntime))
	if code != 1 || !strings.Contains(errs, "systemd.unified_cgroup_hierarchy=1") {
		t.Errorf("exit %d, stderr %q: want 1 and what to change", code, errs)
	}
}

// noRuntime is a config that does not ask the container runtime: the
// tests' pods are named by UID, whatever runs on the machine.
const noRuntime = "[runtime]\nendpoint = \"none\"\n"

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kube-oomd.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfig(t *testing.T) {
	good := writeConfig(t, "[kill]\nmode = \"dry-run\"\n")
	if code, out, errs := kube(t, "check-config", good); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("valid config: exit %d, %q %q", code, out, errs)
	}
	shipped := filepath.Join("..", "..", "packaging", "kube-oomd.toml")
	if code, _, errs := kube(t, "check-config", shipped); code != 0 {
		t.Errorf("shipped config: exit %d, %s", code, errs)
	}
	bad := writeConfig(t, "[kill]\nmode = \"dry-run\"\n\n[pressure]\nwindows = 0\nbogus = 1\n")
	code, _, errs := kube(t, "check-config", bad)
	if code != 1 {
		t.Errorf("invalid config: exit %d, want 1", code)
	}
	for _, want := range []string{bad + ":5: pressure.windows: ", bad + ":6: pressure.bogus: unknown key"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	for _, listen := range []string{"127.0.0.1:9723", "/run/kube-oomd/metrics.sock"} {
		if code, _, errs := kube(t, "check-config", writeConfig(t, "[metrics]\nlisten = \""+listen+"\"\n")); code != 0 {
			t.Errorf("metrics.listen %q: exit %d, %s", listen, code, errs)
		}
	}
	bad = writeConfig(t, "[metrics]\nlisten = \"run/kube-oomd/metrics.sock\"\n")
	if code, _, errs := kube(t, "check-config", bad); code != 1 || !strings.Contains(errs, bad+":2: metrics.listen: ") {
		t.Errorf("relative metrics.listen: exit %d, stderr %q; want 1 and FILE:LINE: metrics.listen", code, errs)
	}
	// Issue 19 item 10: kube-oomd's own files, and ports it may not bind.
	for _, listen := range []string{"/run/kube-oomd/status.sock", "/run/kube-oomd/limits.json", "/run/kube-oomd/kube-oomd.lock",
		"/run/kube-oomd/throttles.json", "/run/kube-oomd/frozen.json", "127.0.0.1:443"} {
		bad = writeConfig(t, "[metrics]\nlisten = \""+listen+"\"\n")
		if code, _, errs := kube(t, "check-config", bad); code != 1 || !strings.Contains(errs, bad+":2: metrics.listen: ") {
			t.Errorf("metrics.listen %q: exit %d, stderr %q; want 1 and FILE:LINE: metrics.listen", listen, code, errs)
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	bad := writeConfig(t, "[kill]\nmode = \"podd\"\n")
	code, _, errs := kube(t, "run", "--config", bad)
	if code != 1 || !strings.Contains(errs, bad+":2: kill.mode:") {
		t.Errorf("exit %d, stderr %q: want 1 and FILE:LINE: key", code, errs)
	}
	code, _, errs = kube(t, "run", "--config", filepath.Join(t.TempDir(), "missing.toml"))
	if code != 1 || !strings.Contains(errs, "missing.toml") {
		t.Errorf("missing named config: exit %d, stderr %q", code, errs)
	}
}

func TestRunRefusesWithoutCgroup2Memory(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	tree.Write("/", "cgroup.controllers", "cpu io pids\n")
	code, _, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "run", "--config", writeConfig(t, "[log]\nformat = \"text\"\n"))
	if code != 1 || !strings.Contains(errs, "cannot start") || !strings.Contains(errs, "systemd.unified_cgroup_hierarchy=1") {
		t.Errorf("exit %d, stderr %q: want a refusal that says what to change", code, errs)
	}
}

func TestRunRefusesWithoutPSI(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	if err := os.RemoveAll(filepath.Join(tree.Proc, "pressure")); err != nil {
		t.Fatal(err)
	}
	code, _, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "run", "--config", writeConfig(t, "[log]\nformat = \"text\"\n"))
	if code != 1 || !strings.Contains(errs, "CONFIG_PSI") {
		t.Errorf("exit %d, stderr %q: want a refusal naming CONFIG_PSI", code, errs)
	}
}

func TestUsage(t *testing.T) {
	if code, _, _ := kube(t); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, errs := kube(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
	if code, out, _ := kube(t, "version"); code != 0 || !strings.HasPrefix(out, "kube-oomd ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// A crashed run's leftovers (a pod left frozen, a container left at
// memory.max 0, a throttle in force) are undone by the next `run`, under
// its instance lock, before it reads its config: a config that a reload
// had refused fails the start, as it must, and leaves nothing frozen,
// lowered or throttled behind; each undo is logged all the same.
func TestRunUndoesLeftoversDespiteBadConfig(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.Node(t, d)
			l := tree.Layout()
			id := func(rel string) uint64 {
				id, err := cgroupv2.ID(l.Abs(rel))
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			be := tree.PodPath("be", cgroupv2.BestEffort)
			bu := tree.PodPath("bu", cgroupv2.Burstable)
			p, err := cgroupv2.NewReader(l, tree.Proc).ReadPod(cgroupv2.PodRef{Path: bu})
			if err != nil {
				t.Fatal(err)
			}
			app := ""
			for _, c := range p.Containers {
				if c.App() {
					app = c.Path
				}
			}
			tree.Write(be, "cgroup.freeze", "1")
			tree.Write(app, "memory.max", "0")
			tree.Write(bu, "memory.high", "104857600")
			run := t.TempDir()
			write := func(name, text string) {
				if err := os.WriteFile(filepath.Join(run, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write("frozen.json", fmt.Sprintf(`[{"cgroup": %q, "id": %d}]`, l.Abs(be), id(be)))
			write("limits.json", fmt.Sprintf(`[{"cgroup": %q, "id": %d, "original": %d}]`, l.Abs(app), id(app), 300*MiB))
			write("throttles.json", fmt.Sprintf(`[{"cgroup": %q, "id": %d, "uid": "bu", "qos": "Burstable", "original": %d, "set": 104857600, "current": 104857600, "since": "2026-01-02T03:04:05Z"}]`,
				bu, id(bu), cgroupv2.Unlimited))
			bad := writeConfig(t, "[kill]\nmode = \"podd\"\n")

			var out, errb bytes.Buffer
			e := &env{stdout: &out, stderr: &errb, cgroupRoot: "/sys/fs/cgroup", procRoot: "/proc", runDir: run}
			code := e.main(context.Background(), []string{"--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "run", "--config", bad})
			errs := errb.String()
			if code != 1 || !strings.Contains(errs, bad+":2: kill.mode:") {
				t.Errorf("exit %d, stderr %q: want 1 and the config's error", code, errs)
			}
			file := func(rel, name string) string {
				b, _ := os.ReadFile(filepath.Join(l.Abs(rel), name))
				return strings.TrimSpace(string(b))
			}
			if got := file(be, "cgroup.freeze"); got != "0" {
				t.Errorf("%s cgroup.freeze = %q, want 0: left frozen", be, got)
			}
			if got := file(app, "memory.max"); got != fmt.Sprint(300*MiB) {
				t.Errorf("%s memory.max = %q, want %d put back", app, got, 300*MiB)
			}
			if got := file(bu, "memory.high"); got != "max" {
				t.Errorf("%s memory.high = %q, want max given back", bu, got)
			}
			restored := "restored memory.high set by an earlier run"
			if d == cgroupv2.DriverSystemd {
				restored = "wrote back memory.high set by an earlier run to the file"
			}
			for _, msg := range []string{"thawed a cgroup an earlier run left frozen", "put back the memory.max of a container an earlier run lowered", restored} {
				if !strings.Contains(errs, msg) {
					t.Errorf("stderr does not say %q:\n%s", msg, errs)
				}
			}
			// The records are undone: gone, but for a throttle on the
			// systemd driver, which stays for the next start to give the
			// unit's MemoryHigh back over D-Bus.
			for _, name := range []string{"frozen.json", "limits.json", "throttles.json"} {
				_, err := os.Stat(filepath.Join(run, name))
				if kept := d == cgroupv2.DriverSystemd && name == "throttles.json"; kept != (err == nil) {
					t.Errorf("%s: %v; want kept %v", name, err, kept)
				}
			}
		})
	}
}

// -h, --help and `help` print the usage on stdout and exit 0, for the
// program and for each command.
func TestHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"--help"}, "Usage:"},
		{[]string{"-h"}, "Usage:"},
		{[]string{"help"}, "Usage:"},
		{[]string{"--cgroup-root", "/x", "--help"}, "Usage:"},
		{[]string{"run", "--help"}, "Usage: kube-oomd run"},
		{[]string{"run", "-h"}, "--dry-run"},
		{[]string{"check-config", "--help"}, "Usage: kube-oomd check-config"},
		{[]string{"pods", "--help"}, "Usage: kube-oomd pods"},
		{[]string{"pods", "-h"}, "--json"},
		{[]string{"status", "--help"}, "Usage: kube-oomd status"},
		{[]string{"status", "-h"}, "--socket"},
		{[]string{"version", "--help"}, "Usage: kube-oomd version"},
		{[]string{"help", "pods"}, "Usage: kube-oomd pods"},
	} {
		code, out, errs := kube(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || errs != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0, %q on stdout, nothing on stderr", tc.args, code, out, tc.want, errs)
		}
	}
}

// A command line that cannot be understood exits 2 and says why once, on
// stderr, with where to find the usage.
func TestUsageErrorsExitTwoAndSayItOnce(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // exactly once in stderr
	}{
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--cgroup-root"}, "flag needs an argument: -cgroup-root"},
		{[]string{"pods", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"pods", "--json=maybe"}, "invalid boolean value"},
		{[]string{"run", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"check-config", "--x"}, "flag provided but not defined: -x"},
		{[]string{"check-config", "a", "b"}, "at most one file"},
		{[]string{"status", "extra"}, "status takes no arguments"},
		{[]string{"status", "--socket"}, "flag needs an argument: -socket"},
		{[]string{"version", "extra"}, "version takes no arguments"},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errs := kube(t, tc.args...)
		if code != 2 || out != "" || strings.Count(errs, tc.want) != 1 || strings.Count(errs, "kube-oomd: ") != 1 || !strings.Contains(errs, "--help") ||
			len(tc.args) > 0 && strings.Count(errs, tc.args[0]) > 2 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, %q once on stderr and where to find the usage", tc.args, code, out, errs, tc.want)
		}
	}
}

// A mistyped command gets the nearest one, as a mistyped config key does.
func TestUnknownCommandSuggests(t *testing.T) {
	for _, tc := range []struct{ cmd, want string }{
		{"stauts", `did you mean "status"?`},
		{"pod", `did you mean "pods"?`},
		{"check-conifg", `did you mean "check-config"?`},
		{"verison", `did you mean "version"?`},
		{"Run", `did you mean "run"?`},
		{"xyzzy", ""},
	} {
		code, _, errs := kube(t, tc.cmd)
		if code != 2 || tc.want != "" && !strings.Contains(errs, tc.want) || tc.want == "" && strings.Contains(errs, "did you mean") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.cmd, code, errs, tc.want)
		}
	}
}

// `version` and `--version` print the version (the -X main.version one
// when set), the commit and the Go version; the first line is the one
// packaging/check.sh compares.
func TestVersion(t *testing.T) {
	for _, set := range []string{"", "v9.8.7"} {
		old := version
		version = set
		for _, args := range [][]string{{"version"}, {"--version"}} {
			code, out, errs := kube(t, args...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != 0 || errs != "" || !strings.HasPrefix(lines[0], "kube-oomd ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go "+runtime.Version()) {
				t.Errorf("%q (version %q): exit %d, stdout %q, stderr %q; want 0, the version, commit and Go version", args, set, code, out, errs)
			}
			if set != "" && lines[0] != "kube-oomd "+set {
				t.Errorf("%q: first line %q, want %q", args, lines[0], "kube-oomd "+set)
			}
		}
		version = old
	}
}

// Sizes in the text tables are shown as kubectl shows quantities: the
// largest binary unit, at most one decimal; --json keeps the bytes.
func TestHumanSize(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0"},
		{512, "512"},
		{1023, "1023"},
		{1024, "1Ki"},
		{1536, "1.5Ki"},
		{800000 * 1024, "781.3Mi"},
		{4096, "4Ki"},
		{448 * MiB, "448Mi"},
		{600000000, "572.2Mi"},
		{1536 * MiB, "1.5Gi"},
		{MiB - 1, "1Mi"},           // 1023.999Ki rounds up to the next unit
		{1<<30 - 1<<20/100, "1Gi"}, // likewise
		{3 << 40, "3Ti"},
		{1<<64 - 1, "16Ei"},
	} {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestPodsTableSizes(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	tree.AddPod(cgrouptest.Pod{UID: "odd", QoS: cgroupv2.Burstable, Current: 600000000, Max: 800000 * 1024,
		Containers: []cgrouptest.Container{{Current: 600000000 - 4096}}})
	code, out, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", writeConfig(t, noRuntime))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	size := regexp.MustCompile(`^[0-9]+(\.[0-9])?(Ki|Mi|Gi|Ti)?$`)
	var seen bool
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		for _, col := range f[5:8] { // WORKING SET, REQUEST, LIMIT
			if col != "none" && !size.MatchString(col) {
				t.Errorf("size %q is not as kubectl shows it: %q", col, line)
			}
		}
		if f[3] == "odd" {
			seen = true
			if f[7] != "781.3Mi" {
				t.Errorf("odd's limit shown %q, want 781.3Mi: %q", f[7], line)
			}
		}
	}
	if !seen {
		t.Errorf("pod odd not shown:\n%s", out)
	}
	rows, _, _ := podsJSON(t, tree)
	if rows["odd"]["limit_bytes"] != float64(800000*1024) {
		t.Errorf("--json limit_bytes = %v, want the exact bytes", rows["odd"]["limit_bytes"])
	}
}

// With PSI compiled in but switched off at boot (psi=0), /proc/pressure is
// not there at all on recent kernels: the refusal names the boot
// parameter, not a kernel build option.
func TestRunRefusesWithPSIOff(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	if err := os.RemoveAll(filepath.Join(tree.Proc, "pressure")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree.Proc, "cmdline"), []byte("BOOT_IMAGE=/vmlinuz root=/dev/sda1 psi=0 quiet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := kube(t, "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "run", "--config", writeConfig(t, "[log]\nformat = \"text\"\n"))
	if code != 1 || !strings.Contains(errs, "psi=1") || strings.Contains(errs, "CONFIG_PSI,") {
		t.Errorf("exit %d, stderr %q: want a refusal naming the boot parameter psi=1", code, errs)
	}
}

// Issue 21 item 2: check-config FILE checks FILE and FILE.d/, merged, and
// lists the files read and the entries ignored.
func TestCheckConfigDropins(t *testing.T) {
	path := writeConfig(t, "# [kill]\n# mode = \"pod\"\n")
	dir := path + ".d"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dryRun := filepath.Join("..", "..", "packaging", "10-dry-run.toml")
	data, err := os.ReadFile(dryRun)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "10-dry-run.toml"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "README"), nil, 0o644)
	code, out, errs := kube(t, "check-config", path)
	want := path + ": ok\nread: " + path + ", " + dir + "/10-dry-run.toml\nignored: " + dir + "/README (only *.toml files in " + dir + " are read)\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant stdout %q", code, out, errs, want)
	}
	bad := filepath.Join(dir, "20-bad.toml")
	os.WriteFile(bad, []byte("[kill]\nmdoe = \"pod\"\n"), 0o644)
	code, out, errs = kube(t, "check-config", path)
	if code != 1 || out != "" || !strings.Contains(errs, bad+":2: kill.mdoe: unknown key; did you mean kill.mode?") {
		t.Errorf("a bad fragment: exit %d, stdout %q, stderr %q; want 1 and FRAGMENT:LINE", code, out, errs)
	}
	os.Remove(path)
	if code, _, errs := kube(t, "check-config", path); code != 1 || !strings.Contains(errs, path) {
		t.Errorf("a missing file named on the command line: exit %d, %q; want 1", code, errs)
	}
}
