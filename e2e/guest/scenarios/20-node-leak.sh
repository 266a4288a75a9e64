#!/bin/bash
# 20 node leak: on the real node of 19, shop/be's leaker leaks 20 MiB/s from
# 112 MiB under kubepods' limit, three times in one boot: with the kernel
# alone (kube-oomd stopped), then with kube-oomd and kill.method "signal",
# then with kill.method "oom". After each, the kubelet restarts what died.
# NODE_LEAK_METHODS ("signal oom") names the kube-oomd runs: `make demo`
# runs only "oom", the default.
# The Go side asserts who died and by whose hand, that db/g and web/b never
# restarted, and what the kubelet reports for the leaker (reason, exit code,
# restart count); it prints the three runs side by side.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../node.sh"
HEADROOM_MB=${HEADROOM_MB:-112}

node_up
node_install
node_wait_pods 120 g=0 b=0 be=0 || die "pods not running before the runs: $(kubelet_status)"
cp "$WORK/pods.json" "$WORK/before.pods.json"
fact before.pods "@json:$WORK/before.pods.json"
METHODS=${NODE_LEAK_METHODS:-signal oom}
fact methods "$METHODS"

# ---- the kernel alone (make compare, make demo)
if comparing; then
	timeout 60 systemctl stop kube-oomd
	drop_caches
	node_leak kernel "$HEADROOM_MB"
fi

# ---- kube-oomd, each method
for method in $METHODS; do
	node_daemon_config "kill.method=\"$method\""
	node_leak "$method" "$HEADROOM_MB"
	wait_journal "$MID_KILL" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["be"]["uid"])' "$WORK/pods.json")" 5
	daemon_journal "$method"
	node_kill_record "$method"
done
timeout 60 systemctl stop kube-oomd
result_write
