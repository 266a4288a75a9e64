package daemon

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri/critest"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// Issue 19 items 6 and 7: the container runtime may name a pod anything.
// A pod named "x\nWATCHDOG=trigger" that is killed leaves every STATUS=
// one line with no key of its own, and the kill record's MESSAGE quotes
// the names with their control characters escaped; the journal fields
// keep the exact names.
func TestRuntimeNamesCannotForgeNotifyOrJournal(t *testing.T) {
	const (
		ns   = "shop\t\x1b[31m"
		name = "x\nWATCHDOG=trigger"
		app  = "app\r\nMESSAGE_ID=" + vocab.MsgKernelOOM
	)
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	f := critest.New()
	named := f.AddTreePod(t, tree, "be", cgroupv2.BestEffort, ns, name, app)
	socket := critest.Socket(t)
	critest.Serve(t, socket, f)
	tree.Write(named[0].Path, "cgroup.kill", "")
	cfg := killOnly(config.ModeContainer)
	cfg.Runtime.Endpoint = socket

	var mu sync.Mutex
	var messages []string
	var fields []map[string]string
	journaled := systemd.NewJournalHandler(slog.LevelInfo, func(m string, _ journal.Priority, vars map[string]string) error {
		mu.Lock()
		defer mu.Unlock()
		if vars["MESSAGE_ID"] == vocab.MsgKilled {
			messages, fields = append(messages, m), append(fields, vars)
		}
		return nil
	})
	h := startWith(t, tree, cfg, "", func(o *Options) { o.Logger = slog.New(slog.NewMultiHandler(o.Logger.Handler(), journaled)) })
	waitLog(t, h, msgRuntimeAnswers)
	h.windows(3, 0.5, 1000*MiB)
	if k := h.snapshot().Kills; len(k) != 1 || k[0].Name != name {
		t.Fatalf("status kills = %+v, want the pod named %q", k, name)
	}

	h.mu.Lock()
	states := append([]string(nil), h.states...)
	h.mu.Unlock()
	last := ""
	for _, s := range states {
		if !strings.HasPrefix(s, "STATUS=") {
			continue
		}
		if strings.ContainsAny(s, "\n\r\x1b\t") {
			t.Errorf("sd_notify %q: STATUS= is not one line of printable text", s)
		}
		last = s
	}
	if want := `last: killed shop\t\x1b[31m/x\nWATCHDOG=trigger (BestEffort, sustained-pressure)`; !strings.HasSuffix(last, want) {
		t.Errorf("last STATUS = %q, want it to end %q", last, want)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(messages) != 1 {
		t.Fatalf("kill records under journald = %q, want one", messages)
	}
	for _, want := range []string{`pod_namespace="shop\t\x1b[31m"`, `pod_name="x\nWATCHDOG=trigger"`, `container="app\r\nMESSAGE_ID=` + vocab.MsgKernelOOM + `"`} {
		if !strings.Contains(messages[0], want) {
			t.Errorf("MESSAGE = %q, lacks %s", messages[0], want)
		}
	}
	if strings.ContainsAny(messages[0], "\n\r\t\x1b") {
		t.Errorf("MESSAGE = %q has a control character", messages[0])
	}
	v := fields[0]
	if v["KUBE_OOMD_POD_NAMESPACE"] != ns || v["KUBE_OOMD_POD_NAME"] != name || v["KUBE_OOMD_CONTAINER"] != app || v["MESSAGE_ID"] != vocab.MsgKilled {
		t.Errorf("fields = %q, want the exact names and the kill's MESSAGE_ID", v)
	}
}
