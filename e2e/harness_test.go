//go:build e2e

// TestE2E runs kube-oomd's end-to-end scenarios on a real cgroup v2
// kernel: it builds the daemon, builds (or reuses) a cached Debian VM image,
// boots it once under qemu (TCG) and runs every scenario of guest/scenarios/
// in that boot. Each scenario writes a JSON result into the 9p share; the
// assertions are here, one subtest per scenario.
//
//	go test -tags e2e -v -timeout 60m ./e2e/
//
// Environment: KUBE_OOMD_E2E_RUN (regexp on scenario names),
// KUBE_OOMD_E2E_CACHE (image cache), KUBE_OOMD_E2E_KEEP=1 (keep the share),
// KUBE_OOMD_E2E_BIN (use this binary instead of building one),
// KUBE_OOMD_E2E_DEB (the .deb that the deb scenario installs),
// KUBE_OOMD_E2E_GUEST_ENV ("K=V K=V", exported in the guest),
// KUBE_OOMD_E2E_ARCH (amd64, the default, or arm64: the daemon, the image,
// the .deb and the VM of that architecture; arm64 boots under
// qemu-system-aarch64), KUBE_OOMD_E2E_KERNEL (empty: the image's Debian 12
// kernel; arm64-16k: bookworm-backports' kernel with 16 KiB pages, see
// image/kernel.sh).
//
// The suite never passes vacuously: a daemon or a .deb that does not build
// fails it, and so does a scenario that reports itself skipped. The VM's
// kernel is fixed (Debian 12's 6.1, checked by the smoke scenario) and has
// every feature the scenarios use, so a missing one is a failure too.
package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// Journal MESSAGE_IDs of the kube-oomd contract, from its vocabulary (the
// guest has them from env.sh).
const (
	midKill       = vocab.MsgKilled
	midWouldKill  = vocab.MsgWouldKill
	midKernelKill = vocab.MsgKernelOOM
)

// The run's time limits follow its progress, not a fixed total, so that a
// busy host (the guest then runs 2 to 4 times slower) never fails a run
// that is making progress, and a hung one still fails in bounded time,
// naming the phase that hung. Each is generous enough for a host four
// times slower than a quiet one, and scaled by slowdown for arm64.
const (
	// bootLimit: qemu's start to the guest's runner writing run.log (25 s
	// quiet, 173 s on a busy host).
	bootLimit = 12 * time.Minute
	// stallLimit: the longest the guest may write nothing at all to the
	// share (its scenario logs, run.log) before the run is called hung.
	// Every scenario logs each step; the longest silent step is a node
	// coming up under load (227 s measured on a busy host).
	stallLimit = 10 * time.Minute
	// scenarioLimit: one scenario's run time in the guest (run.sh), even
	// while it keeps writing; the slowest gate scenario takes about 3
	// minutes quiet.
	scenarioLimit = 25 * time.Minute
)

// The architecture and kernel under test (KUBE_OOMD_E2E_ARCH,
// KUBE_OOMD_E2E_KERNEL), set by TestE2E.
var (
	e2eArch   = "amd64"
	e2eKernel = ""
)

// slowdown is how much slower than amd64 a guest of the architecture runs
// under TCG on this amd64 host: aarch64 is emulated instruction by
// instruction, where x86 on x86 translates little. It scales the time
// limits (the guest's boot and each scenario's), never an assertion.
func slowdown(arch string) int {
	if arch == "arm64" {
		return 3
	}
	return 1
}

// kernelFlavours: KUBE_OOMD_E2E_KERNEL's values, with the architecture each
// runs on and its page size.
var kernelFlavours = map[string]struct {
	arch     string
	pageSize float64
}{
	"":          {"", 4096}, // the image's linux-image-ARCH: 4 KiB pages on amd64 and arm64
	"arm64-16k": {"arm64", 16384},
}

