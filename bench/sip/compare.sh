#!/usr/bin/env bash
# Registrations/s with digest auth: our PBX and Kamailio (the anchor) in the same sitting, on
# loopback, with the same users, scenarios and rate sweep. Prints both summaries and the ratio
# of the highest passing rates.
#   REG_RATES="500 1000 2000 3000 4000 6000 8000 10000"  STEP_SECONDS=10  (see run-target.sh)
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/bench-compare/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v kamailio >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio; } >&2
command -v sipp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester; } >&2
export REG_RATES=${REG_RATES:-"500 1000 2000 3000 4000 6000 8000 10000"}
WORK="$WORK/pbx" TESTS=register "$BENCH/run-pbx.sh"
WORK="$WORK/kamailio" VARIANTS=auth TESTS=register "$BENCH/run-kamailio.sh"
best() { python3 - "$1" <<'PY'
import json, sys
best = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("test") == "register" and r.get("verdict") == "pass":
        best = max(best, r.get("achieved_rate") or r.get("rate") or 0)
print(best)
PY
}
pbx=$(best "$WORK/pbx/results/results.jsonl")
kam=$(best "$WORK/kamailio/auth/results/results.jsonl")
echo "# Registrations/s with digest auth (highest passing step)"
echo
echo "| target | registrations/s |"
echo "|---|---|"
echo "| pbx | $pbx |"
echo "| kamailio (anchor) | $kam |"
python3 -c "import sys; p,k=float('$pbx'),float('$kam'); print(f'\nratio pbx/kamailio: {p/k:.2f}' if k else '\nratio: n/a')"
echo
cat "$WORK/pbx/summary.md"
cat "$WORK/kamailio/summary.md"
