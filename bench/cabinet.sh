#!/usr/bin/env bash
# The cabinet's figure (README "Benchmarks"): history and statistics pages of a tenant with 100
# staff and 1,000,000 call records, through a real `pbx serve` (release build) on loopback.
#   bench/cabinet.sh
#   CABINET_RECORDS=200000 bench/cabinet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench cabinet
