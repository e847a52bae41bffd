#!/usr/bin/env bash
# Our PBX and Kamailio (the anchor) in the same sitting, on loopback, with the same users,
# scenarios and rate sweeps: registrations/s with digest auth, and calls/s (INVITE with digest
# auth, 180, 200, ACK, hold, BYE) extension to extension — through our B2BUA, and through
# Kamailio's stateful proxy. Prints both summaries and the ratio of the highest passing rates.
#   TESTS="register call"  REG_RATES="..."  CALL_RATES="..."  STEP_SECONDS=10  (see run-target.sh)
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/bench-compare/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v kamailio >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio; } >&2
command -v sipp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester; } >&2
export REG_RATES=${REG_RATES:-"5000 10000 15000 20000 25000 30000"}
export CALL_RATES=${CALL_RATES:-"100 200 400 600 800 1000 1500 2000"}
TESTS=${TESTS:-"register call"}
WORK="$WORK/pbx" TESTS="$TESTS" "$BENCH/run-pbx.sh"
WORK="$WORK/kamailio" VARIANTS=auth TESTS="$TESTS" "$BENCH/run-kamailio.sh"
best() { python3 - "$1" "$2" <<'PY'
import json, sys
best = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("test") == sys.argv[2] and r.get("verdict") == "pass":
        best = max(best, r.get("achieved_rate") or r.get("rate") or 0)
print(best)
PY
}
echo "# Highest passing rate per test (same sitting)"
echo
echo "| test | pbx /s | kamailio /s | ratio |"
echo "|---|---|---|---|"
for t in $TESTS; do
  pbx=$(best "$WORK/pbx/results/results.jsonl" "$t")
  kam=$(best "$WORK/kamailio/auth/results/results.jsonl" "$t")
  python3 -c "p,k=float('$pbx'),float('$kam'); print(f'| $t | {p:.0f} | {k:.0f} | ' + (f'{p/k:.2f}' if k else 'n/a') + ' |')"
done
echo
cat "$WORK/pbx/summary.md"
cat "$WORK/kamailio/summary.md"
