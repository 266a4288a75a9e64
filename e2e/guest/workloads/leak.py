"""Leak: allocates and touches INITIAL MiB at once (a pod that starts big),
then STEP MiB every INTERVAL ms until MAX MiB, then holds. Prints
"start T" (CLOCK_BOOTTIME) and a line every 64 MiB.
Usage: leak.py STEP_MIB INTERVAL_MS MAX_MIB [INITIAL_MIB]"""
import sys
import time

step, interval, cap = int(sys.argv[1]), float(sys.argv[2]) / 1000, int(sys.argv[3])
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
initial = int(sys.argv[4]) if len(sys.argv) > 4 else 0
held = []
total = 0
print("start %.3f" % clock(), flush=True)
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
