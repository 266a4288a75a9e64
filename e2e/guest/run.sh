#!/bin/bash
# Guest side of the e2e suite: runs the scenarios named in
# /mnt/host/scenarios.txt (one per line, in order), each under a time limit,
# in this one boot. Each writes /mnt/host/results/<name>.json; this script
# adds <name>.log (its output) and timings.txt ("name seconds rc").
set -u
export E2E_GUEST=/mnt/host/guest E2E_RESULTS=/mnt/host/results
# No __pycache__ in the share (it is the host's directory).
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$E2E_RESULTS"
# env.sh first: it may set E2E_SCENARIO_TIMEOUT (the test does, scaled for
# a slower architecture).
[ -f /mnt/host/env.sh ] && source /mnt/host/env.sh
limit=${E2E_SCENARIO_TIMEOUT:-600}

read -r up _ </proc/uptime
echo "boot $up" >"$E2E_RESULTS/timings.txt"
echo "run.sh: guest up after ${up}s, kernel $(uname -r), $(uname -m), scenario limit ${limit}s"

while read -r name; do
	[ -n "$name" ] || continue
	script=$E2E_GUEST/scenarios/$name.sh
	read -r t0 _ </proc/uptime
	echo "run.sh: --- $name"
	SCENARIO=$name timeout --kill-after=15 "$limit" bash "$script" >"$E2E_RESULTS/$name.log" 2>&1
	rc=$?
	read -r t1 _ </proc/uptime
	secs=$(python3 -c "print(round($t1 - $t0, 1))")
	echo "$name $secs $rc" >>"$E2E_RESULTS/timings.txt"
	echo "run.sh: --- $name rc=$rc in ${secs}s"
	if [ ! -s "$E2E_RESULTS/$name.json" ]; then
		printf '{"error": "scenario exited with rc %s and wrote no result (timeout is 124)"}\n' "$rc" \
			>"$E2E_RESULTS/$name.json"
	fi
	# Whatever the scenario left behind must not leak into the next one;
	# but a real node (node.sh) stays up for the node scenarios after it.
	systemctl stop kube-oomd 2>/dev/null
	systemctl reset-failed kube-oomd 2>/dev/null
	[ -e /run/e2e-node/up ] && continue
	( E2E_WORK=/run/e2e-cleanup SCENARIO=cleanup source "$E2E_GUEST/lib.sh"; trap - EXIT; node_cleanup ) >/dev/null 2>&1
done </mnt/host/scenarios.txt
# A real node's pods and shims would hold the poweroff up for minutes.
if [ -e /run/e2e-node/up ]; then
	timeout 30 systemctl stop kubelet 2>/dev/null
	echo 1 >/sys/fs/cgroup/kubepods.slice/cgroup.kill 2>/dev/null
	timeout 30 systemctl kill -s KILL containerd 2>/dev/null
fi
echo "run.sh: done"
