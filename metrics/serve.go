package metrics

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kube-oomd/kube-oomd/internal/unixsock"
)

// Path is where the endpoint serves.
const Path = "/metrics"

// The endpoint's limits, all of them here. A scrape is one small GET,
// answered from memory in milliseconds, by one scraper or a few
// (Prometheus, an HA pair of them, a node agent). The limits leave those
// ample room and keep anyone else from holding the daemon's file
// descriptors, which its kills need (the victim's cgroup directory and
// files, a pidfd per process): without them, idle connections could use
// every descriptor up, and a kill fail with EMFILE.
const (
	// MaxConns is the connections served at once, a unix socket's or
	// TCP's. A scraper with keep-alive holds one; 16 leave room for many.
	// More wait, unread, in the kernel's listen backlog until one closes.
	// It is small beside the descriptors the daemon has (see
	// daemon/metrics.go: RLIMIT_NOFILE, 524288 under systemd's default).
	MaxConns = 16
	// readHeaderTimeout closes a connection that has not sent its
	// request's headers by then, counted from its accept (a connection
	// that sends nothing at all included); readTimeout bounds the whole
	// request (a GET has no body).
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 5 * time.Second
	// idleTimeout closes a keep-alive connection that sends no next
	// request. With readHeaderTimeout, it is the longest a scrape waits
	// for a slot held by idle clients: 5 s, under Prometheus' default
	// scrape_timeout of 10 s. A scraper that reconnects at each scrape
	// costs one accept.
	idleTimeout = 5 * time.Second
	// gatherTimeout is promhttp's for one scrape; writeTimeout is above it,
	// so that its 503 can still be written, and cuts off a client that
	// does not read its answer.
	gatherTimeout = 10 * time.Second
	writeTimeout  = 15 * time.Second
	// maxHeaderBytes: a scraper's request headers take well under 1 KiB.
	maxHeaderBytes = 8 << 10
	// maxInFlight is the scrapes gathered at once; more are answered 503.
	maxInFlight = 4
)

// Limits are the bounds Serve puts on its connections: DefaultLimits in
// the daemon; tests shrink them. A zero field takes its default.
type Limits struct {
	MaxConns          int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	WriteTimeout      time.Duration
}

// DefaultLimits are the limits above.
func DefaultLimits() Limits {
	return Limits{MaxConns: MaxConns, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		IdleTimeout: idleTimeout, WriteTimeout: writeTimeout}
}

// orDefault fills l's zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&l.ReadTimeout, &d.ReadTimeout},
		{&l.IdleTimeout, &d.IdleTimeout}, {&l.WriteTimeout, &d.WriteTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Listen opens the endpoint's listener on network "tcp" (address
// host:port) or "unix" (address the socket's absolute path, opened by
// unixsock.Listen: root only, a stale socket replaced).
func Listen(network, address string) (net.Listener, error) {
	if network == "unix" {
		return unixsock.Listen(address)
	}
	return net.Listen(network, address)
}

// Serve serves the registry at Path on ln until ctx ends, then closes ln
// (a unix socket's file with it) and returns nil; if the server stops
// before, it returns why. It holds at most lim.MaxConns connections at
// once and closes those that stay idle or slow past lim's timeouts.
// Scrapes are answered from the registry alone; errors on the way (a
// collector that fails, a connection that breaks) go to log, at Warn.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, logger *slog.Logger, lim Limits) error {
	lim = lim.orDefault()
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, handler(m.reg, errLog))
	srv := &http.Server{Handler: mux, ErrorLog: errLog, MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout, WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	err := srv.Serve(limit(ln, lim.MaxConns)) // closes ln when it returns
	if errors.Is(err, http.ErrServerClosed) && ctx.Err() != nil {
		return nil
	}
	return err
}

// limited is a listener that holds at most cap(slots) connections open:
// Accept takes a slot before it accepts, and a connection's Close gives
// it back. Past the bound, connections wait in the kernel's listen
// backlog, unaccepted: they cost the daemon no descriptor. (What
// golang.org/x/net/netutil.LimitListener does, in the few lines it takes.)
type limited struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{} // closed by Close: an Accept waiting for a slot returns
	closeOnce sync.Once
}

func limit(ln net.Listener, n int) *limited {
	return &limited{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limited) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// slotConn gives its slot back at its first Close.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// handler serves reg: what can be gathered even if a collector fails (the
// failure goes to errLog, if not nil), at most a few scrapes at a time.
func handler(reg *prometheus.Registry, errLog *log.Logger) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: maxInFlight, Timeout: gatherTimeout}
	if errLog != nil {
		opts.ErrorLog = errLog
	}
	return promhttp.HandlerFor(reg, opts)
}
