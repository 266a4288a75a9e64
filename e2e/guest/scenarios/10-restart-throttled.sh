#!/bin/bash
# 10 restart while throttled. A BestEffort pod holds anonymous memory so that
# a Guaranteed pod's hot file no longer fits under kubepods' memory.max: the
# reader thrashes and kubepods stays strained, near its limit. kube-oomd runs
# with a config under which it throttles but does not kill:
#   pressure.windows = 60        a kill needs 60 pressured windows in a row
#                                (the most allowed); the scenario is done
#                                well before
#   relief.release_after = "1h"  the throttle is not released while the
#                                scenario looks at it
# (the rest as write_config: relief.throttle_after 2, throttle_below 5%).
# The BestEffort pod keeps growing slowly (workloads/breathe.py): relief
# throttles only a pod that grows during the episode.
# Part 1: once the BestEffort pod is throttled (memory.high and systemd's
# MemoryHigh of its slice agree), kube-oomd is killed with SIGKILL; its
# /run/kube-oomd/throttles.json must name the pod; the reader is frozen (so
# that nothing strains kubepods any more and the new daemon has no reason
# to throttle again), kube-oomd is started again the same way, and the
# pod's memory.high must come back to max (MemoryHigh=infinity) within
# seconds, with "restored memory.high set by an earlier run" in the journal.
# Part 2: the reader is thawed, the pod is throttled again, and a clean
# `systemctl stop kube-oomd` must restore memory.high too. The Go side
# asserts all of it, and that nothing was killed.
source "$(dirname "$0")/../lib.sh"
daemon_required

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
HOT_MB=${HOT_MB:-320}
# The BestEffort pod takes so much that the hot file misses 64 MiB.
HOG_MB=${HOG_MB:-$((LIMIT_MB - HOT_MB + 64))}
THROTTLE_WAIT=${THROTTLE_WAIT:-60}
RESTORE_WAIT=${RESTORE_WAIT:-20}
hot=$DATA/hot.dat
make_file "$hot" "$HOT_MB"

kubepods_setup systemd "${LIMIT_MB}M"
pod_new G Guaranteed "$((HOT_MB + 128))M"
pod_new BE BestEffort
pods_apply
pod_facts run
pause_start G
pause_start BE
container_start G reader -997 python3 "$WL/reader.py" "$hot" 0.2
wait_count reader '^pass' 3 120 || die "reader did not finish 3 passes"
# HOG_MB at once, then it grows by 1 MiB every 2 s, up to 16 MiB more, and
# drops back, again and again: relief throttles only a pod that grows
# (issue 9), and 16 MiB keeps its anonymous memory under the near-limit
# share, so that no imminent-OOM rule is met.
container_start BE hog 1000 python3 "$WL/breathe.py" "$HOG_MB" 1 2000 16
wait_log hog '^ready' 120
fact run.hog_bytes "$(cg_current "${POD_CG[BE]}")"
fact run.be_memory_high_before "$(memory_high BE)"
fact run.be_unit_memory_high_before "$(unit_memory_high BE)"

conf=$WORK/run.toml
write_config "$conf"
config_set "$conf" pressure windows 60
config_set "$conf" relief release_after '"1h"'
cp "$conf" "$E2E_RESULTS/$SCENARIO.run.toml"
oom_facts run.before
rm -f /run/kube-oomd/throttles.json
daemon_start "$conf"

# wait_throttled PREFIX: wait (bounded) until BE's memory.high is not max,
# then record the file and systemd's MemoryHigh (and the file again).
wait_throttled() {
	local p=$1 end v
	end=$(($(now_cs) + THROTTLE_WAIT * 100))
	while :; do
		v=$(memory_high BE)
		[ "$v" != max ] && break
		[ "$(now_cs)" -gt $end ] && break
		sleep 0.2
	done
	fact "$p.throttled" "$([ "$v" != max ] && echo true || echo false)"
	fact "$p.at_s" "$(now)"
	fact "$p.memory_high" "$v"
	fact "$p.unit_memory_high" "$(unit_memory_high BE)"
	fact "$p.memory_high_again" "$(memory_high BE)"
	log "$p: BE memory.high=$v MemoryHigh=$(unit_memory_high BE)"
	[ "$v" != max ]
}

