#!/bin/bash
# Builds (or reuses) the real node's Go parts for the e2e VM: the kubelet and
# crictl, at pinned versions, from the Go module proxy.
#
# Usage: e2e/node/build-kubelet.sh     prints the directory holding kubelet and crictl
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces its staging
# modules with ./staging/src/... paths. A small wrapper module requires it and
# replaces each staging module with the published one of the same release.
# The result lives in ${KUBE_OOMD_E2E_CACHE:-$HOME/.cache/kube-oomd-e2e}/node-<hash>/
# where <hash> covers the versions and this script; a cached run builds nothing.
# The first build costs about 12 CPU-minutes and 130 MiB of downloads.
set -euo pipefail

KUBELET_VERSION=v1.34.4
CRICTL_VERSION=v1.34.0

here=$(cd "$(dirname "$0")" && pwd)
cache=${KUBE_OOMD_E2E_CACHE:-${HOME:-/root}/.cache/kube-oomd-e2e}
hash=$( (echo "$KUBELET_VERSION $CRICTL_VERSION"; cat "$here/build-kubelet.sh") | sha256sum | cut -c1-16)
dir=$cache/node-$hash
GO=${GO:-go}

log() { echo "e2e/node: $*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/.node-lock"
flock 9

if [ -x "$dir/kubelet" ] && [ -x "$dir/crictl" ]; then
	log "reusing $dir"
	touch "$dir"
	echo "$dir"
	exit 0
fi
rm -rf "$cache"/.node-build-*
find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'node-*' -mtime +14 -exec rm -rf {} + 2>/dev/null || true

tmp=$(mktemp -d "$cache/.node-build-$hash.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "building kubelet $KUBELET_VERSION and crictl $CRICTL_VERSION into $dir (first time only: about 12 CPU-minutes)"

minor=${KUBELET_VERSION#v1.}; minor=${minor%%.*}
staging=v0.${KUBELET_VERSION#v1.}

mod=$tmp/mod
mkdir -p "$mod"
cd "$mod"
cat > go.mod <<GOMOD
module kube-oomd.e2e/kubelet

go 1.24

require k8s.io/kubernetes $KUBELET_VERSION
GOMOD
cat > tools.go <<'GOSRC'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kubelet"
GOSRC
GOFLAGS=-mod=mod "$GO" mod download k8s.io/kubernetes@"$KUBELET_VERSION"
kmod=$("$GO" env GOMODCACHE)/k8s.io/kubernetes@$KUBELET_VERSION/go.mod
# Every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x v0.MINOR.PATCH".
grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}' >> go.mod
"$GO" mod tidy >&2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBELET_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/kubelet" k8s.io/kubernetes/cmd/kubelet
CGO_ENABLED=0 GOBIN=$tmp "$GO" install -trimpath -ldflags "-s -w" sigs.k8s.io/cri-tools/cmd/crictl@"$CRICTL_VERSION"
"$tmp/kubelet" --version >&2
rm -rf "$mod"
mv "$tmp" "$dir"
trap - EXIT
log "built in $(( $(date +%s) - start )) s"
echo "$dir"
