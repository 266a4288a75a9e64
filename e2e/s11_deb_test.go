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

func checkDeb(t *testing.T, r *R) {
	t.Logf("deb: %s", r.str("deb"))
	// Nothing of the other scenarios' transient kube-oomd left.
	r.match("pre.load_state", `^not-found$`)
	r.isFalse("pre.transient_unit_file")
	r.eq("pre.processes", 0)

	// Each README step ran and succeeded.
	for _, s := range []string{"dpkg", "dryrun_fragment", "metrics_fragment", "check_config", "enable", "status", "journal_would", "metrics_would", "arm", "reload_pod", "journal_kill", "status_cmd", "purge"} {
		if rc := r.num(s + ".rc"); rc != 0 {
			t.Errorf("step %s: `%s` exited %v:\n%s", s, r.str(s+".cmd"), rc, r.str(s+".out"))
		}
	}
	// dpkg -i: installed disabled and stopped, the next step printed, the
	// shipped config in place with every key commented out, the drop-in
	// directory there.
	r.match("dpkg.is_enabled", `^disabled$`)
	r.match("dpkg.is_active", `^inactive$`)
	r.match("dpkg.out", `cp /usr/share/kube-oomd/10-dry-run\.toml /etc/kube-oomd/kube-oomd\.toml\.d/`)
	r.isTrue("dpkg.installed_conf_same")
	r.eq("dpkg.installed_key_lines", 0)
	r.isTrue("dpkg.dropin_dir")
	// check-config reads the conffile and the two fragments.
	r.match("check_config.out", `10-dry-run\.toml`)
	r.match("check_config.out", `20-metrics\.toml`)
	// enable --now: a running Type=notify service that said READY=1.
	r.match("enable.ActiveState", `^active$`)
	r.match("enable.SubState", `^running$`)
	r.match("enable.Type", `^notify$`)
	r.match("enable.StatusText", `\S`)
	r.match("enable.FragmentPath", `^/(usr/)?lib/systemd/system/kube-oomd\.service$`)
	r.eq("enable.oom_score_adj", -1000)
	r.match("enable.cgroup", `^/system\.slice/kube-oomd\.service$`)
	r.match("enable.exe", `^/usr/bin/kube-oomd$`)
	r.match("enable.is_enabled", `^enabled$`)
	// The fragment is in force: dry-run from the first start.
	r.match("enable.mode", `^dry-run$`)
	t.Logf("running: pid %v, StatusText %q", r.get("enable.MainPID"), r.str("enable.StatusText"))
	r.match("status.out", `Active: active \(running\)`)

	// Armed by removing the fragment and a reload: the mode changed, the
	// process did not.
	pid := r.str("enable.MainPID")
	r.match("reload_pod.record", `^config reloaded .*mode=pod`)
	r.match("reload_pod.mode", `^pod$`)
	for _, p := range []string{"reload_pod.pid", "status_cmd.pid"} {
		if got := r.str(p); got != pid {
			t.Errorf("%s = %s: kube-oomd restarted (MainPID was %s after enable --now)", p, got, pid)
		}
	}
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
		t.Logf("would-kill record: reason %v, KUBE_OOMD_POD_UID %v", rec[journald(vocab.Reason)], rec[journald(vocab.PodUID)])
	}
	r.isTrue("dry.pod_alive.G")
	// ... and the metric the README's rollout watches counts it.
	r.match("metrics_would.out", `(?m)^kube_oomd_would_kill_total\{qos="BestEffort",reason="[a-z-]+"\} [1-9]`)

	// Pod mode: the README's query shows the kill of the leaker.
	r.isTrue("kill.watch.died")
	killBE := r.str("kill.pods.BE.uid")
	if !strings.Contains(r.str("journal_kill.out"), "pod_uid="+killBE) {
		t.Errorf("the README's kill journalctl does not show pod_uid=%s:\n%s", killBE, r.str("journal_kill.out"))
	}
	if rec, ok := r.get("kill.record").(map[string]any); !ok {
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
		if d := r.num("kill.after.kubepods_oom_kill") - r.num("kill.before.kubepods_oom_kill"); d != induced || d < 1 {
			t.Errorf("kubepods oom_kill rose by %.0f, the kill record counts %v (KUBE_OOMD_OOM_KILLS): want the same, at least 1", d, rec[journald(vocab.OOMKills)])
		}
	}
	r.eq("kill.after.kubepods_limit_oom", r.num("kill.before.kubepods_limit_oom"))
	r.isTrue("kill.pod_alive.G")
	r.isFalse("kill.alive.leaker")

	// Metrics on the unix socket under /run/kube-oomd (the fragment), the
	// unit as shipped.
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
