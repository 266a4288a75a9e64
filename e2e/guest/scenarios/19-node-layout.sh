#!/bin/bash
# 19 node layout: a real node (containerd, runc, a standalone kubelet with
# the systemd driver) makes three static pods, db/g (Guaranteed, 448Mi),
# web/b (Burstable, request 64Mi) and shop/be (BestEffort, two containers);
# kube-oomd is installed from the .deb and started as README.md says. The
# Go side asserts that `kube-oomd pods --json` on the real tree gives each
# pod's UID, QoS class, request, limit and names as the kubelet reports them
# and the specs say, and that the tree is the one kube-oomd assumes
# (memory.oom.group, oom_score_adj).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../node.sh"

node_up
node_install
cp "$WORK/pods.json" "$WORK/layout.pods.json"
fact kubelet "@json:$WORK/layout.pods.json"
# The specs, as the manifests say them (bytes; null: no limit).
fact spec.g.request $((448 << 20))
fact spec.g.limit $((448 << 20))
fact spec.b.request $((64 << 20))
fact spec.b.limit null
fact spec.be.request 0
fact spec.be.limit null
fact node.capacity "$(mem_total)"
fact node.kubepods_max "$(cat "$KUBEPODS_CG/memory.max")"

# Let kube-oomd meet the pods and their names first.
sleep 3
timeout 60 kube-oomd pods --json >"$WORK/pods.kube-oomd.json" 2>"$WORK/pods.err"
fact pods_rc $?
fact pods "@json:$WORK/pods.kube-oomd.json"
fact_text pods_stderr "$WORK/pods.err"
timeout 60 kube-oomd pods >"$WORK/pods.txt" 2>&1
fact_text pods_table "$WORK/pods.txt"
cp "$WORK/pods.txt" "$E2E_RESULTS/$SCENARIO.pods.txt"

# The tree as the kubelet made it, per pod: memory.oom.group and the
# processes' oom_score_adj of each container.
for n in g b be; do
	cg=$(node_pod_cg "$n")
	fact "tree.$n.cgroup" "${cg#"$CG"}"
	fact "tree.$n.memory_max" "$(cat "$cg/memory.max")"
	for ct in "$cg"/cri-containerd-*.scope; do
		id=${ct##*/cri-containerd-}
		id=${id%.scope}
		fact "tree.$n.containers.${id:0:12}.oom_group" "$(cat "$ct/memory.oom.group")"
		pid=$(head -1 "$ct/cgroup.procs")
		fact "tree.$n.containers.${id:0:12}.adj" "$(cat "/proc/$pid/oom_score_adj" 2>/dev/null)"
		fact "tree.$n.containers.${id:0:12}.comm" "$(cat "/proc/$pid/comm" 2>/dev/null)"
	done
done
fact status_rc "$(timeout 30 kube-oomd status >"$WORK/status.txt" 2>&1; echo $?)"
fact_text status "$WORK/status.txt"
result_write
