# shellcheck shell=bash
# lib.sh: a simulated kubelet node for the e2e scenarios, sourced by them.
#
# It lays out pods exactly as the kubelet does (see
# shared/reference/kubelet.md), under either cgroup driver:
#   systemd:  /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<64hex>.scope
#   cgroupfs: /kubepods/<qos>/pod<uid>/<64hex>
# (Guaranteed pods have no QoS level.) Every pod has a pause container at
# oom_score_adj -998; containers get the kubelet's adj for their QoS class.
#
# Typical use:
#   kubepods_setup systemd 1200M
#   pod_new G Guaranteed 400M          # sets POD_UID[G], POD_CG[G]
#   pods_apply                         # systemd: start the pod slices
#   container_start G app -997 python3 "$WL/reader.py" ...
#   ...
#   node_cleanup
#
# Results: fact KEY VALUE appends to the scenario's fact list; result_write
# turns it into $E2E_RESULTS/<scenario>.json (dotted keys nest).

CG=/sys/fs/cgroup
E2E_GUEST=${E2E_GUEST:-/mnt/host/guest}
E2E_RESULTS=${E2E_RESULTS:-/mnt/host/results}
WL=$E2E_GUEST/workloads
WORK=${E2E_WORK:-/run/e2e}
DATA=/var/lib/e2e                    # on the guest's disk, for page-cache files
KUBE_OOMD=${KUBE_OOMD_BIN:-/mnt/host/kube-oomd}
SCENARIO=${SCENARIO:-$(basename "${0%.sh}")}
FACTS=$WORK/$SCENARIO.facts
mkdir -p "$WORK" "$DATA" "$E2E_RESULTS"
: >"$FACTS"

declare -gA POD_UID POD_CG POD_QOS POD_UNIT
declare -gA CT_PID CT_CG CT_POD CT_ARGS
declare -ga POD_NAMES=() CT_NAMES=()
DRIVER=${DRIVER:-systemd}
KUBEPODS_CG=

# ---------------------------------------------------------------- basics

