#!/bin/bash
# Builds (or reuses) the e2e guest image: a Debian bookworm root file system
# made by mmdebstrap, with a kernel, an initrd and a oneshot unit that runs
# /mnt/host/guest/run.sh from the 9p share and powers off.
#
# Usage: e2e/image/build.sh [ARCH]  prints the image directory on stdout
#
# ARCH is Debian's: amd64 (the default) or arm64, which needs qemu-user-static
# and binfmt_misc on an amd64 host (e2e/setup.sh arm64 installs them).
# The image lives in ${KUBE_OOMD_E2E_CACHE:-$HOME/.cache/kube-oomd-e2e}/<hash>/
# where <hash> covers ARCH, packages.txt and this script, so a change to any
# builds a new image. The build happens in a temporary directory that is
# renamed into place at the end: an interrupted build is never reused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
arch=${1:-amd64}
cache=${KUBE_OOMD_E2E_CACHE:-${HOME:-/root}/.cache/kube-oomd-e2e}
# packages.txt names the kernel linux-image-ARCH.
packages=$(grep -v '^[[:space:]]*#' "$here/packages.txt" | grep -v '^[[:space:]]*$' | sed "s/-ARCH\$/-$arch/" | tr '\n' ' ')
hash=$({ echo "$arch"; cat "$here/packages.txt" "$here/build.sh" "$here/../node/oci.py"; } | sha256sum | cut -c1-16)
dir=$cache/$hash

log() { echo "e2e/image: $*" >&2; }

mkdir -p "$cache"
# One builder at a time per cache; others wait and then reuse its result.
exec 9>"$cache/.lock"
flock 9

if [ -f "$dir/base.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd" ]; then
	log "reusing $dir"
	touch "$dir"
	echo "$dir"
	exit 0
fi

# Under the lock no other build runs: leftovers of killed builds can go, and
# so can images of other package lists unused for two weeks.
rm -rf "$cache"/.build-*
find "$cache" -mindepth 1 -maxdepth 1 -type d -name '[0-9a-f]*' -mtime +14 -exec rm -rf {} + 2>/dev/null || true

tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "building $dir for $arch (packages: $packages)"

# Hooks run on the host with $1 = the new root.
setup_hook='
mkdir -p "$1/usr/share/initramfs-tools/modules.d" "$1/etc/initramfs-tools/conf.d"
# A small initrd: only what finds and mounts /dev/vda.
printf "%s\n" virtio_pci virtio_blk ext4 crc32c_generic > "$1/usr/share/initramfs-tools/modules.d/kube-oomd-e2e"
echo MODULES=list > "$1/etc/initramfs-tools/conf.d/kube-oomd-e2e"
echo COMPRESS=gzip >> "$1/etc/initramfs-tools/conf.d/kube-oomd-e2e"
'

customize_hook='
set -e
root=$1
echo kube-oomd-e2e > "$root/etc/hostname"
: > "$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
chroot "$root" systemd-machine-id-setup >/dev/null 2>&1 || true
mkdir -p "$root/etc/systemd/journald.conf.d" "$root/mnt/host"
printf "[Journal]\nStorage=volatile\nRateLimitBurst=0\n" > "$root/etc/systemd/journald.conf.d/e2e.conf"
# Nothing periodic may run during a measurement.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
         fstrim.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer man-db.timer \
         getty@tty1.service serial-getty@ttyS0.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# containerd runs only in the real-node scenarios, which start it.
chroot "$root" systemctl disable containerd.service >/dev/null 2>&1 || true
rm -f "$root/etc/systemd/system/multi-user.target.wants/containerd.service"

cat > "$root/usr/local/sbin/e2e-runner" <<"RUNNER"
#!/bin/bash
# Mounts the host share, runs its guest/run.sh, powers off whatever happens.
modprobe 9pnet_virtio
mkdir -p /mnt/host
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /mnt/host; then
	mkdir -p /mnt/host/results
	if [ -x /mnt/host/guest/run.sh ] || [ -f /mnt/host/guest/run.sh ]; then
		bash /mnt/host/guest/run.sh 2>&1 | tee /mnt/host/results/run.log
		echo "${PIPESTATUS[0]}" > /mnt/host/results/run.rc
	else
		echo "e2e-runner: no /mnt/host/guest/run.sh" | tee /mnt/host/results/run.log
	fi
	journalctl -b --no-pager -o short-monotonic > /mnt/host/results/journal.txt 2>&1 || true
	sync
	umount /mnt/host || true
