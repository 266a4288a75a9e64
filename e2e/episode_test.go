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

// episodeFacts is one run of guest/episode.sh, as it writes it under its
// prefix: the facts the table and episodeChecks read (a scenario decodes
// its own extra facts from the same prefix). Most are left out by a run
// that did not get that far, so they are optional here and required where
// a check reads them (need).
type episodeFacts struct {
	Role                 map[string]string `json:"role,omitempty"` // pod: leaker, grabber or bystander
	Pods                 pods              `json:"pods,omitempty"`
	Before               podOOMKills       `json:"before,omitempty"`
	After                podOOMKills       `json:"after,omitempty"`
	Alive                flags             `json:"alive,omitempty"`
	PodAlive             flags             `json:"pod_alive,omitempty"`
	Until                text              `json:"until"` // the processes whose deaths end the episode
	GoS                  *float64          `json:"go_s,omitempty"`
	Ep                   episodeWatch      `json:"ep"`
	KubepodsOOMKillDelta float64           `json:"kubepods_oom_kill_delta"`
	GFullStallUS         *float64          `json:"g_full_stall_us,omitempty"`
	LimitBytes           float64           `json:"limit_bytes"`
	Mode                 text              `json:"mode"` // daemon: kube-oomd ran
	SScopeState          *text             `json:"s_scope_state,omitempty"`
	DaemonSurvived       *bool             `json:"daemon_survived,omitempty"`
	DaemonStateAfterStop *text             `json:"daemon_state_after_stop,omitempty"`
	DaemonStopS          *float64          `json:"daemon_stop_s,omitempty"`
	MemoryHighAfter      map[string]text   `json:"memory_high_after,omitempty"` // pod: its slice's memory.high after the episode
}

// podOOMKills: PREFIX.before and PREFIX.after as an episode reads them.
type podOOMKills struct {
	PodOOMKill map[string]float64 `json:"pod_oom_kill,omitempty"`
}

// episodeWatch: what the episode's watcher saw (PREFIX.ep).
type episodeWatch struct {
	StartS            *float64                 `json:"start_s,omitempty"`
	EndS              *float64                 `json:"end_s,omitempty"`
	FirstStallS       *float64                 `json:"first_stall_s,omitempty"`
	PeakKubepodsBytes float64                  `json:"peak_kubepods_bytes"`
	AllDead           *bool                    `json:"all_dead,omitempty"`
	TimedOut          *bool                    `json:"timed_out,omitempty"`
	Deaths            map[string]float64       `json:"deaths,omitempty"` // process: when it died
	Pids              map[string]any           `json:"pids,omitempty"`
	Pods              map[string]episodePod    `json:"pods,omitempty"`
	Containers        map[string]episodeCgrp   `json:"containers,omitempty"`
	Procs             map[string][]episodeProc `json:"procs,omitempty"` // container: its processes
}

// episodePod: a pod slice's memory.high as the watcher saw it.
type episodePod struct {
	First      *text    `json:"first"`   // the first value other than max; null: none
	FirstS     *float64 `json:"first_s"` // when; null: never
	ThrottledS float64  `json:"throttled_s"`
	Values     []text   `json:"values"`
}

// episodeProc: one process of a container as the watcher saw it.
type episodeProc struct {
	PID        any      `json:"pid,omitempty"`
	Cmd        any      `json:"cmd,omitempty"`
	Adj        any      `json:"adj,omitempty"` // its oom_score_adj
	PeakRSSKiB *text    `json:"peak_rss_kib,omitempty"`
	DeathS     *float64 `json:"death_s,omitempty"` // null: alive
}

// peakRSS: its peak RSS in KiB, 0 if not recorded.
func (p episodeProc) peakRSS() float64 {
	if p.PeakRSSKiB == nil {
		return 0
	}
	f, _ := strconv.ParseFloat(string(*p.PeakRSSKiB), 64)
	return f
}

// episodeCgrp: a container's memory.high as the watcher saw it.
type episodeCgrp struct {
	Values []any `json:"values,omitempty"`
}