func TestE2E(t *testing.T) {
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// KUBE_OOMD_E2E_RESULTS=SHARE: check a kept share's results again
	// (the scenarios it ran), without building or booting anything: for
	// working on the assertions.
	if kept := os.Getenv("KUBE_OOMD_E2E_RESULTS"); kept != "" {
		b, err := os.ReadFile(filepath.Join(kept, "scenarios.txt"))
		if err != nil {
			t.Fatalf("KUBE_OOMD_E2E_RESULTS=%s: not a kept share: %v", kept, err)
		}
		checkResults(t, filepath.Join(kept, "results"), strings.Fields(string(b)))
		return
	}
	share, err := os.MkdirTemp("", "kube-oomd-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("KUBE_OOMD_E2E_KEEP") != "" {
			t.Logf("share kept at %s", share)
			return
		}
		os.RemoveAll(share)
	})

	if a := os.Getenv("KUBE_OOMD_E2E_ARCH"); a != "" {
		e2eArch = a
	}
	if e2eArch != "amd64" && e2eArch != "arm64" {
		t.Fatalf("KUBE_OOMD_E2E_ARCH=%q: want amd64 or arm64", e2eArch)
	}
	e2eKernel = os.Getenv("KUBE_OOMD_E2E_KERNEL")
	if k, ok := kernelFlavours[e2eKernel]; !ok || k.arch != "" && k.arch != e2eArch {
		t.Fatalf("KUBE_OOMD_E2E_KERNEL=%q with KUBE_OOMD_E2E_ARCH=%s: want empty, or arm64-16k with arm64", e2eKernel, e2eArch)
	}
	t.Logf("architecture %s, kernel %s", e2eArch, cmp.Or(e2eKernel, "linux-image-"+e2eArch))

	step(t, "setup", func() error { return runCmd(here, nil, "bash", "setup.sh", e2eArch) })

	// The daemon: a build failure fails the run.
	bin := filepath.Join(share, "kube-oomd")
	step(t, "build kube-oomd", func() error {
		if src := os.Getenv("KUBE_OOMD_E2E_BIN"); src != "" {
			return copyFile(src, bin, 0o755)
		}
		return runCmd(here, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + e2eArch}, "go", "build", "-o", bin, "../cmd/kube-oomd")
	})

	var imgDir string
	step(t, "image", func() error {
		var err error
		imgDir, err = lastLine(exec.Command("bash", filepath.Join(here, "image", "build.sh"), e2eArch))
		if err != nil {
			return err
		}
		t.Logf("image: %s", imgDir)
		if e2eKernel != "" {
			imgDir, err = lastLine(exec.Command("bash", filepath.Join(here, "image", "kernel.sh"), imgDir, e2eKernel))
			if err != nil {
				return err
			}
			t.Logf("image with kernel %s: %s", e2eKernel, imgDir)
		}
		return nil
	})

	names := scenarios(t, filepath.Join(here, "guest", "scenarios"))
	if len(names) == 0 {
		t.Fatalf("no scenario matches KUBE_OOMD_E2E_RUN=%q", os.Getenv("KUBE_OOMD_E2E_RUN"))
	}
	if i := slices.IndexFunc(names, isNodeScenario); i >= 0 && e2eArch != "amd64" {
		t.Fatalf("scenario %s runs a real node, whose kubelet, crictl and images are built for amd64 only: "+
			"with KUBE_OOMD_E2E_ARCH=%s, choose scenarios with KUBE_OOMD_E2E_RUN (make e2e-arm64 runs ^(00|01|11)-)", names[i], e2eArch)
	}
	if err := copyTree(filepath.Join(here, "guest"), filepath.Join(share, "guest")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(share, "scenarios.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The deb scenario installs the .deb: KUBE_OOMD_E2E_DEB, or one built
	// here. It leaves a system-wide kube-oomd.service behind until its purge,
	// where the others run a transient unit of that name: scenarios() puts it
	// last.
	if slices.ContainsFunc(names, func(n string) bool { return isDebScenario(n) || isNodeScenario(n) }) {
		step(t, "deb", func() error { return shareDeb(t, here, share) })
	}
	// The node scenarios run a real kubelet: built once and cached.
	if slices.ContainsFunc(names, isNodeScenario) {
		step(t, "node (kubelet, crictl, pause image)", func() error { return shareNode(t, here, share) })
	}
	var env strings.Builder
	// Each scenario's time limit in the guest (run.sh), scaled as the
	// whole run's is below.
	fmt.Fprintf(&env, "export E2E_SCENARIO_TIMEOUT=%d\n", int(scenarioLimit.Seconds())*slowdown(e2eArch))
	// The journal's MESSAGE_IDs, for the guest's journalctl and wait_journal.
	fmt.Fprintf(&env, "export MID_KILL=%s MID_WOULD_KILL=%s MID_KERNEL_OOM=%s\n", midKill, midWouldKill, midKernelKill)
	if comparing() {
		// The scenarios add their kernel-alone runs (lib.sh's comparing).
		fmt.Fprintf(&env, "export E2E_COMPARE=1\n")
	}
	for _, kv := range strings.Fields(os.Getenv("KUBE_OOMD_E2E_GUEST_ENV")) {
		fmt.Fprintf(&env, "export %s\n", kv)
	}
	if err := os.WriteFile(filepath.Join(share, "env.sh"), []byte(env.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// One VM at a time on this machine (vm.sh's lock, taken here so that
	// the wait for another VM does not count against this boot's limit).
	step(t, "wait for the VM lock", func() error { return lockVM(t) })
	// One boot for all scenarios, watched for progress (watchdog).
	console := filepath.Join(share, "console.log")
	results := filepath.Join(share, "results")
	step(t, "boot and run "+strings.Join(names, " "), func() error {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		go follow(ctx, results, names)
		go watchdog(ctx, cancel, share, time.Duration(slowdown(e2eArch)))
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(here, "vm.sh"), imgDir, share, "0", console)
		cmd.Env = append(os.Environ(), "KUBE_OOMD_E2E_ARCH="+e2eArch, "KUBE_OOMD_E2E_VM_LOCK_HELD=1")
		// qemu is vm.sh's child: end the whole group, and give vm.sh a
		// moment to remove its overlay.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
		cmd.WaitDelay = 30 * time.Second
		out, err := cmd.CombinedOutput()
		if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
			t.Logf("console (%s):\n%s", console, tail(console, 150))
			t.Logf("guest run.log:\n%s", tail(filepath.Join(results, "run.log"), 60))
			return cause
		}
		if _, serr := os.Stat(filepath.Join(results, "run.rc")); err != nil || serr != nil {
			t.Logf("console (%s):\n%s", console, tail(console, 150))
			t.Logf("guest run.log:\n%s", tail(filepath.Join(results, "run.log"), 60))
			return fmt.Errorf("the guest did not finish its run (qemu: %v) %s", err, out)
		}
		return nil
	})
	checkResults(t, results, names)
}

// checkResults makes each scenario's assertions on the guest's results,
// one subtest each.
func checkResults(t *testing.T, results string, names []string) {
	timings := readTimings(filepath.Join(results, "timings.txt"))
	t.Logf("guest boot to runner: %.1f s; scenario times: %s", timings["boot"], formatTimings(timings, names))

	sum := &summary{}
	defer sum.print(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := load(t, results, name)
			r.sum = sum
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("--- %s.log:\n%s", name, tail(filepath.Join(results, name+".log"), 60))
					logs, _ := filepath.Glob(filepath.Join(results, name+".*.kube-oomd.log"))
					for _, l := range logs {
						t.Logf("--- %s:\n%s", filepath.Base(l), tail(l, 40))
					}
				}
			})
			// Nothing skips: the kernel is fixed and has what they need.
			if s, ok := r.m["skipped"]; ok {
				t.Fatalf("the scenario skipped itself in the guest, which is a failure: %v", s)
			}
			if e, ok := r.m["error"]; ok {
				t.Fatalf("scenario failed in the guest: %v", e)
			}
			sc, ok := registry[scenarioID(name)]
			if !ok {
				t.Fatalf("no assertions for scenario %s: add e2e/s%s_test.go that registers it", name, strings.ReplaceAll(name, "-", "_"))
			}
			sc.check(t, r)
		})
	}
}

