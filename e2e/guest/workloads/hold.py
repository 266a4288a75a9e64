"""Anonymous memory holder: allocates and touches MIB MiB, prints "ready",
then sleeps. With RATE (MiB a second), it takes its MIB at that pace rather
than at once: a pod that fills up without looking like a runaway leak (21).
Usage: hold.py MIB [RATE]"""
import sys
import time

mib = int(sys.argv[1])
rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0
chunks = []
for _ in range(mib):
    chunks.append(bytes([1]) * (1 << 20))
    if rate:
        time.sleep(1 / rate)
print("ready %d MiB" % mib, flush=True)
while True:
    time.sleep(3600)
