"""The real kubelet's view of its pods, from its read-only endpoint
(http://127.0.0.1:10255/pods), reduced to what the scenarios assert.

Usage:
  kubelet.py status            JSON: {pod name: {uid, namespace, qos, phase,
                               containers: {name: {ready, restarts, state,
                               last_reason, last_exit_code}}}}
  kubelet.py wait TIMEOUT_S NAME=RESTARTS...
                               waits until each pod NAME (metadata.name
                               without the node suffix) has every container
                               running and ready with at least RESTARTS
                               restarts in all; prints the status; exit 1
                               on timeout
  kubelet.py gone TIMEOUT_S    waits until the kubelet reports no pod
  kubelet.py cgroup NAME       the pod's cgroup directory (systemd driver)
"""
import json
import sys
import time
import urllib.request

URL = "http://127.0.0.1:10255/pods"
NODE = "-e2e-node"


def fetch():
    with urllib.request.urlopen(URL, timeout=5) as r:
        return json.load(r)


def status():
    out = {}
    for p in fetch().get("items") or []:
        md, st = p["metadata"], p.get("status", {})
        name = md["name"]
        if name.endswith(NODE):
            name = name[: -len(NODE)]
        cs = {}
        for c in st.get("containerStatuses") or []:
            last = (c.get("lastState") or {}).get("terminated") or {}
            state = next(iter(c.get("state") or {"unknown": {}}))
            cs[c["name"]] = {
                "ready": c.get("ready", False),
                "restarts": c.get("restartCount", 0),
                "state": state,
                "state_reason": (c.get("state") or {}).get(state, {}).get("reason", ""),
                "last_reason": last.get("reason", ""),
                "last_exit_code": last.get("exitCode"),
                "id": c.get("containerID", ""),
            }
        out[name] = {
            "uid": md.get("uid", ""),
            "namespace": md.get("namespace", ""),
            "qos": st.get("qosClass", ""),
            "phase": st.get("phase", ""),
            "containers": cs,
        }
    return out


def ready(s, want):
    for name, restarts in want.items():
        p = s.get(name)
        if not p or not p["containers"]:
            return False
        if any(c["state"] != "running" or not c["ready"] for c in p["containers"].values()):
            return False
        if sum(c["restarts"] for c in p["containers"].values()) < restarts:
            return False
    return True


def main(argv):
    cmd = argv[1]
    if cmd == "status":
        print(json.dumps(status(), sort_keys=True))
        return 0
    if cmd == "cgroup":
        p = status()[argv[2]]
        u = p["uid"].replace("-", "_")
        q = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}[p["qos"]]
        base = "/sys/fs/cgroup/kubepods.slice"
        print("%s/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (base, q, q, u) if q
              else "%s/kubepods-pod%s.slice" % (base, u))
        return 0
    limit = float(argv[2])
    end = time.monotonic() + limit
    want = {}
    for a in argv[3:]:
        n, _, r = a.partition("=")
        want[n] = int(r or 0)
    s = {}
    while time.monotonic() < end:
        try:
            s = status()
        except OSError:
            s = {}
        if cmd == "wait" and ready(s, want):
            print(json.dumps(s, sort_keys=True))
            return 0
        if cmd == "gone" and s == {}:
            print("{}")
            return 0
        time.sleep(1)
    print(json.dumps(s, sort_keys=True))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
