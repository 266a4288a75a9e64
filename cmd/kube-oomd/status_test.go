package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/psi"
)

// serve answers status requests the way the main loop does.
func serve(t *testing.T, d *daemon) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reqs, err := d.serveStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case reply := <-reqs:
				reply <- d.status()
			case <-ctx.Done():
				return
			}
		}
	}()
	return filepath.Join(d.runDir, "status.sock")
}

func TestStatusAnswers(t *testing.T) {
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	d, _ := testDaemon(t, tree, config.ModeDryRun)
	d.cfgPath, d.started = "/etc/kube-oomd/kube-oomd.toml", time.Now()
	d.recordKill(killRecord{Time: time.Now(), UID: "old", QoS: "BestEffort", Reason: "sustained-pressure", DryRun: true})
	sock := serve(t, d)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, mode %v; want root-only 0600", sock, err, fi.Mode())
	}

	code, out, errs := kube(t, "status", "--socket", sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"mode dry-run", "Pods, ranked", "1     be", "Throttles:\n  none", "would have killed (dry run) BestEffort old"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = kube(t, "status", "--json", "--socket", sock)
	var s status
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if len(s.Pods) != 4 || s.Pods[0].UID != "be" || s.Pods[0].Rank != 1 || len(s.Kills) != 1 {
		t.Errorf("status JSON = %+v", s)
	}
	if s.Config["kill"].(map[string]any)["mode"] != "dry-run" {
		t.Errorf("config in force = %v", s.Config)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	code, _, errs := kube(t, "status", "--socket", filepath.Join(t.TempDir(), "none.sock"))
	if code != 1 || !strings.Contains(errs, "not running") || !strings.Contains(errs, "kube-oomd pods") {
		t.Errorf("exit %d, stderr %q: want a plain 'not running' that points to kube-oomd pods", code, errs)
	}
}

// reloadDaemon is a test daemon reading its config from a file, with the
// triggers of that config recorded as in force (a fake tree takes none).
func reloadDaemon(t *testing.T, text string) (*daemon, *strings.Builder, string) {
	t.Helper()
	tree := nodeWithOnePodPerClass(t, cgroupv2.DriverSystemd)
	d, logs := testDaemon(t, tree, config.ModePod)
	d.cfgPath = writeConfig(t, text)
	cfg, err := config.Load(d.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cfg = cfg
	w, _ := psi.NewWatcher()
	t.Cleanup(func() { w.Close() })
	spec := psi.TriggerSpec{Kind: psi.Kind(cfg.Pressure.Kind), Stall: cfg.Relief.Stall, Window: cfg.Pressure.Window}
	d.triggers = w
	d.triggerInfo = map[string]*triggerInfo{
		triggerKubepods: {Spec: spec, Requested: spec},
		triggerHost:     {Spec: spec, Requested: spec},
	}
	var b strings.Builder
	b.WriteString(logs.String())
	return d, &b, d.cfgPath
}

func TestReloadAppliesValidAndKeepsInvalid(t *testing.T) {
	d, _, path := reloadDaemon(t, "[kill]\nmode = \"pod\"\n")
	os.WriteFile(path, []byte("[kill]\nmode = \"dry-run\"\nprotect = [\"/kubepods.slice/x*\"]\n"), 0o644)
	d.reload()
	if d.cfg.Kill.Mode != config.ModeDryRun || len(d.rank.Protect) != 1 {
		t.Fatalf("after a valid reload: mode %q, protect %v", d.cfg.Kill.Mode, d.rank.Protect)
	}
	os.WriteFile(path, []byte("[kill]\nmode = \"everything\"\n"), 0o644)
	d.reload()
	if d.cfg.Kill.Mode != config.ModeDryRun {
		t.Fatalf("an invalid reload changed mode to %q", d.cfg.Kill.Mode)
	}
	os.WriteFile(path, []byte("[cgroup]\nkubepods = \"/elsewhere\"\n[kill]\nmode = \"pod\"\n"), 0o644)
	d.reload()
	if d.cfg.Cgroup.Kubepods != "" || d.cfg.Kill.Mode != config.ModePod {
		t.Errorf("[cgroup] changed at run time (%q) or the rest was not applied (%q)", d.cfg.Cgroup.Kubepods, d.cfg.Kill.Mode)
	}
}

func TestReloadKeepsDryRunFlag(t *testing.T) {
	d, _, path := reloadDaemon(t, "")
	d.dryRunFlag = true
	os.WriteFile(path, []byte("[kill]\ncooldown = \"20s\"\n"), 0o644)
	d.reload()
	if d.cfg.Kill.Mode != config.ModeDryRun || d.cfg.Kill.Cooldown != 20*time.Second {
		t.Errorf("mode %q, cooldown %v: --dry-run must survive a reload", d.cfg.Kill.Mode, d.cfg.Kill.Cooldown)
	}
}

func TestConfigEditIsNoticed(t *testing.T) {
	d, _, path := reloadDaemon(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed, err := d.watchConfig(ctx)
	if err != nil || changed == nil {
		t.Fatalf("watchConfig: %v", err)
	}
	// An editor's save: write a new file, rename it over the old one.
	tmp := path + ".swp"
	os.WriteFile(tmp, []byte("[kill]\nmode = \"dry-run\"\n"), 0o644)
	os.Rename(tmp, path)
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after the config file was replaced")
	}
}
