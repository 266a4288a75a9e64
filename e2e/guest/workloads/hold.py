"""Anonymous memory holder: allocates and touches MIB MiB, prints "ready",
then sleeps. Usage: hold.py MIB"""
import sys
import time

mib = int(sys.argv[1])
chunks = [bytes([1]) * (1 << 20) for _ in range(mib)]
print("ready %d MiB" % mib, flush=True)
while True:
    time.sleep(3600)
