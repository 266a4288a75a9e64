// Package policy is where kube-oomd decides. Every decision is a pure
// function of what the daemon read (no I/O, no clock of its own) and is
// table-tested:
//
//   - request.go infers a pod's memory request from what its cgroups show.
//   - protect.go says which pods are never killed, and why.
//   - rank.go orders the candidates (BestEffort, then Burstable, then
//     Guaranteed; within a class by usage above request, then working set;
//     candidates too small to help come last), says how far the daemon
//     must read candidates (ReadOrder, Settled) and what a kill targets
//     in each mode (KillTarget).
//   - decide.go is the decision: sustained pressure with memory near the
//     limit, a kernel OOM about to happen, or a throttled pod that keeps
//     pushing against its throttle (from the high counters in the
//     Observation); and which relief step is due each window. Record folds
//     back what was done on a verdict. nearLimit is the one rule for "near
//     the limit".
//   - relief.go plans the relief ladder's steps: whom to reclaim from and
//     how much, which pod to throttle and to what value and ceiling, and
//     how far each throttle is released.
//
// Nothing here reads, writes, kills or waits: the daemon reads, the
// killer and relief.Ladder act.
package policy
