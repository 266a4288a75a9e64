"""Puts running processes into new transient scope units, as runc does for
containerd under the systemd cgroup driver: one StartTransientUnit call
with the PIDs property per scope, all over one D-Bus connection (libsystemd's
sd-bus through ctypes). Under TCG that is many times quicker than a
`systemd-run --scope` process each.

  scopes.py TIMEOUT_S < LINES     LINES: "UNIT SLICE PID" (one scope each)

Then waits (at most TIMEOUT_S in all) until each PID is in its scope's
cgroup (/proc/PID/cgroup), and exits 0; or names what failed on stderr and
exits 1.
"""
import ctypes
import os
import sys
import time


class BusError(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("message", ctypes.c_char_p), ("_need_free", ctypes.c_int)]


def main():
    limit = float(sys.argv[1])
    want = [line.split() for line in sys.stdin if line.strip()]
    sd = ctypes.CDLL("libsystemd.so.0", use_errno=True)
    p = ctypes.c_void_p
    for f in ("sd_bus_open_system", "sd_bus_message_new_method_call", "sd_bus_message_append",
              "sd_bus_message_open_container", "sd_bus_message_close_container", "sd_bus_call"):
        getattr(sd, f).restype = ctypes.c_int
    sd.sd_bus_message_unref.restype = p
    sd.sd_bus_message_unref.argtypes = [p]
    sd.sd_bus_error_free.argtypes = [ctypes.POINTER(BusError)]

    def check(r, what):
        if r < 0:
            raise SystemExit("scopes.py: %s: %s" % (what, os.strerror(-r)))

    bus = p()
    check(sd.sd_bus_open_system(ctypes.byref(bus)), "sd_bus_open_system")
    for unit, slice_, pid in want:
        m = p()
        check(sd.sd_bus_message_new_method_call(bus, ctypes.byref(m), b"org.freedesktop.systemd1",
                                                b"/org/freedesktop/systemd1",
                                                b"org.freedesktop.systemd1.Manager", b"StartTransientUnit"),
              "new_method_call")
        check(sd.sd_bus_message_append(m, b"ss", unit.encode(), b"fail"), "append name")
        check(sd.sd_bus_message_open_container(m, ctypes.c_char(b"a"), b"(sv)"), "open properties")
        check(sd.sd_bus_message_append(m, b"(sv)", b"Slice", b"s", slice_.encode()), "append Slice")
        check(sd.sd_bus_message_append(m, b"(sv)", b"Description", b"s",
                                       ("e2e container " + unit).encode()), "append Description")
        check(sd.sd_bus_message_append(m, b"(sv)", b"PIDs", b"au", ctypes.c_int(1), ctypes.c_uint32(int(pid))),
              "append PIDs")
        check(sd.sd_bus_message_close_container(m), "close properties")
        check(sd.sd_bus_message_append(m, b"a(sa(sv))", ctypes.c_int(0)), "append aux")
        err = BusError()
        reply = p()
        r = sd.sd_bus_call(bus, m, ctypes.c_uint64(0), ctypes.byref(err), ctypes.byref(reply))
        if r < 0:
            msg = (err.message or b"").decode(errors="replace")
            raise SystemExit("scopes.py: StartTransientUnit %s (pid %s in %s): %s %s"
                             % (unit, pid, slice_, os.strerror(-r), msg))
        sd.sd_bus_message_unref(reply)
        sd.sd_bus_message_unref(m)

    # Each PID in its cgroup: .../<slice path>/<unit>.
    end = time.monotonic() + limit
    pending = {pid: unit for unit, _, pid in want}
    while pending:
        for pid, unit in list(pending.items()):
            try:
                with open("/proc/%s/cgroup" % pid) as f:
                    cg = f.read().strip()
            except OSError:
                raise SystemExit("scopes.py: pid %s (%s) is gone" % (pid, unit))
            if cg.endswith("/" + unit):
                del pending[pid]
        if not pending:
            break
        if time.monotonic() > end:
            raise SystemExit("scopes.py: after %.0f s, %d processes are not in their scopes, e.g. pid %s not in %s"
                             % (limit, len(pending), *next(iter(pending.items()))))
        time.sleep(0.1)


if __name__ == "__main__":
    main()