# ---- part 1: SIGKILL while throttled, then a restart restores it.
wait_throttled kill.throttle || die "the BestEffort pod was not throttled within ${THROTTLE_WAIT}s"
pid=$(systemctl show -p MainPID --value kube-oomd)
fact kill.pid "$pid"
timeout 30 systemctl kill -s SIGKILL kube-oomd
for _ in $(seq 1 100); do
	alive "$pid" || break
	sleep 0.1
done
fact kill.pid_dead "$(alive "$pid" && echo false || echo true)"
fact kill.active_state "$(systemctl show -p ActiveState --value kube-oomd)"
fact kill.result "$(systemctl show -p Result --value kube-oomd)"
fact kill.memory_high_after_kill "$(memory_high BE)"
if [ -f /run/kube-oomd/throttles.json ]; then
	cp /run/kube-oomd/throttles.json "$WORK/throttles.json"
	fact kill.throttles_json "@json:$WORK/throttles.json"
else
	fact kill.throttles_json null
fi
# Nothing may strain kubepods now: the new daemon must only restore.
# The freeze is asynchronous: cgroup.events says "frozen 1" once every task
# has stopped, which a reader in the middle of reclaim on a loaded TCG host
# may take a while to do. Wait for it (bounded).
t0=$(now)
echo 1 >"${POD_CG[G]}/cgroup.freeze"
for ((i = 0; i < 100; i++)); do
	grep -q 'frozen 1' "${POD_CG[G]}/cgroup.events" && break
	sleep 0.1
done
fact kill.g_frozen "$(grep -c 'frozen 1' "${POD_CG[G]}/cgroup.events")"
fact kill.g_freeze_s "$(calc "$(now) - $t0")"

t0=$(now)
daemon_launch "$conf"
end=$(($(now_cs) + RESTORE_WAIT * 100))
while [ "$(memory_high BE)" != max ] && [ "$(now_cs)" -le $end ]; do sleep 0.1; done
fact restart.memory_high "$(memory_high BE)"
fact restart.restore_s "$(calc "$(now) - $t0")"
fact restart.unit_memory_high "$(unit_memory_high BE)"
fact restart.active "$(systemctl is-active kube-oomd)"
fact restart.new_pid "$(systemctl show -p MainPID --value kube-oomd)"
sleep 2
fact restart.throttles_json_exists "$([ -e /run/kube-oomd/throttles.json ] && echo true || echo false)"
log "restart: memory.high=$(memory_high BE) after $(calc "$(now) - $t0")s"

# ---- part 2: throttled again, then a clean stop restores it.
echo 0 >"${POD_CG[G]}/cgroup.freeze"
if wait_throttled stop.throttle; then
	t0=$(now)
	timeout 60 systemctl stop kube-oomd
	fact stop.stop_s "$(calc "$(now) - $t0")"
	fact stop.active_state "$(systemctl show -p ActiveState --value kube-oomd)"
	fact stop.memory_high "$(memory_high BE)"
	fact stop.unit_memory_high "$(unit_memory_high BE)"
	fact stop.throttles_json_exists "$([ -e /run/kube-oomd/throttles.json ] && echo true || echo false)"
	log "stop: memory.high=$(memory_high BE) MemoryHigh=$(unit_memory_high BE)"
fi

oom_facts run.after
alive_facts run
timeout 60 systemctl stop kube-oomd 2>/dev/null
systemctl reset-failed kube-oomd 2>/dev/null
daemon_journal run
# Whatever an earlier assertion finds, no throttle state may reach 11.
rm -f /run/kube-oomd/throttles.json
result_write
