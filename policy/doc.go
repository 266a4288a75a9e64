// Package policy decides, with pure functions and no I/O, whether kube-oomd
// must act and which pod goes first.
//
//   - request.go infers a pod's memory request from what its cgroups show.
//   - protect.go says which pods are never killed, and why.
//   - rank.go orders the candidates: BestEffort, then Burstable, then
//     Guaranteed; within a class by usage above request, then working set;
//     candidates too small to help come last.
//   - decide.go is the kill decision: sustained pressure and memory near the
//     limit, or a kernel OOM that is about to happen.
//
// Everything here is a function of a snapshot the cgroupv2 package read;
// nothing here reads, writes or kills.
package policy
