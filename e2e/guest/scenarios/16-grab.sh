#!/bin/bash
# 16 a fast grab by a pod that shields one of its processes (issue 9). A
# BestEffort pod S runs `stress-ng --vm 1 --vm-bytes 1300M --vm-keep`, more
# than the kubepods limit, beside a Burstable holder B and the Guaranteed
# hot-file reader G. Run as root, stress-ng sets its main process's (and its
# waiting instance's) oom_score_adj to -1000 and its worker's to 1000: the
# worker holds the memory. Without --oomable its instance starts a new
# worker when one is killed, as a supervisor would. Run twice in this boot:
# the kernel alone, then kube-oomd (built-in defaults). The episode ends
# when the first worker is dead. The grab is faster than one PSI window, so
# the Go side asserts, for kube-oomd, only that B and G live, the first
# worker is dead and the -1000 main process is alive.
#
# With the kernel alone, systemd 252 stops a scope whose process the kernel
# OOM-killed (OOMPolicy=stop, systemd issue 25376): the main process then
# ends on its SIGTERM. That is systemd's hand, recorded, not asserted.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/episode.sh"
daemon_required
command -v stress-ng >/dev/null || die "no stress-ng in the guest image (e2e/image/packages.txt)"

GRAB=${GRAB:-1300M}
fact grab "$GRAB"
make_file "$EP_HOT" "$EP_HOT_MB"

ep_pods() {
	ep_pod G Guaranteed bystander "$((EP_HOT_MB + 128))M"
	ep_pod B Burstable bystander
	ep_pod S BestEffort grabber
}

ep_containers() {
	local n
	for n in G B S; do ep_pause "$n"; done
	ep_reader
	ep_fork B B-app "$(burstable_adj $((150 << 20)))" python3 "$WL/hold.py" 200
	ep_place
	wait_log B-app ready 90
	ep_reader_warm
}

ep_go() {
	container_start S S-app 1000 stress-ng --vm 1 --vm-bytes "$GRAB" --vm-keep
	ep_until worker
}

# The worker is the one stress-ng forks, at oom_score_adj 1000 (its
# instance, at -1000, carries the title "[run]" for a moment before it forks
# the worker and becomes "[wait]"): find it, and follow every process of the
# container.
ep_spec() {
	printf ', "find": {"worker": ["%s", "^stress-ng-vm .run.", "1000"]}' "${CT_CG[S-app]}"
	printf ', "procs": {"S-app": "%s"}' "${CT_CG[S-app]}"
}

ep_end() {
	local p=$1
	fact "$p.main_pid" "${CT_PID[S-app]}"
	fact "$p.main_adj" "$(cat "/proc/${CT_PID[S-app]}/oom_score_adj" 2>/dev/null || echo gone)"
	fact "$p.s_scope_state" "$(systemctl show -p ActiveState --value "${CT_CG[S-app]##*/}" 2>/dev/null)"
	cp "$WORK/S-app.log" "$E2E_RESULTS/$SCENARIO.$p.stress-ng.log"
}

comparing && ep_run kernel kernel
ep_run daemon daemon
result_write
