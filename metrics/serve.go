package metrics

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kube-oomd/kube-oomd/internal/unixsock"
)

// Path is where the endpoint serves.
const Path = "/metrics"

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
