#!/bin/bash
# 00 smoke: the guest is what the scenarios need. Records the kernel, the
# cgroup v2 controllers, that memory.reclaim and cgroup.kill exist, that PSI
# reads and accepts a trigger, and a few speed figures of this TCG guest.
source "$(dirname "$0")/../lib.sh"

fact kernel "$(uname -r)"
fact systemd "$(systemctl --version | head -1)"
fact uptime_at_start_s "$(now)"
fact mem_total_bytes "$(mem_total)"
fact cgroup_fs "$(stat -fc %T $CG)"
fact root_controllers "$(cat $CG/cgroup.controllers)"
fact root_subtree_control "$(cat $CG/cgroup.subtree_control)"
fact has_memory_reclaim "$([ -e $CG/system.slice/memory.reclaim ] && echo true || echo false)"
fact has_cgroup_kill "$([ -e $CG/system.slice/cgroup.kill ] && echo true || echo false)"
fact has_memory_oom_group "$([ -e $CG/system.slice/memory.oom.group ] && echo true || echo false)"
fact proc_pressure_memory "$(head -1 /proc/pressure/memory)"
fact kube_oomd_present "$(have_daemon && echo true || echo false)"
fact choom "$(command -v choom || echo missing)"

# A PSI trigger on a cgroup's memory.pressure (kernel 5.2+, CAP_SYS_RESOURCE).
fact psi_trigger "$(python3 - <<'PY'
import os, select
fd = os.open("/sys/fs/cgroup/system.slice/memory.pressure", os.O_RDWR | os.O_NONBLOCK)
try:
    os.write(fd, b"full 100000 1000000\0")
    p = select.poll(); p.register(fd, select.POLLPRI)
    p.poll(10)
    print("ok")
except OSError as e:
    print("error: %s" % e)
PY
)"

# memory.reclaim and cgroup.kill on a scratch cgroup, for real.
mkdir -p $CG/e2e-smoke
sleep infinity &
pid=$!
echo $pid >$CG/e2e-smoke/cgroup.procs
echo 1M >$CG/e2e-smoke/memory.reclaim 2>/dev/null
fact memory_reclaim_write_rc $?
# The page size (4 KiB on amd64, 4, 16 or 64 KiB on arm64), and how the
# kernel rounds a memory.high write to it: kube-oomd's model of it
# (cgroupv2.RoundLimit, with the page size the daemon reports below) must
# give what the kernel reads back. 64 MiB + 5000 bytes tells the sizes apart.
fact page_size "$(getconf PAGESIZE)"
high=$(((64 << 20) + 5000))
fact memory_high_written "$high"
echo "$high" >$CG/e2e-smoke/memory.high
fact memory_high_read "$(cat $CG/e2e-smoke/memory.high)"
echo 1 >$CG/e2e-smoke/cgroup.kill
sleep 0.5
wait $pid 2>/dev/null
fact cgroup_kill_killed "$(alive $pid && echo false || echo true)"
rmdir $CG/e2e-smoke

# Speed of this guest (make compare only: a benchmark, and 20 s of the
# gate): a 256 MiB file written, read cold and hot; 256 MiB anon.
if comparing; then
	t=$(now); dd if=/dev/zero of=$DATA/smoke.dat bs=1M count=256 conv=fsync status=none
	fact speed.write_256m_s "$(calc "$(now) - $t")"
	drop_caches
	t=$(now); cat $DATA/smoke.dat >/dev/null; fact speed.read_cold_256m_s "$(calc "$(now) - $t")"
	t=$(now); cat $DATA/smoke.dat >/dev/null; fact speed.read_hot_256m_s "$(calc "$(now) - $t")"
	t=$(now); python3 -c 'b = bytes([1]) * (256 << 20)'; fact speed.anon_256m_s "$(calc "$(now) - $t")"
	rm -f $DATA/smoke.dat
fi

# A pod the library's way, both drivers: the tree is where the kubelet puts it.
kubepods_setup systemd 512M
pod_new P Burstable 256M
pods_apply
pause_start P
container_start P app 500 sleep infinity
fact systemd_pod_cgroup "${POD_CG[P]#$CG}"
fact systemd_container_cgroup "$(sed -n 's/^0:://p' /proc/${CT_PID[app]}/cgroup)"
fact systemd_container_adj "$(cat /proc/${CT_PID[app]}/oom_score_adj)"
fact systemd_pause_adj "$(cat /proc/${CT_PID[P-pause]}/oom_score_adj)"
fact systemd_container_oom_group "$(cat ${CT_CG[app]}/memory.oom.group)"
fact systemd_pod_memory_max "$(cat ${POD_CG[P]}/memory.max)"
# The kernel's own text of the files kube-oomd parses, for the parsers'
# fixtures (cgroupv2/testdata, psi/testdata, internal/procfs/testdata).
fx=$E2E_RESULTS/00-smoke.fixtures/$(uname -r)
mkdir -p "$fx/cgroup" "$fx/proc"
for f in memory.stat memory.events memory.events.local memory.pressure memory.current memory.max memory.high cgroup.events; do
	cat "$KUBEPODS_CG/$f" >"$fx/cgroup/$f"
done
cat "${CT_CG[app]}/cgroup.procs" >"$fx/cgroup/cgroup.procs"
cat /proc/meminfo >"$fx/proc/meminfo"
cat "/proc/${CT_PID[app]}/statm" >"$fx/proc/statm"
cat "/proc/${CT_PID[app]}/oom_score_adj" >"$fx/proc/oom_score_adj"
cat /proc/sys/kernel/osrelease >"$fx/proc/osrelease"
cat /proc/self/net/dev >"$fx/proc/net_dev"
# kube-oomd on this node: the page size it found (kube-oomd status --json).
if have_daemon; then
	write_config "$WORK/smoke.toml" systemd
	DAEMON_CURSOR=$(journal_cursor)
	daemon_launch "$WORK/smoke.toml"
	for _ in $(seq 1 120); do
		timeout 10 "$KUBE_OOMD" status --json >"$WORK/status.json" 2>"$WORK/status.err" && break
		sleep 0.5
	done
	fact daemon_status_error "$(cat "$WORK/status.err")"
	fact daemon_page_size "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["features"]["page_size"])' "$WORK/status.json" 2>/dev/null || echo none)"
	daemon_stop daemon
fi
node_cleanup
kubepods_setup cgroupfs 512M
pod_new P BestEffort
pause_start P
container_start P app 1000 sleep infinity
fact cgroupfs_container_cgroup "$(sed -n 's/^0:://p' /proc/${CT_PID[app]}/cgroup)"
fact cgroupfs_container_adj "$(cat /proc/${CT_PID[app]}/oom_score_adj)"
node_cleanup
fact cgroupfs_removed "$([ -d $CG/kubepods ] && echo false || echo true)"
fact systemd_removed "$([ -d $CG/kubepods.slice ] && echo false || echo true)"
fact ok true
result_write
