"""What one process costs, from /proc, for the idle scenario.

  proccost.py snap PID            a snapshot as JSON on stdout
  proccost.py diff A.json B.json  the window between two snapshots, as JSON
  proccost.py strace FILE         `strace -c` output as {"syscall": calls}

A snapshot is cheap (a few small /proc reads) and does not disturb the
process. CPU time is utime+stime of /proc/PID/stat, in clock ticks
(USER_HZ, clk_tck: 100 on Linux), for all of its threads, dead or alive.
The per-thread counters (context switches, schedstat's run time and time
slices) are summed over the threads alive at the snapshot.
"""
import glob
import json
import os
import re
import sys


def read(path):
    with open(path) as f:
        return f.read()


def kv(path):
    out = {}
    for line in read(path).splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def snap(pid):
    base = "/proc/%d" % pid
    # Everything after the command's closing ")" (the command may hold spaces).
    st = read(base + "/stat").rsplit(")", 1)[1].split()
    status = kv(base + "/status")
    io = kv(base + "/io")
    s = {
        "pid": pid,
        "t": float(read("/proc/uptime").split()[0]),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "utime": int(st[11]),  # field 14
        "stime": int(st[12]),  # field 15
        "threads": int(st[17]),  # field 20
        "rss_kib": int(status["VmRSS"].split()[0]),
        "hwm_kib": int(status["VmHWM"].split()[0]),
        "syscr": int(io["syscr"]),
        "syscw": int(io["syscw"]),
        "rchar": int(io["rchar"]),
        "wchar": int(io["wchar"]),
        "vol_cs": 0,
        "invol_cs": 0,
        "run_ns": 0,
        "slices": 0,
    }
    for task in glob.glob(base + "/task/*"):
        try:
            ts = kv(task + "/status")
            run_ns, _, slices = read(task + "/schedstat").split()
        except OSError:
            continue  # a thread that just exited
        s["vol_cs"] += int(ts["voluntary_ctxt_switches"])
        s["invol_cs"] += int(ts["nonvoluntary_ctxt_switches"])
        s["run_ns"] += int(run_ns)
        s["slices"] += int(slices)
    fds = glob.glob(base + "/fd/*")
    s["fds"] = len(fds)
    watches = 0
    for fd in fds:
        try:
            watches += read(base + "/fdinfo/" + os.path.basename(fd)).count("inotify wd:")
        except OSError:
            pass
    s["inotify_watches"] = watches
    # The whole guest, for context: busy and total ticks of /proc/stat.
    cpu = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    s["host_total_ticks"] = sum(cpu[:8])
    s["host_idle_ticks"] = cpu[3] + cpu[4]  # idle + iowait
    return s


def diff(a, b):
    if a["pid"] != b["pid"]:
        raise SystemExit("diff: snapshots of pids %d and %d" % (a["pid"], b["pid"]))
    w = b["t"] - a["t"]
    per_min = lambda k: round((b[k] - a[k]) * 60.0 / w, 1)
    ticks = (b["utime"] + b["stime"]) - (a["utime"] + a["stime"])
    host_total = b["host_total_ticks"] - a["host_total_ticks"]
    host_busy = host_total - (b["host_idle_ticks"] - a["host_idle_ticks"])
    return {
        "window_s": round(w, 2),
        "clk_tck": b["clk_tck"],
        "ticks": ticks,
        "utime_ticks": b["utime"] - a["utime"],
        "stime_ticks": b["stime"] - a["stime"],
        "ticks_per_min": round(ticks * 60.0 / w, 1),
        "cpu_pct": round(100.0 * ticks / b["clk_tck"] / w, 3),
        "run_ms_per_min": round((b["run_ns"] - a["run_ns"]) / 1e6 * 60.0 / w, 1),
        "slices_per_min": per_min("slices"),
        "vol_cs_per_min": per_min("vol_cs"),
        "invol_cs_per_min": per_min("invol_cs"),
        "syscr_per_min": per_min("syscr"),
        "syscw_per_min": per_min("syscw"),
        "rchar_per_min": per_min("rchar"),
        "rss_kib": b["rss_kib"],
        "hwm_kib": b["hwm_kib"],
        "threads": b["threads"],
        "fds": b["fds"],
        "inotify_watches": b["inotify_watches"],
        # The whole guest (all its CPUs) in the window, in percent of one CPU.
        "guest_busy_pct": round(100.0 * host_busy / b["clk_tck"] / w, 1),
    }


def strace_counts(path):
    """The calls column of `strace -c`: "% time seconds usecs/call calls
    [errors] syscall" rows, without the total."""
    out = {}
    for line in read(path).splitlines():
        f = line.split()
        if len(f) in (5, 6) and re.fullmatch(r"[0-9.]+", f[0]) and f[-1] != "total":
            out[f[-1]] = int(f[3])
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "snap":
        r = snap(int(sys.argv[2]))
    elif cmd == "diff":
        r = diff(json.loads(read(sys.argv[2])), json.loads(read(sys.argv[3])))
    elif cmd == "strace":
        r = strace_counts(sys.argv[2])
    else:
        raise SystemExit("usage: proccost.py snap PID | diff A B | strace FILE")
    json.dump(r, sys.stdout)
    print()


if __name__ == "__main__":
    main()
