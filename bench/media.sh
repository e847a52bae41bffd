#!/usr/bin/env bash
# The media driver's figures (README "Media driver"): playback channels, recordings, relayed
# calls — and the same relay load through rtpengine, the anchor, in the same run.
#   bench/media.sh                      # the README's levels, 10 s each
#   MEDIA_SECONDS=5 bench/media.sh relay 1000 rtpengine 1000
# Installs rtpengine (Debian's rtpengine-daemon) when missing and run as root; the service it
# ships is not used (the bench starts its own rtpengine in userspace mode, one worker thread).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v rtpengine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rtpengine-daemon
    systemctl stop rtpengine-daemon 2>/dev/null || true
  else
    echo "bench/media.sh: rtpengine is missing (apt-get install rtpengine-daemon)" >&2
    exit 1
  fi
fi
levels=("$@")
if [ ${#levels[@]} -eq 0 ]; then
  levels=(playback 1000,1500,2000 record 500,1000 relay 1000,1500,2000 rtpengine 1000,1500,2000)
fi
cd "$ROOT"
MEDIA_SECONDS=${MEDIA_SECONDS:-10} exec cargo bench --bench media -- "${levels[@]}"
