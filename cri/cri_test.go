package cri

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cri/critest"
	"github.com/kube-oomd/kube-oomd/internal/clock"
)

// The IDs of the fake runtime's pod: its sandbox and one container, as
// they appear in cgroup names (cri-containerd-<id>.scope).
const (
	uid       = "0f9c3c2e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
	sandboxID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	appID     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// reports collects what a Resolver reports.
type reports struct {
	mu   sync.Mutex
	errs []error // nil for "answers"
}

func (r *reports) add(_ string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestListNamesPodsAndContainers(t *testing.T) {
	f := critest.New()
	f.AddPod(uid, "shop", "cart-7d9f", sandboxID, map[string]string{appID: "app"})
	f.AddPod("other", "kube-system", "dns", "cccccccccccc", nil)
	path := critest.Socket(t)
	critest.Serve(t, path, f)
	x, err := List(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := x.Lookup(uid)
	if !ok || p.Namespace != "shop" || p.Name != "cart-7d9f" {
		t.Fatalf("Lookup(%s) = %+v, %v; want shop/cart-7d9f", uid, p, ok)
	}
	if name, ok := p.Container(appID); !ok || name != "app" {
		t.Errorf("container %s = %q, %v; want app", appID, name, ok)
	}
	if name, ok := p.Container(sandboxID); !ok || name != "" {
		t.Errorf("sandbox %s = %q, %v; want known, with no name", sandboxID, name, ok)
	}
	if _, ok := p.Container("dddddddddddd"); ok {
		t.Error("an ID the runtime did not list is known")
	}
	if len(x) != 2 {
		t.Errorf("listed %d pods, want 2", len(x))
	}
}

func TestResolverNamesPods(t *testing.T) {
	f := critest.New()
	f.AddPod(uid, "shop", "cart-7d9f", sandboxID, map[string]string{appID: "app"})
	path := critest.Socket(t)
	critest.Serve(t, path, f)
	var got reports
	r := NewResolver(context.Background(), Options{Socket: path, Timeout: 5 * time.Second, Retry: time.Minute,
		Clock: clock.NewFake(time.Unix(0, 0)), Report: got.add})
	if _, ok := r.Lookup(uid); ok {
		t.Fatal("known before anyone asked")
	}
	r.Want(uid, sandboxID, appID)
	r.Wait()
	p, ok := r.Lookup(uid)
	if !ok || p.Namespace != "shop" || p.Name != "cart-7d9f" || p.Containers[appID] != "app" {
		t.Fatalf("Lookup = %+v, %v", p, ok)
	}
	r.Want(uid, sandboxID, appID) // all known: no refresh
	r.Wait()
	if n := f.Calls(); n != 1 {
		t.Errorf("the runtime was asked %d times, want once", n)
	}
	if errs := got.get(); len(errs) != 1 || errs[0] != nil {
		t.Errorf("reports = %v, want one: the runtime answers", errs)
	}
	r.Forget(uid)
	if _, ok := r.Lookup(uid); ok {
		t.Error("a forgotten pod is still known")
	}
}

// The kubelet makes a pod's cgroup before the runtime lists its sandbox:
// the first ask finds nothing and waits Retry; but the pod's first
// container cgroup means the runtime lists it now, so that ask goes out at
// once, and a pod that leaks in its first minute dies with its name.
func TestResolverAsksAgainForANewContainer(t *testing.T) {
	f := critest.New()
	path := critest.Socket(t)
	critest.Serve(t, path, f)
	r := NewResolver(context.Background(), Options{Socket: path, Timeout: 5 * time.Second, Retry: time.Minute,
		Clock: clock.NewFake(time.Unix(0, 0))})
	r.Want(uid) // the pod's cgroup, before its sandbox exists
	r.Wait()
	if _, ok := r.Lookup(uid); ok {
		t.Fatal("named before the runtime listed it")
	}
	r.Want(uid) // nothing new: Retry holds
	r.Wait()
	if n := f.Calls(); n != 1 {
		t.Fatalf("the runtime was asked %d times before Retry, want once", n)
	}
	f.AddPod(uid, "shop", "cart-7d9f", sandboxID, map[string]string{appID: "app"})
	r.Want(uid, sandboxID, appID) // its containers' cgroups: ask now, the clock never moved
	r.Wait()
	if p, ok := r.Lookup(uid); !ok || p.Name != "cart-7d9f" || p.Containers[appID] != "app" {
		t.Fatalf("Lookup after the containers appeared = %+v, %v; want it named at once", p, ok)
	}
}

// A runtime whose socket is missing leaves the pods unnamed, is reported
// once, is not asked again before Retry, and is reported once when it
// answers again.
func TestResolverMissingSocketDegradesOnce(t *testing.T) {
	path := critest.Socket(t)
	clk := clock.NewFake(time.Unix(0, 0))
	var got reports
	r := NewResolver(context.Background(), Options{Socket: path, Timeout: 5 * time.Second, Retry: time.Minute, Clock: clk, Report: got.add})
	r.Want("a")
	r.Wait()
	r.Want("b")
	r.Want("a", appID)
	r.Wait()
	errs := got.get()
	if len(errs) != 1 || errs[0] == nil {
		t.Fatalf("reports = %v, want exactly one failure", errs)
	}
	var e *Error
	if !errors.As(errs[0], &e) || e.Endpoint != path || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Errorf("report = %v; want an *Error naming %s, wrapping fs.ErrNotExist", errs[0], path)
	}

	f := critest.New()
	f.AddPod("b", "shop", "cart", sandboxID, nil)
	critest.Serve(t, path, f)
	r.Want("b")
	r.Wait()
	if _, ok := r.Lookup("b"); ok || f.Calls() != 0 {
		t.Fatalf("asked the runtime again before Retry (%d calls)", f.Calls())
	}
	clk.Step(time.Minute)
	r.Want("b")
	r.Wait()
	if p, ok := r.Lookup("b"); !ok || p.Name != "cart" {
		t.Fatalf("after Retry: Lookup(b) = %+v, %v", p, ok)
	}
	if errs := got.get(); len(errs) != 2 || errs[1] != nil {
		t.Errorf("reports = %v, want the failure, then one: the runtime answers", errs)
	}
}

func TestResolverFindsNoSocket(t *testing.T) {
	dir := t.TempDir()
	var got reports
	r := NewResolver(context.Background(), Options{Candidates: []string{filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")},
		Timeout: time.Second, Retry: time.Minute, Clock: clock.NewFake(time.Unix(0, 0)), Report: got.add})
	r.Want(uid)
	r.Wait()
	if errs := got.get(); len(errs) != 1 || !errors.Is(errs[0], ErrNoSocket) {
		t.Fatalf("reports = %v, want one ErrNoSocket", errs)
	}
}

func TestFindSocketTakesTheFirstThatExists(t *testing.T) {
	dir := t.TempDir()
	second := filepath.Join(dir, "crio.sock")
	critest.Serve(t, second, critest.New())
	got, err := FindSocket([]string{filepath.Join(dir, "containerd.sock"), second})
	if err != nil || got != second {
		t.Fatalf("FindSocket = %q, %v; want %s", got, err, second)
	}
}

// A runtime that does not answer never holds up Lookup or Want, and one
// refresh is in flight at a time: what is asked for meanwhile is named by
// the listing in flight.
func TestResolverSlowRuntimeDoesNotBlock(t *testing.T) {
	f := critest.New()
	release := f.Hold()
	f.AddPod(uid, "shop", "cart", sandboxID, nil)
	f.AddPod("u2", "shop", "db", "cccccccccccc", nil)
	f.AddPod("u3", "shop", "mq", "dddddddddddd", nil)
	path := critest.Socket(t)
	critest.Serve(t, path, f)
	r := NewResolver(context.Background(), Options{Socket: path, Timeout: time.Minute, Retry: time.Minute, Clock: clock.NewFake(time.Unix(0, 0))})
	r.Want(uid)
	<-f.Entered() // the refresh waits on the runtime now

	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, ok := r.Lookup(uid); ok {
			t.Error("known before the runtime answered")
		}
		r.Want("u2")
		r.Want("u3")
		r.Forget("u3")
		r.Want("u3")
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing
		t.Fatal("Lookup or Want waited for the runtime")
	}
	release()
	r.Wait()
	for _, u := range []string{uid, "u2", "u3"} {
		if _, ok := r.Lookup(u); !ok {
			t.Errorf("%s not named once the runtime answered", u)
		}
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("the runtime was asked %d times, want once: one listing names every pod", n)
	}
}

// A runtime that takes longer than Timeout fails the refresh: reported
// once, and the pods stay unnamed.
func TestResolverTimeout(t *testing.T) {
	f := critest.New()
	t.Cleanup(f.Hold())
	path := critest.Socket(t)
	critest.Serve(t, path, f)
	var got reports
	r := NewResolver(context.Background(), Options{Socket: path, Timeout: 50 * time.Millisecond, Retry: time.Minute,
		Clock: clock.NewFake(time.Unix(0, 0)), Report: got.add})
	r.Want(uid)
	r.Wait()
	if errs := got.get(); len(errs) != 1 || errs[0] == nil {
		t.Fatalf("reports = %v, want one failure", errs)
	}
	if _, ok := r.Lookup(uid); ok {
		t.Error("named without an answer")
	}
}

func TestNilResolverKnowsNothing(t *testing.T) {
	var r *Resolver
	r.Want(uid)
	r.Forget(uid)
	r.Wait()
	if _, ok := r.Lookup(uid); ok {
		t.Error("a nil Resolver knows a pod")
	}
}
