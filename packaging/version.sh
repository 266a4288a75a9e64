#!/bin/sh
# Prints the version of kube-oomd for the binary and the packages, in a form
# that both dpkg and rpm accept and order correctly: it starts with a digit,
# and holds only letters, digits and . + ~ (no "-", which both reserve for
# the release, and no ":", the epoch).
#
#   packaging/version.sh          from git (the default VERSION of make)
#   packaging/version.sh VERSION  VERSION, normalised (exit 1 if hopeless)
#
# From `git describe --tags --dirty`, or when there is no tag, from the
# number of commits and the commit:
#   v1.2.3                  1.2.3
#   v1.2.3-rc.1             1.2.3~rc.1            (before 1.2.3)
#   v1.2.3-4-gabc1234       1.2.3+git4.gabc1234   (after 1.2.3)
#   v1.2.3-4-gabc1234-dirty 1.2.3+git4.gabc1234.dirty
#   (no tag)                0.1.0~git42.abc1234   (before 0.1.0; 42 commits)
#   (no tag, dirty)         0.1.0~git42.abc1234.dirty
#   (no git)                0.1.0
set -eu

normalise() {
	printf '%s\n' "$1" | sed -E \
		-e 's/^v([0-9])/\1/' \
		-e 's/-([0-9]+)-(g[0-9a-f]+)(-dirty)?$/+git\1.\2\3/' \
		-e 's/\+git([0-9]+)\.(g[0-9a-f]+)-dirty$/+git\1.\2.dirty/' \
		-e 's/-dirty$/+dirty/' \
		-e 's/-/~/g'
}

if [ $# -gt 0 ]; then
	v=$(normalise "$1")
else
	cd "$(dirname "$0")/.."
	if ! git rev-parse --git-dir >/dev/null 2>&1; then
		v=0.1.0
	elif git describe --tags --abbrev=0 >/dev/null 2>&1; then
		v=$(normalise "$(git describe --tags --dirty)")
	else
		dirty=
		case $(git describe --always --dirty) in *-dirty) dirty=.dirty ;; esac
		v=0.1.0~git$(git rev-list --count HEAD).$(git rev-parse --short=7 HEAD)$dirty
	fi
fi

if ! printf '%s\n' "$v" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$'; then
	echo "version.sh: \"$v\" is not a version dpkg and rpm both accept (digits first; letters, digits, . + ~ only)" >&2
	exit 1
fi
printf '%s\n' "$v"
