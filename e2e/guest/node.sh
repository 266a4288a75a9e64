# shellcheck shell=bash
# node.sh: a real Kubernetes node in the guest, for the *-node-* scenarios,
# sourced after lib.sh. Debian's containerd and runc, and a standalone
# kubelet (built by e2e/node/build-kubelet.sh, shared as /mnt/host/node/)
# with the systemd cgroup driver and static pods (hostNetwork, images
# imported without a registry), status from its read-only port. See
# shared/reference/real-kubelet.md.
#
# The node is started once by the first node scenario (node_up) and stays up
# for the ones after it: /run/e2e-node/up says so, and run.sh then leaves
# kubepods alone between scenarios. kube-oomd is the real .deb, installed
# by node_install as README.md says.
#
# Pods (node_pods_default): db/g (Guaranteed, 448Mi, re-reads a hot file),
# web/b (Burstable, request 64Mi, holds 100 MiB), shop/be (BestEffort: a
# leaker that waits for node_leak, and an idle sidecar).

NODE_DIR=/var/lib/e2e-node           # images, workloads, data (hostPath)
NODE_SHARE=/mnt/host/node            # kubelet, crictl, pause.tar from the host
MANIFESTS=/etc/kubernetes/manifests
KUBELET_CONFIG=/var/lib/kubelet/config.yaml
CRI=unix:///run/containerd/containerd.sock
KUBEPODS_CG=$CG/kubepods.slice
DRIVER=systemd
NODE_UP=/run/e2e-node/up
NODE_LIMIT_RESERVED=${NODE_LIMIT_RESERVED:-768Mi}

# The real pods must outlive a failing scenario: lib.sh's exit trap would
# stop kubepods.slice.
node_cleanup_on_exit() { systemctl stop kube-oomd 2>/dev/null; }

crictl() { /usr/local/bin/crictl --runtime-endpoint "$CRI" --timeout 30s "$@"; }

# kubelet_status: the kubelet's pods as kubelet.py reduces them (JSON).
kubelet_status() { python3 "$E2E_GUEST/node/kubelet.py" status; }

# kubelet_config MEMORYQOS: (re)write the kubelet's configuration.
kubelet_config() {
	mkdir -p "$(dirname "$KUBELET_CONFIG")"
	cat >"$KUBELET_CONFIG" <<-YAML
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		cgroupDriver: systemd
		cgroupsPerQOS: true
		failSwapOn: false
		staticPodPath: $MANIFESTS
		fileCheckFrequency: 5s
		syncFrequency: 10s
		address: 127.0.0.1
		readOnlyPort: 10255
		healthzBindAddress: 127.0.0.1
		authentication:
		  anonymous: {enabled: true}
		  webhook: {enabled: false}
		authorization: {mode: AlwaysAllow}
		containerRuntimeEndpoint: $CRI
		systemReserved: {memory: $NODE_LIMIT_RESERVED}
		enforceNodeAllocatable: [pods]
		featureGates: {MemoryQoS: $1}
	YAML
}

