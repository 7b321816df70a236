#!/usr/bin/env bash
# Installs what is missing, builds the release binary and runs `pulse serve` on the embedded stores
# (in-memory hot state, SQLite under ./pulse-data). Extra arguments go to `pulse serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
swift build -c release --product pulse
exec .build/release/pulse serve "$@"
