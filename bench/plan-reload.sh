#!/usr/bin/env bash
# Benchmark `pbx plan` and a hot reload on the large generated config (100 tenants x 100
# staff by default; same options as gen-config.py's --tenants/--staff).
#
#   bench/plan-reload.sh [--tenants N] [--staff M] [--runs R] [--split] [--one-tenant]
#
# --split: one file per tenant, included by pbx.yaml (gen-config.py --split; a file may
# be at most 16 MiB, so 1,000 x 100 needs it). --one-tenant: the edit renames the first staff
# member of the first tenant only (with --split: one tenant file changes), for the cost of a
# hot reload that changes one tenant.
#
# 1. `pbx plan --against` between the config and a copy where every "Иван" is renamed
#    (a realistic edit touching ~2% of staff): timed with hyperfine.
# 2. `pbx serve` on the config, then the file is saved with that edit (written to a temporary
#    file and renamed, as editors do); reported: the server's own apply time for the reload
#    (parse, validate, plan, store, swap: "applied ... in N ms" in its log), and the wall time
#    from the save until the admin API serves the new revision (includes the 250 ms debounce);
#    then the server's CPU over the next 10 s, idle (the watcher must go quiet).
# Markdown report on stdout; progress on stderr. Loopback only; stops the server it starts.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tenants=100 staff=100 runs=10 split="" one_tenant=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tenants) tenants="$2"; shift 2 ;;
    --staff) staff="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --split) split="--split"; shift ;;
    --one-tenant) one_tenant=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v hyperfine >/dev/null || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >&2; }
(cd "$root" && cargo build --release --quiet >&2)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
pbx="$target_dir/release/pbx"

work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/before"
python3 "$here/gen-config.py" --tenants "$tenants" --staff "$staff" $split "$work/before/pbx.yaml" >&2
# Serve on loopback with an ephemeral port, data in the work directory.
python3 - "$work/before/pbx.yaml" <<'PY'
import sys
p = sys.argv[1]
text = open(p, encoding="utf-8").read()
head = 'server:\n  http: { listen: "127.0.0.1:0" }\n  sip:\n    listen: [{ transport: udp, address: "127.0.0.1:0" }]\n  data_dir: data\n'
text = text.replace("version: 1\n", "version: 1\n" + head, 1)
open(p, "w", encoding="utf-8").write(text)
PY
cp -r "$work/before" "$work/after"
# The edited file: the main file, or with --split and --one-tenant the first tenant's file.
edited="pbx.yaml"
if [ -n "$split" ] && [ "$one_tenant" = 1 ]; then
  first=("$work/before/tenants/"*.yaml)
  edited="tenants/$(basename "${first[0]}")"
fi
if [ "$one_tenant" = 1 ]; then
  # The first staff member of the first tenant gets another name.
  python3 - "$work/after/$edited" <<'PY'
import sys
p = sys.argv[1]
text = open(p, encoding="utf-8").read()
i = text.index('- name: "') + len('- name: "')
open(p, "w", encoding="utf-8").write(text[:i] + "Переименованный " + text[i:])
PY
  what="renames one staff member of the first tenant (file \`$edited\`)"
else
  for f in $(cd "$work/before" && find . -name '*.yaml'); do
    sed 's/name: "Иван /name: "Иоанн /' "$work/before/$f" > "$work/after/$f"
  done
  what="renames every \"Иван\""
fi

echo "# pbx plan and hot reload benchmark"
echo
echo "- config: $(cat $(find "$work/before" -name '*.yaml') | wc -c) bytes, $tenants tenants x $staff staff${split:+, one file per tenant}; the edit $what"
echo "- machine: $(nproc) CPUs, $(uname -sm)"
echo
echo "## pbx plan --against"
echo
hyperfine --warmup 2 --runs "$runs" --export-markdown "$work/plan.md" \
  -n "pbx plan ($tenants tenants x $staff staff)" \
  "$pbx plan --config $work/after/pbx.yaml --against $work/before/pbx.yaml" >&2
cat "$work/plan.md"

echo
echo "## hot reload"
echo
cp -r "$work/before" "$work/srv"
export PBX_ADMIN_TOKEN=bench-token
(cd "$work/srv" && exec "$pbx" serve --config pbx.yaml) 2> "$work/serve.log" &
server_pid=$!
for _ in $(seq 1 600); do grep -q "admin API on" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url="$(grep -o 'admin API on http://[0-9.:]*' "$work/serve.log" | sed 's/admin API on //')"
[ -n "$url" ] || { cat "$work/serve.log" >&2; exit 1; }
revision() { curl -s "$url/healthz" | sed 's/.*"revision":\([0-9]*\).*/\1/'; }
before_rev="$(revision)"
cp "$work/after/$edited" "$work/srv/$edited.tmp"
start=$(date +%s%N)
mv "$work/srv/$edited.tmp" "$work/srv/$edited"
while [ "$(revision)" = "$before_rev" ]; do
  [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 30000 ] && { echo "no reload within 30 s" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.02
done
wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
applied="$(grep -o 'applied by file watcher in [0-9]* ms' "$work/serve.log" | tail -1 | grep -o '[0-9]* ms')"
echo "| measure | value |"
echo "|---|---|"
phases="$(grep -o 'applied by file watcher in [0-9]* ms ([^)]*)' "$work/serve.log" | tail -1 | sed 's/.*(\(.*\))/\1/')"
echo "| server apply time for the reload (read, validate, plan, store, swap) | $applied ($phases) |"
echo "| save to new revision served (includes the 250 ms debounce) | $wall_ms ms |"

# 3. The server idle after that edit: CPU over 10 s (it must not keep re-reading the config).
ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
hz="$(getconf CLK_TCK)"
t0="$(ticks)"
sleep 10
t1="$(ticks)"
idle_pct="$(python3 -c "print(f'{100 * ($t1 - $t0) / $hz / 10:.2f}')")"
echo "| server CPU while idle for the 10 s after the edit | $idle_pct % of a core |"
