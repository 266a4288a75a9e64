package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/cri"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
)

// Names: the pods' namespaces and names, and their containers' names, as
// the container runtime says them (cri.Resolver). The daemon asks for them
// when a pod appears, when it reads pods, and on the rescan (for the pods
// still unnamed), and never waits for them: a record names a pod by its
// UID always, and by namespace and name once the runtime said them.

// namesRetry is the least time between two questions to a runtime that
// failed, or for a pod it did not list: a minute, or cgroup.rescan_interval
// if that is longer.
func namesRetry(cfg config.Config) time.Duration {
	return max(time.Minute, cfg.Cgroup.RescanInterval)
}

// runtimeState is what the resolver reports of the runtime: it cannot be
// asked (err), or it answers (nil).
type runtimeState struct {
	socket string
	err    error
}

// newNames returns the resolver that runtime.endpoint asks for, or nil
// when it is "none", and the channel on which the loop hears, once each
// time, that the runtime cannot be asked and that it answers (again): the
// loop logs it (logRuntime), with the logger in force.
func (d *Daemon) newNames(ctx context.Context) (*cri.Resolver, <-chan runtimeState) {
	rc := d.cfg.Runtime
	if rc.Endpoint == config.EndpointNone {
		d.log.Info("runtime.endpoint is \"none\": pods are named by UID only")
		return nil, nil
	}
	states := make(chan runtimeState, 1)
	return cri.NewResolver(ctx, cri.Options{
		Socket: rc.Endpoint, Timeout: rc.Timeout, Retry: namesRetry(d.cfg), Clock: d.clock,
		Report: func(socket string, err error) {
			select {
			case states <- runtimeState{socket, err}:
			case <-ctx.Done():
			}
		},
	}), states
}

// logRuntime logs what the resolver reported of the runtime.
func (d *Daemon) logRuntime(s runtimeState) {
	d.metrics.RuntimeUp(s.err == nil)
	if s.err != nil {
		d.log.Warn("cannot ask the container runtime for the pods' names: pods are named by UID only until it answers; "+
			"set runtime.endpoint to its CRI socket, or to \"none\"",
			vocab.Runtime, s.socket, vocab.Error, s.err, vocab.Retry, namesRetry(d.cfg).String())
		return
	}
	d.log.Info("the container runtime answers: pods are named by namespace and name", vocab.Runtime, s.socket)
}

// wantNames asks for the names of pods just read and of their containers
// (the runtime's monitors left out): the runtime is asked, in the
// background, only for what it has not named yet.
func wantNames(names *cri.Resolver, pods []cgroupv2.Pod) {
	if names == nil {
		return
	}
	for _, p := range pods {
		names.Want(p.UID, containerIDs(p)...)
	}
}

func containerIDs(p cgroupv2.Pod) []string {
	ids := make([]string, 0, len(p.Containers))
	for _, c := range p.Containers {
		if !c.Helper {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// containerNames are the names of a pod's containers that the runtime
// named, in cgroup order: its sandbox and the runtime's monitors left out.
func containerNames(p cgroupv2.Pod, n cri.Pod) []string {
	out := []string{} // [] in JSON, not null
	for _, c := range p.Containers {
		if name, ok := n.Container(c.ID); ok && name != "" && !c.Helper {
			out = append(out, name)
		}
	}
	return out
}

// pod names a pod in a record, with its namespace and name if known.
func (d *recorder) pod(uid, qos, cgroup string) slog.Attr {
	n, _ := d.names.Lookup(uid)
	return podAttrs(uid, qos, cgroup, n)
}

func (d *recorder) podRef(r cgroupv2.PodRef) slog.Attr { return d.pod(r.UID, r.QoS.String(), r.Path) }
