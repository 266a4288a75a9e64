package cgroupv2_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

const MiB = 1 << 20

// onePerClass adds a pod of each class with the given runtime, the way the
// kubelet would, and returns their UIDs by class.
func onePerClass(tree *cgrouptest.Tree, rt cgroupv2.Runtime) map[cgroupv2.QoS]string {
	uids := map[cgroupv2.QoS]string{}
	for i, q := range []cgroupv2.QoS{cgroupv2.BestEffort, cgroupv2.Burstable, cgroupv2.Guaranteed} {
		uid := fmt.Sprintf("0000000%d-aaaa-4bbb-8ccc-dddddddddddd", i)
		adj := map[cgroupv2.QoS]int{cgroupv2.BestEffort: 1000, cgroupv2.Burstable: 900, cgroupv2.Guaranteed: -997}[q]
		tree.AddPod(cgrouptest.Pod{
			UID: uid, QoS: q, Runtime: rt, Current: uint64(100*(i+1)) * MiB, InactiveFile: 10 * MiB,
			Containers: []cgrouptest.Container{{Current: 90 * MiB, Adj: []int{adj, adj}}},
		})
		uids[q] = uid
	}
	return uids
}

func TestScanDriversAndRuntimes(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		for _, rt := range []cgroupv2.Runtime{cgroupv2.Containerd, cgroupv2.CRIO, cgroupv2.Docker} {
			t.Run(string(d)+"/"+string(rt), func(t *testing.T) {
				tree := cgrouptest.New(t, d)
				uids := onePerClass(tree, rt)
				snap, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).Scan()
				if err != nil {
					t.Fatal(err)
				}
				if len(snap.Pods) != 3 {
					t.Fatalf("found %d pods, want 3", len(snap.Pods))
				}
				if snap.Host.MemTotal != 16<<30 || snap.Kubepods.Max != 10<<30 {
					t.Errorf("host %+v, kubepods max %d", snap.Host, snap.Kubepods.Max)
				}
				wantRT := rt
				if d == cgroupv2.DriverCgroupfs {
					wantRT = cgroupv2.Unknown // a bare container ID says nothing
				}
				for _, p := range snap.Pods {
					if uids[p.QoS] != p.UID {
						t.Errorf("pod %s has QoS %s, want UID %s there", p.UID, p.QoS, uids[p.QoS])
					}
					if p.Path != tree.PodPath(p.UID, p.QoS) {
						t.Errorf("pod path %s, want %s", p.Path, tree.PodPath(p.UID, p.QoS))
					}
					if len(p.Containers) != 2 {
						t.Fatalf("pod %s: %d containers, want sandbox + app", p.UID, len(p.Containers))
					}
					sandboxes := 0
					for _, c := range p.Containers {
						if c.Runtime != wantRT {
							t.Errorf("container %s runtime %q, want %q", c.Path, c.Runtime, wantRT)
						}
						if c.Sandbox() {
							sandboxes++
						} else if len(c.Procs) != 2 || c.Current != 90*MiB {
							t.Errorf("app container %+v", c)
						}
					}
					if sandboxes != 1 {
						t.Errorf("pod %s: %d sandboxes, want 1", p.UID, sandboxes)
					}
					if p.WorkingSet != p.Current-10*MiB {
						t.Errorf("working set %d, want current %d minus inactive_file", p.WorkingSet, p.Current)
					}
				}
			})
		}
	}
}

func TestReadPodGone(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	uids := onePerClass(tree, cgroupv2.Containerd)
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	refs, err := tree.Layout().ListPods(nil)
	if err != nil {
		t.Fatal(err)
	}
	gone := tree.PodPath(uids[cgroupv2.Burstable], cgroupv2.Burstable)
	tree.Remove(gone)

	var goneRef cgroupv2.PodRef
	for _, ref := range refs {
		if ref.Path == gone {
			goneRef = ref
		}
	}
	if _, err := r.ReadPod(goneRef); !errors.Is(err, cgroupv2.ErrGone) {
		t.Errorf("ReadPod of a removed pod: err = %v, want ErrGone", err)
	}
	pods, err := r.ReadPods(refs)
	if err != nil {
		t.Fatalf("ReadPods with a vanished pod: %v (a vanished pod is normal)", err)
	}
	if len(pods) != 2 {
		t.Errorf("ReadPods = %d pods, want the 2 left", len(pods))
	}
}

func TestReadPodProcessGone(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	rel := tree.AddPod(cgrouptest.Pod{UID: "p1", QoS: cgroupv2.BestEffort, NoSandbox: true,
		Containers: []cgrouptest.Container{{Adj: []int{1000}}}})
	// The container lists a PID whose /proc entry is gone: it exited.
	c := tree.Layout().Abs(rel)
	ctrs, _ := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(cgroupv2.PodRef{UID: "p1", Path: rel})
	tree.Write(ctrs.Containers[0].Path, "cgroup.procs", fmt.Sprintf("%d\n999999\n", ctrs.Containers[0].Procs[0].PID))
	p, err := cgroupv2.NewReader(tree.Layout(), tree.Proc).ReadPod(cgroupv2.PodRef{UID: "p1", Path: rel})
	if err != nil {
		t.Fatalf("ReadPod in %s: %v", c, err)
	}
	if n := len(p.Containers[0].Procs); n != 1 {
		t.Errorf("%d processes, want the 1 that still exists", n)
	}
}

