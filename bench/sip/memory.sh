#!/usr/bin/env bash
# Memory per registration: `pbx serve` with N users (default 10,000), each registers once with
# digest auth (SIPp, register_auth.xml); the server's resident memory (VmRSS) is read before,
# right after, and once the registrations' transactions have ended (Timer J, 32 s on UDP).
#   N_USERS=10000  RATE=2000  PBX_PORT=5181  DOMAIN=bench.local  WORK=/tmp/bench-mem/<ts>
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
N_USERS=${N_USERS:-10000}; RATE=${RATE:-2000}; PBX_PORT=${PBX_PORT:-5181}; DOMAIN=${DOMAIN:-bench.local}
WORK=${WORK:-/tmp/bench-mem/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v sipp >/dev/null || { echo "need sipp (apt-get install sip-tester)" >&2; exit 1; }
"$BENCH/gen-users.sh" "$WORK/data" "$N_USERS" 10000 2000 50 >&2
python3 "$BENCH/lib/pbx-config.py" "$WORK" "$DOMAIN" "$PBX_PORT"
(cd "$ROOT" && cargo build --release --quiet >&2)
PBX="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/pbx"
(cd "$WORK" && exec "$PBX" serve --config pbx.yaml) > "$WORK/pbx.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 300); do grep -q "admin API on" "$WORK/pbx.log" && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
sleep 1; before=$(rss)
"$BENCH/mk-sipp-csv.sh" "$WORK/data/users.csv" > "$WORK/sipp-users.csv"
sipp "127.0.0.1:$PBX_PORT" -sf "$BENCH/sipp/register_auth.xml" -inf "$WORK/sipp-users.csv" \
  -key domain "$DOMAIN" -key expires 3600 -m "$N_USERS" -r "$RATE" -i 127.0.0.1 -p 5393 \
  -nostdin -timeout 120s -timeout_error -trace_stat -stf "$WORK/stat.csv" > "$WORK/sipp.out" 2>&1 \
  || { tail -20 "$WORK/sipp.out" >&2; exit 1; }
loaded=$(rss)
sleep 35; settled=$(rss)
python3 - "$N_USERS" "$before" "$loaded" "$settled" <<'PY'
import sys
n, before, loaded, settled = (int(x) for x in sys.argv[1:])
print("| measure | value |\n|---|---|")
print(f"| registrations | {n} |")
print(f"| RSS before | {before/1024:.1f} MiB |")
print(f"| RSS right after (transactions still held for Timer J) | {loaded/1024:.1f} MiB |")
print(f"| RSS after 35 s (bindings only) | {settled/1024:.1f} MiB |")
print(f"| per registration, settled | {(settled-before)*1024/n:.0f} bytes |")
print(f"| per registration, while its transactions live | {(loaded-before)*1024/n:.0f} bytes |")
PY
