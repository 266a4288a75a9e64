//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("17", gateAndCompare, checkTwoLeakers) }

func checkTwoLeakers(t *testing.T, r *R) {
	d, th := episodeRun{r, "daemon"}, episodeRun{r, "throttled"}
	printEpisodeTable(t, "scenario 17: a BestEffort and a Burstable leaker (20 MiB/s each) start together",
		withKernel(t, episodeRun{r, "kernel"}, d, th)...)
	episodeChecks(t, d, true)
	episodeChecks(t, th, true)
	// The third run's premise: L2 throttled while L1 still lived, so that
	// after L1's kill the throttle had to be released far from the limit
	// (or L2 killed), not held while L2 stalled at it.
	l2At, throttled := r.get("throttled.ep.pods.L2.first_s").(float64)
	l1Dead, dead := r.get("throttled.ep.deaths.L1-app").(float64)
	if !throttled || !dead || l2At >= l1Dead {
		t.Errorf("throttled: L2 throttled at %v, L1 dead at %v (s since boot): the run did not throttle L2 before L1's kill, so it proved nothing",
			r.get("throttled.ep.pods.L2.first_s"), r.get("throttled.ep.deaths.L1-app"))
		return
	}
	var released []string
	for _, x := range r.otherRecords("throttled", "throttle released") {
		if x.str(vocab.PodUID) == th.uid("L2") {
			released = append(released, x.str(vocab.Reason)+" after "+x.str(vocab.ThrottledFor))
		}
	}
	t.Logf("throttled: L2 throttled %.1f s before L1's kill, memory.high other than max for %v s; released: %s; L2 %s",
		l1Dead-l2At, r.get("throttled.ep.pods.L2.throttled_s"), strings.Join(released, ", "), th.hand("L2"))
}
