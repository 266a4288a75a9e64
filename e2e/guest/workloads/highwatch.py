"""Watches a pod slice's memory.high while a leak runs: polls every 100 ms
until PID is dead or TIMEOUT s pass. The first time memory.high is not
"max" (a throttle), it asks systemd for the unit's MemoryHigh and reads the
file again: a check counts when the file read the same value before and
after `systemctl show` (the throttle was in force all along). Prints JSON:
first_s (CLOCK_BOOTTIME), first_file, checks [{t, file, unit, file_after}],
consistent (a check where file == unit == file_after), throttled_s (time
the file was not "max"), last_file.
Usage: highwatch.py CGDIR UNIT PID TIMEOUT_S"""
import json
import subprocess
import sys
import time

from proc import alive

cg, unit, pid, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)


def high():
    try:
        with open(cg + "/memory.high") as f:
            return f.read().strip()
    except OSError:
        return "gone"


def unit_high():
    try:
        out = subprocess.run(["systemctl", "show", "-p", "MemoryHigh", "--value", unit],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return "error: %s" % e


t0 = clock()
res = {"first_s": None, "first_file": None, "checks": [], "consistent": None,
       "throttled_s": 0.0, "last_file": None}
last = clock()
while clock() - t0 < limit:
    v = high()
    now = clock()
    if v not in ("max", "gone"):
        res["throttled_s"] += now - last
        res["last_file"] = v
        if res["first_s"] is None:
            res["first_s"], res["first_file"] = now, v
        if res["consistent"] is None and len(res["checks"]) < 5:
            u = unit_high()
            after = high()
            c = {"t": clock(), "file": v, "unit": u, "file_after": after}
            res["checks"].append(c)
            if v == u == after:
                res["consistent"] = c
    last = now
    if not alive(pid):
        break
    time.sleep(0.1)
res["throttled_s"] = round(res["throttled_s"], 2)
print(json.dumps(res))
