package policy

import (
	"fmt"
	"path"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// SelfProtectedAdj is the oom_score_adj with which a process asks the
// kernel never to kill it. The kubelet never gives it to a pod's process:
// a process that has it set it itself (sshd does, and stress-ng run as
// root), and it is protected as the kernel protects it, one process at a
// time (see Spared).
const SelfProtectedAdj = -1000

// Protection returns why a pod must never be killed, or "" if it may be.
//   - Outside Guaranteed slices, a process at -997 or -999: the kubelet
//     gives node-critical pods -997 whatever their class, and runs itself
//     and the runtime at -999. The sandbox's -998 does not count, nor do
//     runtime helpers such as CRI-O's conmon.
//   - A cgroup path that matches one of the configured globs.
//
// A process at -1000 does not protect its pod (see Spared): the pod's
// other processes, the ones holding the memory, may still be killed.
//
// It vets every process of the pod's subtree, as cgroup.kill would reach
// them, which is what cgroupv2.Reader.ReadPod reads: each container's
// processes are those of its nested cgroups too (systemd or Docker inside
// the container), and Pod.Procs holds those of the pod's own cgroup and of
// its subdirectories that are no container. A sandbox is a container whose
// processes are all at -998, nested ones included. A kill vets the victim
// again on a fresh ReadPod just before it acts.
func Protection(p cgroupv2.Pod, globs []string) string {
	for _, g := range globs {
		if ok, _ := path.Match(g, p.Path); ok {
			return fmt.Sprintf("cgroup matches kill.protect %q", g)
		}
	}
	check := func(procs []cgroupv2.Process) string {
		for _, pr := range procs {
			if p.QoS != cgroupv2.Guaranteed && (pr.OOMScoreAdj == -997 || pr.OOMScoreAdj == -999) {
				return fmt.Sprintf("node-critical: pid %d has oom_score_adj %d in a %s pod", pr.PID, pr.OOMScoreAdj, p.QoS)
			}
		}
		return ""
	}
	for _, c := range p.Containers {
		if c.Helper || c.Sandbox() {
			continue
		}
		if why := check(c.Procs); why != "" {
			return why
		}
	}
	return check(p.Procs)
}

// Spared returns the processes of a pod that a kill must not signal: every
// process at -1000, and, when there is one, the pod's sandbox and runtime
// helpers too (killing the sandbox would make the kubelet tear the whole
// pod down, the spared process with it). With no process at -1000 it
// returns nil: the kill takes the whole cgroup. rss is the resident memory
// of the spared -1000 processes, which their pod's kill does not free.
func Spared(p cgroupv2.Pod) (pids []int, rss uint64) {
	var self []cgroupv2.Process // at -1000
	var helpers []int
	for _, c := range p.Containers {
		for _, pr := range c.Procs {
			switch {
			case pr.OOMScoreAdj == SelfProtectedAdj:
				self = append(self, pr)
			case c.Helper || c.Sandbox():
				helpers = append(helpers, pr.PID)
			}
		}
	}
	for _, pr := range p.Procs {
		if pr.OOMScoreAdj == SelfProtectedAdj {
			self = append(self, pr)
		}
	}
	if len(self) == 0 {
		return nil, 0
	}
	for _, pr := range self {
		pids = append(pids, pr.PID)
		rss += pr.RSS
	}
	return append(pids, helpers...), rss
}
