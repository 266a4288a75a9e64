#!/bin/bash
# 05 dry run. Scenario 01 with kube-oomd run --dry-run. The Go side asserts
# kube-oomd killed nothing, the kernel did the killing, and the journal has
# a "would kill" record naming the leaking BestEffort pod.
source "$(dirname "$0")/../lib.sh"
source "$E2E_GUEST/leak.sh"
daemon_required

leak_run dryrun systemd run
result_write
