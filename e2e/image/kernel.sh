#!/bin/bash
# Derives an image with another kernel from one that image/build.sh built:
# the same root file system with the kernel package installed too, and that
# kernel and its initrd to boot. The base image is only read.
#
# Usage: e2e/image/kernel.sh IMAGE_DIR FLAVOUR  prints the new image directory on stdout
#
# FLAVOUR (KUBE_OOMD_E2E_KERNEL in the test):
#   arm64-16k  bookworm-backports' linux-image-arm64-16k (6.12, 16 KiB pages),
#              on the arm64 image. Debian ships no arm64 kernel with 64 KiB
#              pages in bookworm, bookworm-backports or trixie.
#
# The package comes from deb.debian.org: the version that the metapackage
# names in the suite's Packages index, checked against the index's SHA256.
# dpkg -i runs in a chroot, under qemu-user (binfmt_misc, as for the arm64
# image): its postinst runs depmod and makes the initrd with the image's
# initramfs config (the few modules that mount /dev/vda). The root is
# loop-mounted, so this needs root, as mmdebstrap does.
#
# The result lives beside IMAGE_DIR in the image cache, under a hash of
# IMAGE_DIR's name, FLAVOUR and this script, built in a temporary directory
# and renamed into place, under the cache's lock, as build.sh does.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 IMAGE_DIR FLAVOUR" >&2
	exit 2
fi
base=$(cd "$1" && pwd)
flavour=$2
case $flavour in
arm64-16k) suite=bookworm-backports arch=arm64 meta=linux-image-arm64-16k ;;
*)
	echo "e2e/image/kernel.sh: unknown kernel flavour $flavour (arm64-16k)" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
cache=$(dirname "$base")
hash=$({ basename "$base"; echo "$flavour"; cat "$here/kernel.sh"; } | sha256sum | cut -c1-16)
dir=$cache/$hash
mirror=${KUBE_OOMD_E2E_MIRROR:-http://deb.debian.org/debian}

log() { echo "e2e/image/kernel: $*" >&2; }

[ -f "$base/base.img" ] || { log "no $base/base.img"; exit 1; }
exec 9>"$cache/.lock"
flock 9
if [ -f "$dir/base.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd" ]; then
	log "reusing $dir"
	touch "$dir"
	echo "$dir"
	exit 0
fi

tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
chmod 755 "$tmp"
root=$tmp/root
mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
start=$(date +%s)
log "building $dir: $meta from $suite on $(basename "$base")"

# The package: the one the metapackage depends on, checked.
deb=$(python3 - "$mirror" "$suite" "$arch" "$meta" "$tmp" <<'PY'
import hashlib, lzma, os, re, sys, urllib.request
mirror, suite, arch, meta, out = sys.argv[1:]
idx = lzma.decompress(urllib.request.urlopen(f"{mirror}/dists/{suite}/main/binary-{arch}/Packages.xz", timeout=120).read()).decode()
stanzas = {}
for s in idx.split("\n\n"):
    f = dict(re.findall(r"^([\w-]+): (.*)$", s, re.M))
    if "Package" in f:
        stanzas.setdefault(f["Package"], []).append(f)
if meta not in stanzas:
    sys.exit(f"{meta} is not in {suite}/{arch}")
m = max(stanzas[meta], key=lambda f: f["Version"])  # one version per suite
dep = re.match(r"(linux-image-\S+) \(= (\S+)\)", m["Depends"])
if not dep:
    sys.exit(f"{meta} {m['Version']}: unexpected Depends: {m['Depends']}")
pkg = [f for f in stanzas.get(dep[1], []) if f["Version"] == dep[2]]
if not pkg:
    sys.exit(f"{dep[1]} {dep[2]} is not in {suite}/{arch}")
f = pkg[0]
path = os.path.join(out, os.path.basename(f["Filename"]))
h = hashlib.sha256()
with urllib.request.urlopen(f"{mirror}/{f['Filename']}", timeout=600) as r, open(path, "wb") as w:
    while b := r.read(1 << 20):
        h.update(b)
        w.write(b)
if h.hexdigest() != f["SHA256"]:
    sys.exit(f"{f['Filename']}: SHA256 {h.hexdigest()}, the index says {f['SHA256']}")
print(path)
PY
) || { log "cannot download $meta from $mirror ($suite)"; exit 1; }
log "downloaded $(basename "$deb") ($(du -m "$deb" | cut -f1) MiB)"
# linux-image-6.12.95+deb12-arm64-16k_6.12.95-1~bpo12+1_arm64.deb: the
# kernel release is the package name's tail.
ver=$(basename "$deb")
ver=${ver%%_*}
ver=${ver#linux-image-}

cp --sparse=always "$base/base.img" "$tmp/base.img"
mkdir "$root"
mount -o loop "$tmp/base.img" "$root"
mounts+=("$root")
for d in proc sys dev; do
	mount --bind "/$d" "$root/$d"
	mounts+=("$root/$d")
done
cp "$deb" "$root/tmp/kernel.deb"
rm -f "$deb"
chroot "$root" dpkg -i /tmp/kernel.deb >"$tmp/build.log" 2>&1 || {
	tail -30 "$tmp/build.log" >&2
	log "dpkg -i failed in the chroot"
	exit 1
}
rm -f "$root/tmp/kernel.deb"
[ -n "$ver" ] && [ -f "$root/boot/vmlinuz-$ver" ] && [ -f "$root/boot/initrd.img-$ver" ] || {
	tail -30 "$tmp/build.log" >&2
	log "no /boot/vmlinuz-$ver and initrd.img-$ver after dpkg -i"
	exit 1
}
cp "$root/boot/vmlinuz-$ver" "$tmp/vmlinuz"
cp "$root/boot/initrd.img-$ver" "$tmp/initrd"
for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
	umount "${mounts[i]}"
done
mounts=()
rmdir "$root"
echo "$ver" >"$tmp/kernel"
echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - start )) s from $(basename "$base") with $meta ($ver)" >"$tmp/BUILD_INFO"

rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "built $dir in $(( $(date +%s) - start )) s"
echo "$dir"
