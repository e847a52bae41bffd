#!/usr/bin/env bash
# Benchmark `pbx validate` on a large generated config.
#
#   bench/validate.sh [--tenants N] [--staff M] [--runs R] [--warmup W] [--seed S] [--keep]
#
# Builds the release binary (honouring CARGO_TARGET_DIR), generates a config with
# bench/gen-config.py (default 100 tenants x 100 staff) into a temporary directory, prints
# its size and counts, checks that it validates (exit code 0; the script fails otherwise),
# then times `pbx validate` with hyperfine. The report on stdout is Markdown; build and
# hyperfine progress go to stderr. Runs from any working directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

tenants=100
staff=100
runs=10
warmup=3
seed=1
keep=0

usage() { sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --tenants) tenants="$2"; shift 2 ;;
    --staff) staff="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    # --plan: will also time `pbx plan` once that subcommand exists.
    --plan) echo "validate.sh: --plan is not available yet (pbx has no plan command)" >&2; exit 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "validate.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$runs" -lt 10 ]; then
  echo "validate.sh: --runs must be at least 10" >&2
  exit 2
fi

# hyperfine: install with apt when missing.
if ! command -v hyperfine >/dev/null 2>&1; then
  echo "hyperfine not found; installing it with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq hyperfine >&2
fi

# Build. cargo itself honours CARGO_TARGET_DIR (and build.target-dir); ask it where that is.
echo "building pbx (release)..." >&2
(cd "$root" && cargo build --release --quiet) >&2
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
pbx="$target_dir/release/pbx"
[ -x "$pbx" ] || { echo "validate.sh: no binary at $pbx" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pbx-bench.XXXXXX")"
if [ "$keep" -eq 1 ]; then
  echo "keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi
config="$tmp/pbx.yaml"

python3 "$here/gen-config.py" "$config" --tenants "$tenants" --staff "$staff" --seed "$seed" >&2

# Counts from the file itself (the generator's layout: fixed indentation per level).
bytes=$(wc -c <"$config")
lines=$(wc -l <"$config")
n_tenants=$(grep -c '^  - id: ' "$config" || true)
n_tenants=$((n_tenants - 1)) # the shared trunk `gw` has the same indentation
n_staff=$(grep -c '^      - name: ' "$config" || true)
n_departments=$(grep -c '^      - id: d[0-9]' "$config" || true)
n_numbers=$(grep -c '^      - number: ' "$config" || true)

echo "# pbx validate benchmark"
echo
echo "- binary: \`$pbx\` ($("$pbx" --version))"
echo "- config: $(numfmt --to=iec --suffix=B "$bytes" 2>/dev/null || echo "$bytes bytes") ($bytes bytes, $lines lines)"
echo "- tenants: $n_tenants, staff: $n_staff, departments: $n_departments, numbers: $n_numbers"
echo "- machine: $(nproc) CPUs, $(uname -sm)"

# The config must be valid: a benchmark of the error path would measure something else.
set +e
"$pbx" validate "$config" >"$tmp/validate.out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "validate.sh: the generated config is not valid (pbx validate exited $rc):" >&2
  head -n 60 "$tmp/validate.out" >&2
  exit 1
fi
echo "- pbx validate: exit 0, $(tail -n 1 "$tmp/validate.out")"
echo

# -N: no intermediate shell, so the timings are pbx's own.
hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
  --command-name "pbx validate ($n_tenants tenants x $staff staff)" \
  --export-markdown "$tmp/validate.md" \
  "$(printf '%q validate %q' "$pbx" "$config")" >&2
cat "$tmp/validate.md"
