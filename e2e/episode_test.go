//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Scenarios 14 to 18 (issue 9) run one memory episode twice in a boot with
// guest/episode.sh: the kernel alone, then kube-oomd on its built-in
// defaults. Each run's facts sit under a prefix; role.POD says which pods
// cause the episode (leaker, grabber) and which only stand by (bystander).

// episodeRun is one run of guest/episode.sh.
type episodeRun struct {
	r *R
	p string
}

// pods: the run's pod names, sorted.
func (e episodeRun) pods() []string {
	roles, _ := e.r.get(e.p + ".role").(map[string]any)
	var names []string
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e episodeRun) role(pod string) string { s, _ := e.r.get(e.p + ".role." + pod).(string); return s }

func (e episodeRun) uid(pod string) string {
	s, _ := e.r.get(e.p + ".pods." + pod + ".uid").(string)
	return s
}

// kernelKills: the oom_kill count the pod's memory.events gained.
func (e episodeRun) kernelKills(pod string) int {
	b, _ := e.r.get(e.p + ".before.pod_oom_kill." + pod).(float64)
	a, _ := e.r.get(e.p + ".after.pod_oom_kill." + pod).(float64)
	return int(a - b)
}

// oomdKills: the reasons of kube-oomd's kill records that name the pod.
func (e episodeRun) oomdKills(pod string) []string {
	var out []string
	uid := e.uid(pod)
	for _, k := range e.r.records(e.p, "kill") {
		if k.str("pod_uid") == uid {
			out = append(out, k.str("reason"))
		}
	}
	return out
}

// throttle: the first memory.high other than max the watcher saw on the
// pod's slice, or kube-oomd's "throttled pod" record; "" when neither.
func (e episodeRun) throttle(pod string) string {
	if v, ok := e.r.get(e.p + ".ep.pods." + pod + ".first").(string); ok {
		return v
	}
	uid := e.uid(pod)
	for _, x := range e.r.otherRecords(e.p, "throttled pod") {
		if x.str("pod_uid") == uid {
			return x.str("memory_high_bytes")
		}
	}
	return ""
}

// died: any of the pod's containers (its sandbox included) is dead.
func (e episodeRun) died(pod string) bool {
	b, ok := e.r.get(e.p + ".pod_alive." + pod).(bool)
	return ok && !b
}

// hand: who killed the pod's processes.
func (e episodeRun) hand(pod string) string {
	var by []string
	if e.kernelKills(pod) > 0 {
		by = append(by, "kernel OOM")
	}
	if k := e.oomdKills(pod); len(k) > 0 {
		by = append(by, "kube-oomd: "+strings.Join(k, ", "))
	}
	if len(by) == 0 {
		return "neither"
	}
	return strings.Join(by, "; ")
}

