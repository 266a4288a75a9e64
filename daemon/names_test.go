package daemon

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/cri/critest"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// nameBE serves a fake runtime that names the BestEffort pod of a
// cgrouptest.Node shop/cart and its container "app", with the IDs of the
// tree, and returns the socket and the container's cgroup.
func nameBE(t *testing.T, tree *cgrouptest.Tree) (socket, app string) {
	t.Helper()
	f := critest.New()
	named := f.AddTreePod(t, tree, "be", cgroupv2.BestEffort, "shop", "cart", "app")
	socket = critest.Socket(t)
	critest.Serve(t, socket, f)
	return socket, named[0].Path
}

// waitLog waits until a record with the message is logged: the resolver
// logs from its own goroutine. Polling the log is no timing.
func waitLog(t *testing.T, h *harness, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(h.logs.records(t, msg, "")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no record %q:\n%s", msg, h.logs)
		}
		time.Sleep(time.Millisecond)
	}
}

const (
	msgRuntimeAnswers = "the container runtime answers: pods are named by namespace and name"
	msgRuntimeMissing = "cannot ask the container runtime for the pods' names: pods are named by UID only until it answers; " +
		"set runtime.endpoint to its CRI socket, or to \"none\""
)

// A kill record names the pod as Kubernetes does, and in container mode
// the container, in the log and in status.
func TestKillRecordNamesThePod(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	socket, app := nameBE(t, tree)
	tree.Write(app, "cgroup.kill", "")
	cfg := killOnly(config.ModeContainer)
	cfg.Runtime.Endpoint = socket
	h := start(t, tree, cfg, "", "")
	waitLog(t, h, msgRuntimeAnswers)
	h.windows(3, 0.5, 1000*MiB)
	got := h.logs.records(t, "", vocab.MsgKilled)
	if len(got) != 1 {
		t.Fatalf("kill records = %v, want one:\n%s", got, h.logs)
	}
	r := got[0]
	if r["pod_uid"] != "be" || r["pod_namespace"] != "shop" || r["pod_name"] != "cart" || r["container"] != "app" {
		t.Errorf("kill record names pod_uid %v, pod_namespace %v, pod_name %v, container %v; want be, shop, cart, app",
			r["pod_uid"], r["pod_namespace"], r["pod_name"], r["container"])
	}
	k := h.snapshot().Kills
	if len(k) != 1 || k[0].Namespace != "shop" || k[0].Name != "cart" || k[0].Container != "app" {
		t.Errorf("status kills = %+v, want shop/cart, container app", k)
	}
}

// A runtime socket that is not there costs one warning, names the pods by
// UID, and never holds up the daemon: it decides and kills as before.
func TestMissingRuntimeWarnsOnce(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	tree.Write(tree.PodPath("be", cgroupv2.BestEffort), "cgroup.kill", "")
	cfg := killOnly(config.ModePod)
	cfg.Runtime.Endpoint = filepath.Join(t.TempDir(), "absent.sock")
	h := start(t, tree, cfg, "", "")
	waitLog(t, h, msgRuntimeMissing)
	h.windows(3, 0.5, 1000*MiB) // pods read: asked for again, and not asked before the retry
	warned := h.logs.records(t, msgRuntimeMissing, "")
	if len(warned) != 1 || warned[0][vocab.Runtime] != cfg.Runtime.Endpoint || !strings.Contains(warned[0][vocab.Error].(string), "absent.sock") {
		t.Errorf("warnings = %v, want one naming %s and what went wrong", warned, cfg.Runtime.Endpoint)
	}
	got := h.logs.records(t, "", vocab.MsgKilled)
	if len(got) != 1 || got[0]["pod_uid"] != "be" {
		t.Fatalf("kill records = %v, want be, by UID:\n%s", got, h.logs)
	}
	if _, ok := got[0]["pod_name"]; ok {
		t.Errorf("kill record has a pod_name without a runtime: %v", got[0])
	}
}

// Under journald, the names are fields of their own, so that
// `journalctl KUBE_OOMD_POD_NAMESPACE=shop` finds the records; a pod the
// runtime did not name has no such field.
func TestNamesAreJournalFields(t *testing.T) {
	var fields []map[string]string
	log := slog.New(journalCapture(&fields))
	names := cri.Pod{UID: "u1", Namespace: "shop", Name: "cart"}
	log.Warn("killed pod", podAttrs("u1", "Burstable", "/k/p", names), vocab.Container, "app")
	log.Warn("killed pod", podAttrs("u2", "Burstable", "/k/q", cri.Pod{}))
	want := map[string]string{"KUBE_OOMD_POD_UID": "u1", "KUBE_OOMD_POD_NAMESPACE": "shop", "KUBE_OOMD_POD_NAME": "cart",
		"KUBE_OOMD_CONTAINER": "app", "KUBE_OOMD_QOS": "Burstable", "KUBE_OOMD_CGROUP": "/k/p"}
	for k, v := range want {
		if fields[0][k] != v {
			t.Errorf("%s = %q, want %q", k, fields[0][k], v)
		}
	}
	for _, k := range []string{"KUBE_OOMD_POD_NAMESPACE", "KUBE_OOMD_POD_NAME", "KUBE_OOMD_CONTAINER"} {
		if _, ok := fields[1][k]; ok {
			t.Errorf("an unnamed pod's record has %s", k)
		}
	}
}

func journalCapture(fields *[]map[string]string) slog.Handler {
	return systemd.NewJournalHandler(slog.LevelInfo, func(_ string, _ journal.Priority, vars map[string]string) error {
		*fields = append(*fields, vars)
		return nil
	})
}

// In container mode the record says a container was killed, and what its
// kill frees is the container's memory, not the whole pod's working set
// (the pod here holds 300 MiB, its app container 299 MiB).
func TestContainerKillRecordIsTheContainers(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	socket, app := nameBE(t, tree)
	tree.Write(app, "cgroup.kill", "")
	cfg := killOnly(config.ModeContainer)
	cfg.Runtime.Endpoint = socket
	h := start(t, tree, cfg, "", "")
	waitLog(t, h, msgRuntimeAnswers)
	h.windows(3, 0.5, 1000*MiB)
	got := h.logs.records(t, "", vocab.MsgKilled)
	if len(got) != 1 {
		t.Fatalf("kill records = %v, want one:\n%s", got, h.logs)
	}
	if msg := got[0]["msg"]; msg != "killed container" {
		t.Errorf("kill record says %q, want %q", msg, "killed container")
	}
	if f, want := got[0]["frees_bytes"], float64(299*MiB); f != want {
		t.Errorf("frees_bytes = %v, want the container's %v", f, want)
	}
	if k := h.snapshot().Kills; len(k) != 1 || k[0].Frees != 299*MiB {
		t.Errorf("status kills = %+v, want frees 299 MiB", k)
	}
}
