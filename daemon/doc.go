// Package daemon is `kube-oomd run`: the main loop that wires the observers
// (psi, cgroupv2) to the decision (policy) and the actors (killer, relief,
// systemd).
//
// One goroutine, the loop (loop.go), owns all of the daemon's state. It
// waits for PSI trigger events, pod changes from inotify, its timers, config
// reloads and status requests; it reads kubepods, asks policy.Decide for a
// decision, reads the pods that decision needs, and asks policy.Choose for
// the plan. It decides nothing itself, and never acts itself: a kill, reclaim writes and memory.high changes (D-Bus calls
// to PID 1 included) run on the action worker (actions.go), one at a time,
// each with a deadline, and report back to the loop, which logs them. So
// the loop keeps petting systemd's watchdog and answering `kube-oomd
// status` while an action is in flight.
//
// Each concern has one file and one owner:
//   - daemon.go: start-up (the instance lock, then the undo of what a
//     crashed run left frozen, lowered or throttled, before the config is
//     read, then the config, kernel checks, the kubelet's cgroup, features,
//     triggers, pods, the relief ladder) and a clean stop.
//   - lock.go: one daemon at a time, per run directory.
//   - loop.go: the loop, the observation, the reads a decision needs
//     (policy.Need) and the dispatch of the plan (policy.Plan); its timers
//     as policy.Looks says.
//   - thresholds.go: the one place that turns the config into policy's
//     thresholds (dry-run among them), the ladder and the trigger to
//     register, and the ranking of `kube-oomd pods` (Rank).
//   - triggers.go: the PSI triggers (registration, window fallback, events).
//   - pods.go: the pod tracker (pods coming and going, kernel OOM kills,
//     and those a kill with kill.method oom induced, which are the kill's).
//   - names.go: the pods' names from the container runtime (cri.Resolver),
//     asked for in the background, never waited on.
//   - actions.go: the action worker.
//   - kill.go: the kill action (the victims policy chose, policy.KillPlan,
//     one after the other, each with the last check right before its kill, which also
//     names the processes to spare), its report back to policy and a look
//     again at once, the kill history, and the thaw of what a crash left
//     frozen and the memory.max it left lowered (at start, and at each
//     rescan what a kill of this run could not undo).
//   - relief.go: the relief ladder's actions (relief.Ladder carries them
//     out), the containment of a shielded grower on a kill verdict among
//     them (act, in loop.go, contains before it kills).
//   - status.go: `kube-oomd status`, served off the loop from its snapshot.
//   - metrics.go: the Prometheus endpoint (metrics.listen), opened at
//     start; the loop reports each event to the metrics package where it
//     records it, and a scrape reads only the registry, never the tree.
//   - reload.go: SIGHUP and config edits (the file and its drop-in directory).
//   - node.go: opening the node (the memory controller, the kubelet's
//     cgroup, its reader, the runtime's socket), for `run` and `pods`
//     alike; ScanPods is `kube-oomd pods`.
//   - logging.go: the reason codes, the record's attribute groups, the
//     logger. Every field name and MESSAGE_ID is internal/vocab's.
//
// Time comes from a clock.Clock, so that tests step it instead of sleeping.
package daemon
