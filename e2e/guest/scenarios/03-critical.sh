#!/bin/bash
# 03 critical pod. A BestEffort pod whose process runs at oom_score_adj -997
# (a node-critical pod) is the largest pod; a smaller BestEffort pod leaks.
# A Guaranteed pod's page cache gives reclaim something to chew on, so there
# is time for kube-oomd to act. The Go side asserts the critical pod lives,
# the leaker dies, and kube-oomd's kill names the leaker, never the critical.
source "$(dirname "$0")/../lib.sh"
daemon_required

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
CRIT_MB=${CRIT_MB:-560}
HOT_MB=${HOT_MB:-192}
HEADROOM_MB=${HEADROOM_MB:-112}
hot=$DATA/hot192.dat
make_file "$hot" "$HOT_MB"

kubepods_setup systemd "${LIMIT_MB}M"
pod_new C BestEffort
pod_new G Guaranteed "$((HOT_MB + 128))M"
pod_new L BestEffort
pods_apply
pod_facts run
fact run.limit_bytes "$(cat "$KUBEPODS_CG/memory.max")"
pause_start C
pause_start G
pause_start L
container_start C critical -997 python3 "$WL/hold.py" "$CRIT_MB"
container_start G reader -997 python3 "$WL/reader.py" "$hot" 0.2
wait_log critical ready 90
wait_count reader '^pass' 3 120 || die "reader did not finish 3 passes"

conf=$WORK/run.toml
write_config "$conf"
cp "$conf" "$E2E_RESULTS/$SCENARIO.run.toml"
daemon_start "$conf"
# The status view: kube-oomd pods --json, as ranked now.
timeout 60 "$KUBE_OOMD" pods --json --config "$conf" >"$WORK/pods.json" 2>"$WORK/pods.err"
fact run.pods_cmd_rc $?
fact run.pods_cmd "@json:$WORK/pods.json"
fact run.pods_cmd_stderr "$(head -c 2000 "$WORK/pods.err")"

oom_facts run.before
used=$(($(cg_current "$KUBEPODS_CG") >> 20))
initial=$((LIMIT_MB - used - HEADROOM_MB))
[ $initial -lt 0 ] && initial=0
fact run.leak_initial_mib "$initial"
container_start L leaker 1000 python3 "$WL/leak.py" 4 100 4096 "$initial"
python3 "$WL/watch.py" "${CT_PID[leaker]}" 120 "$KUBEPODS_CG" >"$WORK/watch.json"
fact run.watch "@json:$WORK/watch.json"
fact run.leak_start_s "$(sed -n 's/^start //p' "$WORK/leaker.log")"
fact run.critical_bytes "$(cg_current "${POD_CG[C]}")"
sleep 3
oom_facts run.after
alive_facts run
daemon_stop run
result_write
