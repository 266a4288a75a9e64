package policy

import (
	"fmt"
	"testing"

	"github.com/kube-oomd/kube-oomd/cgroupv2"
)

// BenchmarkRank ranks 1,000 pods of 3 containers each (plus sandboxes), a
// third of each class: the goal is under 1 ms.
func BenchmarkRank(b *testing.B) {
	pods := make([]cgroupv2.Pod, 1000)
	adj := map[cgroupv2.QoS]int{cgroupv2.BestEffort: 1000, cgroupv2.Burstable: 900, cgroupv2.Guaranteed: -997}
	for i := range pods {
		q := cgroupv2.QoS(i % 3)
		p := pod(fmt.Sprintf("pod-%04d", i), q, uint64(i%50+1)*20*MiB, adj[q])
		for j := range 2 {
			p.Containers = append(p.Containers, cgroupv2.Container{ID: fmt.Sprint(j), Current: MiB,
				Procs: []cgroupv2.Process{{PID: 10 + j, OOMScoreAdj: adj[q]}}})
		}
		pods[i] = p
	}
	cfg := RankConfig{MemTotal: memTotal, MinVictim: 64 * MiB, Protect: []string{"/kubepods.slice/never-*"}}
	b.ReportAllocs()
	for b.Loop() {
		if v, ok := Victim(Rank(pods, cfg, Episode{})); !ok || v.Pod.QoS == cgroupv2.Guaranteed {
			b.Fatal("no victim over its request")
		}
	}
}
