package cgroupv2_test

import (
	"fmt"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
	"github.com/kube-oomd/kube-oomd/cgroupv2/cgrouptest"
)

// bigTree is 1,000 pods of 3 containers each (plus sandboxes), a third of
// each class.
func bigTree(b *testing.B) *cgrouptest.Tree {
	tree := cgrouptest.New(b, cgroupv2.DriverSystemd)
	for i := range 1000 {
		q := cgroupv2.QoS(i % 3)
		ctrs := make([]cgrouptest.Container, 3)
		for j := range ctrs {
			ctrs[j] = cgrouptest.Container{Current: uint64(j+1) * 10 * MiB, Adj: []int{900}}
		}
		tree.AddPod(cgrouptest.Pod{UID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), QoS: q,
			Current: uint64(i%50+1) * 20 * MiB, Containers: ctrs})
	}
	return tree
}

// BenchmarkScan is a full scan of the tree: the goal is under 100 ms.
func BenchmarkScan(b *testing.B) {
	tree := bigTree(b)
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	b.ReportAllocs()
	for b.Loop() {
		snap, err := r.Scan()
		if err != nil || len(snap.Pods) != 1000 {
			b.Fatalf("scan: %d pods, %v", len(snap.Pods), err)
		}
	}
}

// BenchmarkReadKubepods is what every pressure event reads before any pod.
func BenchmarkReadKubepods(b *testing.B) {
	tree := bigTree(b)
	r := cgroupv2.NewReader(tree.Layout(), tree.Proc)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadKubepods(); err != nil {
			b.Fatal(err)
		}
	}
}
