#!/usr/bin/env bash
# Run the sipp sweeps against our PBX (`pbx serve`, release build) on loopback, with the same
# users and passwords as the Kamailio anchor (gen-users.sh: user U has password "pwU").
#   PBX_PORT=5180  N_USERS=500  DOMAIN=bench.local  TESTS=register  WORK=/tmp/bench-pbx/<ts>
#   + any run-target.sh variable (REG_RATES, STEP_SECONDS, ...)
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
PBX_PORT=${PBX_PORT:-5180}; N_USERS=${N_USERS:-500}; DOMAIN=${DOMAIN:-bench.local}
TESTS=${TESTS:-register}
WORK=${WORK:-/tmp/bench-pbx/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v sipp >/dev/null || { echo "need sipp (apt-get install sip-tester)" >&2; exit 1; }
"$BENCH/gen-users.sh" "$WORK/data" "$N_USERS" 1000 2000 50 >&2
(cd "$ROOT" && cargo build --release --quiet >&2)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
PBX="$TARGET_DIR/release/pbx"

# The same users as staff of one tenant, passwords given as digest hashes.
python3 "$BENCH/lib/pbx-config.py" "$WORK" "$DOMAIN" "$PBX_PORT"
(cd "$WORK" && exec "$PBX" serve --config pbx.yaml) > "$WORK/pbx.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q "admin API on" "$WORK/pbx.log" && break; sleep 0.1; done
grep -q "SIP on udp" "$WORK/pbx.log" || { cat "$WORK/pbx.log" >&2; exit 1; }
echo "pbx pid=$PID ($("$PBX" --version))" >&2
HOST=127.0.0.1 PORT=$PBX_PORT DOMAIN=$DOMAIN AUTH=1 LABEL=pbx SERVER_PIDS="$PID" TESTS="$TESTS" \
  USERS_CSV="$WORK/data/users.csv" CALLERS_CSV="$WORK/data/callers.csv" CALLEE_CSV="$WORK/data/callee.csv" \
  OUT="$WORK/results" "$BENCH/run-target.sh"
cp "$WORK/results/summary.md" "$WORK/summary.md"
echo "summary: $WORK/summary.md" >&2
