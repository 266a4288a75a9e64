package cgroupv2_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

// Without inotify, a Watcher finds pods coming and going on Sync, and
// reports every pod as unwatched, so that their counters are read there.
func TestPollingWatcherFollowsPodsOnSync(t *testing.T) {
	tree := cgrouptest.Node(t, cgroupv2.DriverSystemd)
	why := fmt.Errorf("inotify: %w", syscall.EMFILE)
	w, refs, err := cgroupv2.NewPollingWatcher(tree.Layout(), why)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(refs) != 4 || !errors.Is(w.Polling(), syscall.EMFILE) || len(w.Unwatched()) != 4 {
		t.Fatalf("refs %d, polling %v, unwatched %d; want 4 pods, EMFILE, all unwatched", len(refs), w.Polling(), len(w.Unwatched()))
	}
	tree.AddPod(cgrouptest.Pod{UID: "new", QoS: cgroupv2.Burstable, Current: 1 << 20})
	tree.Remove(tree.PodPath("be", cgroupv2.BestEffort))
	kinds := map[string]cgroupv2.ChangeKind{}
	for _, c := range w.Sync() {
		kinds[c.Pod.UID] = c.Kind
	}
	if len(kinds) != 2 || kinds["new"] != cgroupv2.PodAdded || kinds["be"] != cgroupv2.PodRemoved {
		t.Errorf("Sync = %v, want new added and be removed", kinds)
	}
	if len(w.Unwatched()) != 4 {
		t.Errorf("unwatched = %d after Sync, want every pod", len(w.Unwatched()))
	}
}
