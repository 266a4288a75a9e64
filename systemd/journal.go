package systemd

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// FieldPrefix starts every journald field kube-oomd adds, so that
// `journalctl KUBE_OOMD_QOS=BestEffort` finds its records.
const FieldPrefix = "KUBE_OOMD_"

// MessageIDKey is the slog key whose value becomes the record's MESSAGE_ID.
const MessageIDKey = "message_id"

// SendFunc sends one record to the journal; journal.Send in production.
type SendFunc func(message string, priority journal.Priority, vars map[string]string) error

// JournalHandler is a slog.Handler that writes native journald records. Each
// attribute becomes a field, "pod_uid" as KUBE_OOMD_POD_UID (groups join
// with "_"), and message_id becomes MESSAGE_ID. MESSAGE carries the message
// followed by key=value pairs, so `journalctl -u kube-oomd` reads like the
// text log.
type JournalHandler struct {
	level  slog.Leveler
	send   SendFunc
	attrs  []slog.Attr // already prefixed with their groups
	prefix string      // open groups, "a.b."
}

// NewJournalHandler returns a handler for records at level and above. A nil
// send uses journal.Send.
func NewJournalHandler(level slog.Leveler, send SendFunc) *JournalHandler {
	if send == nil {
		send = journal.Send
	}
	return &JournalHandler{level: level, send: send}
}

// JournalAvailable tells whether stderr is connected to journald, as it is
// for a systemd service, so that native records are the right choice.
func JournalAvailable() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok && journal.Enabled()
}

func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = append(h2.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &h2
}

func (h *JournalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{}
	var text strings.Builder
	text.WriteString(r.Message)
	for _, a := range h.attrs {
		addAttr(vars, &text, a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(vars, &text, h.prefix+a.Key, a.Value)
		return true
	})
	return h.send(text.String(), priority(r.Level), vars)
}

func addAttr(vars map[string]string, text *strings.Builder, key string, v slog.Value) {
	v = v.Resolve()
	if v.Kind() == slog.KindGroup {
		// A group without a key is inlined, as slog's own handlers do.
		parent := strings.TrimSuffix(key, ".")
		for _, a := range v.Group() {
			child := a.Key
			if parent != "" {
				child = parent + "." + a.Key
			}
			addAttr(vars, text, child, a.Value)
		}
		return
	}
	if strings.HasSuffix(key, ".") || key == "" {
		return // an empty key with a plain value: slog drops it
	}
	s := v.String()
	if key == MessageIDKey {
		vars["MESSAGE_ID"] = s
		return
	}
	vars[FieldName(key)] = s
	fmt.Fprintf(text, " %s=%s", key, messageValue(s))
}

// FieldName turns a slog key into its journald field: "psi.full_avg10"
// becomes KUBE_OOMD_PSI_FULL_AVG10.
func FieldName(key string) string {
	b := []byte(FieldPrefix + strings.ToUpper(key))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
