"""Turns a scenario's fact list (KEY<TAB>VALUE lines) into its JSON result.

Dotted keys nest ("kernel.time_to_act_s" -> {"kernel": {"time_to_act_s": ..}}).
Numbers, true/false/null become JSON scalars; "@json:FILE" embeds FILE's JSON.
A key given twice keeps the last value.
"""
import json
import re
import sys


def value(v):
    if v.startswith("@json:"):
        try:
            with open(v[6:]) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            return {"error": "cannot read %s: %s" % (v[6:], e)}
    if v in ("true", "false", "null"):
        return json.loads(v)
    # Only plain decimal numbers: float() would also take "infinity" (as
    # systemctl prints MemoryHigh) and "nan", which are not JSON.
    t = v.strip()
    if re.fullmatch(r"[-+]?[0-9]+", t):
        return int(t)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+", t):
        return float(t)
    return v


def main(facts, out):
    res = {}
    try:
        lines = open(facts).read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        if "\t" not in line:
            continue
        k, v = line.split("\t", 1)
        node = res
        parts = k.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value(v)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    import os
    os.rename(tmp, out)


main(sys.argv[1], sys.argv[2])
