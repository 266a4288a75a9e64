// Package metrics is kube-oomd's Prometheus endpoint: it owns the registry,
// every series and the listener that serves them at /metrics (the config
// key metrics.listen). Nothing in it reads the cgroup tree, the pods or any
// other kernel state of the node: the daemon's loop reports each event
// (a kill, a dry-run kill, a kill due and not made, a kill failed or not
// confirmed, the kernel's own OOM kills in a pod, a throttle, one that
// cannot be given back, a memory.max not put back, reclaimed bytes, the
// decision's windows, pods coming and going, a PSI trigger event, a config
// reload, the container runtime answering or not) through a small typed
// API at the moment it records it,
// and a scrape only serves the registry. client_golang's metrics are
// goroutine-safe, so the loop never waits for a scrape, nor a scrape for
// the loop. The only reads at scrape time are the standard collectors'
// (go_* from the Go runtime, process_* from the daemon's own /proc/self).
//
// The listener is bounded (serve.go, its limits all in one place): at
// most MaxConns connections at once, the rest left unaccepted in the
// kernel's listen backlog, and short timeouts for idle or slow clients,
// so that scrapers can never hold the file descriptors the daemon's kills
// need.
//
// The registry is private (never prometheus.DefaultRegisterer), so two
// daemons in one test binary do not share series.
//
// A nil *Metrics is metrics off: every method is a no-op, so that the
// daemon reports its events without asking whether anyone listens.
//
// Cardinality: no per-pod series, and no pod namespace or name as a label
// of a counter or per-pod gauge. The one series that names a pod is
// kube_oomd_last_kill_info, a single series at any time (see Killed).
package metrics
