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
#     drop-in, the metrics TCP drop-in and the dry-run fragment (inactive,
#     in /usr/share/kube-oomd), the empty /etc/kube-oomd/kube-oomd.toml.d/,
#     the man page, the config marked as a conffile, the postinst/
#     prerm/postrm scripts (as in packaging/scripts/deb), the files identical
#     to packaging/'s; the DEP-5 copyright (License: Apache-2.0) and the
#     Debian changelog.gz (gzip -n, its newest entry the package's version
#     and maintainer);
#   - .rpm (rpm -qlp, -qcp, --scripts): the same files, the config as
#     %config(noreplace), the %post/%preun/%postun scriptlets, the same
#     binary as the .deb of the same architecture; License: Apache-2.0, the
#     LICENSE marked %license, a %changelog whose newest entry is its
#     version;
#   - the maintainer scripts, run with stand-ins for systemctl and
#     deb-systemd-*: a first install neither enables nor starts kube-oomd
#     and prints the next step; an upgrade try-restarts it;
#   - the shipped config has no key that is not commented out, and
#     documents every key of README.md's table (and no other);
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
/usr/share/kube-oomd/10-dry-run.toml
/usr/share/kube-oomd/monitoring/kube-oomd.rules.yml
/usr/share/kube-oomd/monitoring/kube-oomd.prometheusrule.yaml
/usr/share/kube-oomd/monitoring/kube-oomd.dashboard.json
/usr/share/man/man8/kube-oomd.8.gz"
# The configuration's drop-in directory, empty, in both.
dropin_dir=/etc/kube-oomd/kube-oomd.toml.d

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
contains packaging/scripts/deb/postinst 'deb-systemd-invoke try-restart' "deb postinst"
contains packaging/scripts/deb/postinst 'systemctl --system daemon-reload' "deb postinst"
contains packaging/scripts/deb/postinst '[ -d /run/systemd/system ]' "deb postinst"
contains packaging/scripts/deb/prerm 'deb-systemd-invoke stop kube-oomd.service' "deb prerm"
contains packaging/scripts/deb/postrm 'deb-systemd-helper mask' "deb postrm"
contains packaging/scripts/deb/postrm 'deb-systemd-helper purge' "deb postrm"
contains packaging/scripts/deb/postrm 'rm -rf /etc/kube-oomd /run/kube-oomd' "deb postrm"

# The scripts run, with stand-ins that log their calls: systemctl
# (is-active answers $ACTIVE), deb-systemd-helper (debian-installed answers
# $INSTALLED; was-enabled answers yes, as it does on a first install) and
# deb-systemd-invoke, and /run/systemd/system made to exist.
# run_script SCRIPT ARGS...: its calls in $tmp/calls, its output in $tmp/out.
stub=$tmp/stub
mkdir -p "$stub/bin" "$stub/run/systemd/system"
for c in systemctl deb-systemd-helper deb-systemd-invoke; do
	cat >"$stub/bin/$c" <<STUB
#!/bin/sh
echo "$c \$*" >>"$tmp/calls"
case "\$*" in
*is-active*) exit \$ACTIVE ;;
*debian-installed*) exit \$INSTALLED ;;
esac
exit 0
STUB
	chmod 0755 "$stub/bin/$c"
