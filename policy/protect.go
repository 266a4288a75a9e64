package policy

import (
	"fmt"
	"path"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// Protection returns why a pod must never be killed, or "" if it may be.
//   - A process at oom_score_adj -1000 (the kernel's "never kill me").
//   - Outside Guaranteed slices, a process at -997 or below: the kubelet
//     gives node-critical pods -997 whatever their class. Sandboxes (-998)
//     and runtime helpers such as CRI-O's conmon do not count.
//   - A cgroup path that matches one of the configured globs.
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
			switch {
			case pr.OOMScoreAdj == -1000:
				return fmt.Sprintf("pid %d has oom_score_adj -1000", pr.PID)
			case p.QoS != cgroupv2.Guaranteed && pr.OOMScoreAdj <= -997:
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
