#!/bin/bash
# 11 deb: the installed package's life, with exactly the commands of
# README.md's Install section (between <!-- install:begin --> and
# <!-- install:end -->), in that order, each fed verbatim to `step` below;
# e2e/readme_test.go checks that every line of that block is a line of this
# file, in order. Between the steps the scenario checks what each did: the
# package installs kube-oomd disabled and stopped and prints the next step,
# its conffile has every key commented out, the roll-out is by fragments in
# /etc/kube-oomd/kube-oomd.toml.d/ (the shipped dry-run fragment, and one
# that turns metrics on, on a unix socket under /run/kube-oomd, the unit as
# shipped), `enable --now` starts a Type=notify service at oom_score_adj
# -1000 in system.slice in dry-run, a leak then leaves a "would kill"
# record and the metric counts it, removing the fragment and a reload arm
# it without a restart, a leak then leaves a kill record naming the leaker,
# `kube-oomd status` answers, and the purge leaves nothing behind. After
# the kill it scrapes the metrics with curl and records the daemon's VmRSS,
# then turns metrics to TCP. The Go side asserts it all.
#
# It must run last: it installs a system-wide kube-oomd.service, where the
# other scenarios run a transient unit of that name.
source "$(dirname "$0")/../lib.sh"

DEB_DIR=/mnt/host/deb
SHIPPED_CONF=/mnt/host/packaging/kube-oomd.toml
INSTALL_DIR=/root/kube-oomd-install
mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}
HOT_MB=${HOT_MB:-320}
HEADROOM_MB=${HEADROOM_MB:-112}

