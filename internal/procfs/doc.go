// Package procfs reads what kube-oomd needs from the proc file system, and
// is the one place that knows its files and their quirks, one file per
// /proc file (as prometheus/procfs does):
//
//   - meminfo.go: /proc/meminfo, MemTotal and MemAvailable (the node's
//     memory, for the near-limit line and the Burstable request formula);
//   - oom_score_adj.go: /proc/<pid>/oom_score_adj, which a process that
//     protects itself sets to -1000;
//   - statm.go: /proc/<pid>/statm's resident size, in pages of the
//     kernel's page size (cgroupv2.PageSize, passed in);
//   - osrelease.go: /proc/sys/kernel/osrelease, the kernel release;
//   - net_dev.go: /proc/self/net/dev, whether the daemon's network
//     namespace has only lo.
//
// Every reader takes the proc root (the daemon's --proc-root, /proc by
// default), so that tests hand it a fake /proc. A process that exits while
// its files are read is ErrNoProcess: the kernel answers ENOENT (its
// directory gone), ESRCH or ENODEV then, which this package sorts.
//
// It is internal: only kube-oomd's own packages read /proc (cgroupv2 for
// the processes of a pod and the kernel release, daemon for the node's
// memory and its network namespace), and its API is theirs to change.
package procfs
