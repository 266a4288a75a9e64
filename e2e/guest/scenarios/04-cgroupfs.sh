#!/bin/bash
# 04 cgroupfs driver. Scenario 01's pods and leak under the plain
# /kubepods/besteffort/pod<uid>/<id> tree (kubelet --cgroup-driver=cgroupfs),
# with kube-oomd configured for it. The Go side asserts the leaker dies, at
# kube-oomd's hand (a kill record naming the pod, no kernel OOM kill).
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/leak.sh"
daemon_required

leak_run daemon cgroupfs run
result_write
