// Package cgroupv2 observes the kubelet's pod cgroups on a cgroup v2 host,
// writes to them for the actors, and is where kube-oomd keeps what it
// knows about the kernel's cgroup interface, both ways.
//
// It knows the kubelet's layout under both cgroup drivers (layout.go),
// turns one pod directory into a Pod (pod.go), scans the whole tree
// (scan.go) and follows pods as they come and go (watch.go). What /proc
// says about the host and its processes is internal/procfs's.
//
// One file per kernel file, as prometheus/procfs does, each with the
// kernel's documented text (Documentation/admin-guide/cgroup-v2.rst) and
// its parser or writer: cgroup_events.go, cgroup_procs.go, cgroup_kill.go,
// cgroup_freeze.go, memory_current.go, memory_stat.go, memory_events.go (and
// memory.events.local), memory_high.go, memory_max.go (and
// memory.swap.max), memory_oom_group.go, memory_reclaim.go. memory.pressure is psi's. The
// parsers' fixtures are testdata/<kernel>/<file>, as the kernels write
// them (testdata/6.1-amd64-vm, and psi's and internal/procfs' of that name,
// are copied from the e2e VM: scenario 00 keeps them in its results, under
// 00-smoke.fixtures/); every parser has a fuzz target.
//
// Deciding is the policy package's job; killer and relief act, through
// the writes here, and decide nothing about an errno: each errno's
// meaning is written here, once.
//
// # Kernel facts, and where they are handled
//
//   - What the kernel offers (features.go): Features, probed once at start by
//     ProbeFeatures and passed around as a value: the release, the page
//     size, which of cgroup.kill (5.14+), cgroup.freeze (5.2+),
//     memory.reclaim (5.19+) and memory.events.local (5.2+) exist, and
//     whether PSI trigger windows must be multiples of 2 s (no
//     CAP_SYS_RESOURCE: a 1 s trigger gets EINVAL). Each is decided by:
//     CgroupKill by Kill, CgroupFreeze by CanFreeze and Freeze,
//     MemoryReclaim by the daemon's thresholds (relief off without it),
//     EventsLocal by the daemon's throttle-hit count, the trigger window by
//     psi.OpenTrigger.
//   - Pages (page.go): the page size is the kernel's (PageSize,
//     os.Getpagesize; 4 KiB is wrong on 16K/64K-page arm64 kernels, and
//     MinPageSize, 4 KiB, is only the smallest there is). A value written
//     to memory.high or memory.max reads back rounded down to a page, and
//     clamped to "max" at PAGE_COUNTER_MAX: RoundLimit; memory.reclaim
//     rounds the bytes asked down to pages: ReclaimRequest rounds up.
//     PagesDown and PagesUp are the rounding, for policy too.
//   - "max" (files.go): limit files say "max" for no limit; ParseUint reads
//     it as Unlimited and FormatLimit writes it back.
//   - A cgroup that is gone (files.go): Classify is the one rule for an
//     error. ENOENT on a directory, or on a file whose directory is gone
//     too, or ENODEV (a file that was open when its cgroup was removed)
//     wraps ErrGone; a file missing from a live cgroup (cgroup.pressure 0,
//     a controller off) wraps ErrMissingFile; EMFILE, EACCES, ENOMEM and
//     the rest are real errors that name the path. For an open cgroup,
//     GoneAt (identity.go) is the rule: no link left, or cgroup.events
//     gone.
//   - A cgroup's identity (identity.go): ID, the directory's inode number,
//     which is the kernel's cgroup ID and never reused while it runs. Same
//     and OpenSame check that a path still names the cgroup chosen
//     (ErrReplaced when another took its path), Changed says it does not.
//   - The errnos of the writes: memory.reclaim's EAGAIN is a partial
//     reclaim, EINTR with the context ended an interruption, and a missing
//     file on a live cgroup ErrNoReclaim (memory_reclaim.go); cgroup.kill's
//     ENOENT, EOPNOTSUPP and EINVAL call for the freezer, ErrNoCgroupKill
//     (cgroup_kill.go); a missing cgroup.freeze is ErrNoFreezer
//     (cgroup_freeze.go); a memory.max write to 0 that a signal cuts short
//     has set the limit, EINTR before it is retried, a missing
//     memory.swap.max (no swap controller) reads as 0, and JustUnder is
//     the highest limit under a usage that the kernel keeps as written
//     (memory_max.go); a missing memory.oom.group (before 4.19) is
//     ErrMissingFile (memory_oom_group.go); a write that fails on a
//     cgroup that went wraps ErrGone.
//   - Kernel files hand over their text in one read (files.go), which is
//     how a full scan reads tens of thousands of them cheaply.
//   - The working set (memory_stat.go) is memory.current minus
//     inactive_file, as the kubelet computes it.
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
