#!/bin/bash
# 02 busy but healthy. A BestEffort pod streams a file about twice the
# kubepods limit through the page cache next to a Guaranteed pod holding
# anonymous memory: kubepods reaches its memory.max again and again, but the
# cache is clean and reclaimable. The Go side asserts zero kills.
source "$(dirname "$0")/../lib.sh"
daemon_required

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
HOLD_MB=${HOLD_MB:-384}
STREAM_MB=${STREAM_MB:-$((LIMIT_MB * 2))}
# Sparse: reading its holes fills the page cache like a real file, without
# writing gigabytes to the guest disk first.
big=$DATA/stream.dat
rm -f "$big"
truncate -s "${STREAM_MB}M" "$big"
drop_caches

kubepods_setup systemd "${LIMIT_MB}M"
pod_new G Guaranteed "$((HOLD_MB + 64))M"
pod_new S BestEffort
pods_apply
pod_facts run
fact run.limit_bytes "$(cat "$KUBEPODS_CG/memory.max")"
fact run.stream_bytes "$((STREAM_MB << 20))"
pause_start G
pause_start S
container_start G holder -997 python3 "$WL/hold.py" "$HOLD_MB"
wait_log holder ready 60

conf=$WORK/run.toml
write_config "$conf"
cp "$conf" "$E2E_RESULTS/$SCENARIO.run.toml"
daemon_start "$conf"

oom_facts run.before
kp_full0=$(cg_full_total "$KUBEPODS_CG")
kp_some0=$(cg_some_total "$KUBEPODS_CG")
t0=$(now)
container_start S streamer 1000 python3 "$WL/stream.py" "$big" 1
if wait_count streamer '^done' 1 240; then
	fact run.stream_done true
else
	fact run.stream_done false
fi
fact run.stream_s "$(calc "$(now) - $t0")"
fact run.stream_log "$(tr '\n' ';' <"$WORK/streamer.log")"
sleep 3
fact run.kubepods_full_stall_us "$(($(cg_full_total "$KUBEPODS_CG") - kp_full0))"
fact run.kubepods_some_stall_us "$(($(cg_some_total "$KUBEPODS_CG") - kp_some0))"
fact run.kubepods_peak_bytes "$(cat "$KUBEPODS_CG/memory.peak" 2>/dev/null || echo 0)"
oom_facts run.after
alive_facts run
daemon_stop run
rm -f "$big"
result_write
