//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// isNodeScenario: the scenarios on a real node (containerd, runc, kubelet),
// 19-node-layout and after. They run last, in one boot, on one node.
func isNodeScenario(name string) bool { return strings.Contains(name, "-node-") }

// shareNode puts the real node's parts into SHARE/node/: the kubelet and
// crictl (built by node/build-kubelet.sh, cached by version: a cached run
// builds nothing) and the pod sandbox image, pause.tar (node/pause, built
// now, in an OCI archive made by node/oci.py). The workload image is in the
// VM image (image/build.sh). A part that does not build fails the run.
func shareNode(t *testing.T, here, share string) error {
	dir := filepath.Join(share, "node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := commandOutput(here, "bash", filepath.Join(here, "node", "build-kubelet.sh"))
	if err != nil {
		return fmt.Errorf("the kubelet does not build: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	built := lines[len(lines)-1]
	t.Logf("kubelet and crictl: %s", built)
	for _, f := range []string{"kubelet", "crictl"} {
		if err := copyFile(filepath.Join(built, f), filepath.Join(dir, f), 0o755); err != nil {
			return err
		}
	}
	root, err := os.MkdirTemp("", "kube-oomd-e2e-pause-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := runCmd(here, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", filepath.Join(root, "pause"), "./node/pause"); err != nil {
		return fmt.Errorf("the pause image does not build: %w", err)
	}
	return runCmd(here, nil, "python3", filepath.Join(here, "node", "oci.py"),
		filepath.Join(dir, "pause.tar"), "e2e.local/pause:1", root, "--cmd", "/pause")
}

// commandOutput runs a command in dir and returns its stdout; stderr goes
// into the error.
func commandOutput(dir, name string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// podRows: `kube-oomd pods --json` as a result has it ("pods").
type podRows []any

// row: the row for the pod with that UID, or nil.
func (rows podRows) row(uid text) map[string]any {
	for _, x := range rows {
		if m, ok := x.(map[string]any); ok && m["uid"] == string(uid) {
			return m
		}
	}
	return nil
}

// nodePod: one pod of the real node as the kubelet reports it (node.sh's
// pod facts: PREFIX.NAME, by manifest name).
type nodePod struct {
	UID        text                     `json:"uid"`
	Namespace  text                     `json:"namespace"`
	QoS        text                     `json:"qos"`
	Containers map[string]nodeContainer `json:"containers,omitempty"`
}

// nodeContainer: one of its containers' status.
type nodeContainer struct {
	Restarts     float64  `json:"restarts"`
	LastReason   text     `json:"last_reason"`
	LastExitCode *float64 `json:"last_exit_code,omitempty"`
}

// nodeSpec: a pod's manifest as node.sh's specs say (PREFIX.spec.NAME).
type nodeSpec struct {
	Request float64 `json:"request"`
	Limit   any     `json:"limit,omitempty"` // null: none
}

// entry: m[name], an error if the guest did not write it.
func entry[V any](t *testing.T, m map[string]V, path, name string) V {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Errorf("result %s.%s: missing (the guest did not write it)", path, name)
	}
	return v
}

// nodePods are the real node's pods of node.sh, by manifest name.
var nodePods = []string{"g", "b", "be"}

// nodeRun is one leak run of scenario 20, for the side-by-side table.
type nodeRun struct {
	name                        string
	died                        bool
	act, stallToAct, gStallMs   float64
	worst, base                 float64 // db/g's reader: worst pass during the run, median before
	oomKills, limitOOMs         int
	who, hand                   string // who died (pod/container), by whose hand
	victims, leaker, restartAft string
	record                      string // kube-oomd's kill record: took, freed
}

// nodeLeakRun is one leak run of scenario 20 (node.sh), as the guest
// writes it under its prefix.
type nodeLeakRun struct {
	Watch              watchFacts         `json:"watch"`
	LeakStart          float64            `json:"leak_start"`
	GFullStallUS       float64            `json:"g_full_stall_us"`
	Passes             passes             `json:"passes"`
	OOMKills           float64            `json:"oom_kills"`
	KubepodsLimitOOMs  float64            `json:"kubepods_limit_ooms"`
	Pods               map[string]nodePod `json:"pods"`
	Restarted          bool               `json:"restarted"`
	RestartedAfter     float64            `json:"restarted_after"`
	KillJournal        *text              `json:"kill_journal,omitempty"` // kube-oomd's runs
	KillJournalVerbose *text              `json:"kill_journal_verbose,omitempty"`
}

// container: the status of pod's container ct, an error if not recorded.
func (x nodeLeakRun) container(t *testing.T, p, pod, ct string) nodeContainer {
	t.Helper()
	return entry(t, entry(t, x.Pods, p+".pods", pod).Containers, p+".pods."+pod+".containers", ct)
}

// nodeRunOf reads run x under p; prev is the run before it ("before" for
// the first), whose pod status tells which containers died in this one.
func nodeRunOf(t *testing.T, r *R, p string, x nodeLeakRun, prevName string, prev map[string]nodePod) nodeRun {
	t.Helper()
	n := nodeRun{name: p, died: x.Watch.Died}
	start := x.LeakStart
	n.act, n.stallToAct = -1, -1
	if n.died {
		n.act = need(t, p+".watch.death_s", x.Watch.DeathS) - start
		if fs := x.Watch.FirstStallS; fs != nil {
			n.stallToAct = need(t, p+".watch.death_s", x.Watch.DeathS) - *fs
		}
	}
	n.gStallMs = x.GFullStallUS / 1000
	n.worst, n.base = x.Passes.WorstS, x.Passes.BaselineS
	n.oomKills = int(x.OOMKills)
	n.limitOOMs = int(x.KubepodsLimitOOMs)
	var died []string
	for _, pod := range nodePods {
		cts := x.Pods[pod].Containers
		var names []string
		for name, c := range cts {
			before := entry(t, entry(t, prev, prevName+".pods", pod).Containers, prevName+".pods."+pod+".containers", name)
			if c.Restarts > before.Restarts {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			died = append(died, fmt.Sprintf("%s/%s-e2e-node (%s)", x.Pods[pod].Namespace, pod, strings.Join(names, ", ")))
		}
	}
	n.who = strings.Join(died, "; ")
	var vs []string
	kills := r.records(p, "kill")
	for _, k := range kills {
		vs = append(vs, fmt.Sprintf("%s/%s (kube-oomd, %s, %s)", k.str(vocab.PodNamespace), k.str(vocab.PodName), k.str(vocab.Reason), k.str(vocab.Method)))
	}
	switch {
	case len(kills) > 0:
		n.hand = fmt.Sprintf("kube-oomd: %s, by %s", kills[0].str(vocab.Reason), kills[0].str(vocab.Method))
	case n.limitOOMs > 0:
		n.hand = "the kernel's OOM killer"
		vs = append(vs, "kernel OOM killer")
	default:
		n.hand = "?"
	}
	n.victims = strings.Join(vs, ", ")
	n.record = "-"
	if len(kills) > 0 {
		freed, _ := strconv.ParseFloat(kills[0].str(vocab.Freed), 64)
		n.record = fmt.Sprintf("%s, %.0f MiB", kills[0].str(vocab.Took), freed/(1<<20))
	}
	l := x.container(t, p, "be", "leaker")
	lc, lr := x.Pods["be"].Containers["leaker"]
	n.leaker = fmt.Sprintf("%s, exit %v, restarts %v", l.LastReason, orNil(l.LastExitCode), show(lc.Restarts, lr))
	n.restartAft = fmt.Sprintf("%.0f s", x.RestartedAfter)
	return n
}
