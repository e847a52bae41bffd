#!/usr/bin/env bash
# Relay capacity and memory per active call, on loopback.
#  1. Memory: CALLS (default 1000) calls held open at once (no audio) — the server's resident
#     memory before and while they are up.
#  2. Capacity: for each N in CONCURRENT (default "50 100 200 300"), N calls at once, each
#     caller streaming 5 s of PCMU (250 packets of 20 ms) through the PBX's relay to a callee
#     that echoes it back (SIPp -rtp_echo); the call records' relayed packet counts give the
#     loss each way. A level passes with < 1 % loss.
#   PBX_PORT=5182  DOMAIN=bench.local  WORK=/tmp/bench-relay/<ts>
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
PBX_PORT=${PBX_PORT:-5182}; DOMAIN=${DOMAIN:-bench.local}; CALLS=${CALLS:-1000}
CONCURRENT=${CONCURRENT:-"50 100 200 300"}
WORK=${WORK:-/tmp/bench-relay/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$WORK"
command -v sipp >/dev/null || { echo "need sipp (apt-get install sip-tester)" >&2; exit 1; }
"$BENCH/gen-users.sh" "$WORK/data" 100 1000 2000 100 >&2
python3 "$BENCH/lib/pbx-config.py" "$WORK" "$DOMAIN" "$PBX_PORT"
(cd "$ROOT" && cargo build --release --quiet >&2)
PBX="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/pbx"
export PBX_ADMIN_TOKEN=bench
(cd "$WORK" && exec "$PBX" serve --config pbx.yaml) > "$WORK/pbx.log" 2>&1 &
PID=$!
UAS_PID=""
trap 'kill $PID ${UAS_PID:-} 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q "admin API on" "$WORK/pbx.log" && break; sleep 0.1; done
API=$(grep -o 'admin API on http://[0-9.:]*' "$WORK/pbx.log" | sed 's/admin API on //')
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
S=(-i 127.0.0.1 -nostdin -key domain "$DOMAIN" -key expires 3600)
"$BENCH/mk-sipp-csv.sh" "$WORK/data/callee.csv" > "$WORK/callee.csv"
"$BENCH/mk-sipp-csv.sh" "$WORK/data/callers.csv" > "$WORK/callers.csv"
sipp "127.0.0.1:$PBX_PORT" -sf "$BENCH/sipp/register_auth.xml" -inf "$WORK/callee.csv" -p 5394 -m 1 "${S[@]}" > "$WORK/reg.out" 2>&1
sipp "127.0.0.1:$PBX_PORT" -sf "$BENCH/sipp/uas_answer.xml" -p 5394 -rtp_echo -mp 6100 "${S[@]}" > "$WORK/uas.out" 2>&1 &
UAS_PID=$!
sleep 0.5

# 1. memory per active call
before=$(rss)
sipp "127.0.0.1:$PBX_PORT" -sf "$BENCH/sipp/uac_call.xml" -inf "$WORK/callers.csv" -s 2000 -p 5395 \
  -m "$CALLS" -r 500 -d 15000 "${S[@]}" > "$WORK/hold.out" 2>&1 &
HOLD=$!
sleep 6; during=$(rss)
wait $HOLD || true
echo "# Relay benchmark"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| RSS before | $((before / 1024)) MiB |"
echo "| RSS with $CALLS calls up (two relay ports each) | $((during / 1024)) MiB |"
echo "| per active call | $(( (during - before) * 1024 / CALLS )) bytes |"
echo
echo "| concurrent calls streaming G.711 | packets relayed per call (of 250 each way, min / mean) | loss | server CPU | verdict |"
echo "|---|---|---|---|---|"
python3 - "$WORK/audio.ulaw" <<'PY'
import sys
open(sys.argv[1], "wb").write(bytes([0xFF]) * 40000)
PY
for n in $CONCURRENT; do
  since=$(($(date +%s%N) / 1000000))
  t0=$(awk '{print $14+$15}' "/proc/$PID/stat")
  (cd "$WORK" && sipp "127.0.0.1:$PBX_PORT" -sf "$ROOT/tests/sipp/uac_call_rtp.xml" -inf "$WORK/callers.csv" -s 2000 \
     -p 5396 -mp 7100 -m "$n" -l "$n" -r "$n" -d 4000 "${S[@]}" -timeout 60s > "$WORK/rtp-$n.out" 2>&1) || true
  t1=$(awk '{print $14+$15}' "/proc/$PID/stat")
  sleep 1
  curl -s -H "Authorization: Bearer bench" "$API/api/v1/calls?limit=$n" | python3 -c '
import json, sys
n, since, ticks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rs = [r for r in json.load(sys.stdin) if r["started_ms"] >= since and r["outcome"] == "answered"]
there = [r["rtp_caller_to_callee"] for r in rs] or [0]
back = [r["rtp_callee_to_caller"] for r in rs] or [0]
expected = 250
loss = 1 - (sum(there) + sum(back)) / (2 * expected * max(len(rs), 1))
ok = len(rs) == n and loss < 0.01
cpu = ticks / 100 / 6.5 * 100
verdict = "pass" if ok else "fail"
print(f"| {n} ({len(rs)} answered) | {min(there)}/{sum(there)/len(there):.0f} there, {min(back)}/{sum(back)/len(back):.0f} back | {loss*100:.2f} % | {cpu:.0f} % of a core | {verdict} |")
' "$n" "$since" "$((t1 - t0))"
done
