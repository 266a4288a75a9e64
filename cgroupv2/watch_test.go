package cgroupv2_test

import (
	"context"
	"os"
	"path"
	"testing"
	"time"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

// next waits for the next change, failing the test after a few seconds.
// guard bounds a wait for what must happen: generous, for a loaded CI
// machine; a pass never waits for it.
const guard = 30 * time.Second

func next(t *testing.T, ch <-chan cgroupv2.Change) cgroupv2.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(guard):
		t.Fatalf("no change within %v", guard)
	}
	return cgroupv2.Change{}
}

// waitFor skips changes until want arrives; only events-changed duplicates
// may come first.
func waitFor(t *testing.T, ch <-chan cgroupv2.Change, want cgroupv2.Change) {
	t.Helper()
	for {
		c := next(t, ch)
		if c == want {
			return
		}
		if c.Kind != cgroupv2.EventsChanged {
			t.Fatalf("change = %+v while waiting for %+v", c, want)
		}
	}
}

func TestWatcherFollowsPods(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.New(t, d)
			existing := tree.AddPod(cgrouptest.Pod{UID: "old", QoS: cgroupv2.Burstable})
			w, refs, err := cgroupv2.NewWatcher(tree.Layout())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if len(refs) != 1 || refs[0].Path != existing || refs[0].QoS != cgroupv2.Burstable {
				t.Fatalf("initial pods = %+v, want the one at %s", refs, existing)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := make(chan cgroupv2.Change, 16)
			go w.Run(ctx, ch)

			// A pod appears: the kubelet makes the directory, then its files.
			rel := tree.PodPath("new", cgroupv2.BestEffort)
			if err := os.Mkdir(tree.Layout().Abs(rel), 0o755); err != nil {
				t.Fatal(err)
			}
			tree.Write(rel, "memory.events", cgrouptest.ZeroEvents)
			c := next(t, ch)
			if c.Kind != cgroupv2.PodAdded || c.Pod.UID != "new" || c.Pod.QoS != cgroupv2.BestEffort {
				t.Fatalf("change = %+v, want the new BestEffort pod added", c)
			}

			// Its memory.events changes: an OOM kill in the pod. (A file
			// write here is a truncate and a write: two events, as the
			// kernel's coalesced notifications may be too.)
			tree.Write(existing, "memory.events", "oom_kill 1\n")
			waitFor(t, ch, cgroupv2.Change{Kind: cgroupv2.EventsChanged, Pod: refs[0]})
			// kubepods' own memory.events.
			tree.Write(tree.Kubepods, "memory.events", "max 3\n")
			waitFor(t, ch, cgroupv2.Change{Kind: cgroupv2.EventsChanged})

			// A Guaranteed pod comes and goes.
			g := tree.AddPod(cgrouptest.Pod{UID: "g", QoS: cgroupv2.Guaranteed})
			for {
				c := next(t, ch)
				if c.Kind == cgroupv2.PodAdded && c.Pod.Path == g {
					break
				}
			}
			tree.Remove(g)
			for {
				c := next(t, ch)
				if c.Kind == cgroupv2.PodRemoved {
					if c.Pod.Path != g {
						t.Fatalf("removed %s, want %s", c.Pod.Path, g)
					}
					break
				}
			}
			if n := len(w.Pods()); n != 2 {
				t.Errorf("Pods() = %d, want 2", n)
			}
		})
	}
}

func TestWatcherSyncFindsMissedPods(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	gone := tree.AddPod(cgrouptest.Pod{UID: "gone", QoS: cgroupv2.BestEffort})
	w, _, err := cgroupv2.NewWatcher(tree.Layout())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Nobody runs the event loop: these changes are only found by Sync.
	tree.Remove(gone)
	added := tree.AddPod(cgrouptest.Pod{UID: "added", QoS: cgroupv2.Guaranteed})
	got := map[cgroupv2.ChangeKind]string{}
	for _, c := range w.Sync() {
		got[c.Kind] = c.Pod.Path
	}
	if got[cgroupv2.PodAdded] != added || got[cgroupv2.PodRemoved] != gone || len(got) != 2 {
		t.Errorf("Sync = %v, want %s added and %s removed", got, added, gone)
	}
	if again := w.Sync(); len(again) != 0 {
		t.Errorf("second Sync = %+v, want nothing new", again)
	}
}

func TestWatcherClassDirectoryAppearsLater(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	burstable := path.Join(tree.Kubepods, "kubepods-burstable.slice")
	tree.Remove(burstable) // the kubelet has not made it yet
	w, _, err := cgroupv2.NewWatcher(tree.Layout())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan cgroupv2.Change, 16)
	go w.Run(ctx, ch)

	if err := os.Mkdir(tree.Layout().Abs(burstable), 0o755); err != nil {
		t.Fatal(err)
	}
	// Whether the pod comes before or after the watch on its class
	// directory, the watcher sees it: it lists the directory once watched.
	rel := tree.AddPod(cgrouptest.Pod{UID: "late", QoS: cgroupv2.Burstable})
	for {
		c := next(t, ch)
		if c.Kind == cgroupv2.PodAdded {
			if c.Pod.Path != rel || c.Pod.QoS != cgroupv2.Burstable {
				t.Fatalf("added %+v, want %s", c.Pod, rel)
			}
			return
		}
	}
}