# now: seconds since boot, two decimals (CLOCK_BOOTTIME via /proc/uptime).
now() { local u; read -r u _ </proc/uptime; echo "$u"; }
# now_cs: the same in centiseconds, an integer for bash arithmetic.
now_cs() { local u; read -r u _ </proc/uptime; u=${u/./}; echo $((10#$u)); }

# log MESSAGE: to stderr, timestamped; without a fork (slow under TCG).
log() { local u; read -r u _ </proc/uptime; echo "[$u] $SCENARIO: $*" >&2; }

die() { log "FATAL: $*"; fact error "$*"; result_write; exit 1; }

# fact KEY VALUE: record one result field. Dotted keys nest in the JSON.
# Values that look like numbers or true/false/null become JSON scalars; a
# value "@json:FILE" embeds that file's JSON.
fact() { printf '%s\t%s\n' "$1" "$2" >>"$FACTS"; }

# comparing: `make compare` (E2E_COMPARE=1) adds each scenario's comparison
# runs (the kernel alone; 09's kill-only run); the gate, `make test`, runs
# kube-oomd's runs alone and checks its promises.
comparing() { [ "${E2E_COMPARE:-}" = 1 ]; }

# fact_text KEY FILE: FILE's text (its first 16 KiB) as a JSON string.
fact_text() {
	# At most 16 KiB: the first 4 and the last 12 (a journal's newest lines
	# are at its end).
	python3 -c 'import json, sys; t = open(sys.argv[1], errors="replace").read(); print(json.dumps(t if len(t) <= 16384 else t[:4096] + "\n[...]\n" + t[-12288:]))' \
		"$2" >"$2.json" 2>/dev/null || echo '""' >"$2.json"
	fact "$1" "@json:$2.json"
}

result_write() {
	python3 "$E2E_GUEST/result.py" "$FACTS" "$E2E_RESULTS/$SCENARIO.json"
}

# float arithmetic: calc EXPR (python syntax)
calc() { python3 -c "print(round($1, 3))"; }

bytes() { # bytes 512M -> 536870912
	python3 - "$1" <<'PY'
import sys
s = sys.argv[1].strip().upper().rstrip("B").rstrip("I")
m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
print(int(float(s[:-1]) * m[s[-1]]) if s[-1] in m else int(s))
PY
}

mem_total() { awk '/^MemTotal:/ {print $2 * 1024}' /proc/meminfo; }

# burstable_adj REQUEST_BYTES: pkg/kubelet/qos/policy.go for Burstable.
burstable_adj() {
	local req=$1 cap adj
	cap=$(mem_total)
	if [ "$req" -eq 0 ]; then echo 999; return; fi
	adj=$((1000 - (1000 * req) / cap))
	[ $adj -lt 3 ] && adj=3
	[ $adj -gt 999 ] && adj=999
	echo $adj
}

# ---------------------------------------------------------------- cgroup reads

# cg_events CGDIR KEY: a memory.events counter (0 when the cgroup is gone).
cg_events() { awk -v k="$2" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$1/memory.events" 2>/dev/null || echo 0; }
# cg_events_local CGDIR KEY: the same from memory.events.local, the events
# of the cgroup itself (oom: its own limit ran out).
cg_events_local() { awk -v k="$2" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$1/memory.events.local" 2>/dev/null || echo 0; }

# cg_full_total CGDIR: memory.pressure "full" total, µs.
cg_full_total() { sed -n 's/^full .*total=\([0-9]*\)/\1/p' "$1/memory.pressure" 2>/dev/null || echo 0; }
cg_some_total() { sed -n 's/^some .*total=\([0-9]*\)/\1/p' "$1/memory.pressure" 2>/dev/null || echo 0; }

cg_current() { cat "$1/memory.current" 2>/dev/null || echo 0; }

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# ---------------------------------------------------------------- the node

# kubepods_setup DRIVER MEMORY_MAX: the kubepods cgroup and its QoS levels.
kubepods_setup() {
	DRIVER=$1
	local max=$2
	case $DRIVER in
	systemd)
		KUBEPODS_CG=$CG/kubepods.slice
		cat >/run/systemd/system/kubepods.slice <<-EOF
			[Unit]
			Description=libcontainer container kubepods slice
			Before=slices.target
			[Slice]
			MemoryAccounting=yes
			MemoryMax=$max
		EOF
		local q
		for q in besteffort burstable; do
			cat >/run/systemd/system/kubepods-$q.slice <<-EOF
				[Unit]
				Description=libcontainer container kubepods-$q slice
				[Slice]
				MemoryAccounting=yes
			EOF
		done
		timeout 120 systemctl daemon-reload
		timeout 60 systemctl start kubepods.slice kubepods-besteffort.slice kubepods-burstable.slice
		;;
	cgroupfs)
		KUBEPODS_CG=$CG/kubepods
		grep -qw memory $CG/cgroup.subtree_control || echo +memory >$CG/cgroup.subtree_control
		mkdir -p "$KUBEPODS_CG"
		bytes "$max" >"$KUBEPODS_CG/memory.max"
		echo +memory >"$KUBEPODS_CG/cgroup.subtree_control"
		local q
		for q in besteffort burstable; do
			mkdir -p "$KUBEPODS_CG/$q"
			echo +memory >"$KUBEPODS_CG/$q/cgroup.subtree_control"
		done
		;;
	*) die "unknown driver $DRIVER" ;;
	esac
	[ -d "$KUBEPODS_CG" ] || die "no $KUBEPODS_CG"
	log "kubepods ($DRIVER) at $KUBEPODS_CG, memory.max=$(cat "$KUBEPODS_CG/memory.max")"
}

# pod_new NAME QOS [MEMORY_MAX]: a pod (QOS: Guaranteed|Burstable|BestEffort).
# Sets POD_UID[NAME], POD_CG[NAME] (cgroup directory), POD_QOS[NAME].
pod_new() {
	local name=$1 qos=$2 max=${3:-} uid u q
	read -r uid </proc/sys/kernel/random/uuid
	u=${uid//-/_}
	POD_UID[$name]=$uid
	POD_QOS[$name]=$qos
	POD_NAMES+=("$name")
	case $qos in
	Guaranteed) q= ;;
	Burstable) q=burstable ;;
	BestEffort) q=besteffort ;;
	*) die "unknown QoS $qos" ;;
	esac
	case $DRIVER in
	systemd)
		local unit parent
		if [ -n "$q" ]; then
			unit=kubepods-$q-pod$u.slice parent=kubepods.slice/kubepods-$q.slice
		else
			unit=kubepods-pod$u.slice parent=kubepods.slice
		fi
		POD_UNIT[$name]=$unit
		POD_CG[$name]=$CG/$parent/$unit
		{
			echo "[Unit]"
			echo "Description=libcontainer container $unit"
			echo "[Slice]"
			echo "MemoryAccounting=yes"
			[ -n "$max" ] && echo "MemoryMax=$max"
		} >"/run/systemd/system/$unit"
		;;
	cgroupfs)
		local dir=$KUBEPODS_CG${q:+/$q}/pod$uid
		POD_CG[$name]=$dir
		mkdir -p "$dir"
		echo +memory >"$dir/cgroup.subtree_control"
		[ -n "$max" ] && bytes "$max" >"$dir/memory.max"
		;;
	esac
	log "pod $name: $qos uid=$uid ${max:+memory.max=$max }at ${POD_CG[$name]}"
}

