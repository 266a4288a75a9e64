# shellcheck shell=bash
# leak.sh: the "leak versus a latency-sensitive pod" run, shared by scenarios
# 01 (kernel alone, then kube-oomd), 04 (cgroupfs driver), 05 (dry run) and
# 09 (slow leak, kill only and with the relief ladder).
# Source lib.sh first.
#
# Three pods under a kubepods memory.max well below guest RAM:
#   G  Guaranteed  re-reads a HOT_MB file (page-cache working set), times passes
#                  (READ_ORDER: sequential, or random 1 MiB blocks)
#   B  Burstable   holds HOLD_MB of anonymous memory
#   BE BestEffort  starts near the limit, then leaks LEAK_STEP MiB every LEAK_MS
#
# leak_run MODE DRIVER PREFIX records facts under PREFIX:
#   MODE kernel: no kube-oomd; daemon: kube-oomd; dryrun: kube-oomd --dry-run.
# Hooks a scenario may define: leak_config FILE PREFIX (edit kube-oomd's
# config before it starts), leak_hook_start PREFIX (right after the leaker
# starts; return at once) and leak_hook_end PREFIX (once it is dead).

mem_mb=$(($(mem_total) >> 20))
LIMIT_MB=${LIMIT_MB:-$((mem_mb - 768))}  # "a few hundred MiB under guest RAM"
HOT_MB=${HOT_MB:-320}
HOLD_MB=${HOLD_MB:-320}
HEADROOM_MB=${HEADROOM_MB:-112}          # free room under the limit when the leak starts
LEAK_STEP=${LEAK_STEP:-2}            # 20 MiB/s: the kernel alone thrashes ~15 s (peers.md: 14 s)
LEAK_MS=${LEAK_MS:-100}
LEAK_TIMEOUT=${LEAK_TIMEOUT:-120}        # the leaker must be dead by then

