#!/usr/bin/env python3
"""The verdict on one step (README.md, "Verdict"): reads analyze.py's JSON on stdin and prints
it back with "verdict" ("pass" or "fail") and "why" (the criteria the step missed).

usage: verdict.py FAIL_PCT_MAX P90_MS_MAX MIN_ACHIEVED < step.json

A step passes when all hold:
  - at least one call succeeded, and failed + unfinished calls are < FAIL_PCT_MAX % of all;
  - the p90 of RTD1 (first INVITE..200 for calls, first REGISTER..200 for registrations) is
    < P90_MS_MAX ms; a step without RTD1 samples fails;
  - the achieved rate is >= MIN_ACHIEVED x the target rate.
"""
import json
import sys


def judge(r, fail_pct_max, p90_ms_max, min_achieved):
    """The criteria `r` misses, as short texts; empty when it passes."""
    why = []
    if not r.get("successful"):
        why.append("no successful call")
    fail_pct = r.get("fail_pct")
    if fail_pct is None or fail_pct >= fail_pct_max:
        why.append("failed %s%% >= %s%%" % (fail_pct, fail_pct_max))
    rtd1 = r.get("rtd1_ms")
    if not rtd1:
        why.append("no RTD1 samples")
    elif rtd1["p90"] >= p90_ms_max:
        why.append("p90 %g ms >= %g ms" % (rtd1["p90"], p90_ms_max))
    achieved = r.get("achieved_rate")
    if achieved is None or achieved < min_achieved * r["target_rate"]:
        why.append("achieved %s/s < %g x %g/s" % (achieved, min_achieved, r["target_rate"]))
    return why


def main():
    fail_pct_max, p90_ms_max, min_achieved = (float(a) for a in sys.argv[1:4])
    r = json.load(sys.stdin)
    why = judge(r, fail_pct_max, p90_ms_max, min_achieved)
    r.update(verdict="fail" if why else "pass", why=why,
             criteria={"fail_pct_max": fail_pct_max, "p90_ms_max": p90_ms_max,
                       "min_achieved": min_achieved})
    print(json.dumps(r))


if __name__ == "__main__":
    main()
