#!/bin/bash
# Faults (issue 10), on the real kernel and systemd, where fakes cannot
# show it:
#  - nested: a BestEffort pod whose container holds a nested cgroup with a
#    node-critical process (-997), as systemd-in-a-container or a kind node
#    makes. kube-oomd pods must see it and protect the pod; the plain
#    BestEffort pod beside it ranks first.
#  - second: with kube-oomd running, a second `kube-oomd run --dry-run`
#    refuses, names the running PID, and leaves the first one serving.
#  - rewrites: the config file rewritten in place 60 times (shell
#    redirection, tee), each rewrite empty for a moment: the daemon must
#    never run on a half-written file (dry-run never turns into pod).
source "$(dirname "$0")/../lib.sh"
daemon_required

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
kubepods_setup systemd "${LIMIT_MB}M"
pod_new N BestEffort
pod_new B BestEffort
pods_apply
pod_facts run
pause_start N
pause_start B
container_start N app 1000 python3 "$WL/hold.py" 200
container_start B plain 1000 python3 "$WL/hold.py" 100
wait_log app ready 90
wait_log plain ready 90

# The nested cgroup, and a node-critical process in it.
nested=${CT_CG[app]}/nested
mkdir "$nested" || die "cannot create $nested"
# shellcheck disable=SC2016
bash -c 'echo $$ >"$1/cgroup.procs" && exec choom -n -997 -- python3 "$2" 64' _ "$nested" "$WL/hold.py" \
	>"$WORK/nested.log" 2>&1 </dev/null &
nested_pid=$!
for i in $(seq 1 100); do in_cgroup "$nested_pid" "$nested" && break; sleep 0.05; done
in_cgroup "$nested_pid" "$nested" || die "nested process $nested_pid not in $nested"
wait_log nested ready 90 2>/dev/null || true
fact nested.cgroup "${nested#"$CG"}"
fact nested.adj "$(cat /proc/$nested_pid/oom_score_adj)"

conf=$WORK/faults.toml
write_config "$conf" systemd /kubepods.slice dry-run
config_set "$conf" kill protect '["/kubepods.slice/never-*"]'
cp "$conf" "$WORK/dry.toml"
timeout 60 "$KUBE_OOMD" pods --json --config "$conf" >"$WORK/pods.json" 2>"$WORK/pods.err"
fact nested.pods_cmd_rc $?
fact nested.pods "@json:$WORK/pods.json"
fact nested.pods_stderr "$(head -c 2000 "$WORK/pods.err")"

daemon_start "$conf"
main_pid=$(systemctl show -p MainPID --value kube-oomd)
fact second.main_pid "$main_pid"
t0=$(now)
timeout 60 "$KUBE_OOMD" run --dry-run --config "$conf" >"$WORK/second.out" 2>"$WORK/second.err"
fact second.rc $?
fact second.took_s "$(calc "$(now) - $t0")"
fact second.stderr "$(head -c 2000 "$WORK/second.err")"
timeout 60 "$KUBE_OOMD" status --json >"$WORK/status.json" 2>"$WORK/status.err"
fact second.status_rc $?
fact second.status_pid "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WORK/status.json" 2>/dev/null)"
fact second.main_active "$(systemctl is-active kube-oomd)"

# In-place rewrites: the file is truncated, then written.
for i in $(seq 1 30); do
	cat "$WORK/dry.toml" >"$conf"
	sleep 0.07
	tee "$conf" <"$WORK/dry.toml" >/dev/null
	sleep 0.13
done
sleep 3 # the last edit settles (1 s), then a reload
timeout 60 "$KUBE_OOMD" status --json >"$WORK/status2.json" 2>/dev/null
fact rewrites.mode "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["kill"]["mode"])' "$WORK/status2.json" 2>/dev/null)"
fact rewrites.count 60
daemon_stop run
kill "$nested_pid" 2>/dev/null
alive_facts run
result_write
