"""Shielded leak (issue 19 item 12): the main process sets its own
oom_score_adj to -1000, as a process run as root may, then forks a child
that keeps the inherited -1000 and leaks: INITIAL MiB at once, then STEP
MiB every INTERVAL ms up to MAX MiB, then holds. The main process prints
"shielded ADJ", then "child PID" and waits for the child, which execs
leak.py with the same arguments (it prints "start T" and so on).
Usage: shielded.py STEP_MIB INTERVAL_MS MAX_MIB [INITIAL_MIB]"""
import os
import sys
import time

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

# The child leaks as leak.py does: the same program, exec'd, so that its
# -1000 (kept across exec) is the only difference.
leak = os.path.join(os.path.dirname(os.path.abspath(__file__)), "leak.py")
os.execv(sys.executable, [sys.executable, leak] + sys.argv[1:])
