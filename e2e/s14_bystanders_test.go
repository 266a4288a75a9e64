//go:build e2e

package e2e

import "testing"

func checkBystanders(t *testing.T, r *R) {
	d := episodeOf(t, r, "daemon")
	printEpisodeTable(t, "scenario 14: a Burstable leaker (request 100 MiB, 20 MiB/s) beside idle BestEffort pods of 60, 150 and 300 MiB",
		withKernel(t, r, "kernel", d)...)
	episodeChecks(t, d, true)
}

func init() { register("14", gateAndCompare, checkBystanders) }
