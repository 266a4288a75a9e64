#!/bin/bash
# make demo: kube-oomd doing its job, on any Debian machine, in a VM.
#
# It boots the e2e VM (e2e/vm.sh; qemu, no KVM needed) with a real node in
# it: containerd, runc and a kubelet running three pods. One of them,
# shop/be, leaks 20 MiB/s, twice: first with the kernel alone, then with
# kube-oomd installed from its .deb with the shipped config. It prints the
# two runs side by side, and kube-oomd's kill record as journalctl shows it.
#
# This is scenario 20-node-leak of the e2e suite, with only the default
# kill method, so its assertions hold here too: a failed demo says why.
# Needs root (apt-get for qemu and mmdebstrap, mkfs, the VM's share).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
say() { echo "demo: $*" >&2; }

cache=${KUBE_OOMD_E2E_CACHE:-${HOME:-/root}/.cache/kube-oomd-e2e}
if ! ls "$cache"/node-*/kubelet >/dev/null 2>&1; then
	say "first run on this machine: it builds a Debian VM image (1 to 5 minutes),"
	say "the kubelet from source (about 5 minutes) and a .deb; later runs reuse them"
fi
say "then the VM runs the node and the two leaks: about 3 minutes (qemu without KVM)"

bash e2e/setup.sh
bin=$(mktemp -d /tmp/kube-oomd-demo.XXXXXX)
trap 'rm -rf "$bin"' EXIT
say "building the e2e harness ..."
"$GO" test -c -tags e2e -o "$bin/e2e.test" ./e2e/

cd e2e
rc=0
KUBE_OOMD_E2E_DEMO=1 KUBE_OOMD_E2E_COMPARE=1 \
	KUBE_OOMD_E2E_RUN='^20-node-leak$' \
	KUBE_OOMD_E2E_GUEST_ENV='NODE_LEAK_METHODS=oom' \
	"$bin/e2e.test" -test.run '^TestE2E$' -test.count 1 -test.timeout 180m || rc=$?
if [ $rc -ne 0 ]; then
	say "FAILED (exit $rc); the output above says why"
fi
exit $rc
