#!/bin/sh
# `make check-monitoring`: promtool checks the alerts and runs their unit
# tests (kube-oomd.rules.test.yml). promtool is PROMTOOL, or on PATH, or
# taken from Debian's prometheus package, extracted (never installed: that
# would start a Prometheus server) into CACHE (default .cache/promtool).
set -eu
cd "$(dirname "$0")"
CACHE=${CACHE:-../../.cache/promtool}
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$promtool" ]; then
	promtool=$CACHE/usr/bin/promtool
	if [ ! -x "$promtool" ]; then
		command -v apt-get >/dev/null || {
			echo "check-monitoring: no promtool: install Prometheus's promtool, or set PROMTOOL=/path/to/promtool" >&2
			exit 1
		}
		mkdir -p "$CACHE"
		dl=$(mktemp -d)
		trap 'rm -rf "$dl"' EXIT INT TERM
		# A fresh machine may have no package lists yet: update once, then.
		(cd "$dl" && apt-get download prometheus) ||
			{ apt-get update -q >&2 && (cd "$dl" && apt-get download prometheus); } || {
			echo "check-monitoring: apt-get download prometheus failed, after apt-get update too; or set PROMTOOL=/path/to/promtool" >&2
			exit 1
		}
		dpkg -x "$dl"/prometheus_*.deb "$dl/x"
		cp "$dl/x/usr/bin/promtool" "$CACHE/promtool.tmp"
		mkdir -p "$CACHE/usr/bin" && mv "$CACHE/promtool.tmp" "$promtool"
	fi
fi
"$promtool" check rules kube-oomd.rules.yml
"$promtool" test rules kube-oomd.rules.test.yml
# The PrometheusRule is the rules file's groups: regenerate it and compare.
tmp=$(mktemp -d)
cp kube-oomd.rules.yml prometheusrule.sh "$tmp"/
sh "$tmp"/prometheusrule.sh
if ! cmp -s "$tmp"/kube-oomd.prometheusrule.yaml kube-oomd.prometheusrule.yaml; then
	rm -rf "$tmp"
	echo "check-monitoring: kube-oomd.prometheusrule.yaml is not kube-oomd.rules.yml's groups: run packaging/monitoring/prometheusrule.sh" >&2
	exit 1
fi
rm -rf "$tmp"
echo "check-monitoring: ok"
