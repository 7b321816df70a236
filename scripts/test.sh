#!/usr/bin/env bash
# Installs what is missing (apt packages; a Python venv with python-socketio) and runs every test:
# the Swift Testing suites, then an end-to-end check
# of the `pulse` binary (serve, admin, graceful shutdown, restart, OpenAPI validity, bench).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
# python-socketio (with aiohttp): a real Socket.IO server for the conformance suite's Socket.IO profile.
if [ ! -x .build/py-venv/bin/python ] || ! .build/py-venv/bin/python -c "import socketio, aiohttp" 2>/dev/null; then
    python3 -m venv .build/py-venv
    .build/py-venv/bin/pip install --quiet "python-socketio==5.18.1" "aiohttp==3.14.5"
fi
swift build --build-tests
# The flash-sale soak keeps both cores busy for half a minute: it runs on its own, after the other
# suites, so that it cannot starve their timing-sensitive races.
swift test --skip-build --skip FlashSaleSoakTests
swift test --skip-build --filter FlashSaleSoakTests
python3 scripts/smoke.py .build/debug/pulse
