package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/procfs"
	"github.com/kube-oomd/kube-oomd/internal/unixsock"
	"github.com/kube-oomd/kube-oomd/internal/vocab"
	"github.com/kube-oomd/kube-oomd/killer"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/policy"
)

// The Prometheus endpoint (metrics.listen). Its series belong to the
// metrics package; the loop reports each event to d.metrics where it
// records it (kill.go: kills and dry-run kills; loop.go: the kernel's own
// OOM kills and the decision's windows; relief.go: throttles and reclaim;
// triggers.go: trigger events; here: the pods, the build and the config
// loaded at start). The dangerous states each have theirs: kill.go, a kill
// due and not made (KillSkipped), failed or not confirmed (KillFailed), a
// memory.max not put back (LoweredLimits, PutBackFailed); relief.go, a
// throttle not given back (ThrottleReleaseFailed); reload.go, a reload
// that failed (ConfigReloaded); names.go, the runtime unreachable
// (RuntimeUp). d.metrics is nil when metrics are off, and its methods are
// then no-ops.

// Descriptors. A kill opens files: the victim cgroup's directory and a
// few files in it, and a pidfd per process of the victim (without which
// it loses only process_mrelease, see killer). RLIMIT_NOFILE must leave
// room for them beside the rest (the watcher, the triggers, the status
// and metrics connections). systemd gives a service 1024 soft and 524288
// hard (its default since v240; packaging/kube-oomd.service sets no
// LimitNOFILE=), and Go's runtime raises the soft limit to the hard one
// at start-up, silently if it cannot. descriptors does it again, so that
// a refusal is said, and says when the limit leaves kills too little.
// The metrics endpoint's connections are bounded (metrics.MaxConns) far
// below it, so that scrapers can never take the kills' descriptors.

// descriptorReserve is the descriptors kept for everything but the
// metrics endpoint: a kill of a victim with a few thousand processes, and
// the daemon's own files.
const descriptorReserve = 4096

// errFewDescriptors: RLIMIT_NOFILE is under descriptorReserve and the
// metrics endpoint's connections.
var errFewDescriptors = errors.New("kills may fail with EMFILE (too many open files)")

// descriptors raises RLIMIT_NOFILE's soft limit (get and set are
// getrlimit and setrlimit) to the hard one, and returns an error, with
// what to do, if it stays under what kills need.
func descriptors(get, set func(*syscall.Rlimit) error) error {
	var lim syscall.Rlimit
	if err := get(&lim); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	var raiseErr error
	if lim.Cur < lim.Max {
		raised := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if raiseErr = set(&raised); raiseErr == nil {
			lim = raised
		}
	}
	need := uint64(descriptorReserve + metrics.MaxConns)
	if lim.Cur >= need {
		return nil
	}
	if raiseErr != nil {
		return fmt.Errorf("RLIMIT_NOFILE: its soft limit %d could not be raised to the hard limit %d (%w), and %d open files are needed, or %w: "+
			"set LimitNOFILE=%d in a drop-in (systemctl edit kube-oomd)", lim.Cur, lim.Max, raiseErr, need, errFewDescriptors, max(lim.Max, need))
	}
	return fmt.Errorf("RLIMIT_NOFILE is %d, under the %d open files kube-oomd needs, or %w: "+
		"raise it in a drop-in (systemctl edit kube-oomd), like LimitNOFILE=524288, systemd's default hard limit", lim.Cur, need, errFewDescriptors)
}

// tcpDropIn is the packaged drop-in that lets the unit listen on TCP.
const tcpDropIn = "/usr/share/kube-oomd/metrics-tcp.conf"

// metricLabels are the label values known in advance, from their owners.
func metricLabels() metrics.Labels {
	var l metrics.Labels
	for _, r := range policy.Reasons() {
		l.Reasons = append(l.Reasons, string(r))
	}
	for _, q := range cgroupv2.Classes() {
		l.Classes = append(l.Classes, q.String())
	}
	for _, m := range killer.Methods() {
		l.Methods = append(l.Methods, string(m))
	}
	l.Triggers = []string{triggerKubepods, triggerHost}
	l.Skips = []string{reasonNoVictim, reasonVictimMoved}
	return l
}

