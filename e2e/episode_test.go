//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
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
		if k.str(vocab.PodUID) == uid {
			out = append(out, k.str(vocab.Reason))
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
		if x.str(vocab.PodUID) == uid {
			return x.str(vocab.HighBytes)
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

// withKernel: the runs to show, with the kernel-alone run k first under
// make compare (checked to have run: it is not judged), or without it in
// the gate, which runs kube-oomd's alone.
func withKernel(t *testing.T, k episodeRun, runs ...episodeRun) []episodeRun {
	t.Helper()
	if !comparing() {
		return runs
	}
	kernelRan(t, k)
	return append([]episodeRun{k}, runs...)
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
