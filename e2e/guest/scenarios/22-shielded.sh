#!/bin/bash
# 22 a pod that shields itself entirely and grows (issue 19 item 12). A
# BestEffort pod S runs workloads/shielded.py: its main process (started at
# the kubelet's 1000) writes -1000 to its own oom_score_adj, as a process
# run as root may, then forks a child that keeps the inherited -1000 and
# leaks 20 MiB/s from SHIELD_HEADROOM_MB under the kubepods limit. Every
# process of S that grows is one neither the kernel nor kube-oomd kills.
# Bystanders: a Burstable holder B within its request (request 200 MiB,
# holds 150) and the Guaranteed hot-file reader G. Run in this boot (the
# kernel-alone run under make compare only):
#   kernel  the kernel alone: it kills B, then G (and the sandboxes),
#           never S's -1000 processes; the episode ends once B and G are
#           dead (EP_TIMEOUT at most).
#   daemon  kube-oomd on its built-in defaults: it contains S with a
#           memory.high at or under its usage (reason
#           shielded-pod-contained), holds it while it pushes, and kills
#           no one; the episode runs SHIELD_HOLD_S, the time S must stay
#           held with B and G alive.
# The Go side asserts, for kube-oomd: B and G alive; no kill record; no
# no-killable-pod record after the first one with reason
# shielded-pod-contained (one before it is possible: S is recognised as
# the grower only once two samples show it growing); such a record
# naming S; S's pod slice memory.high set (ep.pods.S) from soon after the
# leak started to the end, at or under its usage; S's main process and its
# child alive at -1000; the kernel killed nothing in kubepods.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/episode.sh"
daemon_required

HEADROOM_MB=${SHIELD_HEADROOM_MB:-112}   # free under the limit when the leak starts, as 01
HOLD_S=${SHIELD_HOLD_S:-40}              # the daemon run: how long S must stay held
LEAK_CAP_MB=$((EP_LIMIT_MB * 2))         # never reached: the limit (or the throttle) comes first
fact hold_s "$HOLD_S"
make_file "$EP_HOT" "$EP_HOT_MB"

ep_pods() {
	ep_pod G Guaranteed bystander "$((EP_HOT_MB + 128))M"
	ep_pod B Burstable bystander
	ep_pod S BestEffort leaker
}

ep_containers() {
	local n
	for n in G B S; do ep_pause "$n"; done
	ep_reader
	ep_fork B B-app "$(burstable_adj $((200 << 20)))" python3 "$WL/hold.py" 150
	ep_place
	wait_log B-app ready 90
	ep_reader_warm
}

ep_go() {
	local p=$1 initial
	initial=$(ep_initial "$HEADROOM_MB")
	fact "$p.leak_initial_mib" "$initial"
	container_start S S-app 1000 python3 "$WL/shielded.py" 2 100 "$LEAK_CAP_MB" "$initial"
	wait_log S-app '^child' 30
	wait_log S-app '^start' 30
	fact "$p.s_child_pid" "$(sed -n 's/^child \([0-9]*\)$/\1/p' "$WORK/S-app.log" | head -1)"
	# What ends the episode is the bystanders' death, which only the kernel
	# run should see: kube-oomd's runs for its whole EP_TIMEOUT.
	ep_until B-app
	ep_until G-app
}

# Every process of S (the main one, its child), with its adj and peak RSS.
ep_spec() {
	printf ', "procs": {"S-app": "%s"}' "${CT_CG[S-app]}"
}

ep_end() {
	local p=$1 child
	child=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$WORK/S-app.log" | head -1)
	fact "$p.s_main_adj" "$(cat "/proc/${CT_PID[S-app]}/oom_score_adj" 2>/dev/null || echo gone)"
	fact "$p.s_child_adj" "$(cat "/proc/$child/oom_score_adj" 2>/dev/null || echo gone)"
	if [ -n "$child" ] && alive "$child"; then fact "$p.s_child_alive" true; else fact "$p.s_child_alive" false; fi
	# Before kube-oomd stops (a clean stop gives every throttle back): S's
	# pod slice memory.high, its usage, and how often it pushed against it.
	fact "$p.s_memory_high" "$(memory_high S)"
	fact "$p.s_current_bytes" "$(cg_current "${POD_CG[S]}")"
	fact "$p.s_high_events" "$(cg_events_local "${POD_CG[S]}" high)"
	cp "$WORK/S-app.log" "$E2E_RESULTS/$SCENARIO.$p.shielded.log"
}

comparing && ep_run kernel kernel
EP_TIMEOUT=$HOLD_S ep_run daemon daemon
result_write
