package cgroupv2_test

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

// adjs lists the oom_score_adj of processes, in order.
func adjs(procs []cgroupv2.Process) []int {
	var out []int
	for _, p := range procs {
		out = append(out, p.OOMScoreAdj)
	}
	return out
}

// nestedPod is a BestEffort pod whose one container runs systemd and Docker
// inside (nested cgroups, one with a process at -1000), with two
// directories of the pod that are no container.
func nestedPod(tree *cgrouptest.Tree) cgroupv2.PodRef {
	rel := tree.AddPod(cgrouptest.Pod{UID: "nest", QoS: cgroupv2.BestEffort, Current: 300 * MiB,
		Containers: []cgrouptest.Container{{Current: 250 * MiB, Adj: []int{1000},
			Nested: []cgrouptest.Cgroup{
				{Path: "init.scope", Adj: []int{-1000}},
				{Path: "system.slice/docker.service", Adj: []int{-500}},
				{Path: "system.slice/docker-1.scope/inner", Adj: []int{0, 0}},
			}}},
		Other: []cgrouptest.Cgroup{
			{Path: "stray", Adj: []int{-997}},
			{Path: "deep/er", Adj: []int{500}},
		}})
	return cgroupv2.PodRef{UID: "nest", QoS: cgroupv2.BestEffort, Path: rel}
}

// A container's processes are those of its whole subtree, nested cgroups at
// any depth included: cgroup.kill reaches them all, so protection must see
// them all. Processes in a directory of the pod that is no container count
// as the pod's own.
func TestReadPodNestedCgroups(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.New(t, d)
			ref := nestedPod(tree)
			p, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(ref)
			if err != nil {
				t.Fatal(err)
			}
			if p.Ref() != ref {
				t.Errorf("Ref() = %+v, want %+v, to read it again", p.Ref(), ref)
			}
			if len(p.Containers) != 2 {
				t.Fatalf("%d containers, want the sandbox and the app (nested cgroups are no containers)", len(p.Containers))
			}
			var app cgroupv2.Container
			for _, c := range p.Containers {
				if !c.Sandbox() {
					app = c
				}
			}
			want := []int{1000, -1000, 0, 0, -500} // its own first, then its subtree, depth first by name
			if got := adjs(app.Procs); !slices.Equal(got, want) {
				t.Errorf("app container processes at %v, want %v", got, want)
			}
			if app.Current != 250*MiB {
				t.Errorf("app container current %d, want its own memory.current", app.Current)
			}
			if got := adjs(p.Procs); !slices.Equal(got, []int{500, -997}) {
				t.Errorf("pod processes outside containers at %v, want [500 -997] (deep/er, stray)", got)
			}
		})
	}
}

// A nested cgroup that cannot be listed is not a pod that went away, and
// not one to judge without it: the read fails. One that vanishes during
// the read is left out.
func TestReadPodNestedErrors(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	ref := nestedPod(tree)
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	p, err := r.ReadPod(ref)
	if err != nil {
		t.Fatal(err)
	}
	app := p.Containers[len(p.Containers)-1]
	if app.Sandbox() {
		app = p.Containers[0]
	}
	nested := tree.Layout().Abs(path.Join(app.Path, "system.slice"))

	failReadDir(t, nested, unix.EMFILE)
	if _, err := r.ReadPod(ref); err == nil || errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, unix.EMFILE) || !strings.Contains(err.Error(), nested) {
		t.Errorf("ReadPod with a nested cgroup that cannot be listed: %v, want EMFILE naming %s", err, nested)
	}

	t.Cleanup(cgroupv2.SetReadDir(func(d string) ([]os.DirEntry, error) {
		entries, err := os.ReadDir(d)
		if d == nested {
			entries = append(entries, ghostDir("docker-2.scope"))
		}
		return entries, err
	}))
	p, err = r.ReadPod(ref)
	if err != nil {
		t.Fatalf("ReadPod with a nested cgroup that vanished: %v", err)
	}
	for _, c := range p.Containers {
		if !c.Sandbox() && len(c.Procs) != 5 {
			t.Errorf("app container has %d processes, want the 5 still there", len(c.Procs))
		}
	}
}

// ghostDir is a directory entry for a directory that is not there.
type ghostDir string

func (g ghostDir) Name() string               { return string(g) }
func (g ghostDir) IsDir() bool                { return true }
func (g ghostDir) Type() fs.FileMode          { return fs.ModeDir }
func (g ghostDir) Info() (fs.FileInfo, error) { return nil, fs.ErrNotExist }

