#!/bin/sh
# Literal $ in single quotes, and word lists from grep, are meant here.
# shellcheck disable=SC2016,SC2013
#
# Checks the packages that `make packages` put in DIST (default dist/); this
# is `make check-packages`. Exits 1, after listing every problem, when
# something is missing or wrong:
#   - one .deb and one .rpm per architecture (ARCHES, default "amd64 arm64"),
#     all of one version, matching DIST/SHA256SUMS;
#   - .deb (dpkg-deb -c/-I/-f): the binary, the unit, the system.slice
#     drop-in, the metrics TCP drop-in (inactive, in /usr/share/kube-oomd),
#     the man page, the config marked as a conffile, the postinst/
#     prerm/postrm scripts (as in packaging/scripts/deb), the files identical
#     to packaging/'s;
#   - .rpm (rpm -qlp, -qcp, --scripts): the same files, the config as
#     %config(noreplace), the %post/%preun/%postun scriptlets, the same
#     binary as the .deb of the same architecture;
#   - the binary: right ELF machine, static, its version the package's;
#   - the man page: renders without warnings, and names every command and
#     flag of `kube-oomd --help`, and every configuration key, journal field
#     and MESSAGE_ID of README.md and packaging/kube-oomd.toml;
#   - the unit: `systemd-analyze verify` in a root made of the .deb's files
#     (the binary and man page really there), with no message at all, alone
#     and with the metrics TCP drop-in in /etc/systemd/system/
#     kube-oomd.service.d/ (which must turn PrivateNetwork= off and allow
#     AF_INET and AF_INET6), and its `systemd-analyze security` exposure.
#
# On Debian it installs what it lacks with apt-get (dpkg-dev tools are always
# there; rpm, systemd for systemd-analyze, groff-base and man-db for the
# man page), as root or through sudo.
set -u

cd "$(dirname "$0")/.." || exit 1
DIST=${1:-dist}
ARCHES=${ARCHES:-amd64 arm64}

