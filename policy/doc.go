// Package policy is where kube-oomd decides. Every decision is a pure
// function of what the daemon read (no I/O, no clock of its own) and is
// table-tested. The daemon calls one entry, in two phases (plan.go):
// Decide folds an observation into the State and says which pods it
// needs read (none, the relief candidates, or all); Choose, on those
// pods, returns one Plan: a kill (victims, targets, figures, or a typed
// NoVictim), a containment, the relief steps. Dry-run is a threshold:
// the plan says what would be done. Looks says when to look again.
//
//   - plan.go: Decide, Choose and Looks, the leak-under-throttle victim,
//     "one throttle at a time" (throttleDue) and the growth sampling.
//   - trigger.go: the relief ladder as configured (Ladder) and the PSI
//     trigger the decision asks for (Trigger).
//   - request.go infers a pod's memory request from what its cgroups show.
//   - protect.go says which pods are never killed, and why, and which
//     processes a kill spares (those at -1000).
//   - rank.go orders the candidates as the kubelet's eviction does (pods
//     over their request first), with the episode on top: a pod whose kill
//     can end the episode first, then a pod that grows; Victims chooses the
//     pod (or the fewest pods) to kill, never a bystander, and says why
//     when no one (NoVictim: all protected, none can free enough, none
//     grows); KillTarget is what a kill targets in each mode.
//   - growth.go follows each pod's unreclaimable memory across an episode:
//     the grower is the cause.
//   - decide.go is the decision: sustained pressure with memory near the
//     limit, a kernel OOM about to happen, unreclaimable memory predicted
//     to reach the limit within a window, or a throttled pod that keeps
//     pushing against its throttle (from the high counters in the
//     Observation); which relief step is due each window; when to look
//     again without an event. Record folds back what was done on a
//     verdict, a kill's outcome included (the cooldown never hands an
//     episode to the kernel). nearLimit is the one rule for "near the
//     limit", limited for "kubepods has a limit", nearLine for the
//     near-limit line. A Verdict is its Outcome, Steps, Figures and
//     Schedule.
//   - relief.go plans the relief ladder's steps (Relievable is the one
//     rule for "relief never touches Guaranteed"): whom to reclaim from and
//     how much, which pod to throttle and to what value and ceiling, and
//     how far each throttle is released.
//   - contain.go finds the shielded grower, a pod whose growing processes
//     a kill spares (-1000), and plans its containment: a memory.high at
//     or under its usage, held while it pushes, never a kill, and no
//     bystander killed for it.
//
// Nothing here reads, writes, kills or waits: the daemon reads, the
// killer and relief.Ladder act.
package policy
