package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Started before the kubelet, the daemon tells systemd it is up and waits
// for the pods' cgroup.
func TestWaitsForKubepodsAfterReady(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	os.RemoveAll(filepath.Join(tree.Mount, tree.Kubepods))
	var states []string
	cfg := config.Default()
	cfg.Cgroup.RescanInterval = 20 * time.Millisecond
	d := &daemon{cfg: cfg, cgroupRoot: tree.Mount, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d.notify = systemd.NewNotifierFunc(func(s string) { states = append(states, s) })
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.MkdirAll(filepath.Join(tree.Mount, "kubepods.slice"), 0o755)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := d.waitForKubepods(ctx)
	if err != nil || l.Kubepods != "/kubepods.slice" {
		t.Fatalf("waitForKubepods = %+v, %v", l, err)
	}
	if len(states) < 2 || states[0] != "READY=1" || !strings.HasPrefix(states[1], "STATUS=waiting for the kubelet") {
		t.Errorf("sd_notify = %q, want READY=1 then a waiting status before kubepods exists", states)
	}
}