errors=0
fail() {
	echo "check: FAIL: $*" >&2
	errors=$((errors + 1))
}
ok() { echo "check: ok: $*"; }
note() { echo "check: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- tools ------------------------------------------------------------------
need_pkgs=
command -v dpkg-deb >/dev/null || need_pkgs="$need_pkgs dpkg"
command -v rpm >/dev/null || need_pkgs="$need_pkgs rpm"
command -v systemd-analyze >/dev/null || need_pkgs="$need_pkgs systemd"
command -v groff >/dev/null || need_pkgs="$need_pkgs groff-base"
command -v man >/dev/null || need_pkgs="$need_pkgs man-db"
if [ -n "$need_pkgs" ]; then
	note "installing:$need_pkgs"
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	if ! command -v apt-get >/dev/null; then
		echo "check: missing$need_pkgs, and no apt-get to install them" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need_pkgs >&2 ||
		{ $sudo apt-get update >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need_pkgs >&2; } ||
		{ echo "check: cannot install$need_pkgs" >&2; exit 1; }
fi

# --- helpers ----------------------------------------------------------------
rpm_arch() {
	case $1 in
	amd64) echo x86_64 ;;
	arm64) echo aarch64 ;;
	*) echo "$1" ;;
	esac
}
elf_machine() { # the e_machine of an ELF file, as the Go architecture
	case $(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n') in
	3e00) echo amd64 ;;
	b700) echo arm64 ;;
	*) echo unknown ;;
	esac
}
host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}
# only FILE: the one file matching the glob, or fail.
only() {
	# shellcheck disable=SC2048,SC2086
	set -- $*
	if [ $# -ne 1 ] || ! [ -f "$1" ]; then
		echo ""
		return 1
	fi
	echo "$1"
}
contains() { # FILE STRING WHAT
	if grep -qF -- "$2" "$1"; then return 0; fi
	fail "$3: no \"$2\""
	return 1
}

paths="/usr/bin/kube-oomd
/usr/lib/systemd/system/kube-oomd.service
/usr/lib/systemd/system/system.slice.d/00-kube-oomd.conf
/etc/kube-oomd/kube-oomd.toml
/usr/share/kube-oomd/metrics-tcp.conf
/usr/share/man/man8/kube-oomd.8.gz"

if ! [ -d "$DIST" ]; then
	echo "check: no $DIST/: run make packages first" >&2
	exit 1
fi

# --- checksums --------------------------------------------------------------
if [ -f "$DIST/SHA256SUMS" ]; then
	if (cd "$DIST" && sha256sum --quiet -c SHA256SUMS); then
		ok "SHA256SUMS"
	else
		fail "$DIST/SHA256SUMS does not match the packages"
	fi
else
	fail "no $DIST/SHA256SUMS"
fi

# --- the maintainer scripts (sources) --------------------------------------
for s in packaging/scripts/deb/postinst packaging/scripts/deb/prerm packaging/scripts/deb/postrm \
	packaging/scripts/rpm/post packaging/scripts/rpm/preun packaging/scripts/rpm/postun; do
	if ! sh -n "$s"; then fail "$s: syntax"; fi
	if command -v dash >/dev/null && ! dash -n "$s"; then fail "$s: not POSIX sh (dash)"; fi
	if command -v shellcheck >/dev/null && ! shellcheck -s sh "$s" >&2; then fail "$s: shellcheck"; fi
done
contains packaging/scripts/deb/postinst 'deb-systemd-helper enable' "deb postinst"
contains packaging/scripts/deb/postinst 'deb-systemd-invoke "$action"' "deb postinst"
contains packaging/scripts/deb/postinst 'action=restart' "deb postinst"
contains packaging/scripts/deb/postinst 'systemctl --system daemon-reload' "deb postinst"
contains packaging/scripts/deb/postinst '[ -d /run/systemd/system ]' "deb postinst"
contains packaging/scripts/deb/prerm 'deb-systemd-invoke stop kube-oomd.service' "deb prerm"
contains packaging/scripts/deb/postrm 'deb-systemd-helper mask' "deb postrm"
contains packaging/scripts/deb/postrm 'deb-systemd-helper purge' "deb postrm"
contains packaging/scripts/deb/postrm 'rm -rf /etc/kube-oomd /run/kube-oomd' "deb postrm"

version=
for arch in $ARCHES; do
	# --- .deb ---------------------------------------------------------------
	deb=$(only "$DIST/kube-oomd_*_$arch.deb") || { fail "not exactly one $DIST/kube-oomd_*_$arch.deb"; continue; }
	d=$tmp/deb-$arch
	mkdir -p "$d/root" "$d/control"
	dpkg-deb -c "$deb" >"$d/list" || fail "$deb: dpkg-deb -c"
	dpkg-deb -I "$deb" >"$d/info" || fail "$deb: dpkg-deb -I"
	dpkg-deb -x "$deb" "$d/root" || fail "$deb: dpkg-deb -x"
	dpkg-deb -e "$deb" "$d/control" || fail "$deb: dpkg-deb -e"

	[ "$(dpkg-deb -f "$deb" Package)" = kube-oomd ] || fail "$deb: Package is not kube-oomd"
	[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "$deb: Architecture is not $arch"
	debver=$(dpkg-deb -f "$deb" Version)
	v=${debver%-*}
	if [ -z "$version" ]; then version=$v; fi
	[ "$v" = "$version" ] || fail "$deb: version $v, not $version like the others"
	dpkg-deb -f "$deb" Depends | grep -q init-system-helpers || fail "$deb: Depends lacks init-system-helpers"

	for p in $paths; do
		grep -Eq " \\.$p\$" "$d/list" || fail "$deb: no $p"
	done
	grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/kube-oomd$' "$d/list" || fail "$deb: /usr/bin/kube-oomd is not -rwxr-xr-x root/root"
	if [ "$(cat "$d/control/conffiles" 2>/dev/null)" = /etc/kube-oomd/kube-oomd.toml ]; then
		ok "$deb: conffile /etc/kube-oomd/kube-oomd.toml"
	else
		fail "$deb: conffiles is not exactly /etc/kube-oomd/kube-oomd.toml"
	fi
	for s in postinst prerm postrm; do
		if ! [ -x "$d/control/$s" ]; then
			fail "$deb: no executable $s"
		elif ! cmp -s "$d/control/$s" "packaging/scripts/deb/$s"; then
			fail "$deb: $s differs from packaging/scripts/deb/$s"
		fi
		grep -Eq "^ .* $s " "$d/info" || fail "$deb: dpkg-deb -I does not list $s"
	done
	[ -e "$d/control/preinst" ] && fail "$deb: unexpected preinst"
	cmp -s "$d/root/usr/lib/systemd/system/kube-oomd.service" packaging/kube-oomd.service ||
		fail "$deb: the unit differs from packaging/kube-oomd.service"
	cmp -s "$d/root/usr/lib/systemd/system/system.slice.d/00-kube-oomd.conf" packaging/system.slice-kube-oomd.conf ||
		fail "$deb: the system.slice drop-in differs from packaging/system.slice-kube-oomd.conf"
	cmp -s "$d/root/etc/kube-oomd/kube-oomd.toml" packaging/kube-oomd.toml ||
		fail "$deb: the config differs from packaging/kube-oomd.toml"
	cmp -s "$d/root/usr/share/kube-oomd/metrics-tcp.conf" packaging/kube-oomd-metrics-tcp.conf ||
		fail "$deb: the metrics TCP drop-in differs from packaging/kube-oomd-metrics-tcp.conf"
	if gzip -t "$d/root/usr/share/man/man8/kube-oomd.8.gz" 2>/dev/null; then
		man8=$d/kube-oomd.8
		gzip -dc "$d/root/usr/share/man/man8/kube-oomd.8.gz" >"$man8"
		grep -q '^\.TH KUBE-OOMD 8 ' "$man8" || fail "$deb: the man page has no .TH KUBE-OOMD 8"
		grep -q '@VERSION@\|@DATE@' "$man8" && fail "$deb: the man page still has @VERSION@ or @DATE@"
		grep -qF "kube-oomd $version" "$man8" || fail "$deb: the man page does not say version $version"
	else
		fail "$deb: the man page is not gzip"
	fi

	bin=$d/root/usr/bin/kube-oomd
	if [ -f "$bin" ]; then
		[ "$(elf_machine "$bin")" = "$arch" ] || fail "$deb: the binary is not for $arch ($(elf_machine "$bin"))"
		if command -v file >/dev/null; then
			file -b "$bin" | grep -q 'statically linked' || fail "$deb: the binary is not statically linked"
		fi
		if command -v "${GO:-go}" >/dev/null; then
			"${GO:-go}" version -m "$bin" >"$d/buildinfo" 2>&1 || fail "$deb: go version -m"
			grep -q 'CGO_ENABLED=0' "$d/buildinfo" || fail "$deb: not built with CGO_ENABLED=0"
			grep -q "GOARCH=$arch" "$d/buildinfo" || fail "$deb: not built with GOARCH=$arch"
		fi
		# -X main.version=...: the string is in the binary (-trimpath keeps
		# -ldflags out of the build info).
		grep -qaF "$version" "$bin" || fail "$deb: the binary does not hold its version $version"
		if [ "$arch" = "$(host_arch)" ]; then
			out=$("$bin" version 2>&1)
			[ "$out" = "kube-oomd $version" ] || fail "$deb: \`kube-oomd version\` says \"$out\", not \"kube-oomd $version\""
			verify_root=$d/root
		fi
	fi
	ok "$deb"

	# --- .rpm ---------------------------------------------------------------
	ra=$(rpm_arch "$arch")
	rpmf=$(only "$DIST/kube-oomd-*.$ra.rpm") || { fail "not exactly one $DIST/kube-oomd-*.$ra.rpm"; continue; }
	r=$tmp/rpm-$arch
	mkdir -p "$r"
	nvra=$(rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH}' "$rpmf" 2>/dev/null)
	[ "$nvra" = "kube-oomd $version 1 $ra" ] || fail "$rpmf: is \"$nvra\", not \"kube-oomd $version 1 $ra\""
	rpm -qlp "$rpmf" >"$r/list" 2>/dev/null || fail "$rpmf: rpm -qlp"
	for p in $paths; do
		grep -qx "$p" "$r/list" || fail "$rpmf: no $p"
	done
	if [ "$(rpm -qcp "$rpmf" 2>/dev/null)" = /etc/kube-oomd/kube-oomd.toml ]; then
		ok "$rpmf: %config /etc/kube-oomd/kube-oomd.toml"
	else
		fail "$rpmf: rpm -qcp is not exactly /etc/kube-oomd/kube-oomd.toml"
	fi
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME} %{FILEDIGESTS} %{FILENAMES}\n]' "$rpmf" >"$r/files" 2>/dev/null
	grep -Eq '^cn -rw-r--r-- root [0-9a-f]+ /etc/kube-oomd/kube-oomd.toml$' "$r/files" ||
		fail "$rpmf: the config is not %config(noreplace) -rw-r--r-- root"
	grep -Eq '^ -rwxr-xr-x root [0-9a-f]+ /usr/bin/kube-oomd$' "$r/files" ||
		fail "$rpmf: /usr/bin/kube-oomd is not -rwxr-xr-x root"
	for p in $paths; do
		[ "$p" = /usr/share/man/man8/kube-oomd.8.gz ] && continue
		want=$(sha256sum "$d/root$p" 2>/dev/null | cut -d' ' -f1)
		got=$(awk -v p="$p" '$NF == p { print $(NF-1) }' "$r/files")
		if [ -z "$want" ] || [ "$want" != "$got" ]; then fail "$rpmf: $p differs from the .deb's"; fi
	done
	rpm -qp --scripts "$rpmf" >"$r/scripts" 2>/dev/null || fail "$rpmf: rpm -qp --scripts"
	for s in 'postinstall scriptlet' 'preuninstall scriptlet' 'postuninstall scriptlet' \
		'systemctl --no-reload preset kube-oomd.service' \
		'systemctl --no-reload disable --now kube-oomd.service' \
		'systemctl try-restart kube-oomd.service' \
		'if [ "$1" -eq 0 ]; then' 'if [ "$1" -ge 1 ]; then'; do
		contains "$r/scripts" "$s" "$rpmf: rpm -qp --scripts"
	done
	grep -q 'preinstall scriptlet' "$r/scripts" && fail "$rpmf: unexpected %pre"
	ok "$rpmf"
