//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("08", gate, checkCacheHeavy) }

// cacheHeavyRun is scenario 08's run, as the guest writes it.
type cacheHeavyRun struct {
	alive
	oomBeforeAfter
	Pods                pods    `json:"pods"`
	DaemonSurvived      bool    `json:"daemon_survived"`
	StreamDone          bool    `json:"stream_done"`
	CacheBytes          float64 `json:"cache_bytes"`
	StreamS             float64 `json:"stream_s"`
	LimitBytes          float64 `json:"limit_bytes"`
	KubepodsPeakBytes   float64 `json:"kubepods_peak_bytes"`
	KubepodsFullStallUS float64 `json:"kubepods_full_stall_us"`
	KubepodsSomeStallUS float64 `json:"kubepods_some_stall_us"`
	GFullStallUS        float64 `json:"g_full_stall_us"`
}

func checkCacheHeavy(t *testing.T, r *R) {
	d := decodeResult[cacheHeavyRun](r, "run")
	be := d.Pods.of(t, "run.pods", "BE").UID
	var n, freed, forBE int
	for _, k := range r.otherRecords("run", "reclaimed page cache") {
		n++
		if k.str(vocab.PodUID) == be && k.str(vocab.Reason) == "relief-reclaim" && k.num(vocab.Freed) > 0 {
			forBE++
			freed += int(k.num(vocab.Freed))
		}
	}
	t.Logf("cache-heavy: streamed %.0f MiB in %.1f s through a %.0f MiB kubepods (peak %.0f MiB); kubepods stall full %.0f ms some %.0f ms; Guaranteed full stall %.0f ms",
		d.CacheBytes/(1<<20), d.StreamS, d.LimitBytes/(1<<20), d.KubepodsPeakBytes/(1<<20),
		d.KubepodsFullStallUS/1000, d.KubepodsSomeStallUS/1000, d.GFullStallUS/1000)
	t.Logf("cache-heavy: %d \"reclaimed page cache\" records, %d naming the BestEffort pod with freed > 0, %.1f MiB freed from it; kubepods max events %v -> %v",
		n, forBE, float64(freed)/(1<<20), d.Before.KubepodsMaxEvents, d.After.KubepodsMaxEvents)
	// How strained it was, from the daemon's debug records: the windows in
	// which relief started, and the longest streak of pressured windows.
	var shares []string
	maxPressured := 0
	for _, k := range r.otherRecords("run", "reclaimed page cache") {
		shares = append(shares, k.str(vocab.Stall))
	}
	for _, k := range r.otherRecords("run", "observation") {
		maxPressured = max(maxPressured, int(k.num(vocab.Pressured)))
	}
	t.Logf("cache-heavy: stall share of the windows that started a reclaim: %s; longest streak of pressured windows: %d (a kill needs 2)",
		strings.Join(shares, " "), maxPressured)
	isTrue(t, "run.daemon_survived", d.DaemonSurvived)
	isTrue(t, "run.stream_done", d.StreamDone)
	if d.After.KubepodsMaxEvents <= d.Before.KubepodsMaxEvents {
		t.Errorf("kubepods never hit memory.max: the scenario did not strain the node")
	}
	if forBE == 0 {
		t.Errorf("no \"reclaimed page cache\" record (reason relief-reclaim) names the BestEffort pod %s with freed_bytes > 0 (%d such records in all)", be, n)
	}
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s on a cache-heavy node", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)), k.str(vocab.Reason))
	}
	eq(t, "run.after.kubepods_oom_kill", d.After.KubepodsOOMKill, d.Before.KubepodsOOMKill)
	d.PodAlive.isTrue(t, "run.pod_alive", "G")
	d.PodAlive.isTrue(t, "run.pod_alive", "B")
	d.PodAlive.isTrue(t, "run.pod_alive", "BE")
}
