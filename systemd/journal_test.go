package systemd

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

type sent struct {
	msg  string
	pri  journal.Priority
	vars map[string]string
}

func capture(level slog.Level) (*slog.Logger, *[]sent) {
	var got []sent
	h := NewJournalHandler(level, func(m string, p journal.Priority, v map[string]string) error {
		got = append(got, sent{m, p, v})
		return nil
	})
	return slog.New(h), &got
}

func TestJournalFields(t *testing.T) {
	log, got := capture(slog.LevelInfo)
	log.With("node", "n1").Warn("killed pod",
		MessageIDKey, "7afd622d79014eba9c7ef0a2d0c2ec1f",
		"pod_uid", "1234-5678", "qos", "BestEffort", "freed_bytes", uint64(42),
		slog.Group("psi", "full_avg10", 12.5))
	if len(*got) != 1 {
		t.Fatalf("sent %d records, want 1", len(*got))
	}
	r := (*got)[0]
	want := map[string]string{
		"MESSAGE_ID":               "7afd622d79014eba9c7ef0a2d0c2ec1f",
		"KUBE_OOMD_NODE":           "n1",
		"KUBE_OOMD_POD_UID":        "1234-5678",
		"KUBE_OOMD_QOS":            "BestEffort",
		"KUBE_OOMD_FREED_BYTES":    "42",
		"KUBE_OOMD_PSI_FULL_AVG10": "12.5",
	}
	for k, v := range want {
		if r.vars[k] != v {
			t.Errorf("%s = %q, want %q", k, r.vars[k], v)
		}
	}
	if len(r.vars) != len(want) {
		t.Errorf("fields = %v, want exactly %v", r.vars, want)
	}
	if r.pri != journal.PriWarning {
		t.Errorf("priority = %d, want warning", r.pri)
	}
	if !strings.HasPrefix(r.msg, "killed pod ") || !strings.Contains(r.msg, "qos=BestEffort") || strings.Contains(r.msg, MessageIDKey) {
		t.Errorf("MESSAGE = %q, want the message, then key=value pairs without message_id", r.msg)
	}
}

func TestJournalLevelAndGroups(t *testing.T) {
	log, got := capture(slog.LevelInfo)
	log.Debug("hidden")
	log.WithGroup("kill").With("mode", "pod").Error("x", "cgroup", "/a b")
	if len(*got) != 1 {
		t.Fatalf("sent %d records, want 1 (debug filtered)", len(*got))
	}
	r := (*got)[0]
	if r.vars["KUBE_OOMD_KILL_MODE"] != "pod" || r.vars["KUBE_OOMD_KILL_CGROUP"] != "/a b" {
		t.Errorf("grouped fields = %v", r.vars)
	}
	if r.pri != journal.PriErr || !strings.Contains(r.msg, `kill.cgroup="/a b"`) {
		t.Errorf("record = %+v", r)
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{"pod_uid": "KUBE_OOMD_POD_UID", "psi.some-avg10": "KUBE_OOMD_PSI_SOME_AVG10"} {
		if got := FieldName(in); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotifierWithoutSocketIsSilent(t *testing.T) {
	var states []string
	n := Notifier{notify: func(s string) (bool, error) { states = append(states, s); return true, nil }}
	n.Ready()
	n.Status("watching 3 pods")
	if len(states) != 2 || states[0] != "READY=1" || states[1] != "STATUS=watching 3 pods" {
		t.Errorf("states = %q", states)
	}
	if err := (Notifier{}).Ready(); err != nil {
		t.Errorf("zero Notifier: %v", err)
	}
}

func TestJournalInlinesGroupsWithoutKey(t *testing.T) {
	log, got := capture(slog.LevelInfo)
	log.WithGroup("g").Info("m", slog.Group("", "pod_uid", "u1", "qos", "Burstable"), slog.Group("", "", "x"))
	log.Info("m", slog.Group("", "pod_uid", "u2"))
	if len(*got) != 2 {
		t.Fatalf("sent %d records, want 2", len(*got))
	}
	if v := (*got)[0].vars; v["KUBE_OOMD_G_POD_UID"] != "u1" || v["KUBE_OOMD_G_QOS"] != "Burstable" || len(v) != 2 {
		t.Errorf("in a group: fields = %v, want G_POD_UID and G_QOS only", v)
	}
	if v := (*got)[1].vars; v["KUBE_OOMD_POD_UID"] != "u2" || len(v) != 1 {
		t.Errorf("top level: fields = %v, want POD_UID only", v)
	}
	if m := (*got)[1].msg; m != "m pod_uid=u2" {
		t.Errorf("MESSAGE = %q", m)
	}
}
