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
	"math"
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

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Journal MESSAGE_IDs of the kube-oomd contract.
const (
	midKill       = "7afd622d79014eba9c7ef0a2d0c2ec1f"
	midWouldKill  = "23add67a5aff44b8a893a749c6904f70"
	midKernelKill = "1ef63ccdd1ef45c9990585debd6744dc"
)

// perScenarioBudget bounds the guest's run time: boot plus this per scenario.
const perScenarioBudget = 5 * time.Minute

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
	fmt.Fprintf(&env, "export E2E_SCENARIO_TIMEOUT=%d\n", 600*slowdown(e2eArch))
	for _, kv := range strings.Fields(os.Getenv("KUBE_OOMD_E2E_GUEST_ENV")) {
		fmt.Fprintf(&env, "export %s\n", kv)
	}
	if err := os.WriteFile(filepath.Join(share, "env.sh"), []byte(env.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// One VM at a time on this machine (vm.sh's lock, taken here so that
	// the wait for another VM does not count against this boot's limit).
	step(t, "wait for the VM lock", func() error { return lockVM(t) })
	// One boot for all scenarios.
	limit := (3*time.Minute + time.Duration(len(names))*perScenarioBudget) * time.Duration(slowdown(e2eArch))
	if d, ok := t.Deadline(); ok && time.Until(d)-time.Minute < limit {
		limit = time.Until(d) - time.Minute
	}
	console := filepath.Join(share, "console.log")
	results := filepath.Join(share, "results")
	step(t, "boot and run "+strings.Join(names, " "), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), limit+30*time.Second)
		defer cancel()
		go follow(ctx, results, names)
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(here, "vm.sh"), imgDir, share,
			strconv.Itoa(int(limit.Seconds())), console)
		cmd.Env = append(os.Environ(), "KUBE_OOMD_E2E_ARCH="+e2eArch, "KUBE_OOMD_E2E_VM_LOCK_HELD=1")
		out, err := cmd.CombinedOutput()
		if _, serr := os.Stat(filepath.Join(results, "run.rc")); err != nil || serr != nil {
			t.Logf("console (%s):\n%s", console, tail(console, 150))
			t.Logf("guest run.log:\n%s", tail(filepath.Join(results, "run.log"), 60))
			return fmt.Errorf("the guest did not finish its run (qemu: %v) %s", err, out)
		}
		return nil
	})
	timings := readTimings(filepath.Join(results, "timings.txt"))
	t.Logf("guest boot to runner: %.1f s; scenario times: %s", timings["boot"], formatTimings(timings, names))

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := load(t, results, name)
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
			check, ok := checks[strings.SplitN(name, "-", 2)[0]]
			if !ok {
				t.Fatalf("no assertions for scenario %s", name)
			}
			check(t, r)
		})
	}
}

// ---------------------------------------------------------------- checks

var checks = map[string]func(*testing.T, *R){
	"00": checkSmoke,
	"01": checkLeak,
	"02": checkBusy,
	"03": checkCritical,
	"04": checkCgroupfs,
	"05": checkDryRun,
	"06": checkPodOOM,
	"07": checkBadConfig,
	"08": checkCacheHeavy,
	"09": checkSlowLeak,
	"10": checkRestartThrottled,
	"11": checkDeb,
	"12": checkIdle,
	"13": checkFaults,
	"14": checkBystanders,
	"15": checkShmem,
	"16": checkGrab,
	"17": checkTwoLeakers,
	"18": checkMemoryQoS,
	"19": checkNodeLayout,
	"20": checkNodeLeak,
	"21": checkNodeMemoryQoS,
}

