#!/bin/bash
# 01 leak versus a latency-sensitive pod. The same three pods twice in one
# boot: the kernel alone, then with kube-oomd. The Go side asserts that
# kube-oomd killed the BestEffort pod before any kernel OOM kill, that the
# Guaranteed and Burstable pods live, and that the Guaranteed pod stalled at
# most a quarter as long as with the kernel alone.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/leak.sh"
daemon_required

comparing && leak_run kernel systemd kernel
leak_run daemon systemd daemon
result_write
