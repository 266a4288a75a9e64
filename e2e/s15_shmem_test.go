//go:build e2e

package e2e

import "testing"

func checkShmem(t *testing.T, r *R) {
	sd, fd := episodeOf(t, r, "shm_daemon"), episodeOf(t, r, "fast_daemon")
	printEpisodeTable(t, "scenario 15 shm: a BestEffort pod leaks 20 MiB/s into a memfd (shmem)",
		withKernel(t, r, "shm_kernel", sd)...)
	printEpisodeTable(t, "scenario 15 fast: a BestEffort pod leaks 90 MiB/s of anonymous memory beside ten idle pods",
		withKernel(t, r, "fast_kernel", fd)...)
	episodeChecks(t, sd, true)
	episodeChecks(t, fd, false)
}

func init() { register("15", gateAndCompare, checkShmem) }
