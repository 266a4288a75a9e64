//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

func init() { register("17", gateAndCompare, checkTwoLeakers) }

func checkTwoLeakers(t *testing.T, r *R) {
	d, th := episodeOf(t, r, "daemon"), episodeOf(t, r, "throttled")
	printEpisodeTable(t, "scenario 17: a BestEffort and a Burstable leaker (20 MiB/s each) start together",
		withKernel(t, r, "kernel", d, th)...)
	episodeChecks(t, d, true)
	episodeChecks(t, th, true)
	// The third run's premise: L2 throttled while L1 still lived, so that
	// after L1's kill the throttle had to be released far from the limit
	// (or L2 killed), not held while L2 stalled at it.
	l2 := th.x.Ep.Pods["L2"]
	l1Dead, dead := th.x.Ep.Deaths["L1-app"]
	if l2.FirstS == nil || !dead || *l2.FirstS >= l1Dead {
		t.Errorf("throttled: L2 throttled at %v, L1 dead at %v (s since boot): the run did not throttle L2 before L1's kill, so it proved nothing",
			orNil(l2.FirstS), show(l1Dead, dead))
		return
	}
	l2At := *l2.FirstS
	var released []string
	for _, x := range r.otherRecords("throttled", "throttle released") {
		if x.str(vocab.PodUID) == th.uid("L2") {
			released = append(released, x.str(vocab.Reason)+" after "+x.str(vocab.ThrottledFor))
		}
	}
	t.Logf("throttled: L2 throttled %.1f s before L1's kill, memory.high other than max for %v s; released: %s; L2 %s",
		l1Dead-l2At, l2.ThrottledS, strings.Join(released, ", "), th.hand("L2"))
}
