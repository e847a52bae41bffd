#!/usr/bin/env bash
# The test entry point: what README.md calls "the tests" and what .ci/run runs on a fresh
# clone. Installs what the tests need that a fresh machine lacks, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use: SIPp (Debian's sip-tester) drives the SIP tests, baresip is
# the real softphone of the audio and TLS tests, Graphviz's dot draws `pbx graph --format svg`,
# openssl makes the TLS tests' certificates (SIP and SMTP) and reads what the server presents,
# aiosmtpd (a Python module: `command -v` cannot find it) is the SMTP server of the mail tests,
# chromium driven by chromedriver (chromium-driver) is the browser of the cabinet's tests, and a
# C++ compiler builds libFuzzer for the fuzz run (ci/fuzz.sh); util-linux (unshare, nsenter,
# losetup) and e2fsprogs (mkfs.ext4, e2fsck) give the full and read-only data directory tests
# (tests/it/disk.rs) their file systems.
need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v baresip >/dev/null || need+=(baresip)
command -v dot >/dev/null || need+=(graphviz)
command -v openssl >/dev/null || need+=(openssl)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v c++ >/dev/null || command -v clang++ >/dev/null || need+=(g++)
command -v nsenter >/dev/null || need+=(util-linux)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "ci/test.sh: missing packages ${need[*]} (run as root to install them)" >&2
    exit 1
  fi
fi

cargo build --locked --all-targets
cargo test --locked

# Then a short fuzz run of every target (FUZZ_SECONDS each, 60 by default): see ci/fuzz.sh.
ci/fuzz.sh