// serveMetrics opens metrics.listen, if set, and serves the metrics there
// until the daemon stops; stop ends the server and waits until its
// listener is closed (a unix socket's file removed). A listener that
// cannot be opened fails the start: an operator who asked for metrics
// must know. Once open, a server that stops on its own is logged, and the
// daemon goes on: killing matters more than being scraped.
//
// First, metrics or not, it makes sure kills have descriptors (see
// descriptors above); what is short is logged, and the daemon goes on.
func (d *Daemon) serveMetrics(ctx context.Context) (stop func(), err error) {
	if err := descriptors(func(l *syscall.Rlimit) error { return syscall.Getrlimit(syscall.RLIMIT_NOFILE, l) },
		func(l *syscall.Rlimit) error { return syscall.Setrlimit(syscall.RLIMIT_NOFILE, l) }); err != nil {
		d.log.Warn("kube-oomd may run out of file descriptors for its kills", vocab.Error, err)
	}
	d.metrics.BuildInfo(d.opt.Version)
	d.metrics.ConfigReloaded(true, d.clock.Now()) // loaded at start, or the defaults
	addr := d.cfg.Metrics.Listen
	network := config.ListenNetwork(addr)
	if network == "" {
		return func() {}, nil
	}
	ln, err := metrics.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("cannot start: metrics.listen %q: %w%s", addr, err, listenHint(network, err))
	}
	if network == config.NetworkTCP {
		if only, err := procfs.LoopbackOnly(d.opt.ProcRoot); err == nil && only {
			d.log.Warn("metrics.listen is a TCP address, but kube-oomd's network namespace has no interface but lo, as under the unit's PrivateNetwork=yes: "+
				"only a process in that namespace can scrape; install the drop-in "+tcpDropIn+" (PrivateNetwork=no)", vocab.Listen, addr)
		}
	}
	d.log.Info("serving metrics", vocab.Listen, addr, vocab.Path, metrics.Path)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m, log := d.metrics, d.log // d.log belongs to the loop: a reload replaces it
	go func() {
		defer close(done)
		if err := m.Serve(ctx, ln, log, metrics.DefaultLimits()); err != nil {
			log.Error("the metrics endpoint stopped; restart kube-oomd to serve it again", vocab.Listen, addr, vocab.Error, err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// listenHint says what to change when the listener cannot open: the
// unit's settings that refused it, or what is in the way.
func listenHint(network string, err error) string {
	switch {
	case errors.Is(err, unixsock.ErrInUse):
		return "; is another kube-oomd running? stop it, or set metrics.listen to another path"
	case errors.Is(err, unixsock.ErrNotSocket):
		return "; move that file away, or set metrics.listen to another path"
	case network == config.NetworkUnix && errors.Is(err, fs.ErrNotExist):
		return "; the socket's directory does not exist: create it, or put the socket in /run/kube-oomd/, like /run/kube-oomd/metrics.sock"
	case network == config.NetworkTCP && errors.Is(err, syscall.EADDRINUSE):
		return "; another process listens on that port: stop it, or choose another port in metrics.listen"
	case errors.Is(err, syscall.EAFNOSUPPORT):
		return "; the unit's RestrictAddressFamilies=AF_UNIX allows no TCP (and its PrivateNetwork=yes would hide it): listen on a unix socket under /run/kube-oomd/, " +
			"which works with the unit as shipped, or install the drop-in " + tcpDropIn + " (PrivateNetwork=no, RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6): " +
			"mkdir -p /etc/systemd/system/kube-oomd.service.d && cp " + tcpDropIn + " /etc/systemd/system/kube-oomd.service.d/ && " +
			"systemctl daemon-reload && systemctl restart kube-oomd"
	case errors.Is(err, syscall.EROFS):
		return "; the unit's ProtectSystem=strict leaves only /run/kube-oomd/ writable: put the socket there, like /run/kube-oomd/metrics.sock"
	case network == config.NetworkTCP && errors.Is(err, syscall.EACCES):
		return "; a port below 1024 needs CAP_NET_BIND_SERVICE, which the unit's CapabilityBoundingSet= does not give: use a port from 1024 up, like 9723"
	}
	return ""
}

// countPods reports the pods known, by class.
func (d *Daemon) countPods() {
	n := d.pods.byClass()
	for _, q := range cgroupv2.Classes() {
		d.metrics.Pods(q.String(), n[q])
	}
}
