"""Reads `journalctl -o json` on stdin, writes kube-oomd's structured
records (those with a MESSAGE_ID or KUBE_OOMD_* field) as a JSON list."""
import json
import os
import sys

# The MESSAGE_IDs come from internal/vocab, through env.sh (lib.sh).
IDS = {
    os.environ["MID_KILL"]: "kill",
    os.environ["MID_WOULD_KILL"]: "would_kill",
    os.environ["MID_KERNEL_OOM"]: "kernel_oom_kill",
}
out = []
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    mid = e.get("MESSAGE_ID")
    if not mid and not any(k.startswith("KUBE_OOMD_") for k in e):
        continue
    msg = e.get("MESSAGE")
    if isinstance(msg, list):  # journald gives bytes as a list of ints
        msg = bytes(msg).decode("utf-8", "replace")
    rec = {
        "kind": IDS.get(mid, "other"),
        "message_id": mid,
        "message": msg,
        "monotonic_s": int(e.get("__MONOTONIC_TIMESTAMP", 0)) / 1e6,
    }
    for k, v in e.items():
        if k.startswith("KUBE_OOMD_"):
            rec[k[len("KUBE_OOMD_"):].lower()] = v
    out.append(rec)
json.dump(out, sys.stdout)
