package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
)

// hangGuard bounds every wait on the server in these tests. It is not a
// timing assertion: what is awaited happens after a few milliseconds (the
// tests' timeouts are 50 ms), and the guard only keeps a broken server
// from hanging the test on a busy machine.
const hangGuard = 30 * time.Second

// countingListener counts the connections it has accepted, those not
// closed yet, and the most ever open at once.
type countingListener struct {
	net.Listener
	mu                      sync.Mutex
	accepted, open, maxOpen int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted++
	l.open++
	l.maxOpen = max(l.maxOpen, l.open)
	return &countedConn{Conn: c, l: l}, nil
}

func (l *countingListener) counts() (accepted, open, maxOpen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted, l.open, l.maxOpen
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// listen opens a counted listener on network: a unix socket in a
// temporary directory, or TCP on loopback.
func listen(t *testing.T, network string) *countingListener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "metrics.sock")
	}
	ln, err := Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return &countingListener{Listener: ln}
}

func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(ln.Addr().Network(), ln.Addr().String(), hangGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// request sends a scrape's request on c, keeping the connection alive.
func request(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+Path+" HTTP/1.1\r\nHost: kube-oomd\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
}

// answer reads the answer to a request on c, waiting up to hangGuard.
func answer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hangGuard))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a scrape: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d, %v", resp.StatusCode, err)
	}
}

// closedByServer waits until the server closes c (its read ends at EOF).
func closedByServer(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hangGuard))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("%s: not closed by the server: %v", what, err)
	}
}

// waitFor polls cond until it holds, up to hangGuard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(hangGuard); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, hangGuard)
		}
	}
}

// Idle clients cannot hold more than MaxConns connections, on a unix
// socket as on TCP: one more is not served, its request not even read,
// until one of theirs closes. Each connection is a file descriptor, and
// the daemon's kills need descriptors.
func TestServeHoldsAtMostMaxConns(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			const n = 3
			ln := listen(t, network)
			stop := serve(t, New(labels), ln, Limits{MaxConns: n, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute})
			idle := make([]net.Conn, n)
			for i := range idle { // each scrapes, then stays (keep-alive)
				idle[i] = dial(t, ln)
				request(t, idle[i])
				answer(t, idle[i])
			}
			extra := dial(t, ln)
			request(t, extra)
			// A short wait, to see the server not answer: a slow machine
			// can only make it pass where it should fail, never the reverse.
			extra.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			var b [1]byte
			if _, err := extra.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection %d answered (%v) while %d idle ones are held: the bound is not kept", n+1, err, n)
			}
			idle[0].Close()
			answer(t, extra) // served once a slot is free
			if accepted, _, maxOpen := ln.counts(); maxOpen > n || accepted != n+1 {
				t.Errorf("%d connections accepted, at most %d open at once; want %d, at most %d", accepted, maxOpen, n+1, n)
			}
			if err := stop(); err != nil {
				t.Errorf("Serve after its context ended: %v, want nil", err)
			}
		})
	}
}

// A connection that sends nothing, or nothing more after a scrape, is
// closed once the timeouts pass, and its slot is freed.
func TestServeClosesIdleConnections(t *testing.T) {
	ln := listen(t, "unix")
	serve(t, New(labels), ln, Limits{MaxConns: 2, ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: 50 * time.Millisecond})
	silent := dial(t, ln)
	kept := dial(t, ln)
	request(t, kept)
	answer(t, kept)
	closedByServer(t, silent, "a connection that sent nothing")
	closedByServer(t, kept, "a keep-alive connection idle after its scrape")
	waitFor(t, "the server's side of both closed", func() bool { _, open, _ := ln.counts(); return open == 0 })
}

// While idle clients fill every slot, a scrape still gets through once
// they are cut off: it waits in the listen backlog, and is served.
func TestScrapeWhileIdleClientsFillTheBound(t *testing.T) {
	const n = 2
	ln := listen(t, "unix")
	m := New(labels)
	m.Throttled()
	serve(t, m, ln, Limits{MaxConns: n, ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: 50 * time.Millisecond})
	var idle []net.Conn
	for range n {
		idle = append(idle, dial(t, ln))
	}
	waitFor(t, "the idle clients accepted", func() bool { accepted, _, _ := ln.counts(); return accepted == n })
	c := metricstest.UnixClient(ln.Addr().String())
	c.Timeout = hangGuard
	got, resp := get(t, c, "http://localhost"+Path)
	if resp.StatusCode != http.StatusOK || got["kube_oomd_throttles_total"] != 1 {
		t.Errorf("scrape: %d, kube_oomd_throttles_total = %v; want 200, 1", resp.StatusCode, got["kube_oomd_throttles_total"])
	}
	for _, c := range idle {
		closedByServer(t, c, "an idle client")
	}
	if _, _, maxOpen := ln.counts(); maxOpen > n {
		t.Errorf("%d connections open at once, want at most %d", maxOpen, n)
	}
}
