//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// typedResults: each scenario's typed result and the prefix it decodes
// (the result's runs), for TestTypedResultsCatchMissing.
var typedResults = []struct {
	name, prefix string
	typ          reflect.Type
}{
	{"00-smoke", "", reflect.TypeFor[smokeResult]()},
	{"01-leak", "daemon", reflect.TypeFor[leakRun]()},
	{"02-busy", "run", reflect.TypeFor[busyRun]()},
	{"03-critical", "run", reflect.TypeFor[criticalRun]()},
	{"04-cgroupfs", "run", reflect.TypeFor[leakRun]()},
	{"05-dryrun", "run", reflect.TypeFor[dryRun]()},
	{"06-pod-oom", "run", reflect.TypeFor[podOOMRun]()},
	{"07-bad-config", "", reflect.TypeFor[badConfigResult]()},
	{"08-cache-heavy", "run", reflect.TypeFor[cacheHeavyRun]()},
	{"09-slow-leak", "", reflect.TypeFor[slowLeakResult]()},
	{"10-restart-throttled", "", reflect.TypeFor[restartThrottledResult]()},
	{"11-deb", "", reflect.TypeFor[debResult]()},
	{"12-idle", "", reflect.TypeFor[idleResult]()},
	{"13-faults", "", reflect.TypeFor[faultsResult]()},
	{"14-bystanders", "daemon", reflect.TypeFor[episodeFacts]()},
	{"15-shmem", "shm_daemon", reflect.TypeFor[episodeFacts]()},
	{"15-shmem", "fast_daemon", reflect.TypeFor[episodeFacts]()},
	{"16-grab", "daemon", reflect.TypeFor[episodeFacts]()},
	{"16-grab", "daemon", reflect.TypeFor[grabRun]()},
	{"16-grab", "", reflect.TypeFor[grabResult]()},
	{"17-two-leakers", "daemon", reflect.TypeFor[episodeFacts]()},
	{"17-two-leakers", "throttled", reflect.TypeFor[episodeFacts]()},
	{"18-memoryqos", "daemon", reflect.TypeFor[episodeFacts]()},
	{"18-memoryqos", "daemon", reflect.TypeFor[memoryQoSRun]()},
	{"19-node-layout", "", reflect.TypeFor[nodeLayoutResult]()},
	{"20-node-leak", "", reflect.TypeFor[nodeLeakResult]()},
	{"20-node-leak", "signal", reflect.TypeFor[nodeLeakRun]()},
	{"20-node-leak", "oom", reflect.TypeFor[nodeLeakRun]()},
	{"21-node-memoryqos", "", reflect.TypeFor[nodeMemoryQoSResult]()},
	{"22-shielded", "daemon", reflect.TypeFor[episodeFacts]()},
	{"22-shielded", "daemon", reflect.TypeFor[shieldedRun]()},
	{"22-shielded", "", reflect.TypeFor[shieldedResult]()},
}

// TestTypedResultsCatchMissing injects a fault into a kept gate run's
// results (KUBE_OOMD_E2E_RESULTS, read, never written): each required field
// of each typed result, taken out in turn, is reported missing, and the
// results as they are have none missing.
func TestTypedResultsCatchMissing(t *testing.T) {
	dir := os.Getenv("KUBE_OOMD_E2E_RESULTS")
	if dir == "" {
		t.Skip("KUBE_OOMD_E2E_RESULTS (a gate run's kept share) not set")
	}
	for _, c := range typedResults {
		t.Run(strings.TrimSuffix(c.name+"."+c.prefix, ".")+"/"+c.typ.Name(), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "results", c.name+".json"))
			if err != nil {
				t.Skipf("no result: %v", err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			// The journal records are not typed facts: left out, to copy less.
			for _, run := range m {
				if x, ok := run.(map[string]any); ok {
					delete(x, "journal")
				}
			}
			b, _ = json.Marshal(m)
			src := under(m, c.prefix)
			if got := missingFields(c.typ, src, c.prefix); len(got) > 0 {
				t.Errorf("missing in the kept run: %q", got)
			}
			req := requiredPaths(c.typ, src, c.prefix)
			if len(req) == 0 {
				t.Fatalf("%v has no required field present", c.typ)
			}
			for _, f := range req {
				p := f.path
				for _, null := range []bool{f.entry, true} {
					var cp any
					json.Unmarshal(b, &cp)
					cut(cp, strings.Split(p, "."), null)
					got := missingFields(c.typ, under(cp.(map[string]any), c.prefix), c.prefix)
					if !slices.Contains(got, p) {
						t.Errorf("%s taken out (null %v): missingFields = %q, want it named", p, null, got)
					}
				}
			}
			t.Logf("%d required fields, each caught when taken out (a map's entry: when null) or null", len(req))
		})
	}
}

// required is a required fact present in a result: a struct field, or a
// map's entry (an entry may be left out, the check that reads it says so,
// but it may not be null).
type required struct {
	path  string
	entry bool
}

// requiredPaths: the required facts of t present in src, by the paths
// missingFields names them by.
func requiredPaths(t reflect.Type, src any, prefix string) []required {
	var out []required
	switch t.Kind() {
	case reflect.Map:
		m, _ := src.(map[string]any)
		for k, v := range m {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			if t.Elem().Kind() != reflect.Pointer && t.Elem().Kind() != reflect.Interface {
				out = append(out, required{p, true})
			}
			out = append(out, requiredPaths(t.Elem(), v, p)...)
		}
	case reflect.Struct:
		m, _ := src.(map[string]any)
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				out = append(out, requiredPaths(f.Type, src, prefix)...)
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			v, ok := m[name]
			if !ok || v == nil {
				continue
			}
			p := strings.TrimPrefix(prefix+"."+name, ".")
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				out = append(out, required{p, false})
			}
			out = append(out, requiredPaths(f.Type, v, p)...)
		}
	}
	slices.SortFunc(out, func(a, b required) int { return strings.Compare(a.path, b.path) })
	return out
}

// cut deletes the fact at path from v (or sets it to null).
func cut(v any, path []string, null bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if len(path) == 1 {
		if null {
			m[path[0]] = nil
		} else {
			delete(m, path[0])
		}
		return
	}
	cut(m[path[0]], path[1:], null)
}

// under: the result's facts under prefix ("": all of them).
func under(m map[string]any, prefix string) any {
	if prefix == "" {
		return m
	}
	return (&R{m: m}).get(prefix)
}
