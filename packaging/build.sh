#!/bin/sh
# Builds the kube-oomd packages: a .deb and an .rpm for each architecture,
# into dist/. This is `make packages`.
#
# Environment (all optional):
#   VERSION        version of the binary and the packages (default: from git,
#                  by packaging/version.sh; normalised by it either way)
#   ARCHES         Go architectures (default "amd64 arm64")
#   NFPM_VERSION   the nfpm release installed with `go install` (default below)
#   NFPM           an nfpm binary to use instead of installing one
#   GO             the go command (default go)
#   DIST           output directory (default dist)
#   SOURCE_DATE_EPOCH  timestamps in the packages (default: the last commit's)
#
# Installs nfpm into DIST/tools (through the Go module proxy) unless it is
# there already at the pinned version; go.mod is not touched.
set -eu

cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
case $DIST in /*) ;; *) DIST=$PWD/$DIST ;; esac
ARCHES=${ARCHES:-amd64 arm64}
# v2.45.2 is the newest nfpm v2 that builds here with Go 1.26: v2.46.0 and
# later need go.digitalxero.dev modules, which the module proxy refuses (403).
NFPM_VERSION=${NFPM_VERSION:-v2.45.2}

VERSION=$(sh packaging/version.sh ${VERSION:+"$VERSION"})
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

log() { echo "packages: $*" >&2; }

# nfpm, pinned.
if [ -z "${NFPM:-}" ]; then
	NFPM=$DIST/tools/nfpm
	if ! [ -x "$NFPM" ] || ! "$GO" version -m "$NFPM" 2>/dev/null |
		grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/goreleaser/nfpm/v2[[:space:]]+${NFPM_VERSION}[[:space:]]"; then
		log "installing nfpm $NFPM_VERSION into $DIST/tools"
		mkdir -p "$DIST/tools"
		# GOFLAGS of the project (-mod=...) must not leak into this install.
		GOBIN=$DIST/tools GOFLAGS='' CGO_ENABLED=0 \
			"$GO" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
	fi
fi

BUILD_DIR=$DIST/build
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
export BUILD_DIR

# The man page, with the version and date filled in, gzipped without a name
# or time stamp so that the same source gives the same bytes.
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d)
sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$date/g" packaging/kube-oomd.8 |
	gzip -9n >"$BUILD_DIR/kube-oomd.8.gz"

# The changelogs, from CHANGELOG.md: the Debian one (gzipped like the man
# page) and nfpm's YAML for the .rpm's %changelog, given to nfpm by a copy of
# nfpm.yaml that only the .rpm uses (see nfpm.yaml).
CGO_ENABLED=0 GOFLAGS='' "$GO" run ./packaging/changelog -in CHANGELOG.md -nfpm packaging/nfpm.yaml \
	-version "$VERSION" -epoch "$SOURCE_DATE_EPOCH" \
	-deb "$BUILD_DIR/changelog" -rpm "$BUILD_DIR/changelog.yml"
gzip -9n <"$BUILD_DIR/changelog" >"$BUILD_DIR/changelog.gz"
{
	cat packaging/nfpm.yaml
	printf '\n# Added by packaging/build.sh for the .rpm only.\nchangelog: %s\n' "$BUILD_DIR/changelog.yml"
} >"$BUILD_DIR/nfpm-rpm.yaml"

for arch in $ARCHES; do
	log "building kube-oomd $VERSION for linux/$arch"
	# -buildvcs=auto: the commit goes into the binary (kube-oomd version,
	# kube_oomd_build_info) where git can tell it, whatever GOFLAGS says.
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -buildvcs=auto \
		-ldflags "-s -w -X main.version=$VERSION" \
		-o "$BUILD_DIR/linux_$arch/kube-oomd" ./cmd/kube-oomd
done

# Old packages of the same name would be mistaken for this build's.
rm -f "$DIST"/kube-oomd_*.deb "$DIST"/kube-oomd-*.rpm "$DIST/SHA256SUMS"
for arch in $ARCHES; do
	GOARCH=$arch PKG_VERSION=$VERSION \
		"$NFPM" package --config packaging/nfpm.yaml --packager deb --target "$DIST/" >&2
	GOARCH=$arch PKG_VERSION=$VERSION \
		"$NFPM" package --config "$BUILD_DIR/nfpm-rpm.yaml" --packager rpm --target "$DIST/" >&2
done

cd "$DIST"
sha256sum kube-oomd_*.deb kube-oomd-*.rpm >SHA256SUMS
log "version $VERSION, nfpm $NFPM_VERSION, in $DIST/:"
sed 's/^[0-9a-f]*  /  /' SHA256SUMS | while read -r f; do
	printf '  %-48s %s bytes\n' "$f" "$(wc -c <"$f")"
done
