"""Shielded leak (issue 19 item 12): the main process sets its own
oom_score_adj to -1000, as a process run as root may, then forks a child
that keeps the inherited -1000 and leaks: INITIAL MiB at once, then STEP
MiB every INTERVAL ms up to MAX MiB, then holds. The main process prints
"shielded ADJ", then "child PID" and waits for the child; the child prints
"start T" (CLOCK_BOOTTIME), a line every 64 MiB, and "capped" at MAX.
Usage: shielded.py STEP_MIB INTERVAL_MS MAX_MIB [INITIAL_MIB]"""
import os
import sys
import time

step, interval, cap = int(sys.argv[1]), float(sys.argv[2]) / 1000, int(sys.argv[3])
initial = int(sys.argv[4]) if len(sys.argv) > 4 else 0
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)

with open("/proc/self/oom_score_adj", "w") as f:
    f.write("-1000\n")
print("shielded %s" % open("/proc/self/oom_score_adj").read().strip(), flush=True)

pid = os.fork()
if pid:
    print("child %d" % pid, flush=True)
    os.waitpid(pid, 0)
    print("child exited at %.3f" % clock(), flush=True)
    while True:
        time.sleep(3600)

held = []
total = 0
print("start %.3f adj %s" % (clock(), open("/proc/self/oom_score_adj").read().strip()), flush=True)
while total + 16 <= initial:
    held.append(bytes([1]) * (16 << 20))
    total += 16
print("initial %d MiB at %.3f" % (total, clock()), flush=True)
nxt = clock()
while total < cap:
    held.append(bytes([1]) * (step << 20))
    total += step
    if total % 64 < step:
        print("leaked %d MiB at %.3f" % (total, clock()), flush=True)
    nxt += interval
    d = nxt - clock()
    if d > 0:
        time.sleep(d)
print("capped %d MiB at %.3f" % (total, clock()), flush=True)
while True:
    time.sleep(3600)