# pods_apply: start the new pod slices. No-op under cgroupfs. A pod's UID
# is new, so systemd has never loaded its unit and finds the new file without
# a daemon-reload (slow under TCG); reload only if the start fails.
pods_apply() {
	[ "$DRIVER" = systemd ] || return 0
	local n units=()
	for n in "${POD_NAMES[@]}"; do units+=("${POD_UNIT[$n]}"); done
	timeout 60 systemctl start "${units[@]}" 2>/dev/null || {
		timeout 120 systemctl daemon-reload
		timeout 60 systemctl start "${units[@]}"
	}
	for n in "${POD_NAMES[@]}"; do
		[ -d "${POD_CG[$n]}" ] || die "pod $n: no ${POD_CG[$n]} after start"
	done
}

# container_start POD NAME ADJ CMD...: a container process in POD, at
# oom_score_adj ADJ, stdout/stderr to $WORK/NAME.log. Sets CT_PID[NAME]
# and CT_CG[NAME]. memory.oom.group=1 as the kubelet (cgroup v2, 1.28+).
container_start() {
	container_spawn "$@"
	container_wait "$2"
}

# container_spawn POD NAME ADJ CMD...: container_start's first half, the
# process started (in the background) in its cgroup; container_wait NAME is
# the second, the wait until it is there.
container_spawn() {
	local pod=$1 name=$2 adj=$3
	shift 3
	local cid= pid dir i
	# The container ID: 64 hex digits, without a fork (forks are slow under TCG).
	for i in 1 2 3 4 5 6 7 8; do printf -v cid '%s%04x%04x' "$cid" $RANDOM $RANDOM; done
	case $DRIVER in
	systemd)
		dir=${POD_CG[$pod]}/cri-containerd-$cid.scope
		systemd-run --quiet --scope --unit="cri-containerd-$cid" --slice="${POD_UNIT[$pod]}" \
			-- choom -n "$adj" -- "$@" >"$WORK/$name.log" 2>&1 </dev/null &
		pid=$!
		;;
	cgroupfs)
		dir=${POD_CG[$pod]}/$cid
		mkdir "$dir"
		# shellcheck disable=SC2016
		bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec choom -n "$@"' _ "$dir" "$adj" -- "$@" \
			>"$WORK/$name.log" 2>&1 </dev/null &
		pid=$!
		;;
	esac
	CT_PID[$name]=$pid
	CT_CG[$name]=$dir
	CT_POD[$name]=$pod
	CT_NAMES+=("$name")
	CT_ARGS[$name]="adj $adj: $*"
}

