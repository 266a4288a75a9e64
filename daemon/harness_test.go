package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
	"github.com/kube-oomd/kube-oomd/config"
	"github.com/kube-oomd/kube-oomd/internal/clock"
	"github.com/kube-oomd/kube-oomd/metrics"
	"github.com/kube-oomd/kube-oomd/metrics/metricstest"
	"github.com/kube-oomd/kube-oomd/psi"
	"github.com/kube-oomd/kube-oomd/relief"
	"github.com/kube-oomd/kube-oomd/systemd"
)

const (
	MiB = 1 << 20
	GiB = 1 << 30
)

var epoch = time.Unix(1_700_000_000, 0)

// logBuffer collects JSON log records from the loop and the test.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the records whose msg is msg, or (msg "") whose
// message_id is id.
func (l *logBuffer) records(t *testing.T, msg, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if (msg != "" && r["msg"] == msg) || (id != "" && r["message_id"] == id) {
			out = append(out, r)
		}
	}
	return out
}

// harness runs the daemon's real loop on a fake tree and a fake clock. The
// test plays the kernel: it writes kubepods' figures, sends trigger events
// and steps the clock one PSI window at a time, in lockstep with the loop.
type harness struct {
	t      *testing.T
	tree   *cgrouptest.Tree
	cfg    config.Config
	clock  *clock.Fake
	logs   *logBuffer
	psi    chan psi.Event
	status chan chan<- Status
	obs    chan observation
	hup    chan os.Signal
	runDir string
	states []string // sd_notify, in order
	mu     sync.Mutex
	// metrics are the daemon's, served or not (see scrape).
	metrics *metrics.Metrics

	cancel   context.CancelFunc
	done     chan error
	sampling bool
	stall    time.Duration     // kubepods' full stall written so far
	growing  map[string]growth // pods that grow every window, by path
}

// testConfig is the defaults with a rescan that never comes in a test, and
// kill.method "signal": the fake kernel does not OOM-kill when memory.max
// is lowered, so the tests of the method "oom" set it themselves.
func testConfig(mode string) config.Config {
	cfg := config.Default()
	cfg.Kill.Mode = mode
	cfg.Kill.Method = config.MethodSignal
	cfg.Cgroup.RescanInterval = 24 * time.Hour
	cfg.Pressure.WatchHost = false
	cfg.Runtime.Endpoint = config.EndpointNone // whatever runs on the machine
	return cfg
}

// start runs the daemon. configPath "" means no file (built-in defaults).
func start(t *testing.T, tree *cgrouptest.Tree, cfg config.Config, configPath, runDir string) *harness {
	t.Helper()
	return startWith(t, tree, cfg, configPath, func(o *Options) {
		if runDir != "" {
			o.RunDir = runDir
		}
	})
}

// startWith runs the daemon with options that edit changes.
func startWith(t *testing.T, tree *cgrouptest.Tree, cfg config.Config, configPath string, edit func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, tree: tree, cfg: cfg, clock: clock.NewFake(epoch), logs: &logBuffer{},
		psi: make(chan psi.Event), status: make(chan chan<- Status), obs: make(chan observation),
		hup: make(chan os.Signal), done: make(chan error, 1)}
	if configPath == "" {
		configPath = filepath.Join(t.TempDir(), "absent.toml")
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	opt := h.options(configPath, t.TempDir())
	edit(&opt)
	h.runDir = opt.RunDir
	go func() { h.done <- Run(ctx, opt) }()
	t.Cleanup(h.stop)
	// A first look (a host trigger: it does not count) starts the
	// decision's first window.
	h.setKubepods(500*MiB, 0)
	h.send(psi.Event{Key: triggerHost, Time: h.clock.Now()})
	return h
}

// options are the daemon's options for this harness, with its metrics.
func (h *harness) options(configPath, runDir string) Options {
	if h.metrics == nil {
		h.metrics = metrics.New(metricLabels())
	}
	cfg, src := h.cfg, sourcesOf(configPath)
	return Options{ConfigPath: configPath, Load: loaded(cfg, src),
		CgroupRoot: h.tree.Mount, ProcRoot: h.tree.Proc, RunDir: runDir, Version: "test",
		Logger:   slog.New(vocabHandler{next: slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), ledger: ledger}),
		Notifier: systemd.NewNotifierFunc(func(s string) { h.mu.Lock(); h.states = append(h.states, s); h.mu.Unlock() }),
		Clock:    h.clock,
		test: seams{metrics: h.metrics, triggers: testTriggers{h.psi}, setter: relief.FileSetter{Mount: h.tree.Mount},
			hup: h.hup, status: h.status, observed: h.obs}}
}

