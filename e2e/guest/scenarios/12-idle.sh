#!/bin/bash
# 12 idle: what kube-oomd costs on a calm node. IDLE_PODS (150) idle pods
# under the systemd driver, a third each Guaranteed, Burstable and
# BestEffort, each with a sandbox and one sleeping container; kube-oomd with
# its built-in defaults (a config file of comments only), left IDLE_SETTLE
# (15) s to settle; then over IDLE_WINDOW (60) s its CPU time (utime+stime
# of /proc/PID/stat, in clock ticks), RSS, context switches, read and write
# syscalls (/proc/PID/io), and the journal lines it wrote. After that
# window, and apart from it (ptrace slows the process down), `strace -c -f`
# counts its system calls for IDLE_STRACE (30) s. The Go side logs the
# figures and bounds the ticks per minute and the RSS.
#
# Runs before 11-deb, which always runs last (see e2e_test.go).
source "$(dirname "$0")/../lib.sh"
daemon_required
command -v strace >/dev/null || die "no strace in the guest image (e2e/image/packages.txt)"

IDLE_PODS=${IDLE_PODS:-150}
IDLE_SETTLE=${IDLE_SETTLE:-15}
IDLE_WINDOW=${IDLE_WINDOW:-60}
IDLE_STRACE=${IDLE_STRACE:-30}
fact pods "$IDLE_PODS"
fact settle_s "$IDLE_SETTLE"

kubepods_setup systemd 1200M
b_adj=$(burstable_adj $((32 << 20)))

# The pods: their slices in one systemctl start, then their containers'
# processes, put into their scopes over one D-Bus connection (lib.sh's
# containers_place; a systemd-run each would take minutes under TCG).
t0=$(now)
for ((i = 0; i < IDLE_PODS; i++)); do
	case $((i % 3)) in
	0) pod_new "p$i" Guaranteed 64M ;;
	1) pod_new "p$i" Burstable ;;
	2) pod_new "p$i" BestEffort ;;
	esac
done 2>/dev/null # a log line each: the facts say it all
pods_apply
t1=$(now)
for ((i = 0; i < IDLE_PODS; i++)); do
	case ${POD_QOS[p$i]} in
	Guaranteed) adj=-997 ;;
	Burstable) adj=$b_adj ;;
	BestEffort) adj=1000 ;;
	esac
	container_fork "p$i" "p$i-pause" -998 sleep infinity
	container_fork "p$i" "p$i-app" "$adj" sleep infinity
