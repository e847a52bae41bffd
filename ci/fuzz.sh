#!/usr/bin/env bash
# Fuzzes the parsers a stranger or a config author feeds: builds the cargo-fuzz targets of
# fuzz/ (libFuzzer) on the stable toolchain, seeds their corpora from the repository's own data
# (fuzz/seed.sh), runs each target for FUZZ_SECONDS, and fails if any of them crashed, hung or
# ran out of memory. ci/test.sh runs it after the tests; run it alone for a longer run:
#
#   FUZZ_SECONDS=600 ci/fuzz.sh                 # 10 minutes per target
#   FUZZ_TARGETS="sdp config" ci/fuzz.sh        # some targets only
#
# Needs a C++ compiler (libfuzzer-sys builds libFuzzer; ci/test.sh installs one) and installs
# cargo-fuzz if it is missing. The build goes to FUZZ_TARGET_DIR (default fuzz/target), apart
# from the main crate's, whose flags differ. A crash leaves its input in
# fuzz/artifacts/<target>/; once fixed, keep it in tests/data/fuzz/<target>/ so `cargo test`
# replays it (tests/it/fuzz.rs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-sip_message sdp config admin_body}"
target_dir="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
started=$(date +%s)

if ! command -v c++ >/dev/null && ! command -v clang++ >/dev/null; then
  echo "ci/fuzz.sh: no C++ compiler (c++ or clang++): install g++ (ci/test.sh does, as root)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer...); RUSTC_BOOTSTRAP lets stable take them.
export RUSTC_BOOTSTRAP=1
# Optimized, with debug assertions and overflow checks; no sanitizer: the targets run safe Rust
# (a sanitizer finds memory errors, which safe code cannot make, at half the speed), and
# libFuzzer itself still catches panics, timeouts and memory blow-ups.
flags=(-O -a -s none --target-dir "$target_dir")
cargo fuzz build "${flags[@]}" 2>&1 | tail -n 3
"$root/fuzz/seed.sh"

failed=()
summary=()
mkdir -p logs
for t in $targets; do
  corpora=("corpus/$t")
  [ -d "$root/tests/data/fuzz/$t" ] && corpora+=("$root/tests/data/fuzz/$t")
  log="logs/$t.log"
  echo "ci/fuzz.sh: $t for ${seconds}s"
  set +e
  cargo fuzz run "${flags[@]}" "$t" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
  line="$t: ${runs:-?} executions in ${seconds}s, coverage ${cov:-?} edges, exit $status, $crashes artifacts"
  summary+=("$line")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -n 20 >&2 || true
  fi
done

echo "ci/fuzz.sh: summary ($(($(date +%s) - started))s in all)"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "ci/fuzz.sh: crashed: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/logs/)" >&2
  exit 1
fi
echo "ci/fuzz.sh: 0 crashes"
