# shellcheck shell=bash
# episode.sh: one memory episode, run twice in one boot (the kernel alone,
# then kube-oomd on its built-in defaults), for scenarios 14 to 18. Source
# lib.sh first.
#
# A scenario defines three functions and calls ep_run MODE PREFIX:
#   ep_pods PREFIX        the pods: ep_pod NAME QOS ROLE [MEMORY_MAX] each
#                         (ROLE: leaker, bystander or grabber)
#   ep_containers PREFIX  their containers, started and ready (ep_fork and
#                         ep_place for the ones already there; ep_reader
#                         for the Guaranteed hot-file reader G)
#   ep_go PREFIX          the cause: starts the leaker(s), each with
#                         ep_until NAME (the episode ends once they are dead)
# and may define ep_spec PREFIX (more keys for episode.py's spec, printed
# as JSON: ', "KEY": VALUE' each) and ep_end PREFIX (facts once the episode
# is over, before the pods go).
#
# ep_run records, under PREFIX: mode, pods (uid, QoS, cgroup), role.POD,
# limit_bytes, go_s (when ep_go started the cause), until (the processes
# whose death ends the episode), ep (workloads/episode.py:
# deaths, first kubepods stall, each pod slice's memory.high, each container's
# memory.high, the processes of the cgroups a scenario names), before and
# after (oom_kill of kubepods and of every pod), kubepods_oom_kill_delta,
# g_full_stall_us (pod G's memory.pressure full, over the episode), alive.*
# and pod_alive.*, and for kube-oomd its journal, daemon_survived,
# daemon_stop_s and daemon_state_after_stop (SIGKILLed if not stopped). The
# config of a kube-oomd run is the built-in one but kill.method "signal"
# (see ep_config; EP_LOG_LEVEL=debug sets
# log.level: the journal of a debug run is long and slow to extract).

mem_mb=$(($(mem_total) >> 20))
EP_LIMIT_MB=${EP_LIMIT_MB:-$((mem_mb - 768))}   # as leak.sh: a few hundred MiB under guest RAM
EP_HOT_MB=${EP_HOT_MB:-256}
EP_TIMEOUT=${EP_TIMEOUT:-100}                   # the leakers must be dead by then
EP_GRACE=${EP_GRACE:-3}                         # watched after their death
EP_LOG_LEVEL=${EP_LOG_LEVEL:-}                  # kube-oomd's log.level; unset: its default
EP_HOT=$DATA/ephot$EP_HOT_MB.dat

declare -gA EP_ROLE=()
EP_UNTIL=()
EP_READER=

# ep_pod NAME QOS ROLE [MEMORY_MAX]: pod_new, and its role in the episode.
ep_pod() {
	pod_new "$1" "$2" "${4:-}"
	EP_ROLE[$1]=$3
}

# ep_fork POD NAME ADJ CMD...: container_fork, but CMD runs only once the
# process is in its scope (ep_place), so that whatever it allocates is
# charged to its container: memory does not move with a process.
ep_fork() {
	local pod=$1 name=$2 adj=$3
	shift 3
	# shellcheck disable=SC2016
	container_fork "$pod" "$name" "$adj" bash -c \
		'until grep -q "cri-containerd-[0-9a-f]*\.scope$" /proc/self/cgroup; do sleep 0.05; done; exec "$@"' _ "$@"
}

# ep_pause POD: the pod's sandbox, forked (ep_place puts it in its scope).
ep_pause() { container_fork "$1" "$1-pause" -998 sleep infinity; }

# ep_place: containers_place for everything forked so far.
ep_place() { containers_place; }

# ep_reader: the Guaranteed pod G's hot-file reader (as leak.sh's), forked;
# ep_reader_warm waits for its second pass (the first read the disk).
ep_reader() {
	ep_fork G G-app -997 python3 "$WL/reader.py" "$EP_HOT" 0.2 sequential
	EP_READER=1
}
ep_reader_warm() {
	wait_count G-app '^pass' 2 120 || die "reader did not finish 2 passes: $(tail -3 "$WORK/G-app.log")"
}

# ep_until NAME: the episode lasts until container NAME's process is dead.
ep_until() { EP_UNTIL+=("$1"); }