// loaded is an Options.Load that hands over cfg, read from src.
func loaded(cfg config.Config, src config.Sources) func() (config.Config, config.Sources, error) {
	return func() (config.Config, config.Sources, error) { return cfg, src, nil }
}

// testTriggers register no PSI trigger with the kernel (but a missing
// file fails as the kernel's would): the test plays the trigger events on
// events, in lockstep with the loop.
type testTriggers struct{ events chan psi.Event }

func (t testTriggers) open(path string, spec psi.TriggerSpec) (*psi.Trigger, psi.TriggerSpec, error) {
	_, err := os.Stat(path)
	return nil, spec, err
}

func (testTriggers) add(string, *psi.Trigger) error { return nil }
func (testTriggers) remove(string)                  {}
func (testTriggers) close()                         {}

func (t testTriggers) start(context.Context, chan<- error) <-chan psi.Event { return t.events }

// sourcesOf says what files a config at path is read from, as Run's Load
// would; the test's config itself may differ from theirs.
func sourcesOf(path string) config.Sources {
	if path == "" {
		return config.Sources{Missing: true, NoDir: true}
	}
	_, src, _ := config.LoadSet(path, true)
	return src
}

// stop cancels the daemon and waits for it, draining what the loop sends.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	for {
		select {
		case <-h.obs:
		case err := <-h.done:
			if err != nil && err != context.Canceled {
				h.t.Errorf("daemon: %v", err)
			}
			return
		}
	}
}

// send hands the loop a PSI event and waits for the look it takes.
func (h *harness) send(ev psi.Event) observation {
	h.t.Helper()
	select {
	case h.psi <- ev:
	case err := <-h.done:
		h.t.Fatalf("daemon stopped: %v", err)
	}
	return h.next()
}

func (h *harness) next() observation {
	h.t.Helper()
	select {
	case o := <-h.obs:
		h.sampling = o.sampling
		return o
	case err := <-h.done:
		h.t.Fatalf("daemon stopped: %v", err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("the loop took no look")
	}
	return observation{}
}

// setKubepods sets what the kubepods cgroup shows: its working set against
// a 1 GiB limit, and its full stall so far.
func (h *harness) setKubepods(workingSet uint64, fullStall time.Duration) {
	tree := h.tree
	tree.Write(tree.Kubepods, "memory.max", fmt.Sprint(1<<30))
	tree.Write(tree.Kubepods, "memory.current", fmt.Sprint(workingSet))
	// kubepods' anonymous memory: a steady 250 MiB, plus what the
	// growing pods (grow) hold. It does not follow the working set: a
	// window whose unreclaimable memory grows is a leak under way, which
	// policy kills after one window fewer.
	anon := uint64(250 * MiB)
	for _, g := range h.growing {
		anon += g.anon
	}
	tree.Write(tree.Kubepods, "memory.stat", fmt.Sprintf("anon %d\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n", anon))
	tree.Write(tree.Kubepods, "memory.pressure", fmt.Sprintf(
		"some avg10=50.00 avg60=10.00 avg300=2.00 total=%d\nfull avg10=40.00 avg60=8.00 avg300=1.00 total=%d\n",
		fullStall.Microseconds(), fullStall.Microseconds()))
}

// window plays one PSI window: share of it stalled (a kubepods trigger
// fires when share > 0), the working set at ws; then it waits until the
// actions the window started are done.
func (h *harness) window(share float64, ws uint64) observation {
	h.t.Helper()
	win := h.cfg.Pressure.Window
	for rel, g := range h.growing {
		g.anon += g.step
		h.growing[rel] = g
		h.tree.Write(rel, "memory.stat", fmt.Sprintf("anon %d\nfile 209715200\nactive_file 0\ninactive_file 0\nshmem 0\n", g.anon))
	}
	h.stall += time.Duration(share * float64(win))
	h.setKubepods(ws, h.stall)
	var o observation
	if share > 0 {
		o = h.send(psi.Event{Key: triggerKubepods, Time: h.clock.Now()})
	}
	armed := h.sampling
	h.clock.Step(win)
	if armed {
		o = h.next()
	}
	h.settle()
	return o
}

// grow makes the pod at rel grow by step of anonymous memory every window
// from now on (its memory.stat keeps cacheNode's 200 MiB of page cache).
func (h *harness) grow(rel string, step uint64) {
	if h.growing == nil {
		h.growing = map[string]growth{}
	}
	h.growing[rel] = growth{step: step}
}

type growth struct{ anon, step uint64 }

// windows plays n windows alike.
func (h *harness) windows(n int, share float64, ws uint64) {
	h.t.Helper()
	for range n {
		h.window(share, ws)
	}
}

// snapshot asks the loop for its status.
func (h *harness) snapshot() Status {
	h.t.Helper()
	reply := make(chan Status, 1)
	for {
		select {
		case h.status <- reply:
			return <-reply
		case o := <-h.obs:
			h.sampling = o.sampling
		case err := <-h.done:
			h.t.Fatalf("daemon stopped: %v", err)
		}
	}
}

// settle waits until no action is in flight. While a kill is, it plays the
// kernel: a cgroup written 1 to cgroup.kill empties, and time passes so
// that the killer looks again.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s := h.snapshot()
		if s.Action == nil {
			return
		}
		if strings.HasPrefix(s.Action.Name, "kill") {
			h.emptyKilled()
			h.oomKill()
			h.clock.Step(10 * time.Millisecond)
		}
		time.Sleep(time.Millisecond) // let the worker run; nothing is timed by it
	}
	h.t.Fatalf("an action is still in flight: %+v", h.snapshot().Action)
}

