#!/bin/bash
# 07 bad config. kube-oomd run (and check-config) on invalid configs: the
# Go side asserts a non-zero exit and a message FILE:LINE: key: ... naming
# the file, the line and the key. A valid config must pass check-config.
source "$(dirname "$0")/../lib.sh"
daemon_required

# try NAME FILE: run and check-config on FILE, facts under NAME.
try() {
	local name=$1 file=$2 out rc
	out=$(timeout 30 "$KUBE_OOMD" run --config "$file" 2>&1)
	rc=$?
	fact "$name.file" "$file"
	fact "$name.run_rc" "$rc"
	printf '%s' "$out" | head -c 4000 >"$WORK/$name.run.out"
	fact "$name.run_output" "$(cat "$WORK/$name.run.out")"
	out=$(timeout 30 "$KUBE_OOMD" check-config "$file" 2>&1)
	rc=$?
	fact "$name.check_rc" "$rc"
	printf '%s' "$out" | head -c 4000 >"$WORK/$name.check.out"
	fact "$name.check_output" "$(cat "$WORK/$name.check.out")"
}

good=$WORK/good.toml
write_config "$good"
out=$(timeout 30 "$KUBE_OOMD" check-config "$good" 2>&1)
fact good.check_rc $?
fact good.check_output "$out"

# A duration that is not one: [pressure] stall on line 6.
cat >"$WORK/bad-duration.toml" <<'TOML'
# kube-oomd e2e: invalid duration
[cgroup]
kubepods = "/kubepods.slice"

[pressure]
stall = "soon"
window = "1s"
TOML
try bad_duration "$WORK/bad-duration.toml"
fact bad_duration.line 6
fact bad_duration.key stall

# A kill mode that does not exist: [kill] mode on line 3.
cat >"$WORK/bad-mode.toml" <<'TOML'
[kill]
cooldown = "10s"
mode = "explode"
TOML
try bad_mode "$WORK/bad-mode.toml"
fact bad_mode.line 3
fact bad_mode.key mode

# A percentage over 100: [memory] near_limit on line 2.
cat >"$WORK/bad-percent.toml" <<'TOML'
[memory]
near_limit = "150%"
TOML
try bad_percent "$WORK/bad-percent.toml"
fact bad_percent.line 2
fact bad_percent.key near_limit
result_write
