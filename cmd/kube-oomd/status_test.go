package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/daemon"
	"github.com/kube-oomd/kube-oomd/relief"
)

// serve answers every connection on a socket with s, as the daemon does.
func serve(t *testing.T, s daemon.Status) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "status.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			json.NewEncoder(conn).Encode(s)
			conn.Close()
		}
	}()
	return sock
}

func TestStatusRenders(t *testing.T) {
	now := time.Now()
	limit := uint64(2048 * MiB)
	s := daemon.Status{
		DaemonStatus: daemon.DaemonStatus{Version: "v1", PID: 42, Started: now.Add(-time.Minute)},
		ConfigStatus: daemon.ConfigStatus{ConfigFile: "/etc/kube-oomd/kube-oomd.toml",
			Config:      map[string]any{"kill": map[string]any{"mode": "dry-run"}},
			ConfigFiles: []string{"/etc/kube-oomd/kube-oomd.toml", "/etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml"},
			ConfigSources: []daemon.KeySource{
				{Key: "kill.mode", Setting: `kill.mode = "dry-run"`, File: "/etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml"},
				{Key: "kill.cooldown", Setting: `kill.cooldown = "30s"`, File: "/etc/kube-oomd/kube-oomd.toml"},
			}},
		Features: daemon.FeatureStatus{Kernel: "6.1.0", PageSize: 4096, Driver: "systemd", Kubepods: "/kubepods.slice", CgroupKill: true, MemoryHighVia: "systemd"},
		Action:   &daemon.ActionStatus{Name: "kill be", Since: now},
		Decision: daemon.DecisionStatus{WindowStatus: daemon.WindowStatus{PressuredWindows: 1, WindowsNeeded: 2, StrainedWindows: 3, RelievedWindows: 4}},
		Pods: []daemon.PodRow{
			{Rank: 1, PodID: daemon.PodID{UID: "be", QoS: cgroupv2.BestEffort}, PodMemory: daemon.PodMemory{WorkingSetBytes: 300 * MiB}},
			{Rank: 2, PodID: daemon.PodID{UID: "bu", Namespace: "shop", Name: "db-0", QoS: cgroupv2.Burstable}, PodMemory: daemon.PodMemory{LimitBytes: &limit}},
		},
		Throttles: []relief.Throttle{{Cgroup: "/k/bu", UID: "bu", QoS: "Burstable", Original: cgroupv2.Unlimited, Set: 400 * MiB, Current: 500 * MiB, Since: now}},
		Kills: []daemon.KillRecord{{Time: now, KilledPod: daemon.KilledPod{UID: "old", QoS: "BestEffort"}, Reason: "sustained-pressure", DryRun: true, Target: "pod"},
			{Time: now, KilledPod: daemon.KilledPod{UID: "u2", Namespace: "shop", Name: "cart", QoS: "Burstable"}, Container: "app", Reason: "imminent-oom", Target: "container /k/u2/cri-containerd-0123.scope"}},
	}
	sock := serve(t, s)
	code, out, errs := kube(t, "status", "--socket", sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"mode dry-run", "page 4Ki",
		"read /etc/kube-oomd/kube-oomd.toml, /etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml\n",
		`kill.mode = "dry-run" (from /etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml)`,
		`kill.cooldown = "30s" (from /etc/kube-oomd/kube-oomd.toml)`, "1 of 2 pressured windows, 3 strained, 0 calm, 4 calm or not near the limit", "Action in flight: kill be", "Pods, ranked", "1     -          -     be",
		"2     shop       db-0  bu", "Burstable shop/db-0 (bu): memory.high 500Mi (set 400Mi, original max)",
		"would have killed (dry run) BestEffort old (pod)", `killed Burstable shop/cart (u2) (container "app", /k/u2/cri-containerd-0123.scope)`} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = kube(t, "status", "--json", "--socket", sock)
	var got daemon.Status
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if len(got.Pods) != 2 || got.Action == nil || len(got.Kills) != 2 || got.Kills[1].Container != "app" || got.Pods[1].Name != "db-0" || got.Decision.RelievedWindows != 4 ||
		len(got.ConfigSources) != 2 || got.ConfigSources[0].File != "/etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml" || len(got.ConfigFiles) != 2 {
		t.Errorf("status JSON = %+v", got)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	code, _, errs := kube(t, "status", "--socket", filepath.Join(t.TempDir(), "none.sock"))
	if code != 1 || !strings.Contains(errs, "not running") || !strings.Contains(errs, "kube-oomd pods") {
		t.Errorf("exit %d, stderr %q: want a plain 'not running' that points to kube-oomd pods", code, errs)
	}
}

// Without permission on the socket (not root: /run/kube-oomd is 0700 and
// the socket 0600) the daemon may well be running: status says to ask as
// root, not to start it.
func TestStatusWithoutPermission(t *testing.T) {
	sock := "/run/kube-oomd/status.sock"
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM} {
		err := dialError(sock, &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)})
		msg := err.Error()
		if !strings.Contains(msg, "as root") || !strings.Contains(msg, "sudo kube-oomd status") || !strings.Contains(msg, sock) ||
			strings.Contains(msg, "not running") || strings.Contains(msg, "systemctl start") || !errors.Is(err, errno) {
			t.Errorf("%v: %q; want: run it as root, naming the socket, and the errno wrapped", errno, msg)
		}
	}
	err := dialError(sock, &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ENOENT)})
	if !errors.Is(err, errNotRunning) || !strings.Contains(err.Error(), "systemctl start kube-oomd") {
		t.Errorf("ENOENT: %q; want not running, and how to start it", err)
	}

	if os.Geteuid() == 0 {
		t.Skip("root may connect to any socket: the rest needs another user")
	}
	sock = serve(t, daemon.Status{})
	if err := os.Chmod(filepath.Dir(sock), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Dir(sock), 0o700)
	code, _, errs := kube(t, "status", "--socket", sock)
	if code != 1 || !strings.Contains(errs, "as root") || strings.Count(errs, "kube-oomd:") != 1 {
		t.Errorf("exit %d, stderr %q: want 1 and to run it as root", code, errs)
	}
}
