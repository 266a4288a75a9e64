#!/bin/bash
# Boots the e2e guest once with SHARE as its 9p share and waits for it to
# power off. The guest runs SHARE/guest/run.sh and writes SHARE/results/.
#
# Usage: e2e/vm.sh IMAGE_DIR SHARE TIMEOUT_SECONDS CONSOLE_LOG
#
# TIMEOUT_SECONDS 0: no limit of its own (the e2e test watches the guest's
# progress instead, see watchdog_test.go); a number: qemu is killed then.
#
# The cached base image is never written: each boot gets its own qcow2
# copy-on-write overlay next to the console log, removed afterwards.
#
# KUBE_OOMD_E2E_ARCH=arm64 boots an arm64 image (image/build.sh arm64) under
# qemu-system-aarch64: the virt machine, TCG, the same virtio disk (PCI) and
# 9p share, the console on the PL011 (ttyAMA0).
set -euo pipefail

if [ $# -ne 4 ]; then
	echo "usage: $0 IMAGE_DIR SHARE TIMEOUT_SECONDS CONSOLE_LOG" >&2
	exit 2
fi
img=$1 share=$2 limit=$3 console=$4
arch=${KUBE_OOMD_E2E_ARCH:-amd64}
extra=
case $arch in
amd64)
	# -cpu qemu64, not max: with max, glibc and the kernel pick their AVX2
	# and AVX-512 code, which TCG emulates slowly; measured in one boot
	# each, 00 and 01 took 21.6 s and 64.9 s with qemu64 against 49.5 s and
	# 95.2 s with max (the suite is a third faster). KUBE_OOMD_E2E_CPU
	# overrides it.
	qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu "${KUBE_OOMD_E2E_CPU:-qemu64}")
	tty=ttyS0
	;;
arm64)
	# -cpu max has every granule (4, 16 and 64 KiB pages); pauth-impdef
	# replaces the architected pointer authentication (QARMA), slow to
	# emulate, with QEMU's own cheap hash.
	qemu=(qemu-system-aarch64 -M virt -accel tcg,thread=multi -cpu max,pauth-impdef=on)
	tty=ttyAMA0
	# No login prompt on that console (the image masks ttyS0's only).
	extra="systemd.mask=serial-getty@ttyAMA0.service"
	;;
*)
	echo "e2e/vm.sh: KUBE_OOMD_E2E_ARCH=$arch: want amd64 or arm64" >&2
	exit 2
	;;
esac

# One VM at a time on this machine: two TCG guests on two cores would each
# measure the other.
# The e2e test takes the lock itself, before it sets the boot's time limit,
# and says so with KUBE_OOMD_E2E_VM_LOCK_HELD=1.
if [ -z "${KUBE_OOMD_E2E_VM_LOCK_HELD:-}" ]; then
	exec 8>"${KUBE_OOMD_E2E_VM_LOCK:-/tmp/kube-oomd-e2e-vm.lock}"
	if ! flock -n 8; then
		echo "e2e/vm.sh: another test VM runs on this machine; waiting for it" >&2
		flock 8
	fi
fi

work=$(mktemp -d "$(dirname "$console")/vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
qemu-img create -q -f qcow2 -b "$img/base.img" -F raw "$work/overlay.qcow2"

# -nic none: no network (and no NIC option ROM to find).
# --kill-after: a guest that ignores SIGTERM is killed 10 s later.
set +e
timeout --kill-after=10 "$limit" \
	"${qemu[@]}" -m "${KUBE_OOMD_E2E_MEM:-2048}" -smp 2 \
	-nographic -no-reboot -nic none \
	-kernel "$img/vmlinuz" -initrd "$img/initrd" \
	-drive file="$work/overlay.qcow2",format=qcow2,if=virtio,cache=unsafe \
	-virtfs local,path="$share",mount_tag=host,security_model=none,id=host \
	-append "root=/dev/vda rw console=$tty psi=1 quiet${extra:+ $extra}" \
	</dev/null >"$console" 2>&1
rc=$?
set -e
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "e2e/vm.sh: qemu killed after the ${limit} s time limit" | tee -a "$console" >&2
fi
exit $rc
