#!/bin/bash
# Installs what the e2e harness needs on a Debian host: qemu (TCG), qemu-img,
# mmdebstrap, mkfs.ext4 and python3. Idempotent and quick when all is present.
set -euo pipefail

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null           || need+=(qemu-utils)
command -v mmdebstrap >/dev/null         || need+=(mmdebstrap)
command -v mkfs.ext4 >/dev/null          || need+=(e2fsprogs)
command -v flock >/dev/null              || need+=(util-linux)
command -v timeout >/dev/null            || need+=(coreutils)
command -v python3 >/dev/null            || need+=(python3)     # node/oci.py (images without a registry)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
echo "e2e/setup.sh: installing ${need[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e/setup.sh: need root to apt-get install ${need[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${need[@]}"
