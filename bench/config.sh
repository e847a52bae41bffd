#!/usr/bin/env bash
# The config's speed against its parser (README "Benchmarks"): `pbx validate` and `pbx plan
# --against` at 1,000, 10,000 and 100,000 staff next to parsing the same YAML into a generic
# value with the same parser, time and peak memory, in one run (see bench/config.rs).
#   bench/config.sh
#   CONFIG_RUNS=3 bench/config.sh 100x100 1000x100
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench config -- "$@"
