"""Hot file reader: re-reads FILE forever, one line per pass:
   pass N START_S DURATION_S   (START on CLOCK_BOOTTIME, as /proc/uptime)
With ORDER "random", a pass reads as many 1 MiB blocks as the file has, at
random offsets, instead of the file from start to end.
Usage: reader.py FILE [PAUSE_S] [ORDER]"""
import os
import random
import sys
import time

path = sys.argv[1]
pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
order = sys.argv[3] if len(sys.argv) > 3 else "sequential"
blocks = max(1, os.stat(path).st_size >> 20)
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)
buf = bytearray(1 << 20)
n = 0
print("ready", flush=True)
while True:
    t0 = clock()
    fd = os.open(path, os.O_RDONLY)
    if order == "random":
        for _ in range(blocks):
            os.preadv(fd, [buf], random.randrange(blocks) << 20)
    else:
        while os.readv(fd, [buf]) > 0:
            pass
    os.close(fd)
    n += 1
    print("pass %d %.3f %.3f" % (n, t0, clock() - t0), flush=True)
    time.sleep(pause)
