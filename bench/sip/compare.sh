#!/usr/bin/env bash
# Our PBX and Kamailio (the anchor) in the same sitting, on loopback, with the same users,
# scenarios and rate sweeps: registrations/s with digest auth, and calls/s (INVITE with digest
# auth, 180, 200, ACK, hold, BYE) extension to extension — through our B2BUA, and through
# Kamailio's stateful proxy. Prints the ratio of the highest passing rates per test, the server
# CPU per 1,000 registrations in one extra register step at a fixed FIXED_REG_RATE (5,000/s)
# for each server, and both summaries (lib/compare.py, lib/report.py).
#   TESTS="register call"  REG_RATES="..."  CALL_RATES="..."  STEP_SECONDS=10  (see run-target.sh)
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/bench-compare/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v kamailio >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio; } >&2
command -v sipp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester; } >&2
export REG_RATES=${REG_RATES:-"5000 10000 15000 20000 25000 30000"}
export CALL_RATES=${CALL_RATES:-"100 200 400 600 800 1000 1500 2000"}
export FIXED_REG_RATE=${FIXED_REG_RATE:-5000}
TESTS=${TESTS:-"register call"}
WORK="$WORK/pbx" TESTS="$TESTS" "$BENCH/run-pbx.sh"
WORK="$WORK/kamailio" VARIANTS=auth TESTS="$TESTS" "$BENCH/run-kamailio.sh"
read -ra tests <<<"$TESTS"
python3 "$BENCH/lib/compare.py" "$WORK/pbx/results/results.jsonl" "$WORK/kamailio/auth/results/results.jsonl" "${tests[@]}"
echo
cat "$WORK/pbx/summary.md"
cat "$WORK/kamailio/summary.md"