# node_up: containerd, the images, the kubelet, the default pods Running.
# Facts node.*: timings (uptime seconds), versions.
node_up() {
	[ -e "$NODE_UP" ] && return 0
	local t0 i
	t0=$(now)
	[ -x "$NODE_SHARE/kubelet" ] || die "no kubelet in $NODE_SHARE (the Go side builds it)"
	install -m 0755 "$NODE_SHARE/kubelet" "$NODE_SHARE/crictl" /usr/local/bin/
	fact node.kubelet_version "$(/usr/local/bin/kubelet --version 2>&1)"
	fact node.containerd_version "$(containerd --version 2>&1)"
	fact node.runc_version "$(runc --version 2>&1 | head -1)"
	# containerd copies these into hostNetwork sandboxes; minbase has none.
	[ -s /etc/hosts ] || printf '127.0.0.1 localhost\n10.200.0.10 e2e-node\n' >/etc/hosts
	[ -e /etc/resolv.conf ] || : >/etc/resolv.conf
	# A node IP without a network: a dummy interface with the default route.
	ip link add e2e0 type dummy 2>/dev/null
	ip addr add 10.200.0.10/24 dev e2e0 2>/dev/null
	ip link set e2e0 up
	ip route add default dev e2e0 2>/dev/null
	mkdir -p /etc/containerd
	cat >/etc/containerd/config.toml <<-'TOML'
		version = 2
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "e2e.local/pause:1"
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		    runtime_type = "io.containerd.runc.v2"
		    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		      SystemdCgroup = true
	TOML
	timeout 120 systemctl start containerd || die "containerd does not start: $(journalctl -u containerd -n 20 --no-pager -o cat)"
	for i in $(seq 1 240); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.5; done
	fact node.containerd_up "$(calc "$(now) - $t0")"
	log "containerd up"
	cp "$NODE_SHARE/pause.tar" /run/e2e-pause.tar
	timeout 300 ctr -n k8s.io images import /run/e2e-pause.tar >&2 || die "cannot import the pause image"
	rm -f /run/e2e-pause.tar
	# The workload image and the pods' data while the kubelet starts (some
	# 20 s each under TCG): the pods need them, the kubelet does not.
	local imported
	mkdir -p "$NODE_DIR/wl" "$NODE_DIR/data" "$MANIFESTS"
	(
		timeout 300 ctr -n k8s.io images import "$NODE_DIR/workload.tar" >&2 || exit 1
		# Workloads and data the pods reach through hostPath volumes.
		cp "$WL"/*.py "$NODE_DIR/wl/"
		rm -f "$NODE_DIR/data/leak.go" "$NODE_DIR/data/leak.done"
		make_file "$NODE_DIR/data/hot.dat" 320
	) &
	imported=$!

	kubelet_config false
	cat >/run/systemd/system/kubelet.service <<-UNIT
		[Unit]
		Description=kubelet (e2e, standalone)
		After=containerd.service
		Requires=containerd.service
		[Service]
		ExecStart=/usr/local/bin/kubelet --config=$KUBELET_CONFIG --hostname-override=e2e-node --node-ip=10.200.0.10 --v=1
		Restart=always
		RestartSec=2
	UNIT
	timeout 120 systemctl daemon-reload
	timeout 60 systemctl start kubelet || die "kubelet does not start"
	for i in $(seq 1 300); do kubelet_status >/dev/null 2>&1 && break; sleep 1; done
	fact node.kubelet_up "$(calc "$(now) - $t0")"
	log "kubelet answers"
	wait "$imported" || die "cannot import the workload image"
	fact node.images_imported "$(calc "$(now) - $t0")"
	log "images imported"
	node_pods_default
	node_wait_pods 240 g=0 b=0 be=0 || die "pods not running: $(kubelet_status) $(journalctl -u kubelet -n 30 --no-pager -o cat)"
	fact node.pods_running "$(calc "$(now) - $t0")"
	mkdir -p "$(dirname "$NODE_UP")"
	touch "$NODE_UP"
	log "node up in $(calc "$(now) - $t0") s"
}

# manifest NAME: write $MANIFESTS/NAME.yaml from stdin, atomically (the
# kubelet read a half-written file once).
manifest() {
	cat >"$MANIFESTS/.$1.tmp"
	mv "$MANIFESTS/.$1.tmp" "$MANIFESTS/$1.yaml"
}

# pod_yaml NAME NAMESPACE: a static pod's head, hostNetwork, with the
# workloads at /wl and the data at /data.
pod_yaml() {
	cat <<-YAML
		apiVersion: v1
		kind: Pod
		metadata:
		  name: $1
		  namespace: $2
		spec:
		  hostNetwork: true
		  terminationGracePeriodSeconds: 2
		  volumes:
		  - {name: wl, hostPath: {path: $NODE_DIR/wl}}
		  - {name: data, hostPath: {path: $NODE_DIR/data}}
		  containers:
	YAML
}

# container_yaml NAME RESOURCES ARGS...: one container (RESOURCES is a YAML
# flow mapping, {} for none).
container_yaml() {
	local name=$1 res=$2 a args=
	shift 2
	for a in "$@"; do args+="\"$a\", "; done
	cat <<-YAML
		  - name: $name
		    image: e2e.local/workload:1
		    imagePullPolicy: Never
		    command: [${args%, }]
		    resources: $res
		    volumeMounts: [{name: wl, mountPath: /wl}, {name: data, mountPath: /data}]
	YAML
}

node_pods_default() {
	{ pod_yaml g db
	  container_yaml reader '{requests: {memory: 448Mi, cpu: 500m}, limits: {memory: 448Mi, cpu: 500m}}' \
		python3 -u /wl/reader.py /data/hot.dat 1; } | manifest g
	{ pod_yaml b web
	  container_yaml idle '{requests: {memory: 64Mi}}' python3 -u /wl/hold.py 100; } | manifest b
	{ pod_yaml be shop
	  container_yaml leaker '{}' python3 -u /wl/nodeleak.py /data/leak.go /data/leak.done
	  container_yaml sidecar '{}' sleep infinity; } | manifest be
}

# node_wait_pods TIMEOUT NAME=RESTARTS...: every container of those pods
# running and ready, with at least RESTARTS restarts; the status in
# $WORK/pods.json.
node_wait_pods() {
	local limit=$1
	shift
	python3 "$E2E_GUEST/node/kubelet.py" wait "$limit" "$@" >"$WORK/pods.json"
}

# node_pod_cg NAME: the pod's cgroup directory, from its UID and QoS class.
node_pod_cg() { python3 "$E2E_GUEST/node/kubelet.py" cgroup "$1"; }

# node_ct_cg POD CONTAINER: the running container's cgroup directory.
node_ct_cg() {
	local id
	id=$(crictl ps --name "^$2\$" --label "io.kubernetes.pod.name=$1-e2e-node" --state running -q 2>/dev/null | head -1)
	[ -n "$id" ] || return 1
	echo "$(node_pod_cg "$1")/cri-containerd-$id.scope"
}

# node_ct_pid POD CONTAINER: the container's first process (host PID).
node_ct_pid() {
	local cg
	cg=$(node_ct_cg "$1" "$2") || return 1
	head -1 "$cg/cgroup.procs" 2>/dev/null
}

# node_install: the .deb, as README.md's Install section does it, with the
# kill.method given (signal or oom) written into the shipped config.
node_install() {
	local debs
	debs=(/mnt/host/deb/kube-oomd_*_"$(dpkg --print-architecture)".deb)
	[ -f "${debs[0]}" ] || die "no kube-oomd_*_$(dpkg --print-architecture).deb in /mnt/host/deb: the test shares KUBE_OOMD_E2E_DEB, or builds one for KUBE_OOMD_E2E_ARCH"
	if ! dpkg-query -W -f '${db:Status-Abbrev}' kube-oomd 2>/dev/null | grep -q '^ii'; then
		timeout 300 dpkg -i "${debs[0]}" >&2 || die "dpkg -i failed"
	fi
	timeout 60 systemctl enable --now kube-oomd >&2 || die "systemctl enable --now kube-oomd failed"
}

# node_daemon_config KEY=VALUE...: set keys of /etc/kube-oomd/kube-oomd.toml
# ("kill.method=\"oom\"") and restart the daemon; waits until it runs.
node_daemon_config() {
	config_apply /etc/kube-oomd/kube-oomd.toml "$@"
	DAEMON_CURSOR=$(journal_cursor)
	timeout 60 systemctl restart kube-oomd || die "kube-oomd does not restart"
	local i
	for i in $(seq 1 20); do
		sleep 1
		timeout 10 kube-oomd status >/dev/null 2>&1 && return 0
	done
	die "kube-oomd not answering after restart: $(journalctl -u kube-oomd -n 20 --no-pager -o cat)"
}

# node_leak PREFIX HEADROOM_MB: one leak run of shop/be's leaker, which
# starts HEADROOM_MB under kubepods' limit and leaks 20 MiB/s until it dies;
# then waits for the kubelet to restart it. Facts PREFIX.*: the watch (death,
# first stall, peak), kernel OOM kills in kubepods, G's full stall, the pods'
# status after the restart.
node_leak() {
	local p=$1 headroom=$2 used limit initial pid g_cg before_g before_oom before_limit restarts
	limit=$(($(cat "$KUBEPODS_CG/memory.max") >> 20))
	used=$(($(cg_current "$KUBEPODS_CG") >> 20))
	initial=$((limit - used - headroom))
	[ $initial -lt 0 ] && initial=0
	g_cg=$(node_pod_cg g)
	restarts=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(sum(c["restarts"] for c in s["be"]["containers"].values()))' "$WORK/pods.json")
	fact "$p.kubepods_limit_mb" "$limit"
	fact "$p.initial_mb" "$initial"
	before_g=$(cg_full_total "$g_cg")
	before_oom=$(cg_events "$KUBEPODS_CG" oom_kill)
	before_limit=$(cg_events_local "$KUBEPODS_CG" oom)
	echo "$p $initial 2 100" >"$NODE_DIR/data/leak.go.tmp"
	mv "$NODE_DIR/data/leak.go.tmp" "$NODE_DIR/data/leak.go"
	local t0 i
	t0=$(now)
	for i in $(seq 1 100); do
		[ "$(cat "$NODE_DIR/data/leak.done" 2>/dev/null)" = "$p" ] && break
		sleep 0.2
	done
	pid=$(node_ct_pid be leaker) || die "$p: no leaker process"
	fact "$p.leak_start" "$t0"
	FIRST_LEAK_T0=${FIRST_LEAK_T0:-$t0}
	log "$p: shop/be's leaker leaks 20 MiB/s from $initial MiB, $headroom MiB under kubepods' limit of $limit MiB"
	python3 "$WL/watch.py" "$pid" 120 "$KUBEPODS_CG" >"$WORK/$p.watch.json"
	fact "$p.watch" "@json:$WORK/$p.watch.json"
	log "$p: the leaker is dead $(python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(round(w["death_s"] - float(sys.argv[2]), 1) if w["died"] else "never")' "$WORK/$p.watch.json" "$t0") s after the leak's start"
	fact "$p.g_full_stall_us" "$(( $(cg_full_total "$g_cg") - before_g ))"
	# oom_kill counts every OOM kill below kubepods, those kill.method
	# "oom" asks for too; the local oom counts only the times kubepods'
	# own limit was hit, which is the kernel acting on its own.
	fact "$p.oom_kills" "$(( $(cg_events "$KUBEPODS_CG" oom_kill) - before_oom ))"
	fact "$p.kubepods_limit_ooms" "$(( $(cg_events_local "$KUBEPODS_CG" oom) - before_limit ))"
	# The kubelet restarts what died; the other pods must not have moved.
	node_wait_pods 180 g=0 b=0 be=$((restarts + 1))
	fact "$p.restarted" "$([ $? -eq 0 ] && echo true || echo false)"
	fact "$p.restarted_after" "$(calc "$(now) - $t0")"
	node_reader_passes "$p" "$t0" "$FIRST_LEAK_T0"
	# (@json: is read when the result is written: a copy of this run's.)
	cp "$WORK/pods.json" "$WORK/$p.pods.json"
	fact "$p.pods" "@json:$WORK/$p.pods.json"
}

# node_reader_passes PREFIX T0 FIRST_T0: db/g's reader times each pass over
# its hot file (its requests); fact PREFIX.passes: the worst pass from T0
# (the leak's start) until the first pass that began after the leaker's
# death, how many passes that was, and the usual pass: the median of the
# 30 s before FIRST_T0, the first run's start (before a later run, the
# reader still re-reads what the run before evicted).
node_reader_passes() {
	local p=$1 t0=$2 first=$3 id
	id=$(crictl ps --name '^reader$' --label "io.kubernetes.pod.name=g-e2e-node" --state running -q 2>/dev/null | head -1)
	[ -n "$id" ] || { log "$p: no reader container for the pass times"; return 0; }
	crictl logs "$id" >"$WORK/$p.reader.log" 2>&1
	cp "$WORK/$p.reader.log" "$E2E_RESULTS/$SCENARIO.$p.reader.log"
	python3 - "$WORK/$p.reader.log" "$t0" "$WORK/$p.watch.json" "$first" >"$WORK/$p.passes.json" <<-'PY'
		import json, sys
		passes = [(float(l.split()[2]), float(l.split()[3])) for l in open(sys.argv[1]) if l.startswith("pass ")]
		t0, first = float(sys.argv[2]), float(sys.argv[4])
		watch = json.load(open(sys.argv[3]))
		death = watch["death_s"] if watch.get("died") else float("inf")
		base = sorted(d for s, d in passes if first - 30 <= s and s + d < first) or [0]
		during, after = [], False
		for s, d in passes:
		    if s + d < t0 or after:
		        continue
		    during.append(d)
		    after = s > death
		print(json.dumps({"baseline_s": base[len(base) // 2], "worst_s": max(during) if during else None,
		                  "count_during": len(during)}))
	PY
	fact "$p.passes" "@json:$WORK/$p.passes.json"
}

# node_kill_record PREFIX: kube-oomd's last kill record as journalctl shows
# it, in facts PREFIX.kill_journal (-o short-precise) and
# PREFIX.kill_journal_verbose (-o verbose). The last of the boot, not those
# after DAEMON_CURSOR: journalctl 252 finds nothing when --after-cursor
# and a field match are both given.
node_kill_record() {
	local p=$1 args=(-u kube-oomd --no-pager "MESSAGE_ID=$MID_KILL" -n 1)
	journalctl "${args[@]}" -o short-precise >"$WORK/$p.kill.txt" 2>&1
	journalctl "${args[@]}" -o verbose >"$WORK/$p.kill.verbose.txt" 2>&1
	fact_text "$p.kill_journal" "$WORK/$p.kill.txt"
	fact_text "$p.kill_journal_verbose" "$WORK/$p.kill.verbose.txt"
}