func checkSmoke(t *testing.T, r *R) {
	t.Logf("kernel %s, %s; speed: %v", r.str("kernel"), r.str("systemd"), r.get("speed"))
	r.match("cgroup_fs", `^cgroup2fs$`)
	r.match("root_controllers", `\bmemory\b`)
	r.isTrue("has_memory_reclaim")
	r.isTrue("has_cgroup_kill")
	r.isTrue("has_memory_oom_group")
	r.match("psi_trigger", `^ok$`)
	r.isTrue("cgroup_kill_killed")
	r.match("systemd_container_cgroup", `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	r.match("cgroupfs_container_cgroup", `^/kubepods/besteffort/pod[0-9a-f-]{36}/[0-9a-f]{64}$`)
	r.eq("systemd_container_adj", 500)
	r.eq("systemd_pause_adj", -998)
	r.eq("cgroupfs_container_adj", 1000)
	r.eq("systemd_container_oom_group", 1)
	r.eq("systemd_pod_memory_max", 256<<20)
	r.isTrue("kube_oomd_present")
	r.isTrue("systemd_removed")
	r.isTrue("cgroupfs_removed")

	// The kernel booted is the one asked for: Debian 12's 6.1 of the
	// architecture, or the flavour's (6.1.0-N-amd64, 6.12.N+deb12-arm64-16k).
	if e2eKernel == "" {
		r.match("kernel", `^6\.1\.0-[0-9]+-`+e2eArch+`$`)
	} else {
		r.match("kernel", `-`+regexp.QuoteMeta(e2eKernel)+`$`)
	}
	// The page size: the kernel's is the flavour's, kube-oomd found the same,
	// and the kernel rounds a memory.high write as kube-oomd expects it to
	// (cgroupv2.RoundLimit: down to a page), which relief.Verify relies on.
	page := kernelFlavours[e2eKernel].pageSize
	r.eq("page_size", page)
	if r.str("daemon_page_size") == "none" {
		t.Errorf("kube-oomd status --json never answered in the smoke: %s", r.str("daemon_status_error"))
	} else {
		r.eq("daemon_page_size", page)
	}
	written := r.num("memory_high_written")
	want := cgroupv2.RoundLimit(uint64(written), uint64(page))
	r.eq("memory_high_read", float64(want))
	t.Logf("page size %.0f B (kube-oomd: %v); memory.high written %.0f, read back %.0f (cgroupv2.RoundLimit: %d)",
		page, r.get("daemon_page_size"), written, r.num("memory_high_read"), want)
}

// leakRow is one column of scenario 01's table.
type leakRow struct {
	act, firstStallToAct, stallMs, worst, base float64
	victim                                     string
	oomKills                                   int
}

func leakSummary(r *R, p string) leakRow {
	var row leakRow
	start := r.num(p + ".leak_start_s")
	if r.boolean(p + ".watch.died") {
		row.act = r.num(p+".watch.death_s") - start
		if fs, ok := r.get(p + ".watch.first_stall_s").(float64); ok {
			row.firstStallToAct = r.num(p+".watch.death_s") - fs
		}
	} else {
		row.act = -1
	}
	row.stallMs = r.num(p+".g_full_stall_us") / 1000
	row.worst = r.num(p + ".passes.worst_s")
	row.base = r.num(p + ".passes.baseline_s")
	row.oomKills = int(r.num(p + ".kubepods_oom_kill_delta"))
	var victims []string
	for _, k := range r.records(p, "kill") {
		victims = append(victims, fmt.Sprintf("%s (kube-oomd, %s)", r.podName(p, k.str("pod_uid")), k.str("reason")))
	}
	for _, pod := range []string{"G", "B", "BE"} {
		if d := r.num(p+".after.pod_oom_kill."+pod) - r.num(p+".before.pod_oom_kill."+pod); d > 0 {
			victims = append(victims, pod+" (kernel OOM)")
		}
	}
	row.victim = strings.Join(victims, ", ")
	if row.victim == "" {
		row.victim = "none"
	}
	return row
}

func checkLeak(t *testing.T, r *R) {
	k, d := leakSummary(r, "kernel"), leakSummary(r, "daemon")
	printLeakTable(t, k, d)

	// The kernel-alone run must show the damage the daemon is there to avoid.
	r.isTrue("kernel.watch.died")
	r.atLeast("kernel.kubepods_oom_kill_delta", 1)
	r.isTrue("kernel.pod_alive.G")
	r.isTrue("kernel.pod_alive.B")
	r.atLeast("kernel.g_full_stall_us", 250000)
	leakDaemonChecks(t, r, "daemon")
	ks, ds := r.num("kernel.g_full_stall_us"), r.num("daemon.g_full_stall_us")
	if ds > ks/4 {
		t.Errorf("Guaranteed pod full stall with kube-oomd %.0f ms > a quarter of kernel alone (%.0f ms / 4 = %.0f ms)",
			ds/1000, ks/1000, ks/4000)
	}
}

// leakDaemonChecks: kube-oomd killed the BestEffort pod slice, before any
// kernel OOM kill, and nothing else.
func leakDaemonChecks(t *testing.T, r *R, p string) {
	r.isTrue(p + ".daemon_survived")
	r.isTrue(p + ".watch.died")
	r.eq(p+".kubepods_oom_kill_delta", 0)
	be := r.str(p + ".pods.BE.uid")
	kills := r.records(p, "kill")
	if len(kills) == 0 {
		t.Errorf("%s: no kill record (MESSAGE_ID=%s) in kube-oomd's journal", p, midKill)
	}
	seen := false
	for _, k := range kills {
		if k.str("pod_uid") == be {
			seen = true
			if q := k.str("qos"); q != "BestEffort" {
				t.Errorf("%s: kill record for the BestEffort pod says QOS=%q", p, q)
			}
		} else {
			t.Errorf("%s: kube-oomd killed pod %s (%s), not the leaker %s", p, k.str("pod_uid"), r.podName(p, k.str("pod_uid")), be)
		}
	}
	if len(kills) > 0 && !seen {
		t.Errorf("%s: no kill record names the BestEffort pod %s", p, be)
	}
	// A pod kill (cgroup.kill on the slice) takes its pause container too.
	r.isFalse(p + ".alive.leaker")
	r.isFalse(p + ".alive.BE-pause")
	r.isTrue(p + ".pod_alive.G")
	r.isTrue(p + ".pod_alive.B")
}

func printLeakTable(t *testing.T, k, d leakRow) {
	var b strings.Builder
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	fmt.Fprintf(&b, "\nscenario 01: leak versus a latency-sensitive pod\n")
	fmt.Fprintf(&b, "  %-34s %-24s %s\n", "", "kernel alone", "kube-oomd")
	row := func(name string, f func(leakRow) string) {
		fmt.Fprintf(&b, "  %-34s %-24s %s\n", name, f(k), f(d))
	}
	row("time to act (leak start -> dead)", func(x leakRow) string { return secs(x.act) })
	row("first kubepods stall -> dead", func(x leakRow) string { return secs(x.firstStallToAct) })
	row("victim", func(x leakRow) string { return x.victim })
	row("kernel OOM kills (kubepods)", func(x leakRow) string { return strconv.Itoa(x.oomKills) })
	row("Guaranteed full stall", func(x leakRow) string { return fmt.Sprintf("%.0f ms", x.stallMs) })
	row("worst pass (baseline)", func(x leakRow) string { return fmt.Sprintf("%.2f s (%.2f s)", x.worst, x.base) })
	t.Log(b.String())
	if !testing.Verbose() {
		fmt.Println(b.String()) // t.Log shows only with -v or on failure
	}
}

func checkBusy(t *testing.T, r *R) {
	t.Logf("streamed %.0f MiB in %.1f s through a %.0f MiB kubepods; kubepods stall full %.0f ms some %.0f ms",
		r.num("run.stream_bytes")/(1<<20), r.num("run.stream_s"), r.num("run.limit_bytes")/(1<<20),
		r.num("run.kubepods_full_stall_us")/1000, r.num("run.kubepods_some_stall_us")/1000)
	r.isTrue("run.daemon_survived")
	r.isTrue("run.stream_done")
	// The limit really was reached (memory.events max rose).
	if r.num("run.after.kubepods_max_events") <= r.num("run.before.kubepods_max_events") {
		t.Errorf("kubepods never hit memory.max (memory.events max %v -> %v): the scenario did not load the node",
			r.get("run.before.kubepods_max_events"), r.get("run.after.kubepods_max_events"))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed on a healthy node: %s %s reason=%s", r.podName("run", k.str("pod_uid")), k.str("pod_uid"), k.str("reason"))
	}
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.S")
}

func checkCritical(t *testing.T, r *R) {
	t.Logf("critical pod %.0f MiB; leak start -> dead %.1f s", r.num("run.critical_bytes")/(1<<20),
		r.num("run.watch.death_s")-r.num("run.leak_start_s"))
	r.isTrue("run.daemon_survived")
	r.isTrue("run.pod_alive.C")
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.watch.died")
	r.isFalse("run.alive.leaker")
	crit, leak := r.str("run.pods.C.uid"), r.str("run.pods.L.uid")
	// kube-oomd pods --json: exit 0, a JSON list that has the leaking pod.
	r.eq("run.pods_cmd_rc", 0)
	if list, ok := r.get("run.pods_cmd").([]any); !ok {
		t.Errorf("kube-oomd pods --json did not print a JSON list: %v (stderr %q)", r.get("run.pods_cmd"), r.get("run.pods_cmd_stderr"))
	} else {
		b, _ := json.Marshal(list)
		if !strings.Contains(string(b), leak) {
			t.Errorf("kube-oomd pods --json does not list the leaking pod %s: %s", leak, b)
		}
		for _, x := range list {
			if m, ok := x.(map[string]any); ok && (m["uid"] == crit || m["uid"] == leak) {
				t.Logf("pods --json: %s", mustJSON(m))
			}
		}
	}
	killedLeaker := false
	for _, k := range r.records("run", "kill") {
		switch k.str("pod_uid") {
		case crit:
			t.Errorf("kube-oomd killed the critical pod %s", crit)
		case leak:
			killedLeaker = true
		default:
			t.Errorf("kube-oomd killed pod %s (%s)", k.str("pod_uid"), r.podName("run", k.str("pod_uid")))
		}
	}
	if !killedLeaker {
		t.Errorf("no kube-oomd kill record names the leaking pod %s (kernel OOM kills: %v)", leak,
			r.num("run.after.kubepods_oom_kill")-r.num("run.before.kubepods_oom_kill"))
	}
}

func checkCgroupfs(t *testing.T, r *R) {
	t.Logf("cgroupfs: leak start -> dead %.1f s, Guaranteed full stall %.0f ms",
		r.num("run.watch.death_s")-r.num("run.leak_start_s"), r.num("run.g_full_stall_us")/1000)
	r.match("run.pods.BE.cgroup", `^/kubepods/besteffort/pod[0-9a-f-]{36}$`)
	leakDaemonChecks(t, r, "run")
}

func checkDryRun(t *testing.T, r *R) {
	r.isTrue("run.daemon_survived")
	r.isTrue("run.watch.died")
	r.atLeast("run.kubepods_oom_kill_delta", 1)
	for _, k := range r.records("run", "kill") {
		t.Errorf("dry run killed pod %s (%s)", k.str("pod_uid"), r.podName("run", k.str("pod_uid")))
	}
	be := r.str("run.pods.BE.uid")
	named := false
	for _, k := range r.records("run", "would_kill") {
		if k.str("pod_uid") == be {
			named = true
		} else {
			t.Errorf("dry run would have killed pod %s (%s), not the leaker", k.str("pod_uid"), r.podName("run", k.str("pod_uid")))
		}
	}
	if !named {
		t.Errorf("no \"would kill\" record (MESSAGE_ID=%s) names the BestEffort pod %s", midWouldKill, be)
	}
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.B")
	r.isTrue("run.alive.BE-pause") // the kernel kills the container, not the pod
}

func checkPodOOM(t *testing.T, r *R) {
	r.isTrue("run.daemon_survived")
	r.isTrue("run.watch.died")
	x := r.num("run.after.pod_oom_kill.X") - r.num("run.before.pod_oom_kill.X")
	kp := r.num("run.after.kubepods_oom_kill") - r.num("run.before.kubepods_oom_kill")
	if x < 1 {
		t.Errorf("no kernel OOM kill counted in pod X's memory.events")
	}
	if kp != x {
		t.Errorf("kubepods counted %v OOM kills, pod X %v: the kernel killed outside pod X", kp, x)
	}
	r.isFalse("run.alive.leaker")
	r.isTrue("run.alive.X-pause")
	r.isTrue("run.alive.sidecar")
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.BE")
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s)", k.str("pod_uid"), r.podName("run", k.str("pod_uid")))
	}
	uid := r.str("run.pods.X.uid")
	found := false
	for _, k := range r.records("run", "kernel_oom_kill") {
		if k.str("pod_uid") == uid {
			found = true
			if q := k.str("qos"); q != "Burstable" {
				t.Errorf("kernel OOM record for pod X says QOS=%q", q)
			}
		}
	}
	if !found {
		t.Errorf("kube-oomd's journal has no kernel OOM kill record (MESSAGE_ID=%s) naming pod X %s", midKernelKill, uid)
	}
}

func checkBadConfig(t *testing.T, r *R) {
	r.eq("good.check_rc", 0)
	for _, c := range []string{"bad_duration", "bad_mode", "bad_percent"} {
		file, line, key := r.str(c+".file"), int(r.num(c+".line")), r.str(c+".key")
		rc := int(r.num(c + ".run_rc"))
		out := r.str(c + ".run_output")
		switch {
		case rc == 0:
			t.Errorf("%s: kube-oomd run exited 0 with an invalid config", c)
		case rc == 124 || rc == 137:
			t.Errorf("%s: kube-oomd run did not exit within 30 s with an invalid config", c)
		}
		want := regexp.MustCompile(fmt.Sprintf(`(?m)%s:%d: (\w+\.)?%s: \S`, regexp.QuoteMeta(file), line, key))
		if !want.MatchString(out) {
			t.Errorf("%s: kube-oomd run output does not say %s:%d: %s: ...; it says:\n%s", c, file, line, key, out)
		}
		if crc := int(r.num(c + ".check_rc")); crc != 1 {
			t.Errorf("%s: check-config exited %d, want 1", c, crc)
		}
		if co := r.str(c + ".check_output"); !want.MatchString(co) {
			t.Errorf("%s: check-config output does not say %s:%d: %s: ...; it says:\n%s", c, file, line, key, co)
		}
	}
}

// ---------------------------------------------------------------- results

// R is one scenario's JSON result with typed, path-addressed getters that
// report a missing or mistyped field as a test error.
type R struct {
	t *testing.T
	m map[string]any
}

func load(t *testing.T, dir, name string) *R {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatalf("no result: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("bad result JSON: %v\n%s", err, b)
	}
	return &R{t: t, m: m}
}

func (r *R) get(path string) any {
	var v any = r.m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func (r *R) num(path string) float64 {
	r.t.Helper()
	f, ok := r.get(path).(float64)
	if !ok {
		r.t.Errorf("result %s: want a number, have %v", path, r.get(path))
	}
	return f
}

func (r *R) str(path string) string {
	r.t.Helper()
	switch v := r.get(path).(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r.t.Errorf("result %s: want a string, have %v", path, r.get(path))
	return ""
}

func (r *R) boolean(path string) bool { b, _ := r.get(path).(bool); return b }

func (r *R) isTrue(path string) {
	r.t.Helper()
	if b, ok := r.get(path).(bool); !ok || !b {
		r.t.Errorf("%s = %v, want true", path, r.get(path))
	}
}

func (r *R) isFalse(path string) {
	r.t.Helper()
	if b, ok := r.get(path).(bool); !ok || b {
		r.t.Errorf("%s = %v, want false", path, r.get(path))
	}
}

func (r *R) eq(path string, want float64) {
	r.t.Helper()
	if got, ok := r.get(path).(float64); !ok || got != want {
		r.t.Errorf("%s = %v, want %v", path, r.get(path), want)
	}
}

func (r *R) atLeast(path string, min float64) {
	r.t.Helper()
	if got, ok := r.get(path).(float64); !ok || got < min {
		r.t.Errorf("%s = %v, want at least %v", path, r.get(path), min)
	}
}

func (r *R) match(path, re string) {
	r.t.Helper()
	if s := r.str(path); !regexp.MustCompile(re).MatchString(s) {
		r.t.Errorf("%s = %q, want a match for %s", path, s, re)
	}
}

// rec is one kube-oomd journal record (see guest/journal.py).
type rec map[string]any

func (k rec) str(key string) string { s, _ := k[key].(string); return s }

// records: kube-oomd's journal records of one kind under PREFIX.journal.
func (r *R) records(prefix, kind string) []rec {
	list, _ := r.get(prefix + ".journal").([]any)
	var out []rec
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["kind"] == kind {
			out = append(out, rec(m))
		}
	}
	return out
}

// podName maps a pod UID back to the scenario's name for it.
func (r *R) podName(prefix, uid string) string {
	pods, _ := r.get(prefix + ".pods").(map[string]any)
	for name, p := range pods {
		if m, ok := p.(map[string]any); ok && m["uid"] == uid {
			return name
		}
	}
	return "?"
}

// ---------------------------------------------------------------- plumbing

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
		if re == nil || re.MatchString(n) {
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

// otherRecords: kube-oomd's records without a MESSAGE_ID whose message
// starts with prefix (journald MESSAGE is the message, then key=value pairs).
func (r *R) otherRecords(p, prefix string) []rec {
	var out []rec
	for _, k := range r.records(p, "other") {
		if strings.HasPrefix(k.str("message"), prefix) {
			out = append(out, k)
		}
	}
	return out
}

// num: a record's field as a number (journald fields are strings).
func (k rec) num(key string) float64 {
	if f, ok := k[key].(float64); ok {
		return f
	}
	f, _ := strconv.ParseFloat(k.str(key), 64)
	return f
}

func checkCacheHeavy(t *testing.T, r *R) {
	be := r.str("run.pods.BE.uid")
	var n, freed, forBE int
	for _, k := range r.otherRecords("run", "reclaimed page cache") {
		n++
		if k.str("pod_uid") == be && k.str("reason") == "relief-reclaim" && k.num("freed_bytes") > 0 {
			forBE++
			freed += int(k.num("freed_bytes"))
		}
	}
	t.Logf("cache-heavy: streamed %.0f MiB in %.1f s through a %.0f MiB kubepods (peak %.0f MiB); kubepods stall full %.0f ms some %.0f ms; Guaranteed full stall %.0f ms",
		r.num("run.cache_bytes")/(1<<20), r.num("run.stream_s"), r.num("run.limit_bytes")/(1<<20), r.num("run.kubepods_peak_bytes")/(1<<20),
		r.num("run.kubepods_full_stall_us")/1000, r.num("run.kubepods_some_stall_us")/1000, r.num("run.g_full_stall_us")/1000)
	t.Logf("cache-heavy: %d \"reclaimed page cache\" records, %d naming the BestEffort pod with freed > 0, %.1f MiB freed from it; kubepods max events %v -> %v",
		n, forBE, float64(freed)/(1<<20), r.get("run.before.kubepods_max_events"), r.get("run.after.kubepods_max_events"))
	// How strained it was, from the daemon's debug records: the windows in
	// which relief started, and the longest streak of pressured windows.
	var shares []string
	maxPressured := 0
	for _, k := range r.otherRecords("run", "reclaimed page cache") {
		shares = append(shares, k.str("stall_share"))
	}
	for _, k := range r.otherRecords("run", "observation") {
		maxPressured = max(maxPressured, int(k.num("pressured_windows")))
	}
	t.Logf("cache-heavy: stall share of the windows that started a reclaim: %s; longest streak of pressured windows: %d (a kill needs 2)",
		strings.Join(shares, " "), maxPressured)
	r.isTrue("run.daemon_survived")
	r.isTrue("run.stream_done")
	if r.num("run.after.kubepods_max_events") <= r.num("run.before.kubepods_max_events") {
		t.Errorf("kubepods never hit memory.max: the scenario did not strain the node")
	}
	if forBE == 0 {
		t.Errorf("no \"reclaimed page cache\" record (reason relief-reclaim) names the BestEffort pod %s with freed_bytes > 0 (%d such records in all)", be, n)
	}
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s on a cache-heavy node", k.str("pod_uid"), r.podName("run", k.str("pod_uid")), k.str("reason"))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.B")
	r.isTrue("run.pod_alive.BE")
}

func checkSlowLeak(t *testing.T, r *R) {
	k, l := leakSummary(r, "killonly"), leakSummary(r, "ladder")
	be := r.str("ladder.pods.BE.uid")
	// The ladder run's throttle of the leaker, and the kill after it.
	var throttle rec
	for _, x := range r.otherRecords("ladder", "throttled pod") {
		if x.str("pod_uid") == be && throttle == nil {
			throttle = x
		}
	}
	var killAt float64 = -1
	for _, x := range r.records("ladder", "kill") {
		if x.str("pod_uid") == be {
			killAt = x.num("monotonic_s")
			break
		}
	}
	throttleRow := "none"
	if throttle != nil {
		throttleRow = fmt.Sprintf("%.1f s after leak start, memory.high %s", throttle.num("monotonic_s")-r.num("ladder.leak_start_s"), throttle.str("memory_high_bytes"))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nscenario 09: slow leak (%v MiB/s, %v reader), kill only versus the relief ladder\n", r.get("leak_mib_per_s"), r.get("read_order"))
	fmt.Fprintf(&b, "  %-34s %-34s %s\n", "", "kill only", "ladder")
	row := func(name string, f func(leakRow) string) {
		fmt.Fprintf(&b, "  %-34s %-34s %s\n", name, f(k), f(l))
	}
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", v)
	}
	row("time to kill (leak start -> dead)", func(x leakRow) string { return secs(x.act) })
	row("first kubepods stall -> dead", func(x leakRow) string { return secs(x.firstStallToAct) })
	row("killed by (reason)", func(x leakRow) string { return x.victim })
	row("Guaranteed full stall", func(x leakRow) string { return fmt.Sprintf("%.0f ms", x.stallMs) })
	row("worst pass (baseline)", func(x leakRow) string { return fmt.Sprintf("%.2f s (%.2f s)", x.worst, x.base) })
	row("kernel OOM kills (kubepods)", func(x leakRow) string { return strconv.Itoa(x.oomKills) })
	fmt.Fprintf(&b, "  %-34s %-34s %s\n", "throttled", "-", throttleRow)
	fmt.Fprintf(&b, "  %-34s %-34s %v s\n", "memory.high not max for", "-", r.get("ladder.high.throttled_s"))
	t.Log(b.String())
	if !testing.Verbose() {
		fmt.Println(b.String())
	}

	leakDaemonChecks(t, r, "killonly")
	leakDaemonChecks(t, r, "ladder")
	if n := len(r.otherRecords("killonly", "throttled pod")) + len(r.otherRecords("killonly", "reclaimed page cache")); n > 0 {
		t.Errorf("kill-only run: %d relief records with relief.reclaim and relief.throttle off", n)
	}

	// The ladder throttled the leaker before killing it...
	if throttle == nil {
		t.Errorf("ladder run: no \"throttled pod\" record names the leaker %s", be)
	} else {
		if throttle.str("reason") != "relief-throttle" {
			t.Errorf("ladder run: the throttle record says reason=%q, want relief-throttle", throttle.str("reason"))
		}
		if killAt >= 0 && throttle.num("monotonic_s") > killAt {
			t.Errorf("ladder run: throttled at %.2f s, after the kill at %.2f s", throttle.num("monotonic_s"), killAt)
		}
		// ...with a memory.high in force: the file, while throttled, and
		// systemd's MemoryHigh (set over D-Bus) read what the record says.
		want := throttle.str("memory_high_bytes")
		if c, ok := r.get("ladder.high.consistent").(map[string]any); !ok {
			t.Errorf("ladder run: memory.high of the leaker's slice was never read consistently while throttled (file, MemoryHigh, file): %v",
				r.get("ladder.high.checks"))
		} else if c["file"] != want || c["unit"] != want {
			t.Errorf("ladder run: while throttled memory.high = %v and MemoryHigh = %v, the journal says %s", c["file"], c["unit"], want)
		} else {
			t.Logf("ladder run: while throttled, memory.high = MemoryHigh = %s (the journal's memory_high_bytes)", want)
		}
	}
	// A killed pod's throttle is lifted.
	if v := r.str("ladder.memory_high_after"); v != "max" {
		t.Errorf("ladder run: the killed pod's memory.high is %q after the kill, want max", v)
	}
	if l.stallMs >= k.stallMs {
		t.Errorf("Guaranteed pod full stall with the ladder %.0f ms is not lower than with kills only %.0f ms", l.stallMs, k.stallMs)
	}
}

// restoreWithin bounds "memory.high is back within a few seconds" of a
// restart, from systemd-run to the file reading max, on a slow TCG guest.
const restoreWithin = 10.0

func checkRestartThrottled(t *testing.T, r *R) {
	be := r.str("run.pods.BE.uid")
	t.Logf("restart-throttled: BestEffort pod %.0f MiB; throttled to memory.high %s (MemoryHigh %s); after SIGKILL memory.high %s; "+
		"the restart restored it to %s in %s s (MemoryHigh %s); throttled again to %s; after systemctl stop (%s s) memory.high %s, MemoryHigh %s",
		r.num("run.hog_bytes")/(1<<20), r.str("kill.throttle.memory_high"), r.str("kill.throttle.unit_memory_high"),
		r.str("kill.memory_high_after_kill"), r.str("restart.memory_high"), r.str("restart.restore_s"), r.str("restart.unit_memory_high"),
		r.str("stop.throttle.memory_high"), r.str("stop.stop_s"), r.str("stop.memory_high"), r.str("stop.unit_memory_high"))
	r.match("run.be_memory_high_before", `^max$`)
	r.match("run.be_unit_memory_high_before", `^infinity$`)

	// A throttle in force: the file and systemd agree, and the journal says so.
	inForce := func(p string) string {
		t.Helper()
		r.isTrue(p + ".throttled")
		v := r.str(p + ".memory_high")
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(v) {
			t.Errorf("%s: memory.high %q is not a byte count", p, v)
		}
		if u, a := r.str(p+".unit_memory_high"), r.str(p+".memory_high_again"); u != v || a != v {
			t.Errorf("%s: memory.high %s, systemctl show MemoryHigh %s, memory.high again %s: want all equal", p, v, u, a)
		}
		found := false
		for _, x := range r.otherRecords("run", "throttled pod") {
			if x.str("pod_uid") == be && x.str("memory_high_bytes") == v && x.str("reason") == "relief-throttle" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no \"throttled pod\" record (reason relief-throttle) names pod %s with memory_high_bytes=%s", p, be, v)
		}
		return v
	}

	// Part 1: SIGKILL, the state file, and the restore by the next run.
	v := inForce("kill.throttle")
	r.isTrue("kill.pid_dead")
	if s := r.str("kill.active_state"); s == "active" || s == "activating" {
		t.Errorf("after systemctl kill -s SIGKILL kube-oomd: ActiveState=%s", s)
	}
	if s := r.str("kill.memory_high_after_kill"); s != v {
		t.Errorf("memory.high after the SIGKILL is %s, want the throttle %s still in force", s, v)
	}
	named := false
	list, _ := r.get("kill.throttles_json").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["uid"] == be {
			named = true
		}
	}
	if !named {
		t.Errorf("/run/kube-oomd/throttles.json after the SIGKILL does not name pod %s: %v", be, r.get("kill.throttles_json"))
	}
	r.eq("kill.g_frozen", 1)
	t.Logf("restart-throttled: the Guaranteed pod was frozen %s s after the write to cgroup.freeze", r.str("kill.g_freeze_s"))
	r.match("restart.active", `^active$`)
	r.match("restart.memory_high", `^max$`)
	r.match("restart.unit_memory_high", `^infinity$`)
	if s := r.num("restart.restore_s"); s > restoreWithin {
		t.Errorf("the restarted kube-oomd took %.1f s to restore memory.high, want at most %.0f s", s, restoreWithin)
	}
	if r.str("restart.new_pid") == r.str("kill.pid") {
		t.Errorf("the restarted kube-oomd has the killed one's PID %s", r.str("kill.pid"))
	}
	restored := false
	for _, x := range r.otherRecords("run", "restored memory.high set by an earlier run") {
		if x.str("pod_uid") == be {
			restored = true
		}
	}
	if !restored {
		t.Errorf("no \"restored memory.high set by an earlier run\" record names pod %s", be)
	}
	r.isFalse("restart.throttles_json_exists")

	// Part 2: a clean stop restores it too.
	inForce("stop.throttle")
	r.match("stop.active_state", `^(inactive|failed)$`)
	r.match("stop.memory_high", `^max$`)
	r.match("stop.unit_memory_high", `^infinity$`)
	released := false
	for _, x := range r.otherRecords("run", "throttle released") {
		if x.str("pod_uid") == be && x.str("reason") == "daemon-stopping" {
			released = true
		}
	}
	if !released {
		var errs []string
		for _, x := range r.otherRecords("run", "cannot restore memory.high") {
			errs = append(errs, x.str("message"))
		}
		t.Errorf("no \"throttle released\" record (reason \"daemon-stopping\") names pod %s; restore errors: %q", be, errs)
	}
	r.isFalse("stop.throttles_json_exists")

	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s", k.str("pod_uid"), r.podName("run", k.str("pod_uid")), k.str("reason"))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.BE")
}

func checkDeb(t *testing.T, r *R) {
	t.Logf("deb: %s", r.str("deb"))
	// Nothing of the other scenarios' transient kube-oomd left.
	r.match("pre.load_state", `^not-found$`)
	r.isFalse("pre.transient_unit_file")
	r.eq("pre.processes", 0)
	// The README's sed relies on this line of the shipped config.
	r.eq("shipped_mode_lines", 1)

	// Each README step ran and succeeded.
	for _, s := range []string{"dpkg", "enable", "status", "sed_dry", "reload_dry", "journal_would", "sed_pod", "reload_pod", "journal_kill", "status_cmd", "purge"} {
		if rc := r.num(s + ".rc"); rc != 0 {
			t.Errorf("step %s: `%s` exited %v:\n%s", s, r.str(s+".cmd"), rc, r.str(s+".out"))
		}
	}
	// dpkg -i: the postinst enabled and started it, with the shipped config.
	r.match("dpkg.is_enabled", `^enabled$`)
	r.match("dpkg.is_active", `^active$`)
	r.isTrue("dpkg.installed_conf_same")
	r.eq("dpkg.installed_mode_lines", 1)
	// enable --now: a running Type=notify service that said READY=1.
	r.match("enable.ActiveState", `^active$`)
	r.match("enable.SubState", `^running$`)
	r.match("enable.Type", `^notify$`)
	r.match("enable.StatusText", `\S`)
	r.match("enable.FragmentPath", `^/(usr/)?lib/systemd/system/kube-oomd\.service$`)
	r.eq("enable.oom_score_adj", -1000)
	r.match("enable.cgroup", `^/system\.slice/kube-oomd\.service$`)
	r.match("enable.exe", `^/usr/bin/kube-oomd$`)
	t.Logf("running: pid %v, StatusText %q", r.get("enable.MainPID"), r.str("enable.StatusText"))
	r.match("status.out", `Active: active \(running\)`)

	// The reloads: the mode changed, the process did not.
	pid := r.str("enable.MainPID")
	r.match("sed_dry.mode_line", `^mode = "dry-run"$`)
	r.match("reload_dry.record", `^config reloaded .*mode=dry-run`)
	r.match("sed_pod.mode_line", `^mode = "pod"$`)
	r.match("reload_pod.record", `^config reloaded .*mode=pod`)
	for _, p := range []string{"reload_dry.pid", "reload_pod.pid", "status_cmd.pid"} {
		if got := r.str(p); got != pid {
			t.Errorf("%s = %s: kube-oomd restarted (MainPID was %s after enable --now)", p, got, pid)
		}
	}
	r.match("reload_dry.active", `^active$`)
	r.match("reload_pod.active", `^active$`)

	// Dry run: the README's query shows the would-kill record of the leaker.
	r.isTrue("dry.watch.died")
	dryBE := r.str("dry.pods.BE.uid")
	if !strings.Contains(r.str("journal_would.out"), "pod_uid="+dryBE) {
		t.Errorf("the README's dry-run journalctl does not show pod_uid=%s:\n%s", dryBE, r.str("journal_would.out"))
	}
	if rec, ok := r.get("dry.record").(map[string]any); !ok {
		t.Errorf("no would-kill record (MESSAGE_ID=%s, KUBE_OOMD_QOS=BestEffort) names the leaker %s", midWouldKill, dryBE)
	} else {
		t.Logf("would-kill record: reason %v, KUBE_OOMD_POD_UID %v", rec["KUBE_OOMD_REASON"], rec["KUBE_OOMD_POD_UID"])
	}
	r.isTrue("dry.pod_alive.G")

	// Pod mode: the README's query shows the kill of the leaker.
	r.isTrue("kill.watch.died")
	killBE := r.str("kill.pods.BE.uid")
	if !strings.Contains(r.str("journal_kill.out"), "pod_uid="+killBE) {
		t.Errorf("the README's kill journalctl does not show pod_uid=%s:\n%s", killBE, r.str("journal_kill.out"))
	}
	if rec, ok := r.get("kill.record").(map[string]any); !ok {
		t.Errorf("no kill record (MESSAGE_ID=%s, KUBE_OOMD_QOS=BestEffort) names the leaker %s", midKill, killBE)
	} else {
		freed, _ := strconv.ParseFloat(fmt.Sprint(rec["KUBE_OOMD_FREED_BYTES"]), 64)
		t.Logf("kill record: reason %v, KUBE_OOMD_POD_UID %v, KUBE_OOMD_FREED_BYTES %.0f MiB", rec["KUBE_OOMD_REASON"], rec["KUBE_OOMD_POD_UID"], freed/(1<<20))
		if rec["KUBE_OOMD_POD_UID"] != killBE {
			t.Errorf("kill record KUBE_OOMD_POD_UID = %v, want the leaker %s", rec["KUBE_OOMD_POD_UID"], killBE)
		}
		if !(freed > 0) {
			t.Errorf("kill record KUBE_OOMD_FREED_BYTES = %v, want > 0", rec["KUBE_OOMD_FREED_BYTES"])
		}
		// The shipped config kills the "oom" way: every OOM kill below
		// kubepods is one the record counts, none the kernel's own.
		if rec["KUBE_OOMD_METHOD"] != "oom" {
			t.Errorf("kill record KUBE_OOMD_METHOD = %v, want oom (the shipped kill.method)", rec["KUBE_OOMD_METHOD"])
		}
		induced, _ := strconv.ParseFloat(fmt.Sprint(rec["KUBE_OOMD_OOM_KILLS"]), 64)
		if d := r.num("kill.after.kubepods_oom_kill") - r.num("kill.before.kubepods_oom_kill"); d != induced || d < 1 {
			t.Errorf("kubepods oom_kill rose by %.0f, the kill record counts %v (KUBE_OOMD_OOM_KILLS): want the same, at least 1", d, rec["KUBE_OOMD_OOM_KILLS"])
		}
	}
	r.eq("kill.after.kubepods_limit_oom", r.num("kill.before.kubepods_limit_oom"))
	r.isTrue("kill.pod_alive.G")
	r.isFalse("kill.alive.leaker")

	// Metrics on the unix socket under /run/kube-oomd, the unit as shipped.
	r.match("metrics.listen_line", `^listen = "/run/kube-oomd/metrics\.sock"$`)
	r.eq("metrics.restart_rc", 0)
	r.match("metrics.active", `^active$`)
	r.eq("metrics.after_kill.rc", 0)
	r.eq("metrics.after_kill.socket_mode", 600)
	checkDebMetrics(t, r)
	t.Logf("kube-oomd VmRSS after the kill and a scrape: %.1f MiB", r.num("metrics.vmrss_kb")/1024)
	// Over TCP: refused by the shipped unit, with the fix in the error;
	// served with the packaged drop-in.
	if r.num("metrics_tcp.shipped_unit_rc") == 0 {
		t.Errorf("metrics.listen on TCP under the shipped unit: systemctl restart succeeded, want a failed start")
	}
	r.match("metrics_tcp.shipped_unit_journal", `metrics\.listen "127\.0\.0\.1:9723".*RestrictAddressFamilies=AF_UNIX.*metrics-tcp\.conf`)
	r.eq("metrics_tcp.restart_rc", 0)
	r.match("metrics_tcp.active", `^active$`)
	r.eq("metrics_tcp.curl_rc", 0)
	r.atLeast("metrics_tcp.kills_series", 1)
	r.eq("metrics_tcp.go_goroutines", 1)

	// kube-oomd status: the pods and the last kill.
	out := r.str("status_cmd.out")
	for _, want := range []string{r.str("kill.pods.G.uid"), "Last kills:", "killed BestEffort " + killBE} {
		if !strings.Contains(out, want) {
			t.Errorf("kube-oomd status does not say %q:\n%s", want, out)
		}
	}

	// apt-get purge: nothing left.
	r.eq("purge.processes", 0)
	r.eq("purge.listed", 0)
	if s := strings.TrimSpace(r.str("purge.unit_paths")); s != "" {
		t.Errorf("unit files left after the purge:\n%s", s)
	}
	r.isFalse("purge.etc")
	r.isFalse("purge.run")
	r.isFalse("purge.binary")
	r.match("purge.dpkg_status", `^(none|pn)\s*$`)
	t.Logf("after the purge: systemctl list-unit-files kube-oomd.service says %q; LoadState=%s ActiveState=%s",
		strings.TrimSpace(r.str("purge.list_unit_files")), r.str("purge.load_state"), r.str("purge.active_state"))
}

// checkDebMetrics: scenario 11's scrape after the kill counts the kill by
// its record's reason, QoS class and method, and the dry run's would-kill
// by its record's reason (the same process served both), has a last kill
// time and the Go runtime's series, and names no pod on a counter.
func checkDebMetrics(t *testing.T, r *R) {
	samples, _ := r.get("metrics.after_kill.scrape.samples").(map[string]any)
	if len(samples) == 0 {
		t.Errorf("the scrape after the kill has no kube-oomd series (see 11-deb.metrics.after_kill.txt)")
		return
	}
	value := func(series string) float64 { v, _ := samples[series].(float64); return v }
	kill, _ := r.get("kill.record").(map[string]any)
	dry, _ := r.get("dry.record").(map[string]any)
	for _, series := range []string{
		fmt.Sprintf(`kube_oomd_kills_total{method=%q,qos="BestEffort",reason=%q}`, kill["KUBE_OOMD_METHOD"], kill["KUBE_OOMD_REASON"]),
		fmt.Sprintf(`kube_oomd_would_kill_total{qos="BestEffort",reason=%q}`, dry["KUBE_OOMD_REASON"]),
	} {
		if v := value(series); v < 1 {
			t.Errorf("%s = %v, want at least 1: the leaker's kill (or dry-run kill) as its record says", series, v)
		}
		t.Logf("metrics: %s %v", series, value(series))
	}
	if v := value("kube_oomd_last_kill_timestamp_seconds"); !(v > 0) {
		t.Errorf("kube_oomd_last_kill_timestamp_seconds = %v, want > 0 after the kill", v)
	}
	if _, ok := samples["go_goroutines"]; !ok {
		t.Errorf("no go_goroutines in the scrape: the Go collector is not served")
	}
	for s := range samples {
		name, labels, _ := strings.Cut(s, "{")
		if strings.HasSuffix(name, "_total") && (strings.Contains(labels, "namespace=") || strings.Contains(labels, "pod=")) {
			t.Errorf("counter series %s names a pod", s)
		}
	}
	t.Logf("metrics: kernel OOM kills in BestEffort pods %v (the dry run's leaker runs kubepods out), go_goroutines %v, process_resident_memory_bytes %.1f MiB",
		value(`kube_oomd_kernel_oom_kills_total{qos="BestEffort"}`), value("go_goroutines"), value("process_resident_memory_bytes")/(1<<20))
}

// Scenario 12's bounds on kube-oomd's idle cost: 150 idle pods, built-in
// defaults, a 60 s window after 15 s of settling; CPU time in the guest's
// clock ticks (USER_HZ, 100 a second) per minute, and RSS.
//
// The daemon of commit 969012d used 70 to 90 ticks a minute (1.2 to 1.5 %
// of a CPU; issue 8 measured 73) and 9.6 to 11.6 MiB in three runs. strace
// shows where the time goes: the 10 s rescan opens, reads and closes about
// 166 files and directories each time (every pod's memory.events; ~1,000
// each of openat, read and close a minute), and the Go runtime makes its
// own system calls around each wakeup, all slow under TCG (clock_gettime
// is a system call too: the guest's clocksource is hpet, which has no
// vDSO). The daemon that leaves the pods to inotify between rescans
// measured 26.2 and 33.8 ticks a minute in two runs of the same binary;
// 969012d measured 69.5 to 90.2: TCG's run-to-run noise is about 30 %.
// 50 (0.83 % of a CPU) sits between the two with room on both sides: it
// fails the baseline's behaviour (28 % under its lowest figure) and does
// not fail the current one on noise (48 % over its highest). 32 MiB is
// about three times the baseline's RSS: room for the garbage collector,
// not for a cache per pod.
const (
	idleMaxTicksPerMin = 50
	idleMaxRSSMiB      = 32
)

func checkIdle(t *testing.T, r *R) {
	pods := r.num("pods")
	t.Logf("idle: %.0f pods, %.0f containers (%.0f cgroups under kubepods, %.0f MiB) created in %.1f s (slices %.1f s, containers %.1f s); the scenario took %.0f s",
		pods, r.num("run.containers"), r.num("run.kubepods_cgroups"), r.num("run.kubepods_bytes")/(1<<20),
		r.num("create.total_s"), r.num("create.slices_s"), r.num("create.containers_s"), r.num("run.elapsed_s"))
	t.Logf("idle: kube-oomd startup: %.0f ticks in its first %.0f s", r.num("run.startup_ticks"), r.num("run.startup_s"))
	t.Logf("idle: kube-oomd over %.1f s: %.0f ticks (user %.0f, sys %.0f) = %.1f ticks/min at %.0f Hz = %.2f %% of a CPU; "+
		"run time %.0f ms/min, %.0f time slices/min, %.0f voluntary + %.0f involuntary context switches/min, %.0f read and %.0f write syscalls/min (%.0f KiB read/min); "+
		"RSS %.1f MiB (peak %.1f MiB), %.0f threads, %.0f fds, %.0f inotify watches, %.0f journal lines; the whole guest %.1f %% busy",
		r.num("cost.window_s"), r.num("cost.ticks"), r.num("cost.utime_ticks"), r.num("cost.stime_ticks"), r.num("cost.ticks_per_min"),
		r.num("cost.clk_tck"), r.num("cost.cpu_pct"),
		r.num("cost.run_ms_per_min"), r.num("cost.slices_per_min"), r.num("cost.vol_cs_per_min"), r.num("cost.invol_cs_per_min"),
		r.num("cost.syscr_per_min"), r.num("cost.syscw_per_min"), r.num("cost.rchar_per_min")/1024,
		r.num("cost.rss_kib")/1024, r.num("cost.hwm_kib")/1024, r.num("cost.threads"), r.num("cost.fds"),
		r.num("cost.inotify_watches"), r.num("cost.journal_lines"), r.num("cost.guest_busy_pct"))
	// strace -c, in its own window after the measured one.
	calls, _ := r.get("strace.calls").(map[string]any)
	type sc struct {
		name string
		n    float64
	}
	var list []sc
	var total float64
	for k, v := range calls {
		n, _ := v.(float64)
		list = append(list, sc{k, n})
		total += n
	}
	sort.Slice(list, func(i, j int) bool {
		return list[i].n > list[j].n || list[i].n == list[j].n && list[i].name < list[j].name
	})
	var parts []string
	win := r.num("strace.window_s")
	for _, c := range list {
		parts = append(parts, fmt.Sprintf("%s %.0f", c.name, c.n*60/win))
	}
	t.Logf("idle: system calls per minute (strace -c -f over %.0f s, after the window): %.0f in all: %s", win, total*60/win, strings.Join(parts, ", "))
	if len(calls) == 0 {
		t.Errorf("strace -c counted no system calls (rc %v): see %s", r.get("strace.rc"), "results/12-idle.strace.txt")
	}
	if tr, ok := r.get("status.triggers").(map[string]any); ok {
		t.Logf("idle: PSI trigger events by the end: %v", tr)
	}
	// metrics.listen on: the memory it costs, and kube_oomd_pods counts
	// what the daemon follows.
	t.Logf("idle: RSS %.1f MiB with metrics off (after the window), %.1f MiB with metrics.listen on after 4 scrapes (%.0f series, %.0f bytes a scrape)",
		r.num("metrics.rss_off_kib")/1024, r.num("metrics.rss_on_kib")/1024, r.num("metrics.series"), r.num("metrics.scrape_bytes"))
	if rss := r.num("metrics.rss_on_kib") / 1024; rss > idleMaxRSSMiB {
		t.Errorf("idle with metrics on: RSS %.1f MiB, want at most %d MiB", rss, idleMaxRSSMiB)
	}
	for k, q := range []string{"Guaranteed", "Burstable", "BestEffort"} { // pod i is of class i % 3
		r.eq("metrics.pods."+q, math.Ceil((pods-float64(k))/3))
	}

	// The fast way of starting containers (lib.sh's containers_place) made
	// the kubelet's tree: a Burstable pod's container, as in the smoke test.
	r.match("run.sample.cgroup", `^/kubepods\.slice/kubepods-burstable\.slice/kubepods-burstable-pod[0-9a-f_]{36}\.slice/cri-containerd-[0-9a-f]{64}\.scope$`)
	r.eq("run.sample.adj", r.num("run.sample.want_adj"))
	r.eq("run.sample.oom_group", 1)
	r.match("run.sample.unit_state", `^active$`)

	// Not vacuous: the daemon ran throughout and followed every pod.
	r.isTrue("run.daemon_survived")
	r.eq("status.rc", 0)
	r.eq("status.pods", pods)
	r.eq("run.containers", 2*pods)
	r.eq("run.containers_alive", 2*pods)
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s on an idle node, reason=%s", k.str("pod_uid"), k.str("reason"))
	}
	if w := r.num("cost.window_s"); w < 50 {
		t.Errorf("the measured window was %.1f s, want about 60 s", w)
	}

	// The bounds.
	if v := r.num("cost.ticks_per_min"); v > idleMaxTicksPerMin {
		t.Errorf("idle kube-oomd used %.1f clock ticks a minute (%.2f %% of a CPU) with %.0f pods, want at most %d",
			v, r.num("cost.cpu_pct"), pods, idleMaxTicksPerMin)
	}
	if v := r.num("cost.rss_kib") / 1024; v > idleMaxRSSMiB {
		t.Errorf("idle kube-oomd's RSS is %.1f MiB with %.0f pods, want at most %d MiB", v, pods, idleMaxRSSMiB)
	}
}

// checkFaults: issue 10's faults on the real kernel and systemd (13-faults).
func checkFaults(t *testing.T, r *R) {
	// A node-critical process in a cgroup nested in a container protects
	// its pod; the plain BestEffort pod beside it ranks first.
	nUID, bUID := r.str("run.pods.N.uid"), r.str("run.pods.B.uid")
	r.eq("nested.pods_cmd_rc", 0)
	r.match("nested.adj", `^-997$`)
	var n, b map[string]any
	list, _ := r.get("nested.pods").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			switch m["uid"] {
			case nUID:
				n = m
			case bUID:
				b = m
			}
		}
	}
	switch {
	case n == nil || b == nil:
		t.Errorf("kube-oomd pods lacks pod N or B: %v", list)
	default:
		t.Logf("nested: pod N (nested -997 in %s): rank %v, protected %v (%v); pod B: rank %v",
			r.str("nested.cgroup"), n["rank"], n["protected"], n["protected_reason"], b["rank"])
		if n["protected"] != true || !strings.Contains(fmt.Sprint(n["protected_reason"]), "-997") {
			t.Errorf("pod N, with a node-critical process in a nested cgroup, is not protected: %v", n)
		}
		if b["rank"] != 1.0 {
			t.Errorf("pod B rank %v, want 1", b["rank"])
		}
	}

	// A second daemon refuses, names the first, and leaves it serving.
	r.eq("second.rc", 1)
	r.match("second.stderr", `already running \(pid `+regexp.QuoteMeta(r.str("second.main_pid"))+` holds /run/kube-oomd/kube-oomd\.lock\)`)
	r.eq("second.status_rc", 0)
	r.match("second.status_pid", "^"+regexp.QuoteMeta(r.str("second.main_pid"))+"$")
	r.match("second.main_active", `^active$`)
	t.Logf("second instance: exit %v after %v s: %s", r.get("second.rc"), r.get("second.took_s"), r.str("second.stderr"))

	// In-place rewrites: never a half-written file in force.
	r.match("rewrites.mode", `^dry-run$`)
	applied, flips := 0, 0
	for _, k := range r.otherRecords("run", "config reloaded ") {
		applied++
		if k.str("mode") != "dry-run" {
			flips++
		}
	}
	refused := len(r.otherRecords("run", "config reload failed"))
	t.Logf("rewrites: %v in-place rewrites; %d reloads applied (none may leave dry-run: %d did), %d refused",
		r.get("rewrites.count"), applied, flips, refused)
	if flips > 0 {
		t.Errorf("%d reloads applied a config whose kill.mode was not dry-run: a half-written file was taken for the defaults", flips)
	}
	r.isTrue("run.daemon_survived")
}