done
run_script() {
	s=$1
	shift
	: >"$tmp/calls"
	sed "s|/run/systemd/system|$stub/run/systemd/system|g" "$s" >"$tmp/script"
	PATH=$stub/bin:$PATH sh "$tmp/script" "$@" >"$tmp/out" 2>&1 || fail "$s $*: exit $?"
}
no_call() { # PATTERN WHAT
	if grep -E -- "$1" "$tmp/calls" >/dev/null; then fail "$2: $(grep -E -- "$1" "$tmp/calls" | head -1)"; fi
}
next_step='cp /usr/share/kube-oomd/10-dry-run.toml /etc/kube-oomd/kube-oomd.toml.d/'
ACTIVE=3 INSTALLED=1
export ACTIVE INSTALLED
run_script packaging/scripts/deb/postinst configure ''
no_call ' enable| start| restart| try-restart|reenable' "deb postinst configure (first install) enables or starts kube-oomd"
grep -q 'deb-systemd-helper update-state' "$tmp/calls" || fail "deb postinst configure: no deb-systemd-helper update-state (purge would leave links)"
grep -qF -- "$next_step" "$tmp/out" || fail "deb postinst configure (first install) does not print the next step ($next_step)"
INSTALLED=0 ACTIVE=0
run_script packaging/scripts/deb/postinst configure 0.0.9-1
grep -q 'deb-systemd-invoke try-restart kube-oomd.service' "$tmp/calls" || fail "deb postinst configure OLD (upgrade) does not try-restart kube-oomd"
no_call 'invoke (start|restart) ' "deb postinst configure OLD (upgrade) starts kube-oomd whatever its state"
grep -q 'deb-systemd-helper enable' "$tmp/calls" || fail "deb postinst upgrade of an enabled unit does not re-enable it (new links)"
[ -s "$tmp/out" ] && fail "deb postinst upgrade with kube-oomd running prints: $(cat "$tmp/out")"
ACTIVE=3 INSTALLED=1
run_script packaging/scripts/rpm/post 1
no_call ' enable| start| restart' "rpm %post 1 (first install) enables or starts kube-oomd"
grep -qF -- "$next_step" "$tmp/out" || fail "rpm %post 1 (first install) does not print the next step ($next_step)"
run_script packaging/scripts/rpm/post 2
no_call ' enable| start| restart|preset' "rpm %post 2 (upgrade) changes the unit's state"
run_script packaging/scripts/rpm/postun 1
grep -q 'systemctl try-restart kube-oomd.service' "$tmp/calls" || fail "rpm %postun 1 (upgrade) does not try-restart kube-oomd"
ok "maintainer scripts: a first install neither enables nor starts, and prints the next step; an upgrade try-restarts"

# --- the shipped config and the dry-run fragment (sources) -----------------
conf=packaging/kube-oomd.toml
if grep -nvE '^(#.*)?$' "$conf" >"$tmp/uncommented"; then
	fail "$conf: lines not commented out (the defaults are built in; the file only documents them): $(head -3 "$tmp/uncommented" | tr '\n' ' ')"
fi
# Its keys, "section.key" from "# [section]" and "# key = ...".
sed -n -e 's/^# \[\([a-z_]*\)\]$/[\1]/p' -e 's/^# \([a-z_]*\) = .*/\1/p' "$conf" |
	awk '/^\[/ { s = substr($0, 2, length($0) - 2); next } { print s "." $0 }' >"$tmp/conf_keys"
sed -n 's/^| `\([a-z_]*\.[a-z_]*\)` |.*/\1/p' README.md >"$tmp/readme_keys"
if [ -s "$tmp/readme_keys" ] && cmp -s "$tmp/conf_keys" "$tmp/readme_keys"; then
	ok "$conf: all commented out, and documents README.md's $(wc -l <"$tmp/conf_keys") keys in their order"
else
	fail "$conf: its keys (# key = ...) are not README.md's table's, in order: $(diff "$tmp/conf_keys" "$tmp/readme_keys" | grep '^[<>]' | tr '\n' ' ')"
fi
frag=packaging/10-dry-run.toml
if [ "$(grep -vE '^(#.*)?$' "$frag")" = "$(printf '[kill]\nmode = "dry-run"')" ]; then
	ok "$frag: [kill] mode = \"dry-run\""
else
	fail "$frag: must set [kill] mode = \"dry-run\" and nothing else"
fi
grep -qF 'systemctl reload kube-oomd' "$frag" || fail "$frag: does not say how to arm (remove it, systemctl reload kube-oomd)"
if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
	cmp -s LICENSE /usr/share/common-licenses/Apache-2.0 || fail "LICENSE is not the Apache License 2.0 of /usr/share/common-licenses/Apache-2.0"
