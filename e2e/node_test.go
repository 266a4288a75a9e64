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

// podRow is the row of `kube-oomd pods --json` (the result's "pods") for
// the pod with that UID, or nil.
func (r *R) podRow(uid string) map[string]any {
	rows, _ := r.get("pods").([]any)
	for _, x := range rows {
		if m, ok := x.(map[string]any); ok && m["uid"] == uid {
			return m
		}
	}
	return nil
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

// nodeRunOf reads run p; prev is the run before it ("before" for the
// first), whose pod status tells which containers died in this one.
func nodeRunOf(r *R, p, prev string) nodeRun {
	x := nodeRun{name: p, died: r.boolean(p + ".watch.died")}
	start := r.num(p + ".leak_start")
	x.act, x.stallToAct = -1, -1
	if x.died {
		x.act = r.num(p+".watch.death_s") - start
		if fs, ok := r.get(p + ".watch.first_stall_s").(float64); ok {
			x.stallToAct = r.num(p+".watch.death_s") - fs
		}
	}
	x.gStallMs = r.num(p+".g_full_stall_us") / 1000
	x.worst, x.base = r.num(p+".passes.worst_s"), r.num(p+".passes.baseline_s")
	x.oomKills = int(r.num(p + ".oom_kills"))
	x.limitOOMs = int(r.num(p + ".kubepods_limit_ooms"))
	var died []string
	for _, pod := range nodePods {
		cts, _ := r.get(p + ".pods." + pod + ".containers").(map[string]any)
		var names []string
		for name := range cts {
			k := "." + pod + ".containers." + name + ".restarts"
			if r.num(p+".pods"+k) > r.num(prev+".pods"+k) {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			died = append(died, fmt.Sprintf("%s/%s-e2e-node (%s)", r.str(p+".pods."+pod+".namespace"), pod, strings.Join(names, ", ")))
		}
	}
	x.who = strings.Join(died, "; ")
	var vs []string
	kills := r.records(p, "kill")
	for _, k := range kills {
		vs = append(vs, fmt.Sprintf("%s/%s (kube-oomd, %s, %s)", k.str(vocab.PodNamespace), k.str(vocab.PodName), k.str(vocab.Reason), k.str(vocab.Method)))
	}
	switch {
	case len(kills) > 0:
		x.hand = fmt.Sprintf("kube-oomd: %s, by %s", kills[0].str(vocab.Reason), kills[0].str(vocab.Method))
	case x.limitOOMs > 0:
		x.hand = "the kernel's OOM killer"
		vs = append(vs, "kernel OOM killer")
	default:
		x.hand = "?"
	}
	x.victims = strings.Join(vs, ", ")
	x.record = "-"
	if len(kills) > 0 {
		freed, _ := strconv.ParseFloat(kills[0].str(vocab.Freed), 64)
		x.record = fmt.Sprintf("%s, %.0f MiB", kills[0].str(vocab.Took), freed/(1<<20))
	}
	l := p + ".pods.be.containers.leaker."
	x.leaker = fmt.Sprintf("%s, exit %v, restarts %v", r.str(l+"last_reason"), r.get(l+"last_exit_code"), r.get(l+"restarts"))
	x.restartAft = fmt.Sprintf("%.0f s", r.num(p+".restarted_after"))
	return x
}