# in_cgroup PID DIR: PID is in DIR's cgroup.procs (builtins only).
in_cgroup() {
	local p procs=()
	{ mapfile -t procs <"$2/cgroup.procs"; } 2>/dev/null || return 1
	for p in "${procs[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

# container_wait NAME: wait (bounded) until the process sits in its cgroup.
container_wait() {
	local name=$1 pid=${CT_PID[$1]} dir=${CT_CG[$1]} i
	for ((i = 0; i < 100; i++)); do
		in_cgroup "$pid" "$dir" && break
		sleep 0.05
	done
	in_cgroup "$pid" "$dir" || die "container $name (pid $pid) not in $dir"
	echo 1 >"$dir/memory.oom.group" 2>/dev/null || true
	log "container $name: pid $pid ${CT_ARGS[$name]} in $dir"
}

# container_fork POD NAME ADJ CMD...: a container's process, at oom_score_adj
# ADJ, not yet in its scope; containers_place then creates the scopes of all
# forked ones at once, as runc does (StartTransientUnit with their PIDs, over
# one D-Bus connection): under TCG, a systemd-run each takes seconds when
# many start together. systemd driver only.
CT_PENDING=()
container_fork() {
	local pod=$1 name=$2 adj=$3
	shift 3
	[ "$DRIVER" = systemd ] || die "container_fork: systemd driver only"
	local cid= i
	for i in 1 2 3 4 5 6 7 8; do printf -v cid '%s%04x%04x' "$cid" $RANDOM $RANDOM; done
	(echo "$adj" >"/proc/$BASHPID/oom_score_adj" && exec "$@") >"$WORK/$name.log" 2>&1 </dev/null &
	CT_PID[$name]=$!
	CT_CG[$name]=${POD_CG[$pod]}/cri-containerd-$cid.scope
	CT_POD[$name]=$pod
	CT_NAMES+=("$name")
	CT_ARGS[$name]="adj $adj: $*"
	CT_PENDING+=("$name")
}

# containers_place: the scopes of the containers forked since the last call,
# each with its process in it and memory.oom.group=1, or die.
containers_place() {
	local n
	for n in "${CT_PENDING[@]}"; do
		echo "${CT_CG[$n]##*/} ${POD_UNIT[${CT_POD[$n]}]} ${CT_PID[$n]}"
	done >"$WORK/scopes.txt"
	python3 "$E2E_GUEST/scopes.py" 120 <"$WORK/scopes.txt" || die "containers_place: scopes.py failed"
	for n in "${CT_PENDING[@]}"; do
		in_cgroup "${CT_PID[$n]}" "${CT_CG[$n]}" || die "container $n (pid ${CT_PID[$n]}) not in ${CT_CG[$n]}"
		echo 1 >"${CT_CG[$n]}/memory.oom.group" 2>/dev/null || true
	done
	log "containers_place: ${#CT_PENDING[@]} containers in their scopes"
	CT_PENDING=()
}

# pause_start POD: the pod's sandbox container (oom_score_adj -998).
pause_start() { container_start "$1" "$1-pause" -998 sleep infinity; }

# wait_log NAME PATTERN TIMEOUT: wait until a container's log matches.
wait_log() {
	local name=$1 pat=$2 limit=$3 end
	end=$(($(now_cs) + limit * 100))
	while ! grep -q "$pat" "$WORK/$name.log" 2>/dev/null; do
		alive "${CT_PID[$name]}" || die "$name died before printing '$pat': $(tail -3 "$WORK/$name.log")"
		[ "$(now_cs)" -gt $end ] && die "$name: no '$pat' after ${limit}s"
		sleep 0.2
	done
}

# wait_count NAME PATTERN N TIMEOUT: wait until PATTERN occurs N times.
wait_count() {
	local name=$1 pat=$2 n=$3 limit=$4 end c
	end=$(($(now_cs) + limit * 100))
	while :; do
		c=$(grep -c "$pat" "$WORK/$name.log" 2>/dev/null) || c=0
		[ "$c" -ge "$n" ] && return 0
		alive "${CT_PID[$name]}" || return 1
		[ "$(now_cs)" -gt $end ] && return 1
		sleep 0.2
	done
}

# pods_alive_facts PREFIX: PREFIX.alive.<container>=true|false and
# PREFIX.pod_alive.<pod>=true when all its processes live.
alive_facts() {
	local p=$1 n pod
	declare -A ok=()
	for pod in "${POD_NAMES[@]}"; do ok[$pod]=true; done
	for n in "${CT_NAMES[@]}"; do
		if alive "${CT_PID[$n]}"; then
			fact "$p.alive.$n" true
		else
			fact "$p.alive.$n" false
			ok[${CT_POD[$n]}]=false
		fi
	done
	for pod in "${POD_NAMES[@]}"; do fact "$p.pod_alive.$pod" "${ok[$pod]}"; done
}

# pod_facts PREFIX: uid, QoS and cgroup of every pod.
pod_facts() {
	local p=$1 pod
	for pod in "${POD_NAMES[@]}"; do
		fact "$p.pods.$pod.uid" "${POD_UID[$pod]}"
		fact "$p.pods.$pod.qos" "${POD_QOS[$pod]}"
		fact "$p.pods.$pod.cgroup" "${POD_CG[$pod]#"$CG"}"
	done
}

# oom_facts PREFIX: per-pod and kubepods oom_kill counters now.
oom_facts() {
	local p=$1 pod
	fact "$p.kubepods_oom_kill" "$(cg_events "$KUBEPODS_CG" oom_kill)"
	# Times kubepods' own limit ran out: the kernel acting on its own (a
	# kill.method "oom" kill counts in oom_kill, not here).
	fact "$p.kubepods_limit_oom" "$(cg_events_local "$KUBEPODS_CG" oom)"
	fact "$p.kubepods_max_events" "$(cg_events "$KUBEPODS_CG" max)"
	for pod in "${POD_NAMES[@]}"; do
		fact "$p.pod_oom_kill.$pod" "$(cg_events "${POD_CG[$pod]}" oom_kill)"
	done
}

# node_cleanup: kill every simulated pod, remove the tree, drop caches.
node_cleanup() {
	log "cleanup"
	if [ -d $CG/kubepods.slice ] || [ -f /run/systemd/system/kubepods.slice ]; then
		timeout 60 systemctl stop kubepods.slice 2>/dev/null || echo 1 >$CG/kubepods.slice/cgroup.kill
		rm -f /run/systemd/system/kubepods*.slice
		systemctl reset-failed 2>/dev/null || true
	fi
	if [ -d $CG/kubepods ]; then
		echo 1 >$CG/kubepods/cgroup.kill
		local i
		for i in $(seq 1 100); do
			grep -q 'populated 0' $CG/kubepods/cgroup.events && break
			sleep 0.1
		done
		find $CG/kubepods -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	reap_children
	drop_caches
}

# reap_children: reap our background children (the container processes),
# boundedly: anything still running is killed first. Forgets the pods.
reap_children() {
	local j i
	for j in $(jobs -p); do kill -9 "$j" 2>/dev/null; done
	for i in $(seq 1 100); do
		[ -z "$(jobs -rp)" ] && break
		sleep 0.1
	done
	[ -z "$(jobs -rp)" ] && wait 2>/dev/null
	POD_NAMES=() CT_NAMES=() CT_PENDING=()
	POD_UID=() POD_CG=() POD_QOS=() POD_UNIT=() CT_PID=() CT_CG=() CT_POD=() CT_ARGS=()
}

# pods_cleanup: kill and remove the pods but keep kubepods itself, so that a
# running kube-oomd keeps its trigger on it (scenario 11). systemd driver.
pods_cleanup() {
	local n
	for n in "${POD_NAMES[@]}"; do
		echo 1 >"${POD_CG[$n]}/cgroup.kill" 2>/dev/null
		timeout 60 systemctl stop "${POD_UNIT[$n]}" 2>/dev/null
		rm -f "/run/systemd/system/${POD_UNIT[$n]}"
	done
	systemctl reset-failed 2>/dev/null || true
	reap_children
}

# memory_high POD: the pod slice's memory.high file ("max" or bytes).
memory_high() { cat "${POD_CG[$1]}/memory.high" 2>/dev/null || echo gone; }

# unit_memory_high POD: systemd's MemoryHigh property of the pod slice unit
# ("infinity" or bytes).
unit_memory_high() { timeout 30 systemctl show -p MemoryHigh --value "${POD_UNIT[$1]}" 2>/dev/null; }

# ---------------------------------------------------------------- files

# make_file PATH MIB: a real (allocated) file, written by this script and
# then dropped from the cache, so that whoever reads it first is charged.
make_file() {
	local path=$1 mib=$2
	if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" -ne $((mib << 20)) ]; then
		# Zeros from /dev/zero: real blocks on disk (not sparse), and quick
		# where /dev/urandom takes seconds per 100 MiB under TCG.
		dd if=/dev/zero of="$path" bs=1M count="$mib" status=none conv=fsync
	fi
	drop_caches
}

# ---------------------------------------------------------------- kube-oomd

have_daemon() { [ -x "$KUBE_OOMD" ]; }

# daemon_required: a scenario that needs the binary fails without it. The Go
# side fails the run when the daemon does not build, so this only catches a
# broken share; no scenario ever skips.
daemon_required() {
	have_daemon || die "no kube-oomd binary at $KUBE_OOMD"
}

# write_config PATH [driver] [kubepods] [mode]: the scenarios' config.
write_config() {
	local path=$1 driver=${2:-systemd} kp=${3:-/kubepods.slice} mode=${4:-pod}
	cat >"$path" <<-EOF
		# kube-oomd e2e config ($SCENARIO)
		[cgroup]
		kubepods = "$kp"
		driver = "$driver"

		[pressure]
		kind = "full"
		stall = "100ms"
		window = "1s"
		windows = 2

		[memory]
		near_limit = "90%"
		min_victim = "32MiB"

		[kill]
		mode = "$mode"
		# The simulated node has no container runtime to report OOMKilled:
		# its scenarios measure the signal way; 20-node-leak measures both.
		method = "signal"
		cooldown = "10s"
		timeout = "5s"

		[log]
		level = "debug"
	EOF
}

# config_set FILE SECTION KEY VALUE: set one key of a config file written by
# write_config (VALUE is TOML: quote strings yourself), adding the key or the
# section when missing.
config_set() {
	python3 - "$@" <<'PY'
import re, sys
path, section, key, value = sys.argv[1:5]
lines = open(path).read().splitlines()
out, cur, done = [], None, False
for i, line in enumerate(lines):
    m = re.match(r"^\[(\w+)\]\s*$", line)
    if m:
        if cur == section and not done:
            n = len(out)
            while n and not out[n - 1].strip():
                n -= 1
            out.insert(n, "%s = %s" % (key, value)); done = True
        cur = m.group(1)
    elif cur == section and re.match(r"^%s\s*=" % re.escape(key), line):
        line = "%s = %s" % (key, value); done = True
    out.append(line)
if not done:
    if cur != section:
        out += ["", "[%s]" % section]
    out.append("%s = %s" % (key, value))
open(path, "w").write("\n".join(out) + "\n")
PY
}

# config_apply FILE SECTION.KEY=VALUE...: config_set for each, the value in
# TOML ("kill.method=\"oom\"", "relief.throttle_after=1").
config_apply() {
	local f=$1 kv k
	shift
	for kv in "$@"; do
		k=${kv%%=*}
		config_set "$f" "${k%%.*}" "${k#*.}" "${kv#*=}"
	done
}

DAEMON_CURSOR=

# journal_cursor: the journal's current end, for --after-cursor.
journal_cursor() { journalctl -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p'; }

# daemon_launch CONFIG [ARGS...]: start kube-oomd as a transient service in
# system.slice (logs in journald), as the contract says, Type=notify as the
# packaged unit is: systemd-run returns once it has said READY=1, that is,
# once it has found the pods and armed its triggers; non-zero if it failed
# to start. It does not touch DAEMON_CURSOR.
daemon_launch() {
	local conf=$1
	shift
	timeout 60 systemctl stop kube-oomd 2>/dev/null
	systemctl reset-failed kube-oomd 2>/dev/null
	timeout 120 systemd-run --quiet --unit=kube-oomd -p Type=notify -p OOMScoreAdjust=-1000 \
		"$KUBE_OOMD" run --config "$conf" "$@"
}

# daemon_start CONFIG [ARGS...]: daemon_launch; the scenario dies, with the
# daemon's journal, if it did not start.
daemon_start() {
	local conf=$1
	shift
	DAEMON_CURSOR=$(journal_cursor)
	if ! daemon_launch "$conf" "$@" || ! systemctl is-active -q kube-oomd; then
		fact daemon_start_failed true
		daemon_journal "${SCENARIO}"
		die "kube-oomd is not running after start: $(journalctl -u kube-oomd --no-pager -n 20 -o cat)"
	fi
	log "kube-oomd running: $KUBE_OOMD run --config $conf $*"
}

# daemon_stop PREFIX: stop it, record whether it was still running, and
# extract its journal records (PREFIX.journal) and text log.
daemon_stop() {
	local p=$1
	if systemctl is-active -q kube-oomd; then
		fact "$p.daemon_survived" true
	else
		fact "$p.daemon_survived" false
		fact "$p.daemon_result" "$(systemctl show -p Result --value kube-oomd)"
	fi
	timeout 60 systemctl stop kube-oomd 2>/dev/null
	systemctl reset-failed kube-oomd 2>/dev/null
	daemon_journal "$p"
}

# daemon_journal PREFIX: kube-oomd's records since daemon_start, and the
# kernel's OOM reports meanwhile: PREFIX.oom_reports (each begins "...
# invoked oom-killer"), PREFIX.oom_unkillable (those that found no task to
# kill, "Out of memory and no killable processes": node-problem-detector
# counts each as another OOM).
daemon_journal() {
	local p=$1 args=(-u kube-oomd --no-pager) k=(-k --no-pager -o short-monotonic)
	[ -n "$DAEMON_CURSOR" ] && args+=(--after-cursor="$DAEMON_CURSOR") && k+=(--after-cursor="$DAEMON_CURSOR")
	journalctl "${args[@]}" -o short-monotonic >"$E2E_RESULTS/$SCENARIO.$p.kube-oomd.log" 2>&1
	journalctl "${args[@]}" -o json 2>/dev/null | python3 "$E2E_GUEST/journal.py" >"$WORK/$p.journal.json"
	fact "$p.journal" "@json:$WORK/$p.journal.json"
	journalctl "${k[@]}" 2>/dev/null | grep -E 'invoked oom-killer|no killable processes|Killed process' >"$E2E_RESULTS/$SCENARIO.$p.kernel-oom.log"
	fact "$p.oom_reports" "$(grep -c 'invoked oom-killer' "$E2E_RESULTS/$SCENARIO.$p.kernel-oom.log")"
	fact "$p.oom_unkillable" "$(grep -c 'no killable processes' "$E2E_RESULTS/$SCENARIO.$p.kernel-oom.log")"
}

# wait_journal MESSAGE_ID POD_UID TIMEOUT: wait (bounded) for a kube-oomd
# record with that MESSAGE_ID naming that pod, read as daemon_journal does.
wait_journal() {
	local mid=$1 uid=$2 limit=$3 end args=(-u kube-oomd --no-pager -o json)
	[ -n "$DAEMON_CURSOR" ] && args+=(--after-cursor="$DAEMON_CURSOR")
	end=$(($(now_cs) + limit * 100))
	while :; do
		journalctl "${args[@]}" 2>/dev/null | python3 "$E2E_GUEST/journal.py" |
			python3 -c 'import json, sys
sys.exit(0 if any(r["message_id"] == sys.argv[1] and r.get("pod_uid") == sys.argv[2]
                  for r in json.load(sys.stdin)) else 1)' "$mid" "$uid" && return 0
		[ "$(now_cs)" -gt $end ] && return 1
		sleep 0.5
	done
}

# The journal's MESSAGE_IDs (MID_KILL, MID_WOULD_KILL, MID_KERNEL_OOM): the
# Go side exports them from internal/vocab in env.sh, which run.sh sources.
: "${MID_KILL:?not set: run.sh sources /mnt/host/env.sh}" "${MID_WOULD_KILL:?}" "${MID_KERNEL_OOM:?}"

trap 'node_cleanup_on_exit' EXIT
node_cleanup_on_exit() {
	systemctl stop kube-oomd 2>/dev/null
	node_cleanup >/dev/null 2>&1
}