leak_run() {
	local mode=$1 driver=$2 p=$3
	local kp conf hot=$DATA/hot.dat
	log "=== leak run: mode=$mode driver=$driver limit=${LIMIT_MB}M hot=${HOT_MB}M hold=${HOLD_MB}M"
	make_file "$hot" "$HOT_MB"

	kubepods_setup "$driver" "${LIMIT_MB}M"
	pod_new G Guaranteed "$((HOT_MB + 128))M"
	pod_new B Burstable
	pod_new BE BestEffort
	pods_apply
	pod_facts "$p"
	fact "$p.mode" "$mode"
	fact "$p.driver" "$driver"
	fact "$p.limit_bytes" "$(cat "$KUBEPODS_CG/memory.max")"

	local b_adj
	b_adj=$(burstable_adj $(((HOLD_MB / 2) << 20)))   # request = half its usage
	pause_start G
	pause_start B
	pause_start BE
	container_start G reader -997 python3 "$WL/reader.py" "$hot" 0.2 "${READ_ORDER:-sequential}"
	container_start B holder "$b_adj" python3 "$WL/hold.py" "$HOLD_MB"
	wait_log holder ready 60
	# Warm: the first pass reads from disk, the next ones from the cache.
	wait_count reader '^pass' 3 120 || die "reader did not finish 3 passes"

	if [ "$mode" != kernel ]; then
		[ "$driver" = cgroupfs ] && kp=/kubepods || kp=/kubepods.slice
		conf=$WORK/$p.toml
		write_config "$conf" "$driver" "$kp" pod
		# A scenario may adjust the config: leak_config FILE PREFIX.
		if declare -F leak_config >/dev/null; then leak_config "$conf" "$p"; fi
		cp "$conf" "$E2E_RESULTS/$SCENARIO.$p.toml"
		if [ "$mode" = dryrun ]; then
			daemon_start "$conf" --dry-run
		else
			daemon_start "$conf"
		fi
	fi

	# Start the leak with HEADROOM_MB left under the limit.
	local used initial
	used=$(($(cg_current "$KUBEPODS_CG") >> 20))
	initial=$((LIMIT_MB - used - HEADROOM_MB))
	[ $initial -lt 0 ] && initial=0
	fact "$p.used_before_leak_bytes" "$(cg_current "$KUBEPODS_CG")"
	fact "$p.leak_initial_mib" "$initial"
	local g_before oom_before passes_before
	g_before=$(cg_full_total "${POD_CG[G]}")
	oom_before=$(cg_events "$KUBEPODS_CG" oom_kill)
	oom_facts "$p.before"
	fact "$p.g_full_before_us" "$g_before"
	fact "$p.kubepods_full_before_us" "$(cg_full_total "$KUBEPODS_CG")"
	passes_before=$(grep -c '^pass' "$WORK/reader.log")

	container_start BE leaker 1000 python3 "$WL/leak.py" "$LEAK_STEP" "$LEAK_MS" 4096 "$initial"
	# A scenario may watch the leak too: leak_hook_start PREFIX (in the
	# background, say) and leak_hook_end PREFIX once the leaker is dead.
	if declare -F leak_hook_start >/dev/null; then leak_hook_start "$p"; fi
	python3 "$WL/watch.py" "${CT_PID[leaker]}" "$LEAK_TIMEOUT" "$KUBEPODS_CG" >"$WORK/$p.watch.json"
	if declare -F leak_hook_end >/dev/null; then leak_hook_end "$p"; fi
	fact "$p.watch" "@json:$WORK/$p.watch.json"
	local leak_start
	leak_start=$(sed -n 's/^start //p' "$WORK/leaker.log")
	fact "$p.leak_start_s" "$leak_start"

	# Let the reader finish one whole pass after the leaker's end, so the
	# refaults of its evicted working set are counted in both modes.
	local n
	n=$(grep -c '^pass' "$WORK/reader.log")
	wait_count reader '^pass' $((n + 1)) 60 || log "reader: no pass after the leak ended"
	sleep 1
	# A kernel OOM kill the daemon observed is logged asynchronously.
	[ "$mode" != kernel ] && sleep 2

	fact "$p.g_full_after_us" "$(cg_full_total "${POD_CG[G]}")"
	fact "$p.g_full_stall_us" "$(($(cg_full_total "${POD_CG[G]}") - g_before))"
	fact "$p.g_some_after_us" "$(cg_some_total "${POD_CG[G]}")"
	fact "$p.kubepods_full_after_us" "$(cg_full_total "$KUBEPODS_CG")"
	fact "$p.kubepods_oom_kill_delta" "$(($(cg_events "$KUBEPODS_CG" oom_kill) - oom_before))"
	oom_facts "$p.after"
	alive_facts "$p"
	cp "$WORK/reader.log" "$E2E_RESULTS/$SCENARIO.$p.reader.log"
	cp "$WORK/leaker.log" "$E2E_RESULTS/$SCENARIO.$p.leaker.log"
	python3 - "$WORK/reader.log" "$passes_before" "$leak_start" >"$WORK/$p.passes.json" <<-'PY'
		import json, sys
		lines = [l.split() for l in open(sys.argv[1]) if l.startswith("pass")]
		before = int(sys.argv[2])
		t0 = float(sys.argv[3] or 0)
		passes = [(int(n), float(s), float(d)) for _, n, s, d in lines]
		base = sorted(d for n, s, d in passes[1:before]) or [0]
		during = [d for n, s, d in passes if s + d >= t0]
		print(json.dumps({
		    "baseline_s": base[len(base) // 2],
		    "worst_s": max(during) if during else None,
		    "count_during": len(during),
		    "all": [[round(s, 2), d] for n, s, d in passes],
		}))
	PY
	fact "$p.passes" "@json:$WORK/$p.passes.json"

	if [ "$mode" != kernel ]; then
		daemon_stop "$p"
	fi
	node_cleanup
}
