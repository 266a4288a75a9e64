"""Shared-memory leak: the same as leak.py, but into a memfd (shmem: swap
backed, so without swap nothing reclaims it). Grows the memfd by INITIAL MiB
at once, then STEP MiB every INTERVAL ms until MAX MiB, then holds. Each
step is written (not only ftruncated), so its pages exist and are charged
to this cgroup. Prints "start T" (CLOCK_BOOTTIME) and a line every 64 MiB.
Usage: shmleak.py STEP_MIB INTERVAL_MS MAX_MIB [INITIAL_MIB]"""
import os
import sys
import time

step, interval, cap = int(sys.argv[1]), float(sys.argv[2]) / 1000, int(sys.argv[3])
initial = int(sys.argv[4]) if len(sys.argv) > 4 else 0
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
fd = os.memfd_create("shmleak")
chunk = bytes([1]) * (1 << 20)
total = 0


def grow(mib):
    global total
    os.ftruncate(fd, (total + mib) << 20)
    for i in range(mib):
        os.pwrite(fd, chunk, (total + i) << 20)
    total += mib


print("start %.3f" % clock(), flush=True)
while total + 16 <= initial:
    grow(16)
print("initial %d MiB at %.3f" % (total, clock()), flush=True)
nxt = clock()
while total < cap:
    grow(step)
    if total % 64 < step:
        print("leaked %d MiB at %.3f" % (total, clock()), flush=True)
    nxt += interval
    d = nxt - clock()
    if d > 0:
        time.sleep(d)
print("capped %d MiB at %.3f" % (total, clock()), flush=True)
while True:
    time.sleep(3600)
