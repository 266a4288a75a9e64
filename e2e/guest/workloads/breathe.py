"""Breathe: a pod that holds BASE MiB of anonymous memory and keeps growing
slowly, STEP MiB every INTERVAL ms up to BASE+SPAN MiB, then drops back to
BASE and grows again: a pod that grows while it is watched, without ever
taking more than BASE+SPAN. Prints "ready" once BASE is held.
With CALM_FILE, once that file exists it drops to half of BASE and holds
that: the episode is over (21: the throttle must then be released).
With RAMP_MIB_S in the environment, BASE is taken at that pace (21).
Usage: breathe.py BASE_MIB STEP_MIB INTERVAL_MS SPAN_MIB [CALM_FILE]"""
import os
import sys
import time

base, step, interval, span = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000, int(sys.argv[4])
ramp = float(os.environ.get("RAMP_MIB_S", "0"))
held = []
for _ in range(base // 16):
    held.append(bytes([1]) * (16 << 20))
    if ramp:
        time.sleep(16 / ramp)
print("ready", flush=True)
calm = sys.argv[5] if len(sys.argv) > 5 else None
while not (calm and os.path.exists(calm)):
    extra = []
    for _ in range(span // step):
        extra.append(bytes([1]) * (step << 20))
        time.sleep(interval)
    del extra
del held[len(held) // 2:]
print("calm", flush=True)
while True:
    time.sleep(3600)
