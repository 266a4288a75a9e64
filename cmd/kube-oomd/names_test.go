package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/cri/critest"
)

// runtimeFor serves a fake runtime that names the BestEffort pod of a
// cgrouptest.Node shop/cart, its sandbox and its container "app", as they
// are in the tree, and returns a config that asks it.
func runtimeFor(t *testing.T, tree *cgrouptest.Tree) string {
	t.Helper()
	f := critest.New()
	f.AddTreePod(t, tree, "be", cgroupv2.BestEffort, "shop", "cart", "app")
	sock := critest.Socket(t)
	critest.Serve(t, sock, f)
	return writeConfig(t, fmt.Sprintf("[runtime]\nendpoint = \"unix://%s\"\n", sock))
}

func TestPodsNamesPods(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	cfg := runtimeFor(t, tree)
	code, out, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", cfg)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Join(strings.Fields(lines[0])[:5], " "); got != "RANK NAMESPACE NAME UID QOS" {
		t.Errorf("header = %q", lines[0])
	}
	if got := strings.Join(strings.Fields(lines[1])[:5], " "); got != "1 shop cart be BestEffort" {
		t.Errorf("first row = %q, want the BestEffort pod named shop/cart", lines[1])
	}
	if got := strings.Join(strings.Fields(lines[2])[:4], " "); got != "2 - - bu" {
		t.Errorf("second row = %q, want a pod the runtime did not name, by UID", lines[2])
	}

	code, out, errs = kube(t, "pods", "--json", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", cfg)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v, stderr %q", code, err, errs)
	}
	be := rows[0]
	if be["uid"] != "be" || be["namespace"] != "shop" || be["name"] != "cart" || fmt.Sprint(be["container_names"]) != "[app]" {
		t.Errorf("--json row = namespace %v, name %v, container_names %v; want shop, cart, [app]", be["namespace"], be["name"], be["container_names"])
	}
}

// Without a runtime, `pods` names the pods by UID and says why, once, on
// stderr, naming the socket.
func TestPodsWithoutRuntime(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	sock := filepath.Join(t.TempDir(), "absent.sock")
	cfg := writeConfig(t, fmt.Sprintf("[runtime]\nendpoint = %q\n", sock))
	code, out, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, " be ") {
		t.Errorf("pods not shown by UID:\n%s", out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, sock) || !strings.Contains(errs, "named by UID only") {
		t.Errorf("stderr %q, want one line naming %s and saying pods are named by UID", errs, sock)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket exists")
	}
}
