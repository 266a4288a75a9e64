package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-oomd/kube-oomd/internal/unixsock"
	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
)

// serve runs m.Serve on ln until the test ends; stop ends it and returns
// what Serve returned.
func serve(t *testing.T, m *Metrics, ln net.Listener, lim Limits) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), lim) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return stop
}

// get scrapes url with c and returns the samples.
func get(t *testing.T, c *http.Client, url string) (map[string]float64, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp
	}
	return metricstest.Parse(t, string(b)), resp
}

// A unix socket: created 0600, served (as curl --unix-socket asks), and
// removed once the daemon's context ends.
func TestServeUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.sock")
	ln, err := Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != unixsock.Mode {
		t.Fatalf("socket: %v, %v; want a socket, mode %o", fi.Mode(), err, unixsock.Mode)
	}
	m := New(labels)
	m.Throttled()
	stop := serve(t, m, ln, DefaultLimits())
	c := metricstest.UnixClient(path)
	got, _ := get(t, c, "http://localhost/metrics")
	if got["kube_oomd_throttles_total"] != 1 {
		t.Errorf("kube_oomd_throttles_total = %v, want 1", got["kube_oomd_throttles_total"])
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("no go_goroutines served")
	}
	if _, resp := get(t, c, "http://localhost/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / = %d, want 404: only /metrics is served", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve after its context ended: %v, want nil", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after stop: %v", err)
	}
}

func TestServeTCP(t *testing.T) {
	ln, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(labels)
	m.Pods("Burstable", 4)
	stop := serve(t, m, ln, DefaultLimits())
	got, _ := get(t, http.DefaultClient, "http://"+ln.Addr().String()+"/metrics")
	if got[`kube_oomd_pods{qos="Burstable"}`] != 4 {
		t.Errorf(`kube_oomd_pods{qos="Burstable"} = %v, want 4`, got[`kube_oomd_pods{qos="Burstable"}`])
	}
	if err := stop(); err != nil {
		t.Errorf("Serve after its context ended: %v, want nil", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("still listening after stop")
	}
}
