#!/bin/bash
# 06 OOM inside one pod. A Burstable pod with its own memory.max (a pod
# limit) leaks past it, far below the kubepods limit. The Go side asserts the
# kernel OOM-killed inside that pod only, nothing else died, kube-oomd killed
# nothing, and kube-oomd's journal names the pod as OOM-killed by the kernel.
source "$(dirname "$0")/../lib.sh"
daemon_required

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
POD_MAX_MB=${POD_MAX_MB:-160}

kubepods_setup systemd "${LIMIT_MB}M"
pod_new X Burstable "${POD_MAX_MB}M"
pod_new G Guaranteed 128M
pod_new BE BestEffort
pods_apply
pod_facts run
pause_start X
pause_start G
pause_start BE
container_start X sidecar "$(burstable_adj $((32 << 20)))" sleep infinity
container_start G holder -997 python3 "$WL/hold.py" 64
container_start BE idle 1000 python3 "$WL/hold.py" 32
wait_log holder ready 60
wait_log idle ready 60

conf=$WORK/run.toml
write_config "$conf"
cp "$conf" "$E2E_RESULTS/$SCENARIO.run.toml"
daemon_start "$conf"

oom_facts run.before
container_start X leaker "$(burstable_adj $((64 << 20)))" python3 "$WL/leak.py" 8 50 1024
python3 "$WL/watch.py" "${CT_PID[leaker]}" 90 "$KUBEPODS_CG" >"$WORK/watch.json"
fact run.watch "@json:$WORK/watch.json"
# kube-oomd learns of the kill from memory.events; give it time to log.
if wait_journal "$MID_KERNEL_OOM" "${POD_UID[X]}" 30; then
	fact run.journal_seen true
else
	fact run.journal_seen false
fi
sleep 2
oom_facts run.after
alive_facts run
daemon_stop run
result_write
