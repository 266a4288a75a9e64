// Package daemon is `kube-oomd run`: the main loop that wires the observers
// (psi, cgroupv2) to the decision (policy) and the actors (killer, relief,
// systemd).
//
// The daemon is three owners, each with its own type:
//   - the loop (Daemon, loop.go) keeps only what it observes (observed:
//     the node, the kernel's features, the triggers, the pods) and the
//     decision's state (decision). One goroutine runs it. It waits for
//     PSI trigger events, pod changes from inotify, its timers, config
//     reloads, status requests and the actor's reports; it reads kubepods,
//     asks policy.Decide for a decision, reads the pods that decision
//     needs, and asks policy.Choose for the plan. It decides nothing
//     itself, and never acts itself, nor waits on an action.
//   - the actor (actor.go) owns the worker, the killer's settings and its
//     records of frozen cgroups and lowered limits, the relief ladder and
//     the D-Bus unit setter. It takes the plan and runs each action on the
//     worker, one at a time, each with a deadline; a job touches nothing
//     of the loop's, and reports back a typed report (KillReport,
//     ReliefReport, PutBackReport), which the loop folds into its state
//     (settle). So the loop keeps petting systemd's watchdog and answering
//     `kube-oomd status` while an action is in flight.
//   - the recorder (recorder.go) owns the logger, the metrics, the kill
//     history, the notifier and the pods' names. It is the only code that
//     turns a plan or a report into a journal record, a metric, a status
//     row (the kill history) and the STATUS= line.
//
// Tests put their own sources in place of the node's (Options.test, a
// seams value): a triggerSource, a podSource, a relief.Setter, SIGHUP and
// the status socket.
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
//     register, and the rank settings (rankConfig).
//   - triggers.go: the PSI triggers (registration, window fallback,
//     events), from a triggerSource.
//   - pods.go: the pod tracker (pods coming and going, from a podSource,
//     kernel OOM kills, and those a kill with kill.method oom induced,
//     which are the kill's).
//   - names.go: the pods' names from the container runtime (cri.Resolver),
//     asked for in the background, never waited on.
//   - actor.go: the actor, its worker, its jobs and their reports; the
//     killer's target for each victim (with the last check right before
//     its kill, which also names the processes to spare).
//   - recorder.go: the recorder, the kill record (KillRecord) and history,
//     and every record of a kill, a relief step and a put-back.
//   - kill.go: the loop's side of a kill (policy.KillPlan): the kills
//     prepared and handed to the actor, its report folded back into
//     policy's state and a look again at once; the thaw of what a crash
//     left frozen and the memory.max it left lowered (at start, and at
//     each rescan what a kill of this run could not undo).
//   - relief.go: the loop's side of the relief ladder's steps and of the
//     containment of a shielded grower on a kill verdict (the kill is
//     handed to the actor first).
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
