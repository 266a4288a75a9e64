"""A leaker for the real node's pods: it sits idle until the scenario asks
for a leak, then leaks as leak.py does. The kubelet restarts it after each
kill, so a run is asked for once: GO holds "RUN INITIAL_MIB STEP_MIB
INTERVAL_MS"; the container leaks when RUN differs from the last run it
started (kept in DONE), which it writes first.
Usage: nodeleak.py GO DONE"""
import os
import sys
import time

go, done = sys.argv[1], sys.argv[2]


def read(path):
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return []


print("waiting", flush=True)
while True:
    want = read(go)
    if want and want[:1] != read(done)[:1]:
        break
    time.sleep(0.2)
tmp = done + ".tmp"
with open(tmp, "w") as f:
    f.write(want[0] + "\n")
os.rename(tmp, done)
run, initial, step, interval = want[0], int(want[1]), int(want[2]), want[3]
here = os.path.dirname(os.path.abspath(__file__))
os.execvp("python3", ["python3", os.path.join(here, "leak.py"), str(step), interval, "4096", str(initial)])
