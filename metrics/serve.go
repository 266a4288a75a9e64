package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Errors of Listen for a unix socket's path.
var (
	ErrNotSocket = errors.New("it exists and is not a socket: kube-oomd removes only a stale socket of its own")
	ErrInUse     = errors.New("another process serves on that socket")
)

// SocketMode is the mode of the endpoint's unix socket: root only, as
// status.sock. The series name no pod, but they tell the node's kill
// history; a scraper that does not run as root scrapes over TCP instead.
const SocketMode = 0o600

// Path is where the endpoint serves.
const Path = "/metrics"

// Listen opens the endpoint's listener on network "tcp" (address
// host:port) or "unix" (address the socket's absolute path). A unix socket
// is created with SocketMode; a stale one at its path, left by a daemon
// that died, is removed first, and anything else there (a file, a socket
// another process serves on) is an error. The socket goes when the
// listener is closed.
func Listen(network, address string) (net.Listener, error) {
	if network == "unix" {
		if err := removeStale(address); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		// The directory (0700 under the unit) and the umask (0077) keep
		// others out until then.
		if err := os.Chmod(address, SocketMode); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}

// removeStale removes a socket at path that no process serves on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s: %w", path, ErrNotSocket)
	}
	// A unix connect is answered at once: refused when no one listens.
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrInUse)
	}
	return os.Remove(path)
}

// Serve serves the registry at Path on ln until ctx ends, then closes ln
// (a unix socket's file with it) and returns nil; if the server stops
// before, it returns why. Scrapes are answered from the registry alone;
// errors on the way (a collector that fails, a connection that breaks) go
// to log, at Warn.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, handler(m.reg, errLog))
	srv := &http.Server{Handler: mux, ErrorLog: errLog,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	err := srv.Serve(ln) // closes ln when it returns
	if errors.Is(err, http.ErrServerClosed) && ctx.Err() != nil {
		return nil
	}
	return err
}

// handler serves reg: what can be gathered even if a collector fails (the
// failure goes to errLog, if not nil), at most a few scrapes at a time.
func handler(reg *prometheus.Registry, errLog *log.Logger) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 4, Timeout: 10 * time.Second}
	if errLog != nil {
		opts.ErrorLog = errLog
	}
	return promhttp.HandlerFor(reg, opts)
}