# ep_initial HEADROOM_MB [SHARE]: the MiB a leaker starts with so that
# HEADROOM_MB stay free under the kubepods limit (SHARE leakers split it).
ep_initial() {
	local used n
	used=$(($(cg_current "$KUBEPODS_CG") >> 20))
	n=$(((EP_LIMIT_MB - used - $1) / ${2:-1}))
	[ $n -lt 0 ] && n=0
	echo $n
}

# ep_config FILE: the built-in config but kill.method "signal"; with
# EP_LOG_LEVEL (KUBE_OOMD_E2E_GUEST_ENV, say debug for the decisions'
# figures) its log.level; then EP_CONFIG, the SECTION.KEY=VALUE pairs a
# scenario sets for one run (config_apply).
ep_config() {
	# Every key at its built-in default but kill.method: the simulated node
	# has no container runtime to report OOMKilled, and a kill by the
	# kernel's OOM killer would read here as the kernel's own (pod
	# memory.events); 20-node-leak measures the method "oom" on a real node.
	printf '# kube-oomd e2e config (%s): the built-in defaults, but\n[kill]\nmethod = "signal"\n' "$SCENARIO" >"$1"
	if [ -n "$EP_LOG_LEVEL" ]; then
		printf '[log]\nlevel = "%s"\n' "$EP_LOG_LEVEL" >>"$1"
	fi
	# shellcheck disable=SC2086 # pairs without spaces, split on purpose
	[ -z "${EP_CONFIG:-}" ] || config_apply "$1" $EP_CONFIG
}

# ep_spec_json: workloads/episode.py's spec as far as it is known now (the
# kubepods and pod slice cgroups, the containers so far), without its
# closing brace.
ep_spec_json() {
	local n sep=
	printf '{"timeout": %s, "grace": %s, "kubepods": "%s", "pods": {' "$EP_TIMEOUT" "$EP_GRACE" "$KUBEPODS_CG"
	for n in "${POD_NAMES[@]}"; do printf '%s"%s": "%s"' "$sep" "$n" "${POD_CG[$n]}"; sep=', '; done
	printf '}, "pids": {'
	sep=
	for n in "${CT_NAMES[@]}"; do printf '%s"%s": %s' "$sep" "$n" "${CT_PID[$n]}"; sep=', '; done
	printf '}, "containers": {'
	sep=
	for n in "${CT_NAMES[@]}"; do
		case $n in *-pause) continue ;; esac
		printf '%s"%s": "%s"' "$sep" "$n" "${CT_CG[$n]}"
		sep=', '
	done
	printf '}'
}

# ep_reset: the pods of the last run go, kubepods stays (its slices are
# stopped and started again: no daemon-reload, slow under TCG).
ep_reset() {
	log "reset"
	timeout 60 systemctl stop kubepods.slice 2>/dev/null || echo 1 >"$KUBEPODS_CG/cgroup.kill"
	rm -f /run/systemd/system/kubepods-*pod*.slice
	reap_children
	drop_caches
	timeout 60 systemctl start kubepods.slice kubepods-besteffort.slice kubepods-burstable.slice ||
		die "cannot start kubepods.slice again"
}

