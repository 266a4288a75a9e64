package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/policy"
	"github.com/kube-oomd/kube-oomd/systemd"
)

// node is the node as kube-oomd opens it, for `run` and `pods` alike: the
// kubelet's pod cgroup (its layout) and a reader of it.
type node struct {
	layout cgroupv2.Layout
	reader *cgroupv2.Reader
}

// openNode opens the node: it checks that the kernel has what kube-oomd
// reads (cgroup v2 with the memory controller), finds the kubelet's pod
// cgroup as [cgroup] says, and returns a reader of it. The error wraps
// cgroupv2.ErrNoKubepods while the kubelet has not made its cgroup yet.
func openNode(cgroupRoot, procRoot string, c config.CgroupConfig) (node, error) {
	if err := cgroupv2.CheckMemoryController(cgroupRoot); err != nil {
		return node{}, err
	}
	l, err := cgroupv2.DetectLayout(cgroupRoot, c.Kubepods, cgroupv2.Driver(c.Driver))
	if err != nil {
		return node{layout: l}, err
	}
	return node{layout: l, reader: cgroupv2.NewReader(l, procRoot)}, nil
}

// runtimeSocket is the CRI socket runtime.endpoint names: the first of the
// usual sockets that is there, for "auto".
func runtimeSocket(rc config.RuntimeConfig) (string, error) {
	if rc.Endpoint == config.EndpointAuto {
		return cri.FindSocket(cri.DefaultSockets())
	}
	return rc.Endpoint, nil
}

// PodsNow is `kube-oomd pods`: one scan of the live tree, ranked as the
// daemon would rank it now.
type PodsNow struct {
	Rows []PodRow // ranked; rank 1 is the next victim
	// Unread are the pods that could not be read, left out of the
	// ranking as the daemon leaves them out.
	Unread []UnreadPod
	// Runtime is why the pods are named by UID only (nil: the runtime
	// answered, or runtime.endpoint is "none").
	Runtime error
}

// UnreadPod is a pod that could not be read: Err names the file and what
// is wrong.
type UnreadPod struct {
	UID, QoS string
	Err      error
}

// ScanPods opens the node as the daemon does, reads every pod once, ranks
// them as the daemon would rank them now (one look has no episode: no
// growth, nothing to shed) and asks the container runtime once, within
// runtime.timeout, for their names. It fails when the node cannot be
// opened, or when no pod at all could be read.
func ScanPods(ctx context.Context, cgroupRoot, procRoot string, cfg config.Config) (PodsNow, error) {
	n, err := openNode(cgroupRoot, procRoot, cfg.Cgroup)
	if err != nil {
		return PodsNow{}, err
	}
	snap, err := n.reader.Scan()
	var unread cgroupv2.PodErrors
	if err != nil && !errors.As(err, &unread) {
		return PodsNow{}, err
	}
	var out PodsNow
	for _, pe := range unread {
		out.Unread = append(out.Unread, UnreadPod{UID: pe.Ref.UID, QoS: pe.Ref.QoS.String(), Err: pe.Err})
	}
	if len(unread) > 0 && len(snap.Pods) == 0 {
		return out, fmt.Errorf("could read none of the %d pods", len(unread))
	}
	ranked := policy.Rank(snap.Pods, rankConfig(cfg, snap.Host.MemTotal), policy.Episode{})
	var names cri.Index
	names, out.Runtime = askRuntime(ctx, cfg.Runtime)
	out.Rows = PodRows(ranked, names)
	return out, nil
}

// askRuntime asks the container runtime once for the pods' names.
func askRuntime(ctx context.Context, rc config.RuntimeConfig) (cri.Index, error) {
	if rc.Endpoint == config.EndpointNone {
		return nil, nil
	}
	socket, err := runtimeSocket(rc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, rc.Timeout)
	defer cancel()
	return cri.List(ctx, socket)
}

// SystemdNotifier is the Notifier of a daemon that systemd runs: readiness,
// status and the watchdog, on $NOTIFY_SOCKET (none without it).
func SystemdNotifier() systemd.Notifier { return systemd.NewNotifier() }
