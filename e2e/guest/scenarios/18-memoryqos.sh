#!/bin/bash
# 18 MemoryQoS (issue 9): the kubelet's MemoryQoS sets each Burstable and
# BestEffort container's memory.high to
#   floor((request + 0.9 × (limit − request)) / 4096) × 4096
# (limit: the container's memory limit, or else node allocatable, here the
# kubepods limit), through systemd's MemoryHigh of the container's scope as
# runc does; never on pod slices, never for Guaranteed pods. Pods:
#   G  Guaranteed   the hot-file reader (memory.high stays max)
#   Q  Burstable    request 64 MiB, limit 128 MiB: re-reads a 192 MiB file,
#                   so it pushes against its memory.high all the time and
#                   its container's high events tick (routine, not distress)
#   N  Burstable    request 100 MiB, no limit, idle at 150 MiB
#   E  BestEffort   idle at 100 MiB
#   L  BestEffort   leaks 20 MiB/s
# Run twice in this boot: the kernel alone, then kube-oomd (built-in
# defaults). The Go side asserts, for kube-oomd, that it killed the leaker
# and nobody else, throttled no other pod, the kernel killed nothing, every
# container's memory.high stayed as written all along (kube-oomd never
# writes one), no pod slice's memory.high is left set, and Q's high events
# ticked.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/episode.sh"
daemon_required

HEADROOM_MB=${QOS_HEADROOM_MB:-112}
QFILE=$DATA/qos192.dat
make_file "$QFILE" 192
make_file "$EP_HOT" "$EP_HOT_MB"

declare -gA QOS_HIGH=()

# qos_high REQUEST LIMIT: the kubelet's memory.high for a container (bytes).
qos_high() {
	python3 -c 'import math, sys
r, l = float(sys.argv[1]), float(sys.argv[2])
print(int(math.floor((r + (l - r) * 0.9) / 4096) * 4096))' "$1" "$2"
}

# qos_set CONTAINER BYTES: MemoryHigh on the container's scope, as runc does
# for the kubelet's unified memory.high; then the file must say so.
qos_set() {
	local ct=$1 v=$2 unit=${CT_CG[$1]##*/} got
	timeout 60 systemctl set-property --runtime "$unit" "MemoryHigh=$v" || die "set-property $unit MemoryHigh=$v failed"
	got=$(cat "${CT_CG[$ct]}/memory.high")
	[ "$got" = "$v" ] || die "$ct: memory.high is $got after MemoryHigh=$v"
	QOS_HIGH[$ct]=$v
	log "$ct: MemoryQoS memory.high $v"
}

ep_pods() {
	ep_pod G Guaranteed bystander "$((EP_HOT_MB + 128))M"
	ep_pod Q Burstable bystander 128M   # every container has a limit: the pod has one
	ep_pod N Burstable bystander
	ep_pod E BestEffort bystander
	ep_pod L BestEffort leaker
}

ep_containers() {
	local n limit
	limit=$(cat "$KUBEPODS_CG/memory.max")
	QOS_HIGH=()
	for n in G Q N E L; do ep_pause "$n"; done
	ep_reader
	ep_fork Q Q-app "$(burstable_adj $((64 << 20)))" python3 "$WL/reader.py" "$QFILE" 0.2 sequential
	ep_fork N N-app "$(burstable_adj $((100 << 20)))" python3 "$WL/hold.py" 150
	ep_fork E E-app 1000 python3 "$WL/hold.py" 100
	ep_place
	QOS_HIGH[G-app]=max
	timeout 60 systemctl set-property --runtime "${CT_CG[Q-app]##*/}" MemoryMax=128M || die "set-property MemoryMax failed"
	qos_set Q-app "$(qos_high $((64 << 20)) $((128 << 20)))"
	qos_set N-app "$(qos_high $((100 << 20)) "$limit")"
	qos_set E-app "$(qos_high 0 "$limit")"
	wait_log N-app ready 90
	wait_log E-app ready 90
	wait_count Q-app '^pass' 3 120 || die "Q's reader did not finish 3 passes"
	ep_reader_warm
}

ep_go() {
	local p=$1 initial n
	initial=$(ep_initial "$HEADROOM_MB")
	fact "$p.leak_initial_mib" "$initial"
	container_start L L-app 1000 python3 "$WL/leak.py" 2 100 4096 "$initial"
	qos_set L-app "$(qos_high 0 "$(cat "$KUBEPODS_CG/memory.max")")"
	ep_until L-app
	for n in "${!QOS_HIGH[@]}"; do
		fact "$p.qos_high.$n" "${QOS_HIGH[$n]}"
		fact "$p.high_events_before.$n" "$(cg_events "${CT_CG[$n]}" high)"
	done
}

ep_end() {
	local p=$1 n
	for n in "${!QOS_HIGH[@]}"; do
		fact "$p.qos_high_after.$n" "$(cat "${CT_CG[$n]}/memory.high" 2>/dev/null || echo gone)"
		fact "$p.high_events_after.$n" "$(cg_events "${CT_CG[$n]}" high)"
	done
}

comparing && ep_run kernel kernel
ep_run daemon daemon
result_write
