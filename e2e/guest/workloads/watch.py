"""Watches a leak: polls every 50 ms until PID is dead or TIMEOUT s pass.
Prints JSON: died (bool), death_s (CLOCK_BOOTTIME), first_stall_s (first time
the kubepods "full" total rose after the start), peak kubepods memory.current.
Usage: watch.py PID TIMEOUT_S KUBEPODS_CGDIR"""
import json
import sys
import time

from proc import alive

pid, limit, kp = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)


def full_total():
    try:
        with open(kp + "/memory.pressure") as f:
            for line in f:
                if line.startswith("full"):
                    return int(line.rsplit("total=", 1)[1])
    except OSError:
        pass
    return 0


def current():
    try:
        with open(kp + "/memory.current") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


t0 = clock()
base = full_total()
first_stall = None
peak = 0
died = False
while clock() - t0 < limit:
    if first_stall is None and full_total() > base:
        first_stall = clock()
    peak = max(peak, current())
    if not alive(pid):
        died = True
        break
    time.sleep(0.05)
print(json.dumps({"died": died, "death_s": clock() if died else None,
                  "first_stall_s": first_stall, "peak_kubepods_bytes": peak}))
