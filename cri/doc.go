// Package cri names the pods: it asks the container runtime, over the CRI
// (the kubelet's gRPC API, runtime.v1, on the runtime's unix socket), for
// each pod's namespace and name and its containers' names.
//
// It is an observer, like psi and cgroupv2: the cgroup tree knows a pod by
// its UID and a container by its ID only, and the CRI is the one place on
// the node that knows the rest without the API server. containerd (1.6 and
// later) and CRI-O serve runtime.v1; the kubelet need not be up.
//
// The daemon never waits on the runtime. A Resolver answers Lookup from
// what it holds, at once; a pod or container it does not know yet starts
// one refresh in a goroutine of its own (Want), bounded by a timeout, and
// one listing of sandboxes and containers names every pod at once. A
// runtime that is missing or slow leaves the pods named by UID: the
// Resolver reports it once, tries again no more often than its retry
// interval, and reports once when the runtime answers again.
//
// The sandbox's own ID (the pause container's cgroup) is known, with the
// empty name: it is no container of the pod's spec.
package cri
