package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/cri/critest"
	"github.com/kube-oomd/kube-oomd/daemon"
	"github.com/kube-oomd/kube-oomd/relief"
)

// Names the container runtime may give: a newline, a tab, an escape code.
const (
	oddNamespace = "shop\t\x1b[31m"
	oddName      = "x\nWATCHDOG=trigger"
	oddContainer = "app\r\x1b[2J"
)

// noRawControl fails when out has a control character other than the
// newlines that end its lines, or a line that starts with an injected key.
func noRawControl(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0) {
			t.Errorf("output has %U:\n%s", r, out)
			return
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "WATCHDOG=") {
			t.Errorf("a name added the line %q:\n%s", line, out)
		}
	}
}

// Issue 19 item 7: `kube-oomd status` prints the runtime's names escaped,
// and --json keeps them exact.
func TestStatusEscapesNames(t *testing.T) {
	now := time.Now()
	s := daemon.Status{
		DaemonStatus: daemon.DaemonStatus{Version: "v1", PID: 42, Started: now.Add(-time.Minute)},
		ConfigStatus: daemon.ConfigStatus{ConfigFile: "/etc/kube-oomd/kube-oomd.toml",
			Config: map[string]any{"kill": map[string]any{"mode": "pod"}}},
		Action: &daemon.ActionStatus{Name: "kill " + oddNamespace + "/" + oddName, Since: now},
		Pods: []daemon.PodRow{
			{Rank: 1, PodID: daemon.PodID{UID: "be", Namespace: oddNamespace, Name: oddName, QoS: cgroupv2.BestEffort},
				PodVictim: daemon.PodVictim{Protected: true, ProtectedReason: "name " + oddName}},
		},
		Throttles: []relief.Throttle{{Cgroup: "/k/be", UID: "be", QoS: "BestEffort", Original: cgroupv2.Unlimited, Set: 400 * MiB, Current: 500 * MiB, Since: now}},
		Kills: []daemon.KillRecord{{Time: now, KilledPod: daemon.KilledPod{UID: "be", Namespace: oddNamespace, Name: oddName, QoS: "BestEffort"},
			Container: oddContainer, Reason: "sustained-pressure", Target: "container /k/be/c.scope"}},
	}
	sock := serve(t, s)
	code, out, errs := kube(t, "status", "--socket", sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	noRawControl(t, out)
	for _, want := range []string{
		`Action in flight: "kill shop\t\x1b[31m/x\nWATCHDOG=trigger"`,
		`"shop\t\x1b[31m"  "x\nWATCHDOG=trigger"  be`,
		`yes: "name x\nWATCHDOG=trigger"`,
		`BestEffort "shop\t\x1b[31m/x\nWATCHDOG=trigger" (be): memory.high`,
		`killed BestEffort "shop\t\x1b[31m/x\nWATCHDOG=trigger" (be) (container "app\r\x1b[2J", /k/be/c.scope)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %s:\n%s", want, out)
		}
	}
	code, out, _ = kube(t, "status", "--json", "--socket", sock)
	var got daemon.Status
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if got.Pods[0].Name != oddName || got.Pods[0].Namespace != oddNamespace || got.Kills[0].Container != oddContainer {
		t.Errorf("--json names = %q, %q, %q; want them exact", got.Pods[0].Namespace, got.Pods[0].Name, got.Kills[0].Container)
	}
}

// Issue 19 item 7: `kube-oomd pods` prints the runtime's names escaped,
// and --json keeps them exact.
func TestPodsEscapesNames(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	f := critest.New()
	f.AddTreePod(t, tree, "be", cgroupv2.BestEffort, oddNamespace, oddName, oddContainer)
	sock := critest.Socket(t)
	critest.Serve(t, sock, f)
	cfg := writeConfig(t, fmt.Sprintf("[runtime]\nendpoint = \"unix://%s\"\n", sock))
	code, out, errs := kube(t, "pods", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", cfg)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	noRawControl(t, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Errorf("table has %d lines, want 5 (a header and 4 pods):\n%s", len(lines), out)
	}
	if want := `1     "shop\t\x1b[31m"  "x\nWATCHDOG=trigger"  be`; !strings.HasPrefix(lines[1], want) {
		t.Errorf("first row = %q, want it to start %q", lines[1], want)
	}

	code, out, _ = kube(t, "pods", "--json", "--cgroup-root", tree.Mount, "--proc-root", tree.Proc, "--config", cfg)
	var rows []daemon.PodRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v", code, err)
	}
	if rows[0].Namespace != oddNamespace || rows[0].Name != oddName || len(rows[0].ContainerNames) != 1 || rows[0].ContainerNames[0] != oddContainer {
		t.Errorf("--json row = %q, %q, %q; want the exact names", rows[0].Namespace, rows[0].Name, rows[0].ContainerNames)
	}
}
