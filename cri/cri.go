package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod is what the runtime says of one pod.
type Pod struct {
	UID       string
	Namespace string
	Name      string
	// Containers maps each container's ID, as in its cgroup's name
	// (cri-containerd-<id>.scope, crio-<id>.scope, or the bare ID), to its
	// name in the pod's spec; a sandbox's ID maps to "".
	Containers map[string]string
}

// Container returns the name of the pod's container with the ID: "" for
// the pod's sandbox (the pause container). ok is false for an ID the
// runtime did not list.
func (p Pod) Container(id string) (name string, ok bool) {
	name, ok = p.Containers[id]
	return name, ok
}

// Index is what one listing found: pods by UID.
type Index map[string]Pod

// Lookup returns the pod with the UID.
func (x Index) Lookup(uid string) (Pod, bool) {
	p, ok := x[uid]
	return p, ok
}

// DefaultSockets are the sockets tried, in order, when no endpoint is set:
// containerd's, then CRI-O's.
func DefaultSockets() []string {
	return []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock"}
}

// ErrNoSocket says that none of the sockets tried exists.
var ErrNoSocket = errors.New("no container runtime socket")

// Error is a runtime that could not be asked: its socket, and what went
// wrong (ErrNoSocket, a missing socket, a gRPC error, a deadline).
type Error struct {
	Endpoint string // the socket asked, or the sockets tried
	Err      error
}

func (e *Error) Error() string { return fmt.Sprintf("container runtime at %s: %v", e.Endpoint, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// FindSocket returns the first of candidates that exists and is a socket.
func FindSocket(candidates []string) (string, error) {
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == fs.ModeSocket {
			return p, nil
		}
	}
	return "", &Error{Endpoint: strings.Join(candidates, ", "), Err: ErrNoSocket}
}

// maxMessage bounds one answer: a node's thousand containers are far less.
const maxMessage = 16 << 20

// List asks the runtime at socket, a unix socket's path, for every pod
// sandbox and container, once, within ctx. A pod is listed by the UID the
// kubelet gave it; a pod whose sandbox has no metadata is left out.
func List(ctx context.Context, socket string) (Index, error) {
	if _, err := os.Stat(socket); err != nil {
		return nil, &Error{Endpoint: socket, Err: err}
	}
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return nil, &Error{Endpoint: socket, Err: err}
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	sandboxes, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, &Error{Endpoint: socket, Err: fmt.Errorf("ListPodSandbox: %w", err)}
	}
	containers, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, &Error{Endpoint: socket, Err: fmt.Errorf("ListContainers: %w", err)}
	}
	return index(sandboxes.GetItems(), containers.GetContainers()), nil
}

// index joins sandboxes and containers into pods by UID.
func index(sandboxes []*runtimeapi.PodSandbox, containers []*runtimeapi.Container) Index {
	x := Index{}
	uidOf := map[string]string{} // sandbox ID: pod UID
	for _, s := range sandboxes {
		m := s.GetMetadata()
		if m.GetUid() == "" {
			continue
		}
		uidOf[s.GetId()] = m.GetUid()
		p, ok := x[m.GetUid()]
		if !ok {
			p = Pod{UID: m.GetUid(), Containers: map[string]string{}}
		}
		// A pod may have more than one sandbox (a recreated one, with a
		// higher attempt): each is the pod's.
		p.Namespace, p.Name = m.GetNamespace(), m.GetName()
		p.Containers[s.GetId()] = ""
		x[p.UID] = p
	}
	for _, c := range containers {
		uid, ok := uidOf[c.GetPodSandboxId()]
		if !ok {
			continue
		}
		x[uid].Containers[c.GetId()] = c.GetMetadata().GetName()
	}
	return x
}