fi

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
	grep -Eq '^drwxr-xr-x root/root .* \.'"$dropin_dir"'/$' "$d/list" || fail "$deb: no directory $dropin_dir/"
	[ -z "$(ls -A "$d/root$dropin_dir" 2>/dev/null)" ] || fail "$deb: $dropin_dir/ is not empty"
	cmp -s "$d/root/usr/share/kube-oomd/10-dry-run.toml" packaging/10-dry-run.toml ||
		fail "$deb: the dry-run fragment differs from packaging/10-dry-run.toml"
	# The DEP-5 copyright.
	cr=$d/root/usr/share/doc/kube-oomd/copyright
	if cmp -s "$cr" packaging/copyright; then
		head -1 "$cr" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
			fail "$deb: copyright's first line is not the DEP-5 Format:"
		grep -qx 'Files: \*' "$cr" || fail "$deb: copyright has no \"Files: *\""
		grep -q '^Copyright: ' "$cr" || fail "$deb: copyright has no Copyright:"
		[ "$(grep -c '^License: Apache-2.0$' "$cr")" = 2 ] || fail "$deb: copyright lacks License: Apache-2.0 (for Files: * and as a stand-alone paragraph)"
		grep -qF '/usr/share/common-licenses/Apache-2.0' "$cr" || fail "$deb: copyright does not point to /usr/share/common-licenses/Apache-2.0"
	else
		fail "$deb: no /usr/share/doc/kube-oomd/copyright identical to packaging/copyright"
	fi
	# The changelog: gzip -9n (no name, no time stamp), Debian format, its
	# newest entry this package's version and maintainer.
	cl=$d/root/usr/share/doc/kube-oomd/changelog.gz
	grep -q 'changelog\.Debian' "$d/list" && fail "$deb: a changelog.Debian.gz beside changelog.gz (native package)"
	if gzip -t "$cl" 2>/dev/null; then
		[ "$(od -An -tx1 -j3 -N5 "$cl" | tr -d ' \n')" = 0000000000 ] || fail "$deb: changelog.gz has a name or a time stamp (gzip -n)"
		gzip -dc "$cl" >"$d/changelog"
		first=$(head -1 "$d/changelog")
		[ "$first" = "kube-oomd ($debver) unstable; urgency=medium" ] ||
			fail "$deb: changelog.gz's first line is \"$first\", not \"kube-oomd ($debver) unstable; urgency=medium\""
		maint=$(dpkg-deb -f "$deb" Maintainer)
		grep -Eq "^ -- $maint  [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}\$" "$d/changelog" ||
			fail "$deb: changelog.gz has no trailer \" -- $maint  DATE\""
		if command -v dpkg-parsechangelog >/dev/null; then
			v=$(dpkg-parsechangelog -l "$d/changelog" -S Version 2>&1)
			[ "$v" = "$debver" ] || fail "$deb: dpkg-parsechangelog: version \"$v\", not $debver"
		fi
	else
		fail "$deb: no gzipped /usr/share/doc/kube-oomd/changelog.gz"
	fi
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
			out=$("$bin" version 2>&1 | head -n 1)
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
	lic=$(rpm -qp --qf '%{LICENSE}' "$rpmf" 2>/dev/null)
	[ "$lic" = Apache-2.0 ] || fail "$rpmf: License is \"$lic\", not Apache-2.0"
	grep -Eq "^l -rw-r--r-- root $(sha256sum LICENSE | cut -d' ' -f1) /usr/share/licenses/kube-oomd/LICENSE\$" "$r/files" ||
		fail "$rpmf: no /usr/share/licenses/kube-oomd/LICENSE identical to LICENSE and marked %license"
	grep -qx "$dropin_dir" "$r/list" || fail "$rpmf: no directory $dropin_dir"
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmf" 2>/dev/null | grep -qx "drwxr-xr-x $dropin_dir" ||
		fail "$rpmf: $dropin_dir is not a drwxr-xr-x directory"
	rpm -qp --changelog "$rpmf" >"$r/changelog" 2>/dev/null
	first=$(head -1 "$r/changelog")
	case $first in
	"* "*" $(dpkg-deb -f "$deb" Maintainer) - $version-1") ;;
	*) fail "$rpmf: %changelog's first line is \"$first\", not \"* DATE $(dpkg-deb -f "$deb" Maintainer) - $version-1\"" ;;
	esac
	[ "$(grep -c '^- ' "$r/changelog")" -ge 1 ] || fail "$rpmf: %changelog has no item"
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
	# The shipped config and the dry-run fragment are valid.
	for c in "$verify_root/etc/kube-oomd/kube-oomd.toml" "$verify_root/usr/share/kube-oomd/10-dry-run.toml"; do
		out=$("$bin" check-config "$c" 2>&1) || fail "kube-oomd check-config ${c#"$verify_root"}: $out"
	done
else
	fail "no .deb for this host's architecture ($(host_arch)): cannot check the man page against --help"
fi
for k in $(sed -n 's/^| `\([a-z_]*\.[a-z_]*\)` |.*/\1/p' README.md); do
	man_has "$k" || fail "$man_src: no configuration key $k (README.md has it)"
done
for k in $(cat "$tmp/conf_keys"); do
	man_has "$k" || fail "$man_src: no configuration key $k (packaging/kube-oomd.toml has it)"
done
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
