#!/usr/bin/env bash
# Installs what is missing and runs every test: the Swift Testing suites, then an end-to-end check
# of the `pulse` binary (serve, admin, graceful shutdown, restart, OpenAPI validity, bench).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
swift build --build-tests
swift test --skip-build
python3 scripts/smoke.py .build/debug/pulse