// episodeRun is one run of guest/episode.sh: its facts, decoded, and where
// they sit (for its journal and the messages).
type episodeRun struct {
	t *testing.T
	r *R
	p string
	x episodeFacts
}

// episodeOf decodes the run under prefix p.
func episodeOf(t *testing.T, r *R, p string) episodeRun {
	t.Helper()
	return episodeRun{t, r, p, decodeResult[episodeFacts](r, p)}
}

// pods: the run's pod names, sorted.
func (e episodeRun) pods() []string {
	var names []string
	for n := range e.x.Role {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e episodeRun) role(pod string) string { return e.x.Role[pod] }

func (e episodeRun) uid(pod string) string { return e.x.Pods[pod].UID }

// kernelKills: the oom_kill count the pod's memory.events gained.
func (e episodeRun) kernelKills(pod string) int {
	return int(e.x.After.PodOOMKill[pod] - e.x.Before.PodOOMKill[pod])
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
	if v := e.x.Ep.Pods[pod].First; v != nil {
		return string(*v)
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
	b, ok := e.x.PodAlive[pod]
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
			if _, ok := e.x.Ep.Deaths["worker"]; ok {
				parts = append(parts, "worker")
			}
			if !e.x.Alive[pod+"-app"] {
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
		if e.role(pod) == "grabber" && strings.Contains(what, "main") && e.x.SScopeState != nil && *e.x.SScopeState == "failed" {
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
	for _, n := range strings.Fields(string(e.x.Until)) {
		d, ok := e.x.Ep.Deaths[n]
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
		return fmt.Sprintf("not within %.0f s", need(e.t, e.p+".ep.end_s", e.x.Ep.EndS)-need(e.t, e.p+".ep.start_s", e.x.Ep.StartS))
	}
	return fmt.Sprintf("%.1f s", end-need(e.t, e.p+".go_s", e.x.GoS))
}

func (e episodeRun) stallToEnd() string {
	fs := e.x.Ep.FirstStallS
	if fs == nil {
		return "no kubepods stall"
	}
	end, ok := e.ends()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f s", end-*fs)
}

func (e episodeRun) gStall() string {
	v := e.x.GFullStallUS
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", *v/1000)
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
			return strconv.Itoa(int(e.x.KubepodsOOMKillDelta))
		}},
		{"Guaranteed pod G full stall", episodeRun.gStall},
		{"peak kubepods memory", func(e episodeRun) string {
			return fmt.Sprintf("%.0f of %.0f MiB", e.x.Ep.PeakKubepodsBytes/(1<<20), e.x.LimitBytes/(1<<20))
		}},
	}
	cells := make([][]string, len(rows)+1)
	for _, e := range runs {
		head := "kernel alone"
		if e.x.Mode == "daemon" {
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

// withKernel: the runs to show, with the kernel-alone run under prefix k
// first under make compare (checked to have run: it is not judged), or
// without it in the gate, which runs kube-oomd's alone.
func withKernel(t *testing.T, r *R, k string, runs ...episodeRun) []episodeRun {
	t.Helper()
	if !comparing() {
		return runs
	}
	return withRun(t, episodeOf(t, r, k), runs...)
}

// withRun: withKernel's, with the kernel-alone run decoded. Each
// kube-oomd run goes into make compare's summary, beside k (a run with a
// grabber grows faster than one PSI window can see).
func withRun(t *testing.T, k episodeRun, runs ...episodeRun) []episodeRun {
	t.Helper()
	kernelRan(t, k)
	for _, d := range runs {
		if d.x.Mode != "daemon" {
			continue
		}
		name, fast := d.r.name, false
		if d.p != "daemon" {
			name += " (" + d.p + ")"
		}
		for _, pod := range d.pods() {
			fast = fast || d.role(pod) == "grabber"
		}
		d.r.summarize(episodeRow(name, k, d, fast))
	}
	return append([]episodeRun{k}, runs...)
}

// kernelRan: the kernel-alone run is not judged, but it must have run.
func kernelRan(t *testing.T, e episodeRun) {
	t.Helper()
	if e.x.Ep.StartS == nil {
		t.Errorf("%s: no episode recorded (%s.ep): %v", e.p, e.p, e.r.get(e.p+".ep"))
	}
	// kubepods_oom_kill_delta: required by episodeFacts.
	if len(e.pods()) == 0 {
		t.Errorf("%s: no pods recorded", e.p)
	}
}

// episodeChecks judges a kube-oomd run. Always: kube-oomd ran throughout,
// and no bystander died or was killed by it. strict (growth slow enough for
// a PSI window to see it): every leaker was killed by kube-oomd and not by
// the kernel, no bystander was throttled, and the kernel killed nothing.
func episodeChecks(t *testing.T, e episodeRun, strict bool) {
	p, x := e.p, e.x
	isTrue(t, p+".daemon_survived", need(t, p+".daemon_survived", x.DaemonSurvived))
	// It stops on SIGTERM (systemctl stop, bounded at 60 s): one that does
	// not would go on acting in the scenario's next run.
	if st := need(t, p+".daemon_state_after_stop", x.DaemonStateAfterStop); st != "inactive" && st != "failed" {
		t.Errorf("%s: kube-oomd was still %q %.0f s after systemctl stop (then SIGKILLed)", p, st, need(t, p+".daemon_stop_s", x.DaemonStopS))
	}
	var leakers, bystanders int
	for _, pod := range e.pods() {
		switch e.role(pod) {
		case "leaker":
			leakers++
			if !strict {
				continue
			}
			x.Alive.isFalse(t, p+".alive", pod+"-app")
			if n := e.kernelKills(pod); n > 0 {
				t.Errorf("%s: the kernel OOM-killed the leaker %s (%d in its memory.events), not kube-oomd", p, pod, n)
			}
			if len(e.oomdKills(pod)) == 0 {
				t.Errorf("%s: no kube-oomd kill record (MESSAGE_ID=%s) names the leaker %s %s", p, midKill, pod, e.uid(pod))
			}
		case "bystander":
			bystanders++
			if e.died(pod) {
				t.Errorf("%s: bystander %s (%s) died (%s)", p, pod, x.Pods.of(t, p+".pods", pod).QoS, e.hand(pod))
			}
			for _, reason := range e.oomdKills(pod) {
				t.Errorf("%s: kube-oomd killed bystander %s (%s), reason %s", p, pod, x.Pods.of(t, p+".pods", pod).QoS, reason)
			}
			if !strict {
				continue
			}
			if n := e.kernelKills(pod); n > 0 {
				t.Errorf("%s: the kernel OOM-killed in bystander %s (%d)", p, pod, n)
			}
			if v := e.throttle(pod); v != "" {
				t.Errorf("%s: kube-oomd throttled bystander %s (%s): memory.high %s (%s for %v s)", p, pod,
					x.Pods.of(t, p+".pods", pod).QoS, v, mib(v), show(x.Ep.Pods[pod].ThrottledS, x.Ep.Pods[pod].Values != nil))
			}
		}
	}
	if leakers == 0 && strict || bystanders == 0 {
		t.Errorf("%s: %d leakers and %d bystanders recorded: the scenario did not set up its pods", p, leakers, bystanders)
	}
	if strict {
		isTrue(t, p+".ep.all_dead", need(t, p+".ep.all_dead", x.Ep.AllDead))
		eq(t, p+".kubepods_oom_kill_delta", x.KubepodsOOMKillDelta, 0)
		// A throttle lifted with the kill: no pod slice is left with one.
		for _, pod := range e.pods() {
			v, ok := x.MemoryHighAfter[pod]
			if !ok {
				t.Errorf("result %s.memory_high_after.%s: want a string, have <nil>", p, pod)
			}
			if v != "max" && v != "gone" {
				t.Errorf("%s: pod %s's slice memory.high is %s after the episode, want max", p, pod, v)
			}
		}
	}
}