# ep_run MODE PREFIX: one episode, MODE kernel (no kube-oomd) or daemon.
ep_run() {
	local mode=$1 p=$2 n conf
	log "=== $p: $mode, kubepods ${EP_LIMIT_MB}M"
	EP_ROLE=() EP_UNTIL=() EP_READER=
	if [ -n "$KUBEPODS_CG" ] && [ -d "$KUBEPODS_CG" ]; then
		ep_reset
	else
		kubepods_setup systemd "${EP_LIMIT_MB}M"
	fi
	ep_pods "$p"
	pods_apply
	pod_facts "$p"
	for n in "${POD_NAMES[@]}"; do fact "$p.role.$n" "${EP_ROLE[$n]}"; done
	fact "$p.mode" "$mode"
	fact "$p.limit_bytes" "$(cat "$KUBEPODS_CG/memory.max")"

	# kube-oomd starts first (daemon_launch returns at its READY=1): it
	# finds the containers as they start, as on a node.
	if [ "$mode" = daemon ]; then
		conf=$WORK/$p.toml
		ep_config "$conf"
		cp "$conf" "$E2E_RESULTS/$SCENARIO.$p.toml"
		# shellcheck disable=SC2034 # lib.sh's daemon_journal reads it
		DAEMON_CURSOR=$(journal_cursor)
		daemon_launch "$conf"
	fi
	ep_containers "$p"
	if [ "$mode" = daemon ] && ! systemctl is-active -q kube-oomd; then
		fact daemon_start_failed true
		daemon_journal "$p"
		die "kube-oomd is not running: $(journalctl -u kube-oomd --no-pager -n 20 -o cat)"
	fi
	fact "$p.used_before_bytes" "$(cg_current "$KUBEPODS_CG")"

	local g_before=0 passes=0 oom_before watcher
	[ -n "${POD_CG[G]:-}" ] && g_before=$(cg_full_total "${POD_CG[G]}")
	oom_facts "$p.before"
	oom_before=$(cg_events "$KUBEPODS_CG" oom_kill)
	[ -n "$EP_READER" ] && passes=$(grep -c '^pass' "$WORK/G-app.log")

	# The watcher starts first, so that it sees the cause from its start;
	# what ep_go adds (the leakers) reaches it through a second file.
	{ ep_spec_json; echo '}'; } >"$WORK/$p.spec.json"
	rm -f "$WORK/$p.late.json" "$WORK/$p.ready"
	python3 "$WL/episode.py" "$WORK/$p.spec.json" "$WORK/$p.late.json" "$WORK/$p.ready" >"$WORK/$p.ep.json" &
	watcher=$!
	for _ in $(seq 1 200); do
		[ -e "$WORK/$p.ready" ] && break
		alive "$watcher" || break
		sleep 0.1
	done
	[ -e "$WORK/$p.ready" ] || die "$p: episode.py did not start"

	fact "$p.go_s" "$(now)"
	ep_go "$p"
	[ ${#EP_UNTIL[@]} -gt 0 ] || die "$p: ep_go named no leaker (ep_until)"
	fact "$p.until" "${EP_UNTIL[*]}"
	{
		ep_spec_json
		printf ', "until": ['
		local sep=
		for n in "${EP_UNTIL[@]}"; do printf '%s"%s"' "$sep" "$n"; sep=', '; done
		printf ']'
		if declare -F ep_spec >/dev/null; then ep_spec "$p"; fi
		echo '}'
	} >"$WORK/$p.late.tmp"
	mv "$WORK/$p.late.tmp" "$WORK/$p.late.json"
	wait "$watcher" || die "$p: episode.py failed"
	fact "$p.ep" "@json:$WORK/$p.ep.json"

	# The reader's refaults after the leak count too: one more whole pass.
	if [ -n "$EP_READER" ]; then
		n=$(grep -c '^pass' "$WORK/G-app.log")
		wait_count G-app '^pass' $((n + 1)) 30 || log "reader: no pass after the episode"
		fact "$p.reader_passes_during" "$(($(grep -c '^pass' "$WORK/G-app.log") - passes))"
		cp "$WORK/G-app.log" "$E2E_RESULTS/$SCENARIO.$p.reader.log"
	fi
	# A kernel OOM kill kube-oomd saw is logged asynchronously.
	[ "$mode" = daemon ] && sleep 2
	[ -n "${POD_CG[G]:-}" ] && fact "$p.g_full_stall_us" "$(($(cg_full_total "${POD_CG[G]}") - g_before))"
	fact "$p.kubepods_oom_kill_delta" "$(($(cg_events "$KUBEPODS_CG" oom_kill) - oom_before))"
	oom_facts "$p.after"
	alive_facts "$p"
	for n in "${POD_NAMES[@]}"; do fact "$p.memory_high_after.$n" "$(memory_high "$n")"; done
	for n in "${EP_UNTIL[@]}"; do
		cp "$WORK/$n.log" "$E2E_RESULTS/$SCENARIO.$p.$n.log" 2>/dev/null
	done
	if declare -F ep_end >/dev/null; then ep_end "$p"; fi
	if [ "$mode" = daemon ]; then
		local t0 st
		t0=$(now)
		daemon_stop "$p"
		# A kube-oomd still stopping would act in the next run.
		st=$(systemctl show -p ActiveState --value kube-oomd)
		fact "$p.daemon_stop_s" "$(calc "$(now) - $t0")"
		fact "$p.daemon_state_after_stop" "$st"
		if [ "$st" != inactive ] && [ "$st" != failed ]; then
			log "kube-oomd is $st after systemctl stop: SIGKILL"
			systemctl kill -s SIGKILL kube-oomd
			timeout 30 systemctl stop kube-oomd 2>/dev/null
			systemctl reset-failed kube-oomd 2>/dev/null
		fi
	fi
	log "=== $p: done"
}
