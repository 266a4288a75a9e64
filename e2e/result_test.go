//go:build e2e

package e2e

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// ---------------------------------------------------------------- results

// R is one scenario's JSON result. A scenario decodes it, or each run's
// prefix, into its typed struct (decodeResult) and asserts on the fields;
// R keeps the journal records (records, otherRecords) and the pods' names
// (podName).
type R struct {
	t    *testing.T
	m    map[string]any
	name string   // the scenario's, "14-bystanders"
	sum  *summary // make compare's summary table, filled by each check (summary_test.go)
}

func load(t *testing.T, dir, name string) *R {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatalf("no result: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("bad result JSON: %v\n%s", err, b)
	}
	return &R{t: t, m: m, name: name}
}

func (r *R) get(path string) any {
	var v any = r.m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// rec is one kube-oomd journal record (see guest/journal.py): kube-oomd's
// fields by their internal/vocab names, and journal.py's own below.
type rec map[string]any

// journal.py's fields of a record, beside kube-oomd's: its kind (kill,
// would_kill, kernel_oom_kill, other), its MESSAGE (the message, then the
// key=value pairs) and its time since boot.
const (
	recKind      = "kind"
	recMessage   = "message"
	recMonotonic = "monotonic_s"
)

func (k rec) str(key string) string { s, _ := k[key].(string); return s }

// num: a record's field as a number (journald fields are strings).
func (k rec) num(key string) float64 {
	if f, ok := k[key].(float64); ok {
		return f
	}
	f, _ := strconv.ParseFloat(k.str(key), 64)
	return f
}

// records: kube-oomd's journal records of one kind under PREFIX.journal.
func (r *R) records(prefix, kind string) []rec {
	list, _ := r.get(prefix + ".journal").([]any)
	var out []rec
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m[recKind] == kind {
			out = append(out, rec(m))
		}
	}
	return out
}

// otherRecords: kube-oomd's records without a MESSAGE_ID whose message
// starts with prefix (journald MESSAGE is the message, then key=value pairs).
func (r *R) otherRecords(p, prefix string) []rec {
	var out []rec
	for _, k := range r.records(p, "other") {
		if strings.HasPrefix(k.str(recMessage), prefix) {
			out = append(out, k)
		}
	}
	return out
}

// podName maps a pod UID back to the scenario's name for it.
func (r *R) podName(prefix, uid string) string {
	pods, _ := r.get(prefix + ".pods").(map[string]any)
	for name, p := range pods {
		if m, ok := p.(map[string]any); ok && m["uid"] == uid {
			return name
		}
	}
	return "?"
}

// decodeResult decodes the result under prefix ("" for the whole result)
// into a scenario's typed struct, T, and reports as a test error each
// field the guest did not write (or wrote as null): a field is required
// unless its json tag says omitempty or it is a pointer (missingFields), so
// a renamed fact fails loudly instead of reading zero.
func decodeResult[T any](r *R, prefix string) T {
	r.t.Helper()
	var v T
	var src any = r.m
	if prefix != "" {
		src = r.get(prefix)
	}
	b, _ := json.Marshal(src)
	if err := json.Unmarshal(b, &v); err != nil {
		r.t.Errorf("result %s: does not decode into %T: %v", cmp.Or(prefix, "(all)"), v, err)
	}
	for _, m := range missingFields(reflect.TypeOf(v), src, prefix) {
		r.t.Errorf("result %s: missing or null (the guest did not write it)", m)
	}
	return v
}

// journald: a journal record field's name as journald stores it
// (KUBE_OOMD_<NAME>, see internal/vocab), for the records the guest reads
// with journalctl -o json instead of journal.py.
func journald(name string) string { return "KUBE_OOMD_" + strings.ToUpper(name) }
