#!/usr/bin/env bash
# Installs what is missing (apt packages; a Python venv with python-socketio and schemathesis) and runs every test:
# the Swift Testing suites, then an end-to-end check
# of the `pulse` binary (serve, admin, graceful shutdown, restart, OpenAPI validity, bench).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
# python-socketio (with aiohttp): a real Socket.IO server for the conformance suite's Socket.IO profile.
# schemathesis and jsonschema-rs: check that the served OpenAPI and AsyncAPI documents are exactly
# true (scripts/api_fuzz.py). SecantusDB: a MongoDB-protocol server (WiredTiger) that the MongoDB
# store's tests start, one per test, on loopback (there is no mongod in Debian or PyPI). Playwright:
# drives Debian's Chromium in the browser tests (scripts/browser_test.py).
if [ ! -x .build/py-venv/bin/python ] || ! .build/py-venv/bin/python -c "import socketio, aiohttp, jsonschema_rs, playwright" 2>/dev/null \
    || [ "$(.build/py-venv/bin/schemathesis --version 2>/dev/null)" != "schemathesis, version 4.32.5" ] \
    || [ ! -x .build/py-venv/bin/secantusd-py ]; then
    python3 -m venv .build/py-venv
    .build/py-venv/bin/pip install --quiet "python-socketio==5.18.1" "aiohttp==3.14.5" "schemathesis==4.32.5" "jsonschema-rs==0.60.3" \
        "SecantusDB==0.7.0b3" "playwright==1.65.2"
fi
# Package.swift declares every module each target imports (a module that only builds because
# another dependency brings it along fails here).
python3 scripts/check_manifest.py
# One format (.swift-format: Hummingbird's 150 columns, 4 spaces): unformatted code fails the run.
# `swift format format -i -r --parallel Sources Tests Package.swift` formats the tree.
swift format lint --strict -r --parallel Sources Tests Package.swift
swift build --build-tests
# Each step has a deadline far above its usual time (about 10 min, 30 s, 3 min and 2 min on 2 cores): past
# it, the watchdog names the tests that never finished and fails the run instead of hanging it.
# The flash-sale soak keeps both cores busy for half a minute: it runs on its own, after the other
# suites, so that it cannot starve their timing-sensitive races.
python3 scripts/watchdog.py 1500 -- swift test --skip-build --skip FlashSaleSoakTests --skip LoadedMachineTests
python3 scripts/watchdog.py 600 -- swift test --skip-build --filter FlashSaleSoakTests
# The conformance suite against the reference while busy loops keep both cores busy (two runs;
# PULSE_LOADED_RUNS=5 for more): no verdict may depend on the machine's pace.
python3 scripts/watchdog.py 1200 -- swift test --skip-build --filter LoadedMachineTests
python3 scripts/watchdog.py 900 -- python3 scripts/smoke.py .build/debug/pulse
# schemathesis with every check, as a user and as an admin, and every live message against the
# AsyncAPI schemas, on the embedded stores, on Redis and on MongoDB.
python3 scripts/watchdog.py 900 -- .build/py-venv/bin/python scripts/api_fuzz.py .build/debug/pulse
# The browser app in Chromium: two users, live seat states, a cut socket, a taken seat, an expiry.
python3 scripts/watchdog.py 300 -- .build/py-venv/bin/python scripts/browser_test.py .build/debug/pulse