// victims: one line per pod that lost a process or was killed.
func (e episodeRun) victims() string {
	var out []string
	for _, pod := range e.pods() {
		what := ""
		switch {
		case e.role(pod) == "grabber":
			var parts []string
			if _, ok := e.r.get(e.p + ".ep.deaths.worker").(float64); ok {
				parts = append(parts, "worker")
			}
			if b, _ := e.r.get(e.p + ".alive." + pod + "-app").(bool); !b {
				parts = append(parts, "-1000 main")
			}
			what = strings.Join(parts, " + ")
		case e.died(pod):
			what = "-"
		}
		if what == "" && e.kernelKills(pod) == 0 && len(e.oomdKills(pod)) == 0 {
			continue
		}
		switch what {
		case "":
			what = " nothing died"
		case "-":
			what = ""
		default:
			what = " " + what
		}
		hand := e.hand(pod)
		// systemd 252 stops a scope in which the kernel OOM-killed (its
		// OOMPolicy=stop): what else lived in it got a SIGTERM.
		if e.role(pod) == "grabber" && strings.Contains(what, "main") && e.r.get(e.p+".s_scope_state") == "failed" {
			hand += "; systemd stopped the scope"
		}
		out = append(out, fmt.Sprintf("%s%s (%s)", pod, what, hand))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func (e episodeRun) throttled() string {
	var out []string
	for _, pod := range e.pods() {
		if v := e.throttle(pod); v != "" {
			out = append(out, fmt.Sprintf("%s (%s)", pod, mib(v)))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func mib(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return fmt.Sprintf("%.0f MiB", f/(1<<20))
}

// ends: the episode's end, the last death of the processes it waited for.
func (e episodeRun) ends() (float64, bool) {
	var last float64
	for _, n := range strings.Fields(e.r.str(e.p + ".until")) {
		d, ok := e.r.get(e.p + ".ep.deaths." + n).(float64)
		if !ok {
			return 0, false
		}
		last = max(last, d)
	}
	return last, true
}

func (e episodeRun) startToEnd() string {
	end, ok := e.ends()
	if !ok {
		return fmt.Sprintf("not within %.0f s", e.r.num(e.p+".ep.end_s")-e.r.num(e.p+".ep.start_s"))
	}
	return fmt.Sprintf("%.1f s", end-e.r.num(e.p+".go_s"))
}

func (e episodeRun) stallToEnd() string {
	fs, ok := e.r.get(e.p + ".ep.first_stall_s").(float64)
	if !ok {
		return "no kubepods stall"
	}
	end, ok := e.ends()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f s", end-fs)
}

func (e episodeRun) gStall() string {
	v, ok := e.r.get(e.p + ".g_full_stall_us").(float64)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", v/1000)
}

// printEpisodeTable logs the runs side by side (kernel alone first).
func printEpisodeTable(t *testing.T, title string, runs ...episodeRun) {
	rows := []struct {
		name string
		f    func(episodeRun) string
	}{
		{"died (by whose hand)", episodeRun.victims},
		{"throttled (pod memory.high)", episodeRun.throttled},
		{"start -> leaker(s) dead", episodeRun.startToEnd},
		{"first kubepods stall -> dead", episodeRun.stallToEnd},
		{"kernel OOM kills (kubepods)", func(e episodeRun) string {
			return strconv.Itoa(int(e.r.num(e.p + ".kubepods_oom_kill_delta")))
		}},
		{"Guaranteed pod G full stall", episodeRun.gStall},
		{"peak kubepods memory", func(e episodeRun) string {
			return fmt.Sprintf("%.0f of %.0f MiB", e.r.num(e.p+".ep.peak_kubepods_bytes")/(1<<20), e.r.num(e.p+".limit_bytes")/(1<<20))
		}},
	}
	cells := make([][]string, len(rows)+1)
	for _, e := range runs {
		head := "kernel alone"
		if e.r.str(e.p+".mode") == "daemon" {
			head = "kube-oomd"
		}
		if !strings.HasSuffix(e.p, "kernel") && !strings.HasSuffix(e.p, "daemon") {
			head += " (" + e.p + ")"
		}
		cells[0] = append(cells[0], head)
		for i, row := range rows {
			cells[i+1] = append(cells[i+1], row.f(e))
		}
	}
	width := make([]int, len(runs))
	for _, line := range cells {
		for j, c := range line {
			width[j] = max(width[j], len([]rune(c)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", title)
	for i, line := range cells {
		name := ""
		if i > 0 {
			name = rows[i-1].name
		}
		fmt.Fprintf(&b, "  %-30s", name)
		for j, c := range line {
			if j < len(line)-1 {
				c += strings.Repeat(" ", width[j]-len([]rune(c)))
			}
			b.WriteString("   " + c)
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
	if !testing.Verbose() {
		fmt.Println(b.String())
	}
}

// kernelRan: the kernel-alone run is not judged, but it must have run.
func kernelRan(t *testing.T, e episodeRun) {
	t.Helper()
	if _, ok := e.r.get(e.p + ".ep.start_s").(float64); !ok {
		t.Errorf("%s: no episode recorded (%s.ep): %v", e.p, e.p, e.r.get(e.p+".ep"))
	}
	e.r.num(e.p + ".kubepods_oom_kill_delta")
	if len(e.pods()) == 0 {
		t.Errorf("%s: no pods recorded", e.p)
	}
}

// episodeChecks judges a kube-oomd run. Always: kube-oomd ran throughout,
// and no bystander died or was killed by it. strict (growth slow enough for
// a PSI window to see it): every leaker was killed by kube-oomd and not by
// the kernel, no bystander was throttled, and the kernel killed nothing.
func episodeChecks(t *testing.T, e episodeRun, strict bool) {
	r, p := e.r, e.p
	r.isTrue(p + ".daemon_survived")
	// It stops on SIGTERM (systemctl stop, bounded at 60 s): one that does
	// not would go on acting in the scenario's next run.
	if st := r.str(p + ".daemon_state_after_stop"); st != "inactive" && st != "failed" {
		t.Errorf("%s: kube-oomd was still %q %.0f s after systemctl stop (then SIGKILLed)", p, st, r.num(p+".daemon_stop_s"))
	}
	var leakers, bystanders int
	for _, pod := range e.pods() {
		switch e.role(pod) {
		case "leaker":
			leakers++
			if !strict {
				continue
			}
			r.isFalse(p + ".alive." + pod + "-app")
			if n := e.kernelKills(pod); n > 0 {
				t.Errorf("%s: the kernel OOM-killed the leaker %s (%d in its memory.events), not kube-oomd", p, pod, n)
			}
			if len(e.oomdKills(pod)) == 0 {
				t.Errorf("%s: no kube-oomd kill record (MESSAGE_ID=%s) names the leaker %s %s", p, midKill, pod, e.uid(pod))
			}
		case "bystander":
			bystanders++
			if e.died(pod) {
				t.Errorf("%s: bystander %s (%s) died (%s)", p, pod, r.str(p+".pods."+pod+".qos"), e.hand(pod))
			}
			for _, reason := range e.oomdKills(pod) {
				t.Errorf("%s: kube-oomd killed bystander %s (%s), reason %s", p, pod, r.str(p+".pods."+pod+".qos"), reason)
			}
			if !strict {
				continue
			}
			if n := e.kernelKills(pod); n > 0 {
				t.Errorf("%s: the kernel OOM-killed in bystander %s (%d)", p, pod, n)
			}
			if v := e.throttle(pod); v != "" {
				t.Errorf("%s: kube-oomd throttled bystander %s (%s): memory.high %s (%s for %v s)", p, pod,
					r.str(p+".pods."+pod+".qos"), v, mib(v), r.get(p+".ep.pods."+pod+".throttled_s"))
			}
		}
	}
	if leakers == 0 && strict || bystanders == 0 {
		t.Errorf("%s: %d leakers and %d bystanders recorded: the scenario did not set up its pods", p, leakers, bystanders)
	}
	if strict {
		r.isTrue(p + ".ep.all_dead")
		r.eq(p+".kubepods_oom_kill_delta", 0)
		// A throttle lifted with the kill: no pod slice is left with one.
		for _, pod := range e.pods() {
			if v := r.str(p + ".memory_high_after." + pod); v != "max" && v != "gone" {
				t.Errorf("%s: pod %s's slice memory.high is %s after the episode, want max", p, pod, v)
			}
		}
	}
}

func checkBystanders(t *testing.T, r *R) {
	k, d := episodeRun{r, "kernel"}, episodeRun{r, "daemon"}
	printEpisodeTable(t, "scenario 14: a Burstable leaker (request 100 MiB, 20 MiB/s) beside idle BestEffort pods of 60, 150 and 300 MiB", k, d)
	kernelRan(t, k)
	episodeChecks(t, d, true)
}

func checkShmem(t *testing.T, r *R) {
	sk, sd := episodeRun{r, "shm_kernel"}, episodeRun{r, "shm_daemon"}
	fk, fd := episodeRun{r, "fast_kernel"}, episodeRun{r, "fast_daemon"}
	printEpisodeTable(t, "scenario 15 shm: a BestEffort pod leaks 20 MiB/s into a memfd (shmem)", sk, sd)
	printEpisodeTable(t, "scenario 15 fast: a BestEffort pod leaks 90 MiB/s of anonymous memory beside ten idle pods", fk, fd)
	kernelRan(t, sk)
	kernelRan(t, fk)
	episodeChecks(t, sd, true)
	episodeChecks(t, fd, false)
}

func checkGrab(t *testing.T, r *R) {
	k, d := episodeRun{r, "kernel"}, episodeRun{r, "daemon"}
	printEpisodeTable(t, fmt.Sprintf("scenario 16: stress-ng --vm-bytes %s in a BestEffort pod (main process at -1000, worker at 1000)", r.str("grab")), k, d)
	for _, e := range []episodeRun{k, d} {
		var procs []string
		list, _ := r.get(e.p + ".ep.procs.S-app").([]any)
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				dead := "alive"
				if ds, ok := m["death_s"].(float64); ok {
					dead = fmt.Sprintf("dead %.1f s after the start", ds-r.num(e.p+".go_s"))
				}
				procs = append(procs, fmt.Sprintf("%v %q adj %v peak RSS %.0f MiB, %s", m["pid"], m["cmd"], m["adj"], rec(m).num("peak_rss_kib")/1024, dead))
			}
		}
		t.Logf("%s: pod S's processes: %s; main process's oom_score_adj at the end %s, its scope %s", e.p, strings.Join(procs, "; "),
			r.str(e.p+".main_adj"), r.str(e.p+".s_scope_state"))
	}
	kernelRan(t, k)
	episodeChecks(t, d, false)
	// The worker that holds the memory died; the process that set -1000
	// for itself did not: it is protected per process, as by the kernel.
	if _, ok := r.get("daemon.ep.deaths.worker").(float64); !ok {
		t.Errorf("daemon: the stress-ng worker (pid %v) is not dead after %.0f s", r.get("daemon.ep.pids.worker"),
			r.num("daemon.ep.end_s")-r.num("daemon.ep.start_s"))
	}
	if b, ok := r.get("daemon.alive.S-app").(bool); !ok || !b {
		t.Errorf("daemon: stress-ng's main process (pid %s, oom_score_adj -1000) is dead (alive.S-app = %v); pod S %s",
			r.str("daemon.main_pid"), r.get("daemon.alive.S-app"), episodeRun{r, "daemon"}.hand("S"))
	}
	// The stand-in did what it stands in for: its main process ran at
	// -1000, the worker at 1000.
	adj := map[string]string{}
	list, _ := r.get("daemon.ep.procs.S-app").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			if fmt.Sprint(m["pid"]) == r.str("daemon.main_pid") {
				adj["main"] = fmt.Sprint(m["adj"])
			}
			if fmt.Sprint(m["pid"]) == fmt.Sprint(r.get("daemon.ep.pids.worker")) {
				adj["worker"] = fmt.Sprint(m["adj"])
			}
		}
	}
	if adj["main"] != "-1000" || adj["worker"] != "1000" {
		t.Errorf("daemon: stress-ng's main process ran at oom_score_adj %q and its worker at %q, want -1000 and 1000", adj["main"], adj["worker"])
	}
}

func checkTwoLeakers(t *testing.T, r *R) {
	k, d, th := episodeRun{r, "kernel"}, episodeRun{r, "daemon"}, episodeRun{r, "throttled"}
	printEpisodeTable(t, "scenario 17: a BestEffort and a Burstable leaker (20 MiB/s each) start together", k, d, th)
	kernelRan(t, k)
	episodeChecks(t, d, true)
	episodeChecks(t, th, true)
	// The third run's premise: L2 throttled while L1 still lived, so that
	// after L1's kill the throttle had to be released far from the limit
	// (or L2 killed), not held while L2 stalled at it.
	l2At, throttled := r.get("throttled.ep.pods.L2.first_s").(float64)
	l1Dead, dead := r.get("throttled.ep.deaths.L1-app").(float64)
	if !throttled || !dead || l2At >= l1Dead {
		t.Errorf("throttled: L2 throttled at %v, L1 dead at %v (s since boot): the run did not throttle L2 before L1's kill, so it proved nothing",
			r.get("throttled.ep.pods.L2.first_s"), r.get("throttled.ep.deaths.L1-app"))
		return
	}
	var released []string
	for _, x := range r.otherRecords("throttled", "throttle released") {
		if x.str("pod_uid") == th.uid("L2") {
			released = append(released, x.str("reason")+" after "+x.str("in_force"))
		}
	}
	t.Logf("throttled: L2 throttled %.1f s before L1's kill, memory.high other than max for %v s; released: %s; L2 %s",
		l1Dead-l2At, r.get("throttled.ep.pods.L2.throttled_s"), strings.Join(released, ", "), th.hand("L2"))
}

func checkMemoryQoS(t *testing.T, r *R) {
	k, d := episodeRun{r, "kernel"}, episodeRun{r, "daemon"}
	printEpisodeTable(t, "scenario 18: a BestEffort leaker (20 MiB/s) beside pods with MemoryQoS container memory.high", k, d)
	for _, e := range []episodeRun{k, d} {
		var parts []string
		highs, _ := r.get(e.p + ".qos_high").(map[string]any)
		var cts []string
		for ct := range highs {
			cts = append(cts, ct)
		}
		sort.Strings(cts)
		for _, ct := range cts {
			parts = append(parts, fmt.Sprintf("%s %s (high events +%.0f)", ct, mib(r.str(e.p+".qos_high."+ct)),
				r.num(e.p+".high_events_after."+ct)-r.num(e.p+".high_events_before."+ct)))
		}
		t.Logf("%s: container memory.high as the kubelet writes it: %s", e.p, strings.Join(parts, ", "))
	}
	kernelRan(t, k)
	episodeChecks(t, d, true)
	// kube-oomd never writes a container's memory.high: every value the
	// watcher saw, and the one left, is the kubelet's (or the cgroup is gone).
	highs, _ := r.get("daemon.qos_high").(map[string]any)
	if len(highs) < 5 {
		t.Errorf("daemon: %d containers with a recorded memory.high, want 5: %v", len(highs), highs)
	}
	for ct := range highs {
		want := r.str("daemon.qos_high." + ct)
		seen, _ := r.get("daemon.ep.containers." + ct + ".values").([]any)
		if len(seen) == 0 {
			t.Errorf("daemon: the watcher never read %s's memory.high", ct)
		}
		for _, v := range seen {
			if v != want && v != "gone" {
				t.Errorf("daemon: container %s's memory.high was %v during the episode, the kubelet wrote %s", ct, v, want)
			}
		}
		alive, _ := r.get("daemon.alive." + ct).(bool)
		if got := r.str("daemon.qos_high_after." + ct); alive && got != want {
			t.Errorf("daemon: container %s's memory.high is %s after the episode, the kubelet wrote %s", ct, got, want)
		}
	}
	// The premise: Q pushes against its container memory.high all along.
	if n := r.num("daemon.high_events_after.Q-app") - r.num("daemon.high_events_before.Q-app"); n <= 0 {
		t.Errorf("daemon: pod Q's container memory.events high did not tick during the episode (+%.0f): the scenario did not exercise MemoryQoS", n)
	}
}