// Reading nested cgroups costs no directory listing where there are none:
// a scan lists each pod, and a container only when it has subdirectories.
func TestReadPodListsOnlyWhatHasSubdirs(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	uids := onePerClass(tree, cgroupv2.Containerd)
	nested := nestedPod(tree)
	var listed []string
	t.Cleanup(cgroupv2.SetReadDir(func(d string) ([]os.DirEntry, error) {
		listed = append(listed, strings.TrimPrefix(d, tree.Mount))
		return os.ReadDir(d)
	}))
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	ref := cgroupv2.PodRef{UID: uids[cgroupv2.Burstable], QoS: cgroupv2.Burstable, Path: tree.PodPath(uids[cgroupv2.Burstable], cgroupv2.Burstable)}
	if _, err := r.ReadPod(ref); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []string{ref.Path}) {
		t.Errorf("ReadPod of a pod with no nested cgroups listed %q, want only the pod", listed)
	}
	listed = nil
	if _, err := r.ReadPod(nested); err != nil {
		t.Fatal(err)
	}
	for _, d := range listed {
		if strings.HasSuffix(d, ".scope/inner") || strings.HasSuffix(d, "/init.scope") || strings.HasSuffix(d, "/stray") {
			t.Errorf("listed %s, which has no subdirectory", d)
		}
	}
}

// Only a missing cgroup directory means "gone". A pod whose memory.pressure
// is missing (cgroup.pressure set to 0 removes the *.pressure files) is
// read with no pressure; any other file missing from the pod's or a
// container's cgroup while it is still there is a real error naming the
// file, never a pod that vanished.
func TestReadPodMissingFiles(t *testing.T) {
	for _, tc := range []struct {
		where, name string // where: "pod", "container" or "nested"
	}{
		{"pod", "memory.pressure"},
		{"pod", "memory.current"},
		{"pod", "memory.max"},
		{"pod", "memory.min"},
		{"pod", "memory.stat"},
		{"pod", "memory.events"},
		{"pod", "cgroup.procs"},
		{"container", "memory.current"},
		{"container", "cgroup.procs"},
		{"nested", "cgroup.procs"},
	} {
		t.Run(tc.where+"/"+tc.name, func(t *testing.T) {
			tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
			onePerClass(tree, cgroupv2.Containerd)
			ref := nestedPod(tree)
			r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
			p, err := r.ReadPod(ref)
			if err != nil {
				t.Fatal(err)
			}
			dir := map[string]string{
				"pod":       ref.Path,
				"container": p.Containers[0].Path,
				"nested":    path.Join(p.Containers[1].Path, "system.slice"),
			}[tc.where]
			file := tree.Layout().Abs(path.Join(dir, tc.name))
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			p, err = r.ReadPod(ref)
			snap, scanErr := r.Scan()
			if tc.where == "nested" {
				// A directory with no cgroup.procs is no cgroup: none of
				// its own, and the cgroups below it still count.
				if err != nil || len(p.Containers[1].Procs) != 5 {
					t.Errorf("ReadPod: %v, app container processes at %v; want all 5 below it read", err, adjs(p.Containers[1].Procs))
				}
				return
			}
			if tc.name == "memory.pressure" {
				if err != nil || !p.NoPressure || p.Pressure != (cgroupv2.Pod{}).Pressure {
					t.Errorf("ReadPod: NoPressure %v, pressure %+v, %v; want no pressure and no error", p.NoPressure, p.Pressure, err)
				}
				if scanErr != nil || len(snap.Pods) != 4 {
					t.Errorf("Scan: %d pods, %v; want all 4", len(snap.Pods), scanErr)
				}
				return
			}
			if err == nil || errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, cgroupv2.ErrMissingFile) || !strings.Contains(err.Error(), file) {
				t.Errorf("ReadPod: %v; want ErrMissingFile naming %s, not ErrGone", err, file)
			}
			var bad cgroupv2.PodErrors
			if len(snap.Pods) != 3 || !errors.As(scanErr, &bad) || len(bad) != 1 || bad[0].Ref != ref {
				t.Errorf("Scan: %d pods, %v; want the 3 others and the pod named", len(snap.Pods), scanErr)
			}
		})
	}
}

// kubepods with no memory.pressure is read with no pressure too.
func TestReadKubepodsNoPressure(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	if err := os.Remove(tree.Layout().Abs(path.Join(tree.Kubepods, "memory.pressure"))); err != nil {
		t.Fatal(err)
	}
	g, _, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadKubepods()
	if err != nil || !g.NoPressure || g.Max != 10<<30 {
		t.Errorf("ReadKubepods: %+v, %v; want it read, with NoPressure", g, err)
	}
}