func TestReadPodMalformed(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	uids := onePerClass(tree, cgroupv2.Containerd)
	rel := tree.PodPath(uids[cgroupv2.BestEffort], cgroupv2.BestEffort)
	for _, f := range []struct{ name, text string }{
		{"memory.current", "lots\n"},
		{"memory.stat", "anon\n"},
		{"memory.events", "oom_kill many\n"},
		{"memory.pressure", "some avg10=x\n"},
	} {
		t.Run(f.name, func(t *testing.T) {
			tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
			onePerClass(tree, cgroupv2.Containerd)
			tree.Write(rel, f.name, f.text)
			r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
			_, err := r.ReadPod(cgroupv2.PodRef{UID: uids[cgroupv2.BestEffort], QoS: cgroupv2.BestEffort, Path: rel})
			if err == nil || errors.Is(err, cgroupv2.ErrGone) {
				t.Fatalf("err = %v, want a parse error", err)
			}
			if want := tree.Layout().Abs(rel) + "/" + f.name; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		})
	}
}

// One pod whose files cannot be read does not decide for the others:
// ReadPods and Scan return every pod they could read, and name each one
// they could not, with the file and what was wrong. Enough pods that the
// read is split among goroutines.
func TestReadPodsKeepsTheOthers(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	const n = 300
	broken := map[int]string{5: "memory.stat", 150: "memory.current", 299: "memory.events"}
	for i := range n {
		q := cgroupv2.QoS(i % 3)
		rel := tree.AddPod(cgrouptest.Pod{UID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), QoS: q, Current: 100 * MiB,
			Containers: []cgrouptest.Container{{Current: 90 * MiB, Adj: []int{1000}}}})
		if name, ok := broken[i]; ok {
			tree.Write(rel, name, "nonsense\n")
		}
	}
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	refs, err := tree.Layout().ListPods(nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, pods []cgroupv2.Pod, err error) {
		t.Helper()
		if len(pods) != n-len(broken) {
			t.Errorf("%s: %d pods, want the %d readable ones (err %v)", what, len(pods), n-len(broken), err)
		}
		for _, p := range pods {
			if _, bad := broken[podIndex(p.UID)]; bad {
				t.Errorf("%s: broken pod %s is among the pods read", what, p.UID)
			}
		}
		if err == nil || errors.Is(err, cgroupv2.ErrGone) || !errors.Is(err, cgroupv2.ErrMalformed) {
			t.Fatalf("%s: err = %v, want the broken pods' ErrMalformed", what, err)
		}
		for i, name := range broken {
			file := tree.Layout().Abs(tree.PodPath(fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), cgroupv2.QoS(i%3))) + "/" + name
			if !strings.Contains(err.Error(), file) {
				t.Errorf("%s: error does not name %s:\n%v", what, file, err)
			}
		}
		var bad cgroupv2.PodErrors
		if !errors.As(err, &bad) {
			t.Fatalf("%s: err is a %T, want cgroupv2.PodErrors", what, err)
		}
		var want []cgroupv2.PodRef // in the order of refs
		for _, ref := range refs {
			if _, ok := broken[podIndex(ref.UID)]; ok {
				want = append(want, ref)
			}
		}
		if len(bad) != len(want) {
			t.Fatalf("%s: %d pod errors, want %d", what, len(bad), len(want))
		}
		for i, pe := range bad {
			file := tree.Layout().Abs(want[i].Path) + "/" + broken[podIndex(want[i].UID)]
			if pe.Ref != want[i] || !errors.Is(pe, cgroupv2.ErrMalformed) || !strings.Contains(pe.Error(), file) || !strings.Contains(pe.Error(), want[i].UID) {
				t.Errorf("%s: pod error %d = %+v (%v), want %+v naming %s", what, i, pe.Ref, pe, want[i], file)
			}
		}
	}
	pods, err := r.ReadPods(refs)
	check("ReadPods", pods, err)
	snap, err := r.Scan()
	check("Scan", snap.Pods, err)
	if snap.Kubepods.Max != 10<<30 || snap.Host.MemTotal != 16<<30 {
		t.Errorf("Scan with broken pods: kubepods %+v, host %+v, want them read", snap.Kubepods, snap.Host)
	}
}

// podIndex is i of a UID made with "%08d-0000-4000-8000-000000000000".
func podIndex(uid string) int {
	var i int
	fmt.Sscanf(uid, "%08d", &i)
	return i
}