done
containers_place
t2=$(now)
fact create.slices_s "$(calc "$t1 - $t0")"
fact create.containers_s "$(calc "$t2 - $t1")"
fact create.total_s "$(calc "$t2 - $t0")"
fact run.containers "${#CT_NAMES[@]}"
fact run.sample.cgroup "$(sed -n 's/^0:://p' "/proc/${CT_PID[p1-app]}/cgroup")"
fact run.sample.adj "$(cat "/proc/${CT_PID[p1-app]}/oom_score_adj")"
fact run.sample.want_adj "$b_adj"
fact run.sample.oom_group "$(cat "${CT_CG[p1-app]}/memory.oom.group")"
fact run.sample.unit_state "$(systemctl show -p ActiveState --value "${CT_CG[p1-app]##*/}")"
fact run.kubepods_cgroups "$(find "$KUBEPODS_CG" -mindepth 1 -type d | wc -l)"
fact run.kubepods_bytes "$(cg_current "$KUBEPODS_CG")"
log "$IDLE_PODS pods, ${#CT_NAMES[@]} containers in $(calc "$t2 - $t0") s (slices $(calc "$t1 - $t0") s)"
fact run.before.kubepods_oom_kill "$(cg_events "$KUBEPODS_CG" oom_kill)"

# kube-oomd, built-in defaults.
conf=$WORK/idle.toml
echo "# kube-oomd e2e ($SCENARIO): every key at its built-in default" >"$conf"
cp "$conf" "$E2E_RESULTS/$SCENARIO.run.toml"
t3=$(now)
daemon_start "$conf"
pid=$(systemctl show -p MainPID --value kube-oomd)
[ -n "$pid" ] && [ "$pid" -gt 0 ] || die "no MainPID for kube-oomd"
fact run.pid "$pid"
sleep "$IDLE_SETTLE"

# The measured window: nothing else runs in the guest meanwhile.
python3 "$E2E_GUEST/proccost.py" snap "$pid" >"$WORK/start.json" || die "cannot read /proc/$pid"
fact run.startup_ticks "$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["utime"] + s["stime"])' "$WORK/start.json")"
fact run.startup_s "$(calc "$(now) - $t3")"
cursor=$(journal_cursor)
sleep "$IDLE_WINDOW"
python3 "$E2E_GUEST/proccost.py" snap "$pid" >"$WORK/end.json" || die "kube-oomd ($pid) is gone"
python3 "$E2E_GUEST/proccost.py" diff "$WORK/start.json" "$WORK/end.json" >"$WORK/cost.json" || die "proccost diff failed"
fact cost "@json:$WORK/cost.json"
fact cost.journal_lines "$(journalctl -u kube-oomd --no-pager -o cat --after-cursor="$cursor" | wc -l)"
log "idle cost: $(cat "$WORK/cost.json")"

# System calls, apart from the window above.
timeout -s INT "$IDLE_STRACE" strace -c -f -qq -p "$pid" -o "$WORK/strace.txt" 2>"$WORK/strace.err"
fact strace.rc $?
cat "$WORK/strace.txt" "$WORK/strace.err" >"$E2E_RESULTS/$SCENARIO.strace.txt" 2>/dev/null
fact strace.window_s "$IDLE_STRACE"
python3 "$E2E_GUEST/proccost.py" strace "$WORK/strace.txt" >"$WORK/strace.json" || echo '{}' >"$WORK/strace.json"
fact strace.calls "@json:$WORK/strace.json"

# The daemon's own view: it follows every pod (or the figures above mean
# nothing), and what its triggers saw.
timeout 60 "$KUBE_OOMD" status --json >"$WORK/status.json" 2>"$WORK/status.err"
status_rc=$?
cp "$WORK/status.json" "$E2E_RESULTS/$SCENARIO.status.json" 2>/dev/null
python3 - "$WORK/status.json" >"$WORK/status.facts.json" <<'PY' || echo '{}' >"$WORK/status.facts.json"
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"pods": len(s.get("pods") or []),
                  "triggers": {t["key"]: t["events"] for t in s.get("triggers") or []}}))
PY
fact status "@json:$WORK/status.facts.json"
fact status.rc "$status_rc"

# Still there, and nothing died or was killed.
vmrss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null; }
fact metrics.rss_off_kib "$(vmrss "$pid")"
alive=0
for n in "${CT_NAMES[@]}"; do alive "${CT_PID[$n]}" && alive=$((alive + 1)); done
fact run.containers_alive "$alive"
fact run.after.kubepods_oom_kill "$(cg_events "$KUBEPODS_CG" oom_kill)"
daemon_stop run

# What metrics.listen costs in memory: the same node, the daemon again with
# the endpoint on, settled, then scraped every 5 s as Prometheus would.
sock=/run/kube-oomd/metrics.sock
printf '[metrics]\nlisten = "%s"\n' "$sock" >>"$WORK/metrics.toml"
daemon_start "$WORK/metrics.toml"
mpid=$(systemctl show -p MainPID --value kube-oomd)
sleep "$IDLE_SETTLE"
for i in 1 2 3 4; do
	curl -s --max-time 20 --unix-socket "$sock" http://localhost/metrics >"$WORK/scrape.txt"
	sleep 5
done
fact metrics.rss_on_kib "$(vmrss "$mpid")"
fact metrics.scrape_bytes "$(wc -c <"$WORK/scrape.txt")"
fact metrics.series "$(grep -vc '^#' "$WORK/scrape.txt")"
cp "$WORK/scrape.txt" "$E2E_RESULTS/$SCENARIO.metrics.txt"
for q in Guaranteed Burstable BestEffort; do
	fact "metrics.pods.$q" "$(sed -n "s/^kube_oomd_pods{qos=\"$q\"} //p" "$WORK/scrape.txt")"
done
daemon_stop metrics
fact run.elapsed_s "$(calc "$(now) - $t0")"
result_write