// emptyKilled plays the kernel for every cgroup written 1 to cgroup.kill:
// it empties, and its memory is freed.
func (h *harness) emptyKilled() {
	filepath.WalkDir(h.tree.Mount, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == "cgroup.kill" {
			if b, _ := os.ReadFile(p); strings.TrimSpace(string(b)) == "1" {
				dir := filepath.Dir(p)
				os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 0\nfrozen 0\n"), 0o644)
				if dir != filepath.Join(h.tree.Mount, h.tree.Kubepods) {
					os.WriteFile(filepath.Join(dir, "memory.current"), []byte("0\n"), 0o644)
					os.WriteFile(filepath.Join(dir, "memory.stat"), []byte("anon 0\nfile 0\nactive_file 0\ninactive_file 0\nshmem 0\n"), 0o644)
				}
			}
		}
		return nil
	})
}

// oomKill plays the kernel's OOM killer for every container whose
// memory.max was written 0 (kill.method oom), once: its processes are
// killed, which its memory.events and its pod's count (oom_kill), and it
// empties.
func (h *harness) oomKill() {
	filepath.WalkDir(h.tree.Mount, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.Name() != "memory.max" {
			return nil
		}
		dir := filepath.Dir(p)
		// Lowered under its usage (0, or killer's rule fits: half its
		// unreclaimable memory): the kernel OOM-kills in it.
		limit, err1 := cgroupv2.ReadMax(dir)
		cur, err2 := cgroupv2.ReadCurrent(dir)
		if err1 != nil || err2 != nil || limit >= cur {
			return nil
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.events")); strings.HasPrefix(string(b), "populated 0") {
			return nil
		}
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		n := len(strings.Fields(string(procs)))
		for _, cg := range []string{dir, filepath.Dir(dir)} {
			ev, _ := cgroupv2.ReadMemoryEvents(cg)
			os.WriteFile(filepath.Join(cg, "memory.events"), []byte(fmt.Sprintf("low 0\nhigh 0\nmax %d\noom %d\noom_kill %d\noom_group_kill %d\n",
				ev.Max+1, ev.OOM+1, ev.OOMKill+uint64(n), ev.OOMGroupKill+1)), 0o644)
		}
		os.WriteFile(filepath.Join(dir, "cgroup.procs"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "memory.current"), []byte("0\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 0\nfrozen 0\n"), 0o644)
		return nil
	})
}

// scrape reads the daemon's metrics as a scraper would, by series (see
// metricstest.Scrape).
func (h *harness) scrape() map[string]float64 {
	h.t.Helper()
	return metricstest.Scrape(h.t, h.metrics.Handler())
}

// file reads a file of the fake tree.
func (h *harness) file(rel, name string) string {
	b, _ := os.ReadFile(filepath.Join(h.tree.Mount, rel, name))
	return strings.TrimSpace(string(b))
}

// cacheNode is nodeWithOnePodPerClass with 200 MiB of page cache in each
// pod, and memory.reclaim files to write to.
func cacheNode(t *testing.T) *cgrouptest.Tree {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	for _, p := range []struct {
		uid string
		q   cgroupv2.QoS
	}{{"be", cgroupv2.BestEffort}, {"bu", cgroupv2.Burstable}, {"gu", cgroupv2.Guaranteed}} {
		rel := tree.PodPath(p.uid, p.q)
		tree.Write(rel, "memory.stat", "anon 1000\nfile 209715200\nactive_file 0\ninactive_file 0\nshmem 0\n")
		tree.Write(rel, "memory.reclaim", "")
	}
	tree.Write(tree.Kubepods, "memory.reclaim", "")
	return tree
}

// psiEvent is a kubepods trigger event now.
func psiEvent(h *harness) psi.Event { return psi.Event{Key: triggerKubepods, Time: h.clock.Now()} }
