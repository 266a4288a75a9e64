#!/bin/sh
# Writes kube-oomd.prometheusrule.yaml from kube-oomd.rules.yml, the one
# source of the alerts: a PrometheusRule (Prometheus Operator) whose
# spec.groups are the rules file's groups, line for line. Run it after
# editing the rules file; TestPrometheusRuleIsTheRulesFile (metrics/) and
# `make check-monitoring` fail until it is run.
set -eu
cd "$(dirname "$0")"
{
	cat <<'HEADER'
# Generated from kube-oomd.rules.yml by prometheusrule.sh: edit that file,
# then run prometheusrule.sh. Its spec.groups are the rules file's groups.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: kube-oomd
  labels:
    app.kubernetes.io/name: kube-oomd
spec:
HEADER
	grep -v '^#' kube-oomd.rules.yml | sed 's/^/  /'
} >kube-oomd.prometheusrule.yaml
