package cgroupv2_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

func TestDetectLayout(t *testing.T) {
	for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
		t.Run(string(d), func(t *testing.T) {
			tree := cgrouptest.New(t, d)
			got, err := cgroupv2.DetectLayout(tree.Mount, "", "auto")
			if err != nil {
				t.Fatal(err)
			}
			if got != tree.Layout() {
				t.Errorf("DetectLayout = %+v, want %+v", got, tree.Layout())
			}
		})
	}
	t.Run("configured parent", func(t *testing.T) {
		tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
		if err := os.MkdirAll(filepath.Join(tree.Mount, "custom.slice/custom-kubepods.slice"), 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := cgroupv2.DetectLayout(tree.Mount, "/custom.slice/custom-kubepods.slice", "")
		if err != nil || got.Kubepods != "/custom.slice/custom-kubepods.slice" || got.Driver != cgroupv2.DriverSystemd {
			t.Errorf("DetectLayout = %+v, %v", got, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := cgroupv2.DetectLayout(t.TempDir(), "", "auto")
		if !errors.Is(err, cgroupv2.ErrNoKubepods) {
			t.Errorf("err = %v, want ErrNoKubepods", err)
		}
	})
}

func TestCheckMemoryController(t *testing.T) {
	tree := cgrouptest.New(t, cgroupv2.DriverSystemd)
	if err := cgroupv2.CheckMemoryController(tree.Mount); err != nil {
		t.Errorf("fake cgroup2 with memory: %v", err)
	}
	tree.Write("/", "cgroup.controllers", "cpu io pids\n")
	if err := cgroupv2.CheckMemoryController(tree.Mount); !errors.Is(err, cgroupv2.ErrNotCgroup2) {
		t.Errorf("no memory controller: err = %v, want ErrNotCgroup2", err)
	}
	if err := cgroupv2.CheckMemoryController(t.TempDir()); !errors.Is(err, cgroupv2.ErrNotCgroup2) {
		t.Errorf("not cgroup2 at all: err = %v, want ErrNotCgroup2", err)
	}
}

func TestPodUID(t *testing.T) {
	tests := []struct {
		name string
		d    cgroupv2.Driver
		uid  string
		ok   bool
	}{
		{"kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice", cgroupv2.DriverSystemd, "0a1b2c3d-4e5f-6789-abcd-ef0123456789", true},
		{"kubepods-pod6b6f1d2e_0000_4000_8000_000000000001.slice", cgroupv2.DriverSystemd, "6b6f1d2e-0000-4000-8000-000000000001", true},
		{"custom-kubepods-burstable-podabc.slice", cgroupv2.DriverSystemd, "abc", true},
		{"kubepods-besteffort.slice", cgroupv2.DriverSystemd, "", false},
		{"kubepods-podx.scope", cgroupv2.DriverSystemd, "", false},
		{"kubepods-pod.slice", cgroupv2.DriverSystemd, "", false},
		{"pod0a1b2c3d-4e5f-6789-abcd-ef0123456789", cgroupv2.DriverCgroupfs, "0a1b2c3d-4e5f-6789-abcd-ef0123456789", true},
		{"besteffort", cgroupv2.DriverCgroupfs, "", false},
		{"pod../../etc", cgroupv2.DriverCgroupfs, "", false},
	}
	for _, tt := range tests {
		uid, ok := cgroupv2.PodUID(tt.name, tt.d)
		if uid != tt.uid || ok != tt.ok {
			t.Errorf("PodUID(%q, %s) = %q, %v; want %q, %v", tt.name, tt.d, uid, ok, tt.uid, tt.ok)
		}
	}
}

func TestContainerName(t *testing.T) {
	const id = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa99887766554433221100"
	tests := []struct {
		name   string
		rt     cgroupv2.Runtime
		helper bool
		ok     bool
	}{
		{"cri-containerd-" + id + ".scope", cgroupv2.Containerd, false, true},
		{"crio-" + id + ".scope", cgroupv2.CRIO, false, true},
		{"crio-conmon-" + id + ".scope", cgroupv2.CRIO, true, true},
		{"docker-" + id + ".scope", cgroupv2.Docker, false, true},
		{id, cgroupv2.Unknown, false, true},
		{"crio-" + id, cgroupv2.CRIO, false, true}, // CRI-O under cgroupfs
		{"session-1.scope", "", false, false},
		{"cri-containerd-nothex.scope", "", false, false},
		{"memory.stat", "", false, false},
	}
	for _, tt := range tests {
		gotID, rt, helper, ok := cgroupv2.ContainerName(tt.name)
		if ok != tt.ok || rt != tt.rt || helper != tt.helper || (ok && gotID != id) {
			t.Errorf("ContainerName(%q) = %q, %q, %v, %v; want %q, %v, %v", tt.name, gotID, rt, helper, ok, tt.rt, tt.helper, tt.ok)
		}
	}
}

func FuzzPodUID(f *testing.F) {
	f.Add("kubepods-besteffort-pod0a1b_2c.slice")
	f.Add("pod1234")
	f.Fuzz(func(t *testing.T, name string) {
		for _, d := range []cgroupv2.Driver{cgroupv2.DriverSystemd, cgroupv2.DriverCgroupfs} {
			uid, ok := cgroupv2.PodUID(name, d)
			if ok && (uid == "" || filepath.Base(uid) != uid || uid == "." || uid == "..") {
				t.Fatalf("PodUID(%q) = %q: not a plain UID", name, uid)
			}
		}
	})
}

func TestQoSText(t *testing.T) {
	for _, q := range []cgroupv2.QoS{cgroupv2.BestEffort, cgroupv2.Burstable, cgroupv2.Guaranteed} {
		b, _ := q.MarshalText()
		var back cgroupv2.QoS
		if err := back.UnmarshalText(b); err != nil || back != q {
			t.Errorf("%s round trip = %v, %v", q, back, err)
		}
	}
	var q cgroupv2.QoS
	if err := q.UnmarshalText([]byte("Platinum")); err == nil {
		t.Error("Platinum is a QoS class")
	}
}

// PodOf and ContainerOf accept only the kubelet's pods and their
// containers under kubepods: what a state file may name.
func TestPodOfContainerOf(t *testing.T) {
	l := cgroupv2.Layout{Mount: "/sys/fs/cgroup", Kubepods: "/kubepods.slice", Driver: cgroupv2.DriverSystemd}
	pod := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_ab.slice"
	ctr := pod + "/cri-containerd-0123456789abcdef.scope"
	for _, tc := range []struct {
		rel      string
		pod, ctr bool
	}{
		{pod, true, false},
		{ctr, false, true},
		{"/kubepods.slice/kubepods-pod1234.slice/crio-0123456789abcdef.scope", false, true},
		{"/system.slice/kubelet.service", false, false},
		{"/kubepods.slice", false, false},
		{"/kubepods.slice/kubepods-burstable.slice", false, false},
		{"/other.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-0123456789abcdef.scope", false, false},
		{pod + "/nested/cri-containerd-0123456789abcdef.scope", false, false},
		{pod + "/cri-containerd-nothex.scope", false, false},
	} {
		if _, ok := l.PodOf(tc.rel); ok != tc.pod {
			t.Errorf("PodOf(%q) = %v, want %v", tc.rel, ok, tc.pod)
		}
		ref, ok := l.ContainerOf(tc.rel)
		if ok != tc.ctr {
			t.Errorf("ContainerOf(%q) = %v, want %v", tc.rel, ok, tc.ctr)
		}
		if ok && ref.UID != "1234-ab" && ref.UID != "1234" {
			t.Errorf("ContainerOf(%q) pod UID = %q", tc.rel, ref.UID)
		}
	}
}
