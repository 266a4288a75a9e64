//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("08", gate, checkCacheHeavy) }

func checkCacheHeavy(t *testing.T, r *R) {
	be := r.str("run.pods.BE.uid")
	var n, freed, forBE int
	for _, k := range r.otherRecords("run", "reclaimed page cache") {
		n++
		if k.str(vocab.PodUID) == be && k.str(vocab.Reason) == "relief-reclaim" && k.num(vocab.Freed) > 0 {
			forBE++
			freed += int(k.num(vocab.Freed))
		}
	}
	t.Logf("cache-heavy: streamed %.0f MiB in %.1f s through a %.0f MiB kubepods (peak %.0f MiB); kubepods stall full %.0f ms some %.0f ms; Guaranteed full stall %.0f ms",
		r.num("run.cache_bytes")/(1<<20), r.num("run.stream_s"), r.num("run.limit_bytes")/(1<<20), r.num("run.kubepods_peak_bytes")/(1<<20),
		r.num("run.kubepods_full_stall_us")/1000, r.num("run.kubepods_some_stall_us")/1000, r.num("run.g_full_stall_us")/1000)
	t.Logf("cache-heavy: %d \"reclaimed page cache\" records, %d naming the BestEffort pod with freed > 0, %.1f MiB freed from it; kubepods max events %v -> %v",
		n, forBE, float64(freed)/(1<<20), r.get("run.before.kubepods_max_events"), r.get("run.after.kubepods_max_events"))
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
	r.isTrue("run.daemon_survived")
	r.isTrue("run.stream_done")
	if r.num("run.after.kubepods_max_events") <= r.num("run.before.kubepods_max_events") {
		t.Errorf("kubepods never hit memory.max: the scenario did not strain the node")
	}
	if forBE == 0 {
		t.Errorf("no \"reclaimed page cache\" record (reason relief-reclaim) names the BestEffort pod %s with freed_bytes > 0 (%d such records in all)", be, n)
	}
	for _, k := range r.records("run", "kill") {
		t.Errorf("kube-oomd killed pod %s (%s) reason=%s on a cache-heavy node", k.str(vocab.PodUID), r.podName("run", k.str(vocab.PodUID)), k.str(vocab.Reason))
	}
	r.eq("run.after.kubepods_oom_kill", r.num("run.before.kubepods_oom_kill"))
	r.isTrue("run.pod_alive.G")
	r.isTrue("run.pod_alive.B")
	r.isTrue("run.pod_alive.BE")
}
