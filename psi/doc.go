// Package psi reads and watches Linux pressure stall information (PSI) for
// memory: the whole machine's /proc/pressure/memory and each cgroup2
// directory's memory.pressure.
//
// Reading is Parse and ReadFile (parse.go); Probe checks at start-up that the
// kernel has PSI and that it is switched on (probe.go). A Trigger asks the
// kernel to signal when stall time within a window exceeds a threshold
// (trigger.go), and a Watcher waits on many triggers at once with epoll
// (watch.go). TryTrigger (trigger.go) installs and removes one trigger to
// learn what the kernel accepts; cgroupv2.ProbeFeatures uses it at start.
//
// Kernel facts this package relies on (Documentation/accounting/psi.rst):
//   - Triggers need Linux 5.2+; PSI itself 4.20+ with CONFIG_PSI.
//   - One trigger per open file; closing the file removes the trigger.
//   - Without CAP_SYS_RESOURCE the window must be a multiple of 2 s, or the
//     trigger write fails with EINVAL. OpenTrigger adjusts for that.
//   - A trigger whose cgroup is removed polls as POLLERR (together with
//     POLLPRI, and for as long as the file stays open); rmdir does not wait
//     for open trigger files. Writing 0 to the cgroup's cgroup.pressure does
//     the same. The Watcher reports it once as Event.Gone and drops the
//     trigger.
//   - With PSI compiled in but off (psi=0, CONFIG_PSI_DEFAULT_DISABLED),
//     reads and trigger writes fail with EOPNOTSUPP: ErrDisabled. Recent
//     kernels do not even create /proc/pressure then; Probe reads
//     /proc/cmdline to tell psi=0 from a kernel without CONFIG_PSI.
//
// The package logs nothing and holds no state outside the values it returns.
package psi
