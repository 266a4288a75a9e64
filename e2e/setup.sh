#!/bin/bash
# Installs what the e2e harness needs on a Debian host: qemu (TCG), qemu-img,
# mmdebstrap, mkfs.ext4 and python3. Idempotent and quick when all is present.
#
# Usage: e2e/setup.sh [amd64|arm64]
#
# arm64 also installs qemu-system-arm (the guest) and qemu-user-static (the
# image build runs the arm64 packages' maintainer scripts and the workload
# image's python3 under emulation), and registers the aarch64 binfmt_misc
# handler, mounting binfmt_misc first if it is not.
set -euo pipefail

arch=${1:-amd64}
case $arch in
amd64 | arm64) ;;
*)
	echo "e2e/setup.sh: unknown arch $arch (amd64 or arm64)" >&2
	exit 2
	;;
esac

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null           || need+=(qemu-utils)
command -v mmdebstrap >/dev/null         || need+=(mmdebstrap)
command -v mkfs.ext4 >/dev/null          || need+=(e2fsprogs)
command -v flock >/dev/null              || need+=(util-linux)
command -v timeout >/dev/null            || need+=(coreutils)
command -v python3 >/dev/null            || need+=(python3)     # node/oci.py (images without a registry)
if [ "$arch" = arm64 ]; then
	command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
	[ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] || need+=(qemu-user-static)
fi

if [ ${#need[@]} -gt 0 ]; then
	echo "e2e/setup.sh: installing ${need[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "e2e/setup.sh: need root to apt-get install ${need[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "${need[@]}"
fi
[ "$arch" = arm64 ] || exit 0

# The aarch64 handler: qemu-user-static ships it for systemd-binfmt, which
# only runs at boot (or not at all, in a container). Its flags F (the
# interpreter is opened now, so it works in mmdebstrap's chroot) and P.
bm=/proc/sys/fs/binfmt_misc
[ -e $bm/qemu-aarch64 ] && grep -qx enabled $bm/qemu-aarch64 && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e/setup.sh: the aarch64 binfmt_misc handler is not registered, and registering it needs root" >&2
	exit 1
fi
if [ ! -e $bm/register ]; then
	mount -t binfmt_misc binfmt_misc $bm || {
		echo "e2e/setup.sh: cannot mount binfmt_misc on $bm: the arm64 image build needs it" >&2
		exit 1
	}
fi
if [ -e $bm/qemu-aarch64 ]; then
	echo 1 >$bm/qemu-aarch64 # registered but disabled
else
	conf=/usr/lib/binfmt.d/qemu-aarch64.conf
	grep -v '^[#;]' "$conf" | grep . >$bm/register || {
		echo "e2e/setup.sh: cannot register $conf in $bm/register" >&2
		exit 1
	}
fi
grep -qx enabled $bm/qemu-aarch64 || {
	echo "e2e/setup.sh: the aarch64 binfmt_misc handler is registered but not enabled: $(cat $bm/qemu-aarch64)" >&2
	exit 1
}
echo "e2e/setup.sh: registered the aarch64 binfmt_misc handler ($(sed -n 's/^interpreter //p' $bm/qemu-aarch64))" >&2