// ---------------------------------------------------------------- plumbing

// watchdog ends the VM (through stop) once the guest stops making
// progress; see watch. It looks every 5 s until ctx ends.
func watchdog(ctx context.Context, stop context.CancelCauseFunc, share string, scale time.Duration) {
	results := filepath.Join(share, "results")
	w := newWatch(time.Now(), bootLimit*scale, stallLimit*scale, scenarioLimit*scale)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		runLog, _ := os.ReadFile(filepath.Join(results, "run.log"))
		if err := w.check(time.Now(), string(runLog), shareSize(results)); err != nil {
			progress("%v", err)
			stop(err)
			return
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// lockVM takes vm.sh's lock (KUBE_OOMD_E2E_VM_LOCK, or
// /tmp/kube-oomd-e2e-vm.lock) for the rest of the test, waiting for
// another test VM on this machine to end: two TCG guests on two cores
// would each measure the other.
func lockVM(t *testing.T) error {
	path := os.Getenv("KUBE_OOMD_E2E_VM_LOCK")
	if path == "" {
		path = "/tmp/kube-oomd-e2e-vm.lock"
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Logf("another test VM runs on this machine (%s is locked): waiting for it", path)
		progress("another test VM runs on this machine: waiting for it")
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return fmt.Errorf("flock %s: %w", path, err)
		}
	}
	t.Cleanup(func() { f.Close() })
	return nil
}

// demo: run by `make demo` (e2e/demo.sh), which wants progress on stderr
// while it works and the results printed for a reader, not a test log.
func demo() bool { return os.Getenv("KUBE_OOMD_E2E_DEMO") != "" }

// progress tells a `make demo` user what happens now.
func progress(format string, args ...any) {
	if demo() {
		fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
	}
}

func step(t *testing.T, name string, f func() error) {
	t.Helper()
	start := time.Now()
	progress("%s ...", name)
	if err := f(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s: %.1f s", name, time.Since(start).Seconds())
	progress("%s: done in %.0f s", name, time.Since(start).Seconds())
}

// follow shows a `make demo` user the guest's progress while the VM runs:
// the lines the scenarios log (lib.sh's log: "[uptime] scenario: ...")
// and run.sh's, as the guest writes them into the share. It returns when
// ctx ends.
func follow(ctx context.Context, results string, names []string) {
	if !demo() {
		return
	}
	offsets := map[string]int64{}
	files := []string{"run.log"}
	for _, n := range names {
		files = append(files, n+".log")
	}
	logLine := regexp.MustCompile(`^\[[0-9.]+\] |^run\.sh: `)
	for {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(results, f))
			if err != nil || int64(len(b)) <= offsets[f] {
				continue
			}
			chunk := b[offsets[f]:]
			last := bytes.LastIndexByte(chunk, '\n')
			if last < 0 {
				continue
			}
			offsets[f] += int64(last + 1)
			for _, l := range strings.Split(string(chunk[:last]), "\n") {
				if logLine.MatchString(l) {
					fmt.Fprintf(os.Stderr, "  guest %s\n", l)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func runCmd(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func scenarios(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var re *regexp.Regexp
	if s := os.Getenv("KUBE_OOMD_E2E_RUN"); s != "" {
		if re, err = regexp.Compile(s); err != nil {
			t.Fatalf("KUBE_OOMD_E2E_RUN: %v", err)
		}
	}
	var names []string
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".sh")
		if (re == nil || re.MatchString(n)) && selected(n) {
			names = append(names, n)
		}
	}
	// In name order, except that the deb scenario runs after the simulated
	// nodes' (see TestE2E), so that scenarios added after it by number still
	// run before it, and the real node's run last: their kubelet, once up,
	// owns kubepods for the rest of the boot.
	group := func(n string) int {
		switch {
		case isNodeScenario(n):
			return 2
		case isDebScenario(n):
			return 1
		}
		return 0
	}
	sort.SliceStable(names, func(i, j int) bool {
		if gi, gj := group(names[i]), group(names[j]); gi != gj {
			return gi < gj
		}
		return names[i] < names[j]
	})
	return names
}

// isDebScenario: the scenario that installs the .deb (11-deb).
func isDebScenario(name string) bool { return strings.HasSuffix(name, "-deb") }

// shareDeb puts the .deb of the architecture under test (e2eArch) into
// SHARE/deb/ and the shipped config into SHARE/packaging/ for scenario 11.
// The .deb is KUBE_OOMD_E2E_DEB (as `make test` passes the one `make
// packages` just built), or else one built now with packaging/build.sh
// (ARCHES=e2eArch, into a temporary directory; with dist/tools/nfpm when
// `make packages` installed it). A .deb that does not build fails the run,
// and so does one of another architecture.
func shareDeb(t *testing.T, here, share string) error {
	root := filepath.Dir(here)
	for _, d := range []string{"deb", "packaging"} {
		if err := os.MkdirAll(filepath.Join(share, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(root, "packaging", "kube-oomd.toml"), filepath.Join(share, "packaging", "kube-oomd.toml"), 0o644); err != nil {
		return err
	}
	deb := strings.TrimSpace(os.Getenv("KUBE_OOMD_E2E_DEB"))
	if deb == "" {
		dist, err := os.MkdirTemp("", "kube-oomd-e2e-deb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dist)
		env := []string{"ARCHES=" + e2eArch, "DIST=" + dist}
		if nfpm := filepath.Join(root, "dist", "tools", "nfpm"); fileIsExec(nfpm) {
			env = append(env, "NFPM="+nfpm)
		}
		if err := runCmd(root, env, "sh", "packaging/build.sh"); err != nil {
			return fmt.Errorf("the .deb does not build: %w", err)
		}
		debs, _ := filepath.Glob(filepath.Join(dist, debGlob()))
		if len(debs) != 1 {
			return fmt.Errorf("packaging/build.sh made %d %s files, want 1", len(debs), debGlob())
		}
		deb = debs[0]
	}
	if ok, _ := filepath.Match(debGlob(), filepath.Base(deb)); !ok {
		return fmt.Errorf("KUBE_OOMD_E2E_DEB=%s: not a %s (KUBE_OOMD_E2E_ARCH=%s)", deb, debGlob(), e2eArch)
	}
	t.Logf("deb: %s", deb)
	return copyFile(deb, filepath.Join(share, "deb", filepath.Base(deb)), 0o644)
}

// debGlob: the name of the .deb of the architecture under test.
func debGlob() string { return "kube-oomd_*_" + e2eArch + ".deb" }

// lastLine runs cmd and returns the last line of its standard output (the
// image scripts print the directory last); its standard error on failure.
func lastLine(cmd *exec.Cmd) (string, error) {
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("%v\n%s", err, ee.Stderr)
		}
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

func fileIsExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func copyFile(src, dst string, mode fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir // the host's, not the guest's
			}
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target, 0o755)
	})
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readTimings(path string) map[string]float64 {
	m := map[string]float64{}
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			m[f[0]] = v
		}
	}
	return m
}

func formatTimings(m map[string]float64, names []string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.0fs", n, m[n]))
	}
	return strings.Join(parts, ", ")
}
