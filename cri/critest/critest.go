// Package critest is a fake container runtime for tests: it serves the
// CRI's ListPodSandbox and ListContainers on a unix socket, as containerd
// and CRI-O do, from pods the test adds.
package critest

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is the fake runtime. While held (Hold), ListPodSandbox answers
// only once released.
type Runtime struct {
	runtimeapi.UnimplementedRuntimeServiceServer

	mu         sync.Mutex
	sandboxes  []*runtimeapi.PodSandbox
	containers []*runtimeapi.Container
	hold       chan struct{} // nil: answer at once
	entered    chan struct{}
	calls      atomic.Int32 // ListPodSandbox calls
}

// New returns a runtime with no pods.
func New() *Runtime { return &Runtime{entered: make(chan struct{}, 64)} }

// AddPod adds a pod: its sandbox, and its containers by ID and name.
func (f *Runtime) AddPod(uid, namespace, name, sandboxID string, containers map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sandboxes = append(f.sandboxes, &runtimeapi.PodSandbox{Id: sandboxID,
		Metadata: &runtimeapi.PodSandboxMetadata{Uid: uid, Namespace: namespace, Name: name}})
	for id, n := range containers {
		f.containers = append(f.containers, &runtimeapi.Container{Id: id, PodSandboxId: sandboxID,
			Metadata: &runtimeapi.ContainerMetadata{Name: n}})
	}
}

// Hold makes ListPodSandbox wait until release is called (or its caller
// gives up).
func (f *Runtime) Hold() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan struct{})
	f.hold = c
	var once sync.Once
	return func() { once.Do(func() { close(c) }) }
}

// Entered receives once for each ListPodSandbox call, as it arrives.
func (f *Runtime) Entered() <-chan struct{} { return f.entered }

// Calls is how many times ListPodSandbox was called.
func (f *Runtime) Calls() int { return int(f.calls.Load()) }

func (f *Runtime) ListPodSandbox(ctx context.Context, _ *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f.calls.Add(1)
	select {
	case f.entered <- struct{}{}:
	default:
	}
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &runtimeapi.ListPodSandboxResponse{Items: f.sandboxes}, nil
}

func (f *Runtime) ListContainers(context.Context, *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &runtimeapi.ListContainersResponse{Containers: f.containers}, nil
}

// Serve serves f on a unix socket at path until the test ends.
func Serve(tb testing.TB, path string, f *Runtime) {
	tb.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	s := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(s, f)
	go s.Serve(ln)
	tb.Cleanup(s.Stop)
}

// Socket is a socket's path in a new temporary directory.
func Socket(tb testing.TB) string { return filepath.Join(tb.TempDir(), "cri.sock") }

// AddTreePod adds a pod of a cgrouptest tree, as the tree has it: its
// sandbox, and its containers (the runtime's monitors left out), which get
// the names given, in cgroup order. It returns those containers.
func (f *Runtime) AddTreePod(tb testing.TB, tree *cgrouptest.Tree, uid string, q cgroupv2.QoS, namespace, name string, names ...string) []cgroupv2.Container {
	tb.Helper()
	pod, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(cgroupv2.PodRef{UID: uid, QoS: q, Path: tree.PodPath(uid, q)})
	if err != nil {
		tb.Fatal(err)
	}
	var sandbox string
	var named []cgroupv2.Container
	ids := map[string]string{}
	for _, c := range pod.Containers {
		switch {
		case c.Helper:
		case c.Sandbox():
			sandbox = c.ID
		case len(named) < len(names):
			ids[c.ID] = names[len(named)]
			named = append(named, c)
		}
	}
	f.AddPod(uid, namespace, name, sandbox, ids)
	return named
}
