"""Watches one memory episode (guest/episode.sh): polls every 100 ms until
every process named in "until" is dead, then GRACE s more, or until TIMEOUT
s pass. It starts before the cause does: it touches READY once it has read
the kubepods stall total it compares with, and takes the rest of the spec
(the leakers, "until") from LATE once that file appears. A spec (a JSON
file) names:
  kubepods    its cgroup directory: the first rise of its "full" stall
              total (first_stall_s) and the peak of its memory.current
  pids        {name: pid}: each one's death time (deaths, CLOCK_BOOTTIME)
  until       [name]: the episode ends once all of these are dead; a name
              may also be one of "find"'s
  find        {name: [cgdir, regexp, adj]}: the first process of cgdir whose
              cmdline matches and, if adj is given, whose oom_score_adj is
              adj (a worker that another process forked: a process may
              carry the worker's title for a moment before it forks and
              renames itself); its pid and death time are reported like
              the others
  pods        {name: cgdir}: each pod slice's memory.high; any value but
              "max" is a throttle (first_s, first, values, throttled_s)
  containers  {name: cgdir}: each container's memory.high, every distinct
              value seen (values), in order
  procs       {name: cgdir}: every process seen in cgdir (pid, adj, cmd,
              first_s, death_s, peak RSS)
Prints the result as JSON. Usage: episode.py SPEC LATE READY"""
import json
import os
import re
import sys
import time

from proc import alive

spec = json.load(open(sys.argv[1]))
late_path, ready = sys.argv[2], sys.argv[3]
limit, grace = float(spec["timeout"]), float(spec.get("grace", 0))
kp = spec["kubepods"]
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def full_total():
    for line in (read(kp + "/memory.pressure") or "").splitlines():
        if line.startswith("full"):
            return int(line.rsplit("total=", 1)[1])
    return 0


def procs(cg):
    return [int(p) for p in (read(cg + "/cgroup.procs") or "").split()]


def proc_info(pid):
    cmd = (read("/proc/%d/cmdline" % pid) or "").replace("\0", " ").strip()
    adj = (read("/proc/%d/oom_score_adj" % pid) or "").strip()
    rss = 0
    for line in (read("/proc/%d/status" % pid) or "").splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return cmd, adj, rss


t0 = clock()
base = full_total()
open(ready, "w").close()
res = {"start_s": t0, "first_stall_s": None, "peak_kubepods_bytes": 0,
       "pids": dict(spec.get("pids", {})), "deaths": {}, "all_dead": False, "timed_out": False,
       "pods": {n: {"first_s": None, "first": None, "values": [], "throttled_s": 0.0}
                for n in spec.get("pods", {})},
       "containers": {n: {"values": []} for n in spec.get("containers", {})},
       "procs": {n: {} for n in spec.get("procs", {})}}
pids = res["pids"]
find = {}
until = []
late = False
ended = None
last = t0
while True:
    now = clock()
    if not late and os.path.exists(late_path):
        late = True
        spec = json.load(open(late_path))
        for k, v in spec["pids"].items():
            pids.setdefault(k, v)
        for n in spec.get("containers", {}):
            res["containers"].setdefault(n, {"values": []})
        for n in spec.get("procs", {}):
            res["procs"].setdefault(n, {})
        find = {n: (f[0], re.compile(f[1]), f[2] if len(f) > 2 else None) for n, f in spec.get("find", {}).items()}
        until = spec["until"]
        res["late_s"] = now
    if res["first_stall_s"] is None and full_total() > base:
        res["first_stall_s"] = now
    cur = read(kp + "/memory.current")
    if cur:
        res["peak_kubepods_bytes"] = max(res["peak_kubepods_bytes"], int(cur))
    for n, (cg, rx, want_adj) in find.items():
        if n not in pids:
            for pid in procs(cg):
                cmd, adj, _ = proc_info(pid)
                if rx.search(cmd) and (want_adj is None or str(adj) == want_adj):
                    pids[n] = pid
                    break
    for n, pid in pids.items():
        if n not in res["deaths"] and not alive(pid):
            res["deaths"][n] = now
    for n, cg in spec.get("pods", {}).items():
        v = (read(cg + "/memory.high") or "gone").strip()
        r = res["pods"][n]
        if v not in ("max", "gone"):
            r["throttled_s"] += now - last
            if r["first_s"] is None:
                r["first_s"], r["first"] = now, v
        if v not in r["values"]:
            r["values"].append(v)
    for n, cg in spec.get("containers", {}).items():
        v = (read(cg + "/memory.high") or "gone").strip()
        if v not in res["containers"][n]["values"]:
            res["containers"][n]["values"].append(v)
    for n, cg in spec.get("procs", {}).items():
        seen = res["procs"][n]
        for pid in procs(cg):
            cmd, adj, rss = proc_info(pid)
            p = seen.setdefault(str(pid), {"pid": pid, "cmd": cmd, "adj": adj, "first_s": now,
                                           "death_s": None, "peak_rss_kib": 0})
            p["peak_rss_kib"] = max(p["peak_rss_kib"], rss)
            if adj:
                p["adj"] = adj
        for p in seen.values():
            if p["death_s"] is None and not alive(p["pid"]):
                p["death_s"] = now
    last = now
    if ended is None and until and all(n in res["deaths"] for n in until):
        ended = now
        res["all_dead"] = True
    if ended is not None and now - ended >= grace:
        break
    if now - t0 >= limit:
        res["timed_out"] = ended is None
        break
    time.sleep(0.1)
res["end_s"] = clock()
for r in res["pods"].values():
    r["throttled_s"] = round(r["throttled_s"], 2)
for n in res["procs"]:
    res["procs"][n] = sorted(res["procs"][n].values(), key=lambda p: p["first_s"])
print(json.dumps(res))
