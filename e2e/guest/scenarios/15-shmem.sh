#!/bin/bash
# 15 shared memory and a fast grab (issue 9), two parts, each run twice in
# this boot (the kernel alone, then kube-oomd on its built-in defaults):
#   shm   a BestEffort pod leaks 20 MiB/s into a memfd (shmem: swap-backed,
#         nothing reclaims it without swap) beside the Guaranteed hot-file
#         reader G and an idle Burstable pod B. For kube-oomd the Go side
#         asserts the leaker was killed by it, nobody else died or was
#         throttled, and the kernel killed nothing.
#   fast  a BestEffort pod leaks anonymous memory at 90 MiB/s beside ten idle
#         pods holding anonymous memory (no page cache worth reclaiming, so
#         PSI sees nothing until the limit): faster than one PSI window, so
#         the Go side asserts only that no bystander died.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/episode.sh"
daemon_required

SHM_HEADROOM_MB=${SHM_HEADROOM_MB:-112}
FAST_HEADROOM_MB=${FAST_HEADROOM_MB:-360}  # about 4 s of the fast leak
make_file "$EP_HOT" "$EP_HOT_MB"

PART=
ep_pods() {
	case $PART in
	shm)
		ep_pod G Guaranteed bystander "$((EP_HOT_MB + 128))M"
		ep_pod B Burstable bystander
		ep_pod L BestEffort leaker
		;;
	fast)
		ep_pod G Guaranteed bystander 96M
		ep_pod G2 Guaranteed bystander 96M
		ep_pod G3 Guaranteed bystander 128M
		ep_pod B1 Burstable bystander
		ep_pod B2 Burstable bystander
		ep_pod B3 Burstable bystander
		ep_pod BE1 BestEffort bystander
		ep_pod BE2 BestEffort bystander
		ep_pod BE3 BestEffort bystander
		ep_pod BE4 BestEffort bystander
		ep_pod L BestEffort leaker
		;;
	esac
}

# ep_hold POD MIB ADJ: an idle container holding MIB of anonymous memory.
ep_hold() { ep_fork "$1" "$1-app" "$3" python3 "$WL/hold.py" "$2"; }

ep_containers() {
	local n
	for n in "${POD_NAMES[@]}"; do ep_pause "$n"; done
	case $PART in
	shm)
		ep_reader
		ep_hold B 150 "$(burstable_adj $((100 << 20)))"
		ep_place
		wait_log B-app ready 90
		ep_reader_warm
		;;
	fast)
		ep_hold G 32 -997
		ep_hold G2 32 -997
		ep_hold G3 64 -997
		ep_hold B1 24 "$(burstable_adj $((32 << 20)))"
		ep_hold B2 48 "$(burstable_adj $((64 << 20)))"
		ep_hold B3 64 "$(burstable_adj $((64 << 20)))"
		ep_hold BE1 16 1000
		ep_hold BE2 32 1000
		ep_hold BE3 48 1000
		ep_hold BE4 64 1000
		ep_place
		for n in G G2 G3 B1 B2 B3 BE1 BE2 BE3 BE4; do wait_log "$n-app" ready 90; done
		;;
	esac
}

ep_go() {
	local p=$1 initial
	case $PART in
	shm)
		initial=$(ep_initial "$SHM_HEADROOM_MB")
		fact "$p.leak_initial_mib" "$initial"
		container_start L L-app 1000 python3 "$WL/shmleak.py" 2 100 4096 "$initial"
		;;
	fast)
		initial=$(ep_initial "$FAST_HEADROOM_MB")
		fact "$p.leak_initial_mib" "$initial"
		container_start L L-app 1000 python3 "$WL/leak.py" 9 100 4096 "$initial"
		;;
	esac
	ep_until L-app
}

PART=shm
comparing && ep_run kernel shm_kernel
ep_run daemon shm_daemon
PART=fast
comparing && ep_run kernel fast_kernel
ep_run daemon fast_daemon
result_write