done

# --- the man page -----------------------------------------------------------
man_src=packaging/kube-oomd.8
warn=$(groff -man -ww -z "$man_src" 2>&1)
[ -z "$warn" ] || fail "$man_src: groff warns: $warn"
# The text with troff's \- as -, and \fB...\fR codes removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man_src" >"$tmp/man.txt"
man_has() { grep -qF -- "$1" "$tmp/man.txt"; }
if [ -n "${verify_root:-}" ]; then
	bin=$verify_root/usr/bin/kube-oomd
	"$bin" --help >"$tmp/help" 2>&1
	cmds=$(sed -n 's/^  kube-oomd \([a-z-]*\).*/\1/p' "$tmp/help")
	[ -n "$cmds" ] || fail "kube-oomd --help lists no commands"
	for c in $cmds; do
		man_has "kube-oomd $c" || fail "$man_src: no command $c (kube-oomd --help has it)"
		"$bin" "$c" -h >>"$tmp/help" 2>&1
	done
	for f in $(grep -oE '(^|[[ ])--?[a-z][a-z-]+' "$tmp/help" | sed 's/^[[ ]*-*//' | sort -u); do
		man_has "--$f" || fail "$man_src: no --$f (kube-oomd --help has it)"
	done
else
	fail "no .deb for this host's architecture ($(host_arch)): cannot check the man page against --help"
