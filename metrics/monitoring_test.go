package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
)

// What packaging/monitoring/ ships beside the daemon: the alerts, the same
// alerts as a PrometheusRule, and the dashboard, whose runbook is
// docs/runbook.md.
var (
	monitoring     = filepath.Join("..", "packaging", "monitoring")
	rulesFile      = filepath.Join(monitoring, "kube-oomd.rules.yml")
	prometheusRule = filepath.Join(monitoring, "kube-oomd.prometheusrule.yaml")
	dashboardFile  = filepath.Join(monitoring, "kube-oomd.dashboard.json")
	runbookFile    = filepath.Join("..", "docs", "runbook.md")
)

var seriesName = regexp.MustCompile(`kube_oomd_[a-z_]+`)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// served are the names of every series a Metrics serves once each event
// has happened (runtime_up and build_info only exist once reported).
func served(t *testing.T) map[string]bool {
	m := New(labels)
	m.Killed(Kill{QoS: "BestEffort", Reason: "imminent-oom", Method: "oom", At: time.Unix(1, 0)})
	m.RuntimeUp(true)
	m.BuildInfo("v")
	names := map[string]bool{}
	for s := range metricstest.Scrape(t, m.Handler()) {
		name, _, _ := strings.Cut(s, "{")
		names[name] = true
	}
	return names
}

// Every kube_oomd_ series the alerts and the dashboard query is one the
// daemon serves: a rename here breaks no alert silently.
func TestMonitoringQueriesServedSeries(t *testing.T) {
	names := served(t)
	var queries []string
	queries = append(queries, read(t, rulesFile))
	var dash any
	if err := json.Unmarshal([]byte(read(t, dashboardFile)), &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					queries = append(queries, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(dash)
	used := 0
	for _, q := range queries {
		for _, name := range seriesName.FindAllString(q, -1) {
			used++
			if !names[name] {
				t.Errorf("%s is queried by packaging/monitoring/, but the daemon serves no such series", name)
			}
		}
	}
	if used == 0 || len(queries) < 10 {
		t.Errorf("%d queries, %d series in them: the files were not read as meant", len(queries), used)
	}
}

// The PrometheusRule is the rules file's groups, line for line, as
// prometheusrule.sh writes it.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	rules, pr := read(t, rulesFile), read(t, prometheusRule)
	_, spec, ok := strings.Cut(pr, "\nspec:\n")
	if !ok {
		t.Fatalf("%s has no spec:", prometheusRule)
	}
	var want strings.Builder
	for _, line := range strings.SplitAfter(rules, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			want.WriteString("  " + line)
		}
	}
	if spec != want.String() {
		t.Errorf("%s's spec is not %s's groups: run packaging/monitoring/prometheusrule.sh", prometheusRule, rulesFile)
	}
	for _, s := range []string{"apiVersion: monitoring.coreos.com/v1\n", "kind: PrometheusRule\n"} {
		if !strings.Contains(pr, s) {
			t.Errorf("%s lacks %q", prometheusRule, s)
		}
	}
}

// Each alert links its own entry of the runbook, and the runbook has it;
// at least the six states on-call must hear of are alerted on.
func TestAlertsHaveRunbookEntries(t *testing.T) {
	rules, runbook := read(t, rulesFile), read(t, runbookFile)
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)$`).FindAllStringSubmatch(rules, -1)
	urls := regexp.MustCompile(`(?m)^\s*runbook_url: (\S+)$`).FindAllStringSubmatch(rules, -1)
	if len(urls) != len(alerts) {
		t.Fatalf("%d alerts, %d runbook_url annotations: one each", len(alerts), len(urls))
	}
	var names []string
	for i, a := range alerts {
		name := a[1]
		names = append(names, name)
		if want := "docs/runbook.md#" + strings.ToLower(name); !strings.HasSuffix(urls[i][1], want) {
			t.Errorf("%s: runbook_url %s, want one ending in %s", name, urls[i][1], want)
		}
		if !strings.Contains(runbook, "\n## "+name+"\n") {
			t.Errorf("%s: no entry \"## %s\" in %s", name, name, runbookFile)
		}
	}
	for _, want := range []string{"KubeOomdDown", "KubeOomdKillSkipped", "KubeOomdKillFailed", "KubeOomdLimitStuckAtZero",
		"KubeOomdThrottleNotReleased", "KubeOomdConfigReloadFailed"} {
		if !slices.Contains(names, want) {
			t.Errorf("no alert %s", want)
		}
	}
}