else
	echo "e2e-runner: cannot mount the 9p share"
fi
systemctl --no-block poweroff
RUNNER
chmod 0755 "$root/usr/local/sbin/e2e-runner"

cat > "$root/etc/systemd/system/e2e-runner.service" <<"UNIT"
[Unit]
Description=kube-oomd e2e runner
After=multi-user.target systemd-journald.socket dbus.service
Wants=dbus.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/e2e-runner
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/e2e-runner.service "$root/etc/systemd/system/multi-user.target.wants/e2e-runner.service"
'

# shellcheck disable=SC2086
mmdebstrap --variant=minbase --mode=root --format=tar --architectures="$arch" \
	--include="$(echo $packages | tr ' ' ',')" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/drivers/gpu/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/drivers/net/wireless/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/drivers/media/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/drivers/infiniband/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/drivers/staging/*' \
	--dpkgopt='path-exclude=/usr/lib/modules/*/kernel/sound/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/staging/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
	--setup-hook="$setup_hook" \
	--customize-hook="$customize_hook" \
	bookworm "$tmp/rootfs.tar" >"$tmp/mmdebstrap.log" 2>&1 || {
	tail -40 "$tmp/mmdebstrap.log" >&2
	log "mmdebstrap failed"
	exit 1
}

mkdir "$tmp/root"
tar -C "$tmp/root" -xf "$tmp/rootfs.tar"
rm -f "$tmp/rootfs.tar"
# The real node's workload image (e2e/node/oci.py): what the pods run,
# python3 and sleep, with the libraries they load, cut from the guest's own
# userland; small, because the guest imports it at every boot (about 1 s a
# MiB under TCG).
wl=$tmp/wl-root
mkdir -p "$wl/usr"
for l in bin lib lib64 sbin; do ln -s "usr/$l" "$wl/$l"; done
( cd "$tmp/root" && cp -a --parents usr/bin/python3 usr/bin/python3.11 usr/bin/sleep usr/bin/dash usr/bin/sh \
	usr/lib/python3.11 etc/passwd etc/group "$wl/" )
rm -rf "$wl"/usr/lib/python3.11/test "$wl"/usr/lib/python3.11/*/test* "$wl"/usr/lib/python3.11/config-*
for f in usr/bin/python3.11 usr/bin/sleep usr/bin/dash "$tmp"/root/usr/lib/python3.11/lib-dynload/*.so; do
	chroot "$tmp/root" ldd "/${f#"$tmp/root/"}" 2>/dev/null | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sed -e 's#^/lib64/#/usr/lib64/#' -e 's#^/lib/#/usr/lib/#' | sort -u | while read -r lib; do
	[ -e "$wl$lib" ] || ( cd "$tmp/root" && cp -L --parents "${lib#/}" "$wl/" )
done
mkdir -p "$wl/tmp" "$wl/proc" "$wl/sys" "$wl/dev" "$wl/wl" "$wl/data"
chmod 1777 "$wl/tmp"
# It must run what the pods run.
chroot "$wl" /usr/bin/python3 -c 'import json, os, sys, time, mmap, hashlib' || { log "workload image: python3 does not run"; exit 1; }
chroot "$wl" /usr/bin/sleep 0 || { log "workload image: sleep does not run"; exit 1; }
log "workload image: $(du -sm "$wl" | cut -f1) MiB"
python3 "$here/../node/oci.py" "$tmp/workload.tar" e2e.local/workload:1 "$wl" --cmd sleep --cmd infinity
rm -rf "$wl"
mkdir -p "$tmp/root/var/lib/e2e-node"
mv "$tmp/workload.tar" "$tmp/root/var/lib/e2e-node/workload.tar"
cp "$tmp"/root/boot/vmlinuz-* "$tmp/vmlinuz"
cp "$tmp"/root/boot/initrd.img-* "$tmp/initrd"
truncate -s 4G "$tmp/base.img"
mkfs.ext4 -q -F -L root -d "$tmp/root" "$tmp/base.img"
rm -rf "$tmp/root"
printf '%s\n' $packages > "$tmp/packages.txt"
echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - start )) s" > "$tmp/BUILD_INFO"
mv "$tmp/mmdebstrap.log" "$tmp/build.log"

# Atomic publish: a directory that exists under its hash is complete.
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "built $dir in $(( $(date +%s) - start )) s"
echo "$dir"
