// Package cgroupv2 observes the kubelet's pod cgroups on a cgroup v2 host,
// and is where kube-oomd keeps what it knows about the kernel.
//
// It knows the kubelet's layout under both cgroup drivers (layout.go), reads
// the kernel's cgroup interface files (files.go, memory.go), reads what /proc
// says about the host and its processes (host.go), turns one pod directory
// into a Pod (pod.go), scans the whole tree (scan.go) and follows pods as they
// come and go (watch.go).
//
// It only reads (but for ProbeFeatures' trial PSI trigger, removed at
// once). Deciding is the policy package's job; acting is killer's
// and relief's, which ask this package the kernel questions below rather
// than answer them again.
//
// # Kernel facts, and where they are handled
//
//   - What the kernel offers (features.go): Features, probed once at start by
//     ProbeFeatures and passed around as a value: the release, the page
//     size, which of cgroup.kill (5.14+), cgroup.freeze (5.2+),
//     memory.reclaim (5.19+) and memory.events.local (5.2+) exist, and
//     whether PSI trigger windows must be multiples of 2 s (no
//     CAP_SYS_RESOURCE: a 1 s trigger gets EINVAL).
//   - Memory limits are kept in pages (features.go): a value written to
//     memory.high or memory.max reads back rounded down to the page size
//     (4 KiB is wrong on 16K/64K-page arm64 kernels), and clamped to "max"
//     at PAGE_COUNTER_MAX: RoundLimit.
//   - "max" (files.go): limit files say "max" for no limit; ParseUint reads
//     it as Unlimited and FormatLimit writes it back.
//   - A cgroup that is gone (files.go): Classify is the one rule. ENOENT on
//     a directory, or on a file whose directory is gone too, or ENODEV (a
//     file that was open when its cgroup was removed) wraps ErrGone; a file
//     missing from a live cgroup (cgroup.pressure 0, a controller off)
//     wraps ErrMissingFile; EMFILE, EACCES, ENOMEM and the rest are real
//     errors that name the path.
//   - A cgroup's identity (files.go): ID, the directory's inode number,
//     which is the kernel's cgroup ID and never reused while it runs.
//   - Kernel files hand over their text in one read (files.go), which is
//     how a full scan reads tens of thousands of them cheaply.
//   - The working set (memory.go) is memory.current minus inactive_file,
//     as the kubelet computes it.
//
// # Why not github.com/containerd/cgroups/v3
//
// The obvious library for cgroup v2 (containerd/cgroups/v3, cgroup2
// package) was measured against this package and left out. What kube-oomd
// needs that it lacks:
//   - PSI triggers: it reads memory.pressure's averages, but cannot
//     register a trigger (an O_RDWR|O_NONBLOCK open, the "some|full STALL
//     WINDOW" write, POLLPRI) — the daemon's very input;
//   - memory.events.local: it reads only the hierarchical memory.events,
//     which cannot tell kubepods' own limit from a pod's;
//   - memory.reclaim: not offered (relief's first step);
//   - "max": its Update writes -1 for no limit, which the kernel rejects,
//     so a throttle could not be given back through it;
//   - a deadline: its Freeze() waits for the cgroup to report frozen with
//     no timeout, where the killer must bound every wait.
//
// And it costs more for what both can do: a full scan of 1,000 pods of
// 3 containers (BenchmarkScan) allocated about 9 times the bytes through
// it (its Stat fills every controller's statistics and parses them into a
// protobuf-generated struct; this package reads the few files it needs
// into one reused buffer), and it added 1.1 MB to the static binary. So
// the kernel's cgroup files are read here, each quirk in one place, and
// the dependency is not taken.
package cgroupv2