# The guest's architecture (amd64, or arm64 under KUBE_OOMD_E2E_ARCH=arm64).
DEB_ARCH=$(dpkg --print-architecture)
shopt -s nullglob
debs=("$DEB_DIR"/kube-oomd_*_"$DEB_ARCH".deb)
shopt -u nullglob
# The Go side always puts one there (or fails the run): none is a failure.
[ ${#debs[@]} -eq 1 ] || die "want exactly one kube-oomd_*_${DEB_ARCH}.deb in the share's deb/, have ${#debs[@]}"
fact deb "$(basename "${debs[0]}")"

# step NAME: run the one command on stdin (a line of README.md's install
# block) with bash, in INSTALL_DIR; facts NAME.cmd, NAME.rc, NAME.out.
step() {
	local name=$1 cmd rc
	cmd=$(cat)
	# The README's dpkg -i names the amd64 .deb; a guest of another
	# architecture installs its own (NAME.cmd records what ran).
	cmd=${cmd//_amd64.deb/_${DEB_ARCH}.deb}
	log "\$ $cmd"
	(cd "$INSTALL_DIR" && timeout 300 bash -c "$cmd") </dev/null >"$WORK/$name.out" 2>&1
	rc=$?
	{ echo "\$ $cmd"; cat "$WORK/$name.out"; echo "(exit $rc)"; } | tee "$E2E_RESULTS/$SCENARIO.$name.out" >&2
	fact "$name.cmd" "$cmd"
	fact "$name.rc" "$rc"
	fact_text "$name.out" "$WORK/$name.out"
	return 0
}

main_pid() { systemctl show -p MainPID --value kube-oomd; }

METRICS_SOCK=/run/kube-oomd/metrics.sock

# scrape_facts PREFIX: GET /metrics over the metrics socket, as the README
# says; the text goes to the results, and PREFIX.rc, PREFIX.socket_mode and
# PREFIX.scrape (kube-oomd's samples by series, go_goroutines and
# process_resident_memory_bytes) to the facts.
scrape_facts() {
	local p=$1 out=$E2E_RESULTS/$SCENARIO.$1.txt
	curl -s --max-time 30 --unix-socket "$METRICS_SOCK" http://localhost/metrics >"$out" 2>"$WORK/$p.curl.err"
	fact "$p.rc" $?
	fact "$p.socket_mode" "$(stat -c %a "$METRICS_SOCK" 2>/dev/null)"
	python3 - "$out" >"$WORK/$p.scrape.json" <<-'PY'
		import json, sys
		samples = {}
		for line in open(sys.argv[1], errors="replace"):
		    line = line.strip()
		    if not line or line.startswith("#"):
		        continue
		    series, _, value = line.rpartition(" ")
		    if series.startswith("kube_oomd_") or series in ("go_goroutines", "process_resident_memory_bytes"):
		        samples[series] = float(value)
		print(json.dumps({"samples": samples}))
	PY
	fact "$p.scrape" "@json:$WORK/$p.scrape.json"
}

# wait_reload CURSOR MODE: wait (bounded) for kube-oomd's "config reloaded"
# record with that mode after CURSOR; its MESSAGE, or nothing.
wait_reload() {
	local cursor=$1 mode=$2 end
	end=$(($(now_cs) + 30 * 100))
	while :; do
		journalctl -u kube-oomd --no-pager -o json --after-cursor="$cursor" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    m = e.get("MESSAGE")
    if isinstance(m, list):
        m = bytes(m).decode("utf-8", "replace")
    if m and m.startswith("config reloaded ") and e.get("KUBE_OOMD_MODE") == sys.argv[1]:
        print(m)
        sys.exit(0)
sys.exit(1)' "$mode" && return 0
		[ "$(now_cs)" -gt $end ] && return 1
		sleep 0.5
	done
}

# records FILE MESSAGE_ID: kube-oomd's BestEffort records of that kind as
# JSON lines (the README's query, with -o json for the fields).
records() {
	journalctl -u kube-oomd MESSAGE_ID="$2" KUBE_OOMD_QOS=BestEffort -o json --no-pager >"$1" 2>&1
}

# record_for FILE UID: the fields of the record in FILE naming pod UID.
record_for() {
	python3 - "$1" "$2" <<-'PY'
		import json, sys
		out = None
		for line in open(sys.argv[1]):
		    try:
		        e = json.loads(line)
		    except ValueError:
		        continue
		    if e.get("KUBE_OOMD_POD_UID") == sys.argv[2]:
		        out = {k: v for k, v in e.items() if k.startswith("KUBE_OOMD_") or k in ("MESSAGE_ID", "_PID", "_SYSTEMD_UNIT")}
		print(json.dumps(out))
	PY
}

# leak PREFIX [MESSAGE_ID]: a Guaranteed pod re-reading a hot file (the
# bystander) and a BestEffort pod that starts HEADROOM_MB under the limit
# and leaks 20 MiB/s, until the leaker is dead (at most 120 s). With
# MESSAGE_ID, once a record of that ID names the leaker's pod the scenario
# kills the leaker itself: in dry-run the kernel would, some 25 s later
# under TCG, and 05 measures that. The pods stay for later looks.
leak() {
	local p=$1 mid=${2:-} used initial watcher
	pod_new G Guaranteed "$((HOT_MB + 128))M"
	pod_new BE BestEffort
	pods_apply
	pod_facts "$p"
	pause_start G
	pause_start BE
	container_start G reader -997 python3 "$WL/reader.py" "$DATA/hot.dat" 0.2
	wait_count reader '^pass' 3 120 || die "$p: reader did not finish 3 passes"
	used=$(($(cg_current "$KUBEPODS_CG") >> 20))
	initial=$((LIMIT_MB - used - HEADROOM_MB))
	[ $initial -lt 0 ] && initial=0
	oom_facts "$p.before"
	container_start BE leaker 1000 python3 "$WL/leak.py" 2 100 4096 "$initial"
	python3 "$WL/watch.py" "${CT_PID[leaker]}" 120 "$KUBEPODS_CG" >"$WORK/$p.watch.json" &
	watcher=$!
	if [ -n "$mid" ]; then
		while kill -0 "$watcher" 2>/dev/null; do
			records "$WORK/$p.records.json" "$mid"
			if [ "$(record_for "$WORK/$p.records.json" "${POD_UID[BE]}")" != null ]; then
				fact "$p.leaker_killed_by_scenario" "$(alive "${CT_PID[leaker]}" && echo true || echo false)"
				kill -9 "${CT_PID[leaker]}" 2>/dev/null
				break
			fi
			sleep 0.5
		done
	fi
	wait "$watcher"
	fact "$p.watch" "@json:$WORK/$p.watch.json"
	sleep 2
	oom_facts "$p.after"
	alive_facts "$p"
}

# ---- before: no transient kube-oomd left by the other scenarios.
fact pre.load_state "$(systemctl show -p LoadState --value kube-oomd)"
fact pre.transient_unit_file "$([ -e /run/systemd/transient/kube-oomd.service ] && echo true || echo false)"
fact pre.processes "$(pgrep -x kube-oomd | wc -l)"
# Their /run/kube-oomd (status.sock) is theirs, not the package's.
rm -rf /run/kube-oomd

mkdir -p "$INSTALL_DIR"
rm -f "$INSTALL_DIR"/*.deb
cp "${debs[0]}" "$INSTALL_DIR/"
make_file "$DATA/hot.dat" "$HOT_MB"
# The node first, so that the daemon finds kubepods when it starts.
kubepods_setup systemd "${LIMIT_MB}M"

# ---- install: disabled and stopped, the next step printed
step dpkg <<'CMD'
dpkg -i kube-oomd_*_amd64.deb
CMD
fact dpkg.is_enabled "$(systemctl is-enabled kube-oomd 2>&1)"
fact dpkg.is_active "$(systemctl is-active kube-oomd 2>&1)"
fact dpkg.installed_conf_same "$(cmp -s /etc/kube-oomd/kube-oomd.toml "$SHIPPED_CONF" && echo true || echo false)"
# Every key of the conffile is commented out: the defaults are built in.
fact dpkg.installed_key_lines "$(grep -cv '^\s*\(#\|$\)' /etc/kube-oomd/kube-oomd.toml)"
fact dpkg.dropin_dir "$([ -d /etc/kube-oomd/kube-oomd.toml.d ] && echo true || echo false)"

# ---- roll out in dry-run, with metrics on a unix socket (fragments: the
# conffile is never edited, so an upgrade never stops at dpkg's prompt)
step dryrun_fragment <<'CMD'
cp /usr/share/kube-oomd/10-dry-run.toml /etc/kube-oomd/kube-oomd.toml.d/
CMD
step metrics_fragment <<'CMD'
printf '[metrics]\nlisten = "/run/kube-oomd/metrics.sock"\n' > /etc/kube-oomd/kube-oomd.toml.d/20-metrics.toml
CMD
step check_config <<'CMD'
kube-oomd check-config
CMD

step enable <<'CMD'
systemctl enable --now kube-oomd
CMD
systemctl show -p ActiveState,SubState,Type,StatusText,MainPID,FragmentPath kube-oomd >"$WORK/show.txt"
while IFS='=' read -r k v; do fact "enable.$k" "$v"; done <"$WORK/show.txt"
pid=$(main_pid)
fact enable.oom_score_adj "$(cat "/proc/$pid/oom_score_adj" 2>/dev/null)"
fact enable.cgroup "$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)"
fact enable.exe "$(readlink "/proc/$pid/exe")"
fact enable.is_enabled "$(systemctl is-enabled kube-oomd 2>&1)"
# The mode in force, as kube-oomd status --json says it (kill.mode).
status_mode() {
	timeout 30 kube-oomd status --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin).get("config", {})
m = c.get("kill.mode") or c.get("kill", {}).get("mode") if isinstance(c, dict) else None
print(m or "unknown")' 2>/dev/null || echo unknown
}
fact enable.mode "$(status_mode)"

step status <<'CMD'
systemctl status kube-oomd
CMD

# ---- dry-run: what it would have killed, in the journal and the metrics
leak dry "$MID_WOULD_KILL"
# The would-kill record is in: the leak ended on it.
for _ in $(seq 1 20); do
	records "$WORK/would.json" "$MID_WOULD_KILL"
	[ "$(record_for "$WORK/would.json" "${POD_UID[BE]}")" != null ] && break
	sleep 1
done
step journal_would <<'CMD'
journalctl -u kube-oomd MESSAGE_ID=23add67a5aff44b8a893a749c6904f70 KUBE_OOMD_QOS=BestEffort
CMD
step metrics_would <<'CMD'
curl -s --unix-socket /run/kube-oomd/metrics.sock http://localhost/metrics | grep '^kube_oomd_would_kill_total'
CMD
record_for "$WORK/would.json" "${POD_UID[BE]}" >"$WORK/would.rec.json"
fact dry.record "@json:$WORK/would.rec.json"
pods_cleanup

# ---- arm it: the fragment goes, and a reload (no restart)
cursor=$(journal_cursor)
step arm <<'CMD'
rm /etc/kube-oomd/kube-oomd.toml.d/10-dry-run.toml
CMD
step reload_pod <<'CMD'
systemctl reload kube-oomd
CMD
fact reload_pod.record "$(wait_reload "$cursor" pod)"
fact reload_pod.pid "$(main_pid)"
fact reload_pod.active "$(systemctl is-active kube-oomd)"
fact reload_pod.mode "$(status_mode)"
leak kill
for _ in $(seq 1 20); do
	records "$WORK/kill.json" "$MID_KILL"
	[ "$(record_for "$WORK/kill.json" "${POD_UID[BE]}")" != null ] && break
	sleep 1
done
step journal_kill <<'CMD'
journalctl -u kube-oomd MESSAGE_ID=7afd622d79014eba9c7ef0a2d0c2ec1f KUBE_OOMD_QOS=BestEffort
CMD
record_for "$WORK/kill.json" "${POD_UID[BE]}" >"$WORK/kill.rec.json"
fact kill.record "@json:$WORK/kill.rec.json"
# The kill is counted as it is recorded: scrape it, then the daemon's size.
scrape_facts metrics.after_kill
fact metrics.vmrss_kb "$(awk '$1 == "VmRSS:" {print $2}' "/proc/$(main_pid)/status" 2>/dev/null)"

step status_cmd <<'CMD'
kube-oomd status
CMD
fact status_cmd.pid "$(main_pid)"

# ---- metrics over TCP (README, Metrics): on the unit as shipped the start
# fails and says what to do; with the packaged drop-in it serves.
printf '[metrics]\nlisten = "127.0.0.1:9723"\n' >/etc/kube-oomd/kube-oomd.toml.d/20-metrics.toml
DAEMON_CURSOR=$(journal_cursor)
timeout 60 systemctl restart kube-oomd >/dev/null 2>&1
fact metrics_tcp.shipped_unit_rc $?
# The refusal reaches the journal as the start fails; slow under TCG.
for _ in $(seq 1 60); do
	journalctl -u kube-oomd --no-pager -o cat --after-cursor="$DAEMON_CURSOR" >"$WORK/tcp-refused.txt" 2>&1
	grep -q 'metrics.listen' "$WORK/tcp-refused.txt" && break
	sleep 0.5
done
fact_text metrics_tcp.shipped_unit_journal "$WORK/tcp-refused.txt"
mkdir -p /etc/systemd/system/kube-oomd.service.d
cp /usr/share/kube-oomd/metrics-tcp.conf /etc/systemd/system/kube-oomd.service.d/
systemctl daemon-reload
systemctl reset-failed kube-oomd 2>/dev/null
timeout 60 systemctl restart kube-oomd
fact metrics_tcp.restart_rc $?
fact metrics_tcp.active "$(systemctl is-active kube-oomd 2>&1)"
curl -s --max-time 30 http://127.0.0.1:9723/metrics >"$E2E_RESULTS/$SCENARIO.metrics.tcp.txt" 2>"$WORK/tcp.curl.err"
fact metrics_tcp.curl_rc $?
fact metrics_tcp.kills_series "$(grep -c '^kube_oomd_kills_total{' "$E2E_RESULTS/$SCENARIO.metrics.tcp.txt")"
fact metrics_tcp.go_goroutines "$(grep -c '^go_goroutines ' "$E2E_RESULTS/$SCENARIO.metrics.tcp.txt")"
# The drop-in is the operator's file: gone before the purge's checks.
rm -rf /etc/systemd/system/kube-oomd.service.d
systemctl daemon-reload
pods_cleanup

# ---- purge
step purge <<'CMD'
apt-get purge -y kube-oomd
CMD
sleep 1
fact purge.processes "$(pgrep -x kube-oomd | wc -l)"
timeout 30 systemctl list-unit-files kube-oomd.service >"$WORK/unit-files.txt" 2>&1
fact_text purge.list_unit_files "$WORK/unit-files.txt"
fact purge.listed "$(grep -c '^kube-oomd\.service' "$WORK/unit-files.txt")"
find /usr/lib/systemd/system /etc/systemd/system /run/systemd/system /run/systemd/transient \
	-name 'kube-oomd.service*' >"$WORK/unit-paths.txt" 2>/dev/null
fact_text purge.unit_paths "$WORK/unit-paths.txt"
fact purge.etc "$([ -e /etc/kube-oomd ] && echo true || echo false)"
fact purge.run "$([ -e /run/kube-oomd ] && echo true || echo false)"
fact purge.binary "$([ -e /usr/bin/kube-oomd ] && echo true || echo false)"
fact purge.dpkg_status "$(dpkg-query -W -f '${db:Status-Abbrev}' kube-oomd 2>/dev/null || echo none)"
fact purge.load_state "$(systemctl show -p LoadState --value kube-oomd)"
fact purge.active_state "$(systemctl show -p ActiveState --value kube-oomd)"

node_cleanup
result_write
