package killer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// mkCgroup makes a fake cgroup directory with files, and returns its ID.
func mkCgroup(t *testing.T, dir string, files map[string]string) uint64 {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := cgroupv2.ID(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Issue 19 item 5: limits.json is not trusted. An entry that names no
// container of the kubelet's layout (kubelet.service with "original" 0,
// a pod, a path that climbs out with "..") is never written to: it is
// reported with ErrUntrusted and dropped. A container's entry is put back.
func TestLimitLogRejectsUntrusted(t *testing.T) {
	root := t.TempDir()
	layout := cgroupv2.Layout{Mount: root, Kubepods: "/kubepods.slice", Driver: cgroupv2.DriverSystemd}
	kubelet := filepath.Join(root, "system.slice", "kubelet.service")
	kubeletID := mkCgroup(t, kubelet, map[string]string{"memory.max": "1073741824\n"})
	pod := filepath.Join(root, "kubepods.slice", "kubepods-podx.slice")
	podID := mkCgroup(t, pod, map[string]string{"memory.max": "max\n"})
	ctr := filepath.Join(pod, "cri-containerd-0123456789ab.scope")
	ctrID := mkCgroup(t, ctr, map[string]string{"memory.max": "0\n"})
	log := &LimitLog{Path: filepath.Join(root, "run", "limits.json"), Layout: layout}
	entries := []limitEntry{
		{Cgroup: kubelet, ID: kubeletID, Original: 0},
		{Cgroup: pod, ID: podID, Original: 0},
		{Cgroup: filepath.Join(pod, "..", "..", "system.slice", "kubelet.service"), ID: kubeletID, Original: 0},
		{Cgroup: ctr, ID: ctrID, Original: 1 << 30},
	}
	for _, e := range entries {
		if err := log.add(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := log.RestoreLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", got)
	if len(got) != 4 {
		t.Fatalf("RestoreLeftovers = %+v, want 4 results", got)
	}
	for i, r := range got[:3] {
		if r.Cgroup != entries[i].Cgroup || !errors.Is(r.Err, ErrUntrusted) {
			t.Errorf("result %d = %+v, want %s rejected (ErrUntrusted)", i, r, entries[i].Cgroup)
		}
	}
	if got[3].Cgroup != ctr || got[3].Err != nil || got[3].Max != 1<<30 {
		t.Errorf("result 3 = %+v, want %s put back", got[3], ctr)
	}
	if b, _ := os.ReadFile(filepath.Join(kubelet, "memory.max")); string(b) != "1073741824\n" {
		t.Errorf("kubelet.service memory.max = %q: written from an untrusted record", b)
	}
	if b, _ := os.ReadFile(filepath.Join(pod, "memory.max")); string(b) != "max\n" {
		t.Errorf("pod memory.max = %q: written from an untrusted record", b)
	}
	if b, _ := os.ReadFile(filepath.Join(ctr, "memory.max")); string(b) != "1073741824" {
		t.Errorf("container memory.max = %q, want 1073741824 put back", b)
	}
	if _, err := os.Stat(log.Path); !os.IsNotExist(err) {
		b, _ := os.ReadFile(log.Path)
		t.Errorf("record kept (%v): %s; want the rejected entries dropped", err, b)
	}
}

// Issue 19 item 5: frozen.json is not trusted either. Only a pod or a
// container of the kubelet's layout is thawed; kubelet.service, frozen by
// someone else, is not touched, and its entry is dropped.
func TestFreezeLogRejectsUntrusted(t *testing.T) {
	root := t.TempDir()
	layout := cgroupv2.Layout{Mount: root, Kubepods: "/kubepods.slice", Driver: cgroupv2.DriverSystemd}
	frozen := map[string]string{"cgroup.freeze": "1\n"}
	kubelet := filepath.Join(root, "system.slice", "kubelet.service")
	kubeletID := mkCgroup(t, kubelet, frozen)
	pod := filepath.Join(root, "kubepods.slice", "kubepods-besteffort.slice", "kubepods-besteffort-podx.slice")
	podID := mkCgroup(t, pod, frozen)
	ctr := filepath.Join(root, "kubepods.slice", "kubepods-pody.slice", "cri-containerd-0123456789ab.scope")
	ctrID := mkCgroup(t, ctr, frozen)
	log := &FreezeLog{Path: filepath.Join(root, "run", "frozen.json"), Layout: layout}
	for _, e := range []frozenEntry{{kubelet, kubeletID}, {pod, podID}, {ctr, ctrID}} {
		if err := log.add(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := log.ThawLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Cgroup != kubelet || !errors.Is(got[0].Err, ErrUntrusted) ||
		got[1].Cgroup != pod || got[1].Err != nil || got[2].Cgroup != ctr || got[2].Err != nil {
		t.Fatalf("ThawLeftovers = %+v, want kubelet.service rejected, the pod and the container thawed", got)
	}
	for dir, want := range map[string]string{kubelet: "1\n", pod: "0", ctr: "0"} {
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); string(b) != want {
			t.Errorf("%s cgroup.freeze = %q, want %q", dir, b, want)
		}
	}
	noRecord(t, log)
}

// Before the config is read, the layout is a guess (the kubelet's default
// kubepods): an entry not under it may be a container of a cgroup.kubepods
// the config names. With Guessed, RestoreLeftovers and ThawLeftovers
// report it (ErrUntrusted), do not touch it, and keep it in the record for
// the check against the config's layout; a trusted entry is still undone.
func TestLeftoversGuessedLayoutKeepsUntrusted(t *testing.T) {
	root := t.TempDir()
	guess := cgroupv2.Layout{Mount: root, Kubepods: "/kubepods.slice", Driver: cgroupv2.DriverSystemd}
	if err := os.MkdirAll(filepath.Join(root, "kubepods.slice"), 0o755); err != nil {
		t.Fatal(err)
	}
	custom := filepath.Join(root, "kubelet.slice", "kubelet-kubepods.slice", "kubepods-besteffort.slice", "kubepods-besteffort-podx.slice")
	ctr := filepath.Join(custom, "cri-containerd-0123456789ab.scope")
	ctrID := mkCgroup(t, ctr, map[string]string{"memory.max": "0\n", "cgroup.freeze": "1\n"})
	trustedCtr := filepath.Join(root, "kubepods.slice", "kubepods-pody.slice", "cri-containerd-0123456789ab.scope")
	trustedID := mkCgroup(t, trustedCtr, map[string]string{"memory.max": "0\n", "cgroup.freeze": "1\n"})

	limits := &LimitLog{Path: filepath.Join(root, "run", "limits.json"), Layout: guess, Guessed: true}
	for _, e := range []limitEntry{{Cgroup: ctr, ID: ctrID, Original: 1 << 30}, {Cgroup: trustedCtr, ID: trustedID, Original: 1 << 30}} {
		if err := limits.add(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := limits.RestoreLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Cgroup != ctr || !errors.Is(got[0].Err, ErrUntrusted) || got[1].Cgroup != trustedCtr || got[1].Err != nil {
		t.Fatalf("RestoreLeftovers = %+v, want %s untrusted and %s put back", got, ctr, trustedCtr)
	}
	if b, _ := os.ReadFile(filepath.Join(ctr, "memory.max")); string(b) != "0\n" {
		t.Errorf("memory.max = %q: written from a guessed layout", b)
	}
	if e, ok, err := limits.find(ctr, ctrID); err != nil || !ok || e.Original != 1<<30 {
		t.Errorf("limits record entry for %s = %+v, %v, %v: want it kept", ctr, e, ok, err)
	}
	if _, ok, _ := limits.find(trustedCtr, trustedID); ok {
		t.Errorf("limits record still names %s, put back", trustedCtr)
	}

	frozen := &FreezeLog{Path: filepath.Join(root, "run", "frozen.json"), Layout: guess, Guessed: true}
	for _, e := range []frozenEntry{{ctr, ctrID}, {trustedCtr, trustedID}} {
		if err := frozen.add(e); err != nil {
			t.Fatal(err)
		}
	}
	thawed, err := frozen.ThawLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	if len(thawed) != 2 || thawed[0].Cgroup != ctr || !errors.Is(thawed[0].Err, ErrUntrusted) || thawed[1].Cgroup != trustedCtr || thawed[1].Err != nil {
		t.Fatalf("ThawLeftovers = %+v, want %s untrusted and %s thawed", thawed, ctr, trustedCtr)
	}
	if b, _ := os.ReadFile(filepath.Join(ctr, "cgroup.freeze")); string(b) != "1\n" {
		t.Errorf("cgroup.freeze = %q: written from a guessed layout", b)
	}
	entries, err := frozen.load()
	if err != nil || len(entries) != 1 || entries[0] != (frozenEntry{ctr, ctrID}) {
		t.Errorf("freeze record = %+v, %v; want only %s kept", entries, err, ctr)
	}

	// Then against the config's layout, it is undone and the records go.
	config := cgroupv2.Layout{Mount: root, Kubepods: "/kubelet.slice/kubelet-kubepods.slice", Driver: cgroupv2.DriverSystemd}
	limits, frozen = &LimitLog{Path: limits.Path, Layout: config}, &FreezeLog{Path: frozen.Path, Layout: config}
	if got, err := limits.RestoreLeftovers(); err != nil || len(got) != 1 || got[0].Err != nil {
		t.Errorf("RestoreLeftovers in the config's layout = %+v, %v; want %s put back", got, err, ctr)
	}
	if got, err := frozen.ThawLeftovers(); err != nil || len(got) != 1 || got[0].Err != nil {
		t.Errorf("ThawLeftovers in the config's layout = %+v, %v; want %s thawed", got, err, ctr)
	}
	for _, p := range []string{limits.Path, frozen.Path} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept after the check against the config's layout: %v", p, err)
		}
	}
}
