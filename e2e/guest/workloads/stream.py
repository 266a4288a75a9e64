"""Streams FILE through the page cache PASSES times, then prints "done" and
idles (so being alive afterwards means not killed).
Usage: stream.py FILE PASSES"""
import os
import sys
import time

path, passes = sys.argv[1], int(sys.argv[2])
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
buf = bytearray(1 << 20)
for n in range(1, passes + 1):
    t0 = clock()
    fd = os.open(path, os.O_RDONLY)
    total = 0
    while True:
        r = os.readv(fd, [buf])
        if r <= 0:
            break
        total += r
    os.close(fd)
    print("pass %d %.3f %.3f %d" % (n, t0, clock() - t0, total), flush=True)
print("done", flush=True)
while True:
    time.sleep(3600)
