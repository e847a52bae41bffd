#!/usr/bin/env python3
"""Our PBX against Kamailio from two results.jsonl files of one sitting (compare.sh).

usage: compare.py PBX_RESULTS KAMAILIO_RESULTS TEST...

Prints, per test, the highest passing rate of each server (the highest achieved rate of a
passing step) and their ratio pbx / kamailio, then server CPU seconds per 1,000
registrations in the fixed-rate register step ("register-fixed", FIXED_REG_RATE) of each.
"""
import json
import sys

from report import cpu_per_1000


def load(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip()]
    except OSError:
        return []


def best(rows, test):
    """The highest achieved rate of a passing step of `test`; 0 when none passed."""
    return max((r.get("achieved_rate") or r["target_rate"]
                for r in rows if r.get("test") == test and r.get("verdict") == "pass"), default=0)


def fixed(rows):
    """The fixed-rate register step, or None."""
    return next((r for r in rows if r.get("test") == "register-fixed"), None)


def main():
    pbx, kam = load(sys.argv[1]), load(sys.argv[2])
    print("# Highest passing rate per test (same sitting)")
    print()
    print("| test | pbx /s | kamailio /s | ratio |")
    print("|---|---|---|---|")
    for t in sys.argv[3:]:
        p, k = best(pbx, t), best(kam, t)
        print("| %s | %.0f | %.0f | %s |" % (t, p, k, "%.2f" % (p / k) if k else "n/a"))
    print()
    steps = {"pbx": fixed(pbx), "kamailio": fixed(kam)}
    rate = next((s["target_rate"] for s in steps.values() if s), None)
    if rate is None:
        print("CPU per 1,000 registrations at a fixed rate: not measured (FIXED_REG_RATE unset)")
        return
    parts, per = [], {}
    for name, s in steps.items():
        per[name] = cpu_per_1000(s) if s else None
        if s is None:
            parts.append("%s: not run" % name)
        elif per[name] is None:
            parts.append("%s: no successful registration" % name)
        else:
            parts.append("%s %.3f s (%d ok, %s failed, %s)" % (
                name, per[name], s["successful"], s.get("failed"), s["verdict"]))
    ratio = ("; ratio pbx / kamailio %.2f" % (per["pbx"] / per["kamailio"])
             if per["pbx"] and per["kamailio"] else "")
    print("CPU per 1,000 registrations at a fixed {:,}/s: {}{}".format(int(rate), ", ".join(parts), ratio))


if __name__ == "__main__":
    main()
