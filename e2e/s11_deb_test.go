//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("11", gate, checkDeb) }

// debStep is one README step the guest ran: its exit code, and the
// command and its output (read where a check shows them).
type debStep struct {
	RC  float64 `json:"rc"`
	Cmd *text   `json:"cmd,omitempty"`
	Out *text   `json:"out,omitempty"`
}

// debLeak is one of scenario 11's leaks (dry, kill): leak.sh's facts and
// the record journalctl -o json found of the leaker.
type debLeak struct {
	alive
	Pods   pods           `json:"pods"`
	Watch  watchFacts     `json:"watch"`
	Record map[string]any `json:"record,omitempty"` // journald's fields, KUBE_OOMD_*
}

// debResult is scenario 11's result, as the guest writes it.
type debResult struct {
	Deb text `json:"deb"`
	Pre struct {
		LoadState         text    `json:"load_state"`
		TransientUnitFile bool    `json:"transient_unit_file"`
		Processes         float64 `json:"processes"`
	} `json:"pre"`
	Dpkg struct {
		debStep
		IsEnabled         text    `json:"is_enabled"`
		IsActive          text    `json:"is_active"`
		InstalledConfSame bool    `json:"installed_conf_same"`
		InstalledKeyLines float64 `json:"installed_key_lines"`
		DropinDir         bool    `json:"dropin_dir"`
	} `json:"dpkg"`
	DryrunFragment  debStep `json:"dryrun_fragment"`
	MetricsFragment debStep `json:"metrics_fragment"`
	CheckConfig     debStep `json:"check_config"`
	Enable          struct {
		debStep
		ActiveState  text    `json:"ActiveState"`
		SubState     text    `json:"SubState"`
		Type         text    `json:"Type"`
		StatusText   text    `json:"StatusText"`
		FragmentPath text    `json:"FragmentPath"`
		MainPID      text    `json:"MainPID"`
		OOMScoreAdj  float64 `json:"oom_score_adj"`
		Cgroup       text    `json:"cgroup"`
		Exe          text    `json:"exe"`
		IsEnabled    text    `json:"is_enabled"`
		Mode         text    `json:"mode"`
	} `json:"enable"`
	Status       debStep `json:"status"`
	JournalWould debStep `json:"journal_would"`
	MetricsWould debStep `json:"metrics_would"`
	Arm          debStep `json:"arm"`
	ReloadPod    struct {
		debStep
		Record text `json:"record"`
		Mode   text `json:"mode"`
		PID    text `json:"pid"`
		Active text `json:"active"`
	} `json:"reload_pod"`
	JournalKill debStep `json:"journal_kill"`
	StatusCmd   struct {
		debStep
		PID text `json:"pid"`
	} `json:"status_cmd"`
	Purge struct {
		debStep
		Processes     float64 `json:"processes"`
		Listed        float64 `json:"listed"`
		UnitPaths     text    `json:"unit_paths"`
		Etc           bool    `json:"etc"`
		Run           bool    `json:"run"`
		Binary        bool    `json:"binary"`
		DpkgStatus    text    `json:"dpkg_status"`
		ListUnitFiles text    `json:"list_unit_files"`
		LoadState     text    `json:"load_state"`
		ActiveState   text    `json:"active_state"`
	} `json:"purge"`
	Dry  debLeak `json:"dry"`
	Kill struct {
		debLeak
		oomBeforeAfter
	} `json:"kill"`
	Metrics struct {
		AfterKill struct {
			RC         float64 `json:"rc"`
			SocketMode float64 `json:"socket_mode"`
			Scrape     struct {
				Samples map[string]any `json:"samples,omitempty"` // series: value
			} `json:"scrape,omitempty"`
		} `json:"after_kill"`
		VmRSSKB float64 `json:"vmrss_kb"`
	} `json:"metrics"`
	MetricsTCP struct {
		ShippedUnitRC      float64 `json:"shipped_unit_rc"`
		ShippedUnitJournal text    `json:"shipped_unit_journal"`
		RestartRC          float64 `json:"restart_rc"`
		Active             text    `json:"active"`
		CurlRC             float64 `json:"curl_rc"`
		KillsSeries        float64 `json:"kills_series"`
		GoGoroutines       float64 `json:"go_goroutines"`
	} `json:"metrics_tcp"`
}

