// Package cgroupv2 observes the kubelet's pod cgroups on a cgroup v2 host.
//
// It knows the kubelet's layout under both cgroup drivers (layout.go), reads
// the kernel's cgroup interface files (files.go, memory.go), reads what /proc
// says about the host and its processes (host.go), turns one pod directory
// into a Pod (pod.go), scans the whole tree (scan.go) and follows pods as they
// come and go (watch.go).
//
// It only reads. Deciding is the policy package's job; acting is killer's.
package cgroupv2
