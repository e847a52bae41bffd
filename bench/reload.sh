#!/usr/bin/env bash
# What a hot reload that changes one tenant costs at 1, 10, 100 and 1,000 tenants x 100 staff
# (README "Benchmarks"; see bench/reload.rs).
#   bench/reload.sh
#   RELOAD_RUNS=21 bench/reload.sh 100x100 1000x100
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench reload -- "$@"