func checkDeb(t *testing.T, r *R) {
	d := decodeResult[debResult](r, "")
	t.Logf("deb: %s", d.Deb)
	// Nothing of the other scenarios' transient kube-oomd left.
	match(t, "pre.load_state", d.Pre.LoadState, `^not-found$`)
	isFalse(t, "pre.transient_unit_file", d.Pre.TransientUnitFile)
	eq(t, "pre.processes", d.Pre.Processes, 0)

	// Each README step ran and succeeded.
	for _, x := range []struct {
		s string
		debStep
	}{
		{"dpkg", d.Dpkg.debStep}, {"dryrun_fragment", d.DryrunFragment}, {"metrics_fragment", d.MetricsFragment},
		{"check_config", d.CheckConfig}, {"enable", d.Enable.debStep}, {"status", d.Status}, {"journal_would", d.JournalWould},
		{"metrics_would", d.MetricsWould}, {"arm", d.Arm}, {"reload_pod", d.ReloadPod.debStep}, {"journal_kill", d.JournalKill},
		{"status_cmd", d.StatusCmd.debStep}, {"purge", d.Purge.debStep},
	} {
		if rc := x.RC; rc != 0 {
			t.Errorf("step %s: `%s` exited %v:\n%s", x.s, need(t, x.s+".cmd", x.Cmd), rc, need(t, x.s+".out", x.Out))
		}
	}
	// dpkg -i: installed disabled and stopped, the next step printed, the
	// shipped config in place with every key commented out, the drop-in
	// directory there.
	match(t, "dpkg.is_enabled", d.Dpkg.IsEnabled, `^disabled$`)
	match(t, "dpkg.is_active", d.Dpkg.IsActive, `^inactive$`)
	match(t, "dpkg.out", need(t, "dpkg.out", d.Dpkg.Out), `cp /usr/share/kube-oomd/10-dry-run\.toml /etc/kube-oomd/kube-oomd\.toml\.d/`)
	isTrue(t, "dpkg.installed_conf_same", d.Dpkg.InstalledConfSame)
	eq(t, "dpkg.installed_key_lines", d.Dpkg.InstalledKeyLines, 0)
	isTrue(t, "dpkg.dropin_dir", d.Dpkg.DropinDir)
	// check-config reads the conffile and the two fragments.
	match(t, "check_config.out", need(t, "check_config.out", d.CheckConfig.Out), `10-dry-run\.toml`)
	match(t, "check_config.out", need(t, "check_config.out", d.CheckConfig.Out), `20-metrics\.toml`)
	// enable --now: a running Type=notify service that said READY=1.
	e := d.Enable
	match(t, "enable.ActiveState", e.ActiveState, `^active$`)
	match(t, "enable.SubState", e.SubState, `^running$`)
	match(t, "enable.Type", e.Type, `^notify$`)
	match(t, "enable.StatusText", e.StatusText, `\S`)
	match(t, "enable.FragmentPath", e.FragmentPath, `^/(usr/)?lib/systemd/system/kube-oomd\.service$`)
	eq(t, "enable.oom_score_adj", e.OOMScoreAdj, -1000)
	match(t, "enable.cgroup", e.Cgroup, `^/system\.slice/kube-oomd\.service$`)
	match(t, "enable.exe", e.Exe, `^/usr/bin/kube-oomd$`)
	match(t, "enable.is_enabled", e.IsEnabled, `^enabled$`)
	// The fragment is in force: dry-run from the first start.
	match(t, "enable.mode", e.Mode, `^dry-run$`)
	t.Logf("running: pid %v, StatusText %q", e.MainPID, e.StatusText)
	match(t, "status.out", need(t, "status.out", d.Status.Out), `Active: active \(running\)`)

	// Armed by removing the fragment and a reload: the mode changed, the
	// process did not.
	pid := e.MainPID
	match(t, "reload_pod.record", d.ReloadPod.Record, `^config reloaded .*mode=pod`)
	match(t, "reload_pod.mode", d.ReloadPod.Mode, `^pod$`)
	for _, x := range []struct {
		p   string
		got text
	}{{"reload_pod.pid", d.ReloadPod.PID}, {"status_cmd.pid", d.StatusCmd.PID}} {
		if got := x.got; got != pid {
			t.Errorf("%s = %s: kube-oomd restarted (MainPID was %s after enable --now)", x.p, got, pid)
		}
	}
	match(t, "reload_pod.active", d.ReloadPod.Active, `^active$`)

	// Dry run: the README's query shows the would-kill record of the leaker.
	isTrue(t, "dry.watch.died", d.Dry.Watch.Died)
	dryBE := d.Dry.Pods.of(t, "dry.pods", "BE").UID
	if out := need(t, "journal_would.out", d.JournalWould.Out); !strings.Contains(string(out), vocab.PodUID+"="+dryBE) {
		t.Errorf("the README's dry-run journalctl does not show pod_uid=%s:\n%s", dryBE, out)
	}
	if rec := d.Dry.Record; rec == nil {
		t.Errorf("no would-kill record (MESSAGE_ID=%s, KUBE_OOMD_QOS=BestEffort) names the leaker %s", midWouldKill, dryBE)
	} else {
		t.Logf("would-kill record: reason %v, KUBE_OOMD_POD_UID %v", rec[journald(vocab.Reason)], rec[journald(vocab.PodUID)])
	}
	d.Dry.PodAlive.isTrue(t, "dry.pod_alive", "G")
	// ... and the metric the README's rollout watches counts it.
	match(t, "metrics_would.out", need(t, "metrics_would.out", d.MetricsWould.Out), `(?m)^kube_oomd_would_kill_total\{qos="BestEffort",reason="[a-z-]+"\} [1-9]`)

	// Pod mode: the README's query shows the kill of the leaker.
	isTrue(t, "kill.watch.died", d.Kill.Watch.Died)
	killBE := d.Kill.Pods.of(t, "kill.pods", "BE").UID
	if out := need(t, "journal_kill.out", d.JournalKill.Out); !strings.Contains(string(out), vocab.PodUID+"="+killBE) {
		t.Errorf("the README's kill journalctl does not show pod_uid=%s:\n%s", killBE, out)
	}
	if rec := d.Kill.Record; rec == nil {
		t.Errorf("no kill record (MESSAGE_ID=%s, KUBE_OOMD_QOS=BestEffort) names the leaker %s", midKill, killBE)
	} else {
		freed, _ := strconv.ParseFloat(fmt.Sprint(rec[journald(vocab.Freed)]), 64)
		t.Logf("kill record: reason %v, KUBE_OOMD_POD_UID %v, KUBE_OOMD_FREED_BYTES %.0f MiB", rec[journald(vocab.Reason)], rec[journald(vocab.PodUID)], freed/(1<<20))
		if rec[journald(vocab.PodUID)] != killBE {
			t.Errorf("kill record KUBE_OOMD_POD_UID = %v, want the leaker %s", rec[journald(vocab.PodUID)], killBE)
		}
		if !(freed > 0) {
			t.Errorf("kill record KUBE_OOMD_FREED_BYTES = %v, want > 0", rec[journald(vocab.Freed)])
		}
		// The shipped config kills the "oom" way: every OOM kill below
		// kubepods is one the record counts, none the kernel's own.
		if rec[journald(vocab.Method)] != "oom" {
			t.Errorf("kill record KUBE_OOMD_METHOD = %v, want oom (the shipped kill.method)", rec[journald(vocab.Method)])
		}
		induced, _ := strconv.ParseFloat(fmt.Sprint(rec[journald(vocab.OOMKills)]), 64)
		if rose := d.Kill.After.KubepodsOOMKill - d.Kill.Before.KubepodsOOMKill; rose != induced || rose < 1 {
			t.Errorf("kubepods oom_kill rose by %.0f, the kill record counts %v (KUBE_OOMD_OOM_KILLS): want the same, at least 1", rose, rec[journald(vocab.OOMKills)])
		}
	}
	eq(t, "kill.after.kubepods_limit_oom", d.Kill.After.KubepodsLimitOOM, d.Kill.Before.KubepodsLimitOOM)
	d.Kill.PodAlive.isTrue(t, "kill.pod_alive", "G")
	d.Kill.Alive.isFalse(t, "kill.alive", "leaker")

	// Metrics on the unix socket under /run/kube-oomd (the fragment), the
	// unit as shipped.
	eq(t, "metrics.after_kill.rc", d.Metrics.AfterKill.RC, 0)
	eq(t, "metrics.after_kill.socket_mode", d.Metrics.AfterKill.SocketMode, 600)
	checkDebMetrics(t, d)
	t.Logf("kube-oomd VmRSS after the kill and a scrape: %.1f MiB", d.Metrics.VmRSSKB/1024)
	// Over TCP: refused by the shipped unit, with the fix in the error;
	// served with the packaged drop-in.
	m := d.MetricsTCP
	if m.ShippedUnitRC == 0 {
		t.Errorf("metrics.listen on TCP under the shipped unit: systemctl restart succeeded, want a failed start")
	}
	match(t, "metrics_tcp.shipped_unit_journal", m.ShippedUnitJournal, `metrics\.listen "127\.0\.0\.1:9723".*RestrictAddressFamilies=AF_UNIX.*metrics-tcp\.conf`)
	eq(t, "metrics_tcp.restart_rc", m.RestartRC, 0)
	match(t, "metrics_tcp.active", m.Active, `^active$`)
	eq(t, "metrics_tcp.curl_rc", m.CurlRC, 0)
	atLeast(t, "metrics_tcp.kills_series", m.KillsSeries, 1)
	eq(t, "metrics_tcp.go_goroutines", m.GoGoroutines, 1)

	// kube-oomd status: the pods and the last kill.
	out := string(need(t, "status_cmd.out", d.StatusCmd.Out))
	for _, want := range []string{d.Kill.Pods.of(t, "kill.pods", "G").UID, "Last kills:", "killed BestEffort " + killBE} {
		if !strings.Contains(out, want) {
			t.Errorf("kube-oomd status does not say %q:\n%s", want, out)
		}
	}

	// apt-get purge: nothing left.
	p := d.Purge
	eq(t, "purge.processes", p.Processes, 0)
	eq(t, "purge.listed", p.Listed, 0)
	if s := strings.TrimSpace(string(p.UnitPaths)); s != "" {
		t.Errorf("unit files left after the purge:\n%s", s)
	}
	isFalse(t, "purge.etc", p.Etc)
	isFalse(t, "purge.run", p.Run)
	isFalse(t, "purge.binary", p.Binary)
	match(t, "purge.dpkg_status", p.DpkgStatus, `^(none|pn)\s*$`)
	t.Logf("after the purge: systemctl list-unit-files kube-oomd.service says %q; LoadState=%s ActiveState=%s",
		strings.TrimSpace(string(p.ListUnitFiles)), p.LoadState, p.ActiveState)
}

