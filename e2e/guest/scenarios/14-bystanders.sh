#!/bin/bash
# 14 bystanders (issue 9): a Burstable pod (request 100 MiB, its
# oom_score_adj from the kubelet's formula) leaks 20 MiB/s far past its
# request, beside idle BestEffort pods holding 60, 150 and 300 MiB and a
# Guaranteed hot-file reader. The kubelet's eviction order and the kernel's
# oom_score both pick the leaker; a class-first order picks the idle
# BestEffort pods. Run twice in this boot: the kernel alone, then kube-oomd
# (built-in defaults). The Go side asserts, for kube-oomd, that it killed the
# leaker, no idle pod died or was throttled, and the kernel killed nothing;
# it prints both runs side by side.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/episode.sh"
daemon_required

HEADROOM_MB=${BYST_HEADROOM_MB:-112}   # free under the limit when the leak starts, as 01
make_file "$EP_HOT" "$EP_HOT_MB"

ep_pods() {
	ep_pod G Guaranteed bystander "$((EP_HOT_MB + 128))M"
	ep_pod BE60 BestEffort bystander
	ep_pod BE150 BestEffort bystander
	ep_pod BE300 BestEffort bystander
	ep_pod L Burstable leaker
}

ep_containers() {
	local n
	for n in G BE60 BE150 BE300 L; do ep_pause "$n"; done
	ep_reader
	ep_fork BE60 BE60-app 1000 python3 "$WL/hold.py" 60
	ep_fork BE150 BE150-app 1000 python3 "$WL/hold.py" 150
	ep_fork BE300 BE300-app 1000 python3 "$WL/hold.py" 300
	ep_place
	for n in BE60 BE150 BE300; do wait_log "$n-app" ready 90; done
	ep_reader_warm
}

ep_go() {
	local p=$1 initial
	initial=$(ep_initial "$HEADROOM_MB")
	fact "$p.leak_initial_mib" "$initial"
	container_start L L-app "$(burstable_adj $((100 << 20)))" python3 "$WL/leak.py" 2 100 4096 "$initial"
	ep_until L-app
}

comparing && ep_run kernel kernel
ep_run daemon daemon
result_write