fi
for k in $(sed -n 's/^| `\([a-z_]*\.[a-z_]*\)` |.*/\1/p' README.md); do
	man_has "$k" || fail "$man_src: no configuration key $k (README.md has it)"
done
section=
while IFS= read -r line; do
	case $line in
	\[*\]) section=${line#[}; section=${section%]} ;;
	[a-z]*=*) k=${line%%[ =]*}; man_has "$section.$k" || fail "$man_src: no configuration key $section.$k (packaging/kube-oomd.toml has it)" ;;
	esac
done <packaging/kube-oomd.toml
for id in $(grep -oE '`[0-9a-f]{32}`' README.md | tr -d '`' | sort -u); do
	man_has "$id" || fail "$man_src: no MESSAGE_ID $id (README.md has it)"
done
for fld in $(grep -oE 'KUBE_OOMD_[A-Z0-9_]+' README.md | sort -u); do
	man_has "$fld" || fail "$man_src: no journal field $fld (README.md has it)"
done
ok "$man_src: commands, flags, keys, MESSAGE_IDs and fields"

# --- the unit ---------------------------------------------------------------
# systemd-analyze verify, in a root made of the .deb's files plus the host's
# own units (for sysinit.target and friends) and /bin/kill (ExecReload): the
# binary must exist and be executable there, and man must find kube-oomd(8)
# there. It exits 0 even on unknown keys or bad values, so any output at all
# is a failure.
if [ -n "${verify_root:-}" ]; then
	vr=$verify_root
	mkdir -p "$vr/usr/lib/systemd/system" "$vr/usr/bin"
	for u in /usr/lib/systemd/system/* /lib/systemd/system/*; do
		[ -e "$u" ] || continue
		[ -e "$vr/usr/lib/systemd/system/${u##*/}" ] || cp -a "$u" "$vr/usr/lib/systemd/system/"
	done
	[ -e "$vr/bin" ] || ln -s usr/bin "$vr/bin"
	# ExecReload=/bin/kill: procps on Debian (the .deb recommends it),
	# util-linux on RPM distributions. A stand-in where the host has none.
	if [ -x /usr/bin/kill ]; then
		cp /usr/bin/kill "$vr/usr/bin/kill"
	elif [ -x /bin/kill ]; then
		cp /bin/kill "$vr/usr/bin/kill"
	else
		note "no /bin/kill here (procps): a stand-in for systemd-analyze verify"
		printf '#!/bin/sh\nexit 0\n' >"$vr/usr/bin/kill"
		chmod 0755 "$vr/usr/bin/kill"
	fi
	# verify_unit WHAT: systemd-analyze verify of the unit as installed in
	# $vr must exit 0 and say nothing.
	verify_unit() {
		local out rc
		out=$(MANPATH=$vr/usr/share/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$vr" \
			/usr/lib/systemd/system/kube-oomd.service 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then
			ok "systemd-analyze verify kube-oomd.service$1: clean ($(systemd-analyze --version | head -1))"
		else
			fail "systemd-analyze verify kube-oomd.service$1 (rc $rc): $out"
		fi
	}
	verify_unit ""
	# With the metrics TCP drop-in turned on as its comment says: still
	# clean, and the drop-in sets what it is for.
	dropin=$vr/etc/systemd/system/kube-oomd.service.d
	mkdir -p "$dropin"
	cp "$vr/usr/share/kube-oomd/metrics-tcp.conf" "$dropin/"
	verify_unit " with metrics-tcp.conf"
	grep -qx 'PrivateNetwork=no' "$dropin/metrics-tcp.conf" ||
		fail "metrics-tcp.conf does not turn PrivateNetwork= off"
	grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' "$dropin/metrics-tcp.conf" ||
		fail "metrics-tcp.conf does not allow AF_INET and AF_INET6 beside AF_UNIX"
	rm -r "$vr/etc/systemd/system/kube-oomd.service.d"
	# (--man=no: system.slice's documentation is not ours to check.)
	out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no --root="$vr" \
		/usr/lib/systemd/system/system.slice 2>&1)
	if [ -z "$out" ]; then
		ok "systemd-analyze verify system.slice (with 00-kube-oomd.conf): clean"
	else
		fail "systemd-analyze verify system.slice: $out"
	fi
	# security --offline needs systemd 250 or later.
	if sec=$(SYSTEMD_LOG_COLOR=0 systemd-analyze security --no-pager --offline=yes --root="$vr" kube-oomd.service 2>&1); then
		note "$(printf '%s\n' "$sec" | grep 'Overall exposure level' | sed 's/^→ //')"
	fi
fi

if [ "$errors" -gt 0 ]; then
	echo "check: $errors problem(s)" >&2
	exit 1
fi
echo "check: all good: kube-oomd $version, $(echo "$ARCHES" | wc -w) architectures, .deb and .rpm"