// checkDebMetrics: scenario 11's scrape after the kill counts the kill by
// its record's reason, QoS class and method, and the dry run's would-kill
// by its record's reason (the same process served both), has a last kill
// time and the Go runtime's series, and names no pod on a counter.
func checkDebMetrics(t *testing.T, d debResult) {
	samples := d.Metrics.AfterKill.Scrape.Samples
	if len(samples) == 0 {
		t.Errorf("the scrape after the kill has no kube-oomd series (see 11-deb.metrics.after_kill.txt)")
		return
	}
	value := func(series string) float64 { v, _ := samples[series].(float64); return v }
	kill, dry := d.Kill.Record, d.Dry.Record
	for _, series := range []string{
		fmt.Sprintf(`kube_oomd_kills_total{method=%q,qos="BestEffort",reason=%q}`, kill[journald(vocab.Method)], kill[journald(vocab.Reason)]),
		fmt.Sprintf(`kube_oomd_would_kill_total{qos="BestEffort",reason=%q}`, dry[journald(vocab.Reason)]),
	} {
		if v := value(series); v < 1 {
			t.Errorf("%s = %v, want at least 1: the leaker's kill (or dry-run kill) as its record says", series, v)
		}
		t.Logf("metrics: %s %v", series, value(series))
	}
	if v := value("kube_oomd_last_kill_timestamp_seconds"); !(v > 0) {
		t.Errorf("kube_oomd_last_kill_timestamp_seconds = %v, want > 0 after the kill", v)
	}
	// The on-call series (issue 21): served after a kill, as the rules in
	// packaging/monitoring/ read them.
	if v := value("kube_oomd_config_last_reload_successful"); v != 1 {
		t.Errorf("kube_oomd_config_last_reload_successful = %v, want 1 (the reload that armed it applied)", v)
	}
	if v := value("kube_oomd_kill_duration_seconds_count"); v < 1 {
		t.Errorf("kube_oomd_kill_duration_seconds_count = %v, want at least the kill", v)
	}
	if v := value(`kube_oomd_freed_bytes_total{qos="BestEffort"}`); !(v > 0) {
		t.Errorf(`kube_oomd_freed_bytes_total{qos="BestEffort"} = %v, want > 0 after the kill`, v)
	}
	if v, ok := samples["kube_oomd_lowered_limits"].(float64); !ok || v != 0 {
		t.Errorf("kube_oomd_lowered_limits = %v, want 0: every memory.max put back after the kill", samples["kube_oomd_lowered_limits"])
	}
	for _, prefix := range []string{"kube_oomd_build_info{", "kube_oomd_kills_skipped_total{", "kube_oomd_kill_failures_total{", "kube_oomd_throttled_pods"} {
		found := false
		for s := range samples {
			found = found || strings.HasPrefix(s, prefix)
		}
		if !found {
			t.Errorf("no %s series in the scrape after the kill", strings.TrimSuffix(prefix, "{"))
		}
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
