#!/usr/bin/env bash
# Installs the Debian packages Pulse needs that are missing (as root; uses sudo otherwise).
# Usage: scripts/install-deps.sh build|test|bench (bench: what `pulse bench flash-sale` runs: wrk, the
# seed-style Node peer's nodejs, node-express, node-ws and node-redis, and redis-server)
# The Swift 6 toolchain itself is not a Debian package: it must be on PATH (https://swift.org/install).
set -euo pipefail

packages=(libsqlite3-dev libhiredis-dev libmongoc-dev pkg-config)
if [[ "${1:-build}" == test ]]; then
    # chromium: the browser tests drive Debian's Chromium through Playwright (no browser download).
    # iproute2, nftables: the deployment tests run processes in network namespaces and cut links;
    # faketime: they step an instance's clock (libfaketime).
    packages+=(redis-server python3 python3-venv chromium iproute2 nftables faketime)
fi
if [[ "${1:-build}" == bench ]]; then
    packages+=(redis-server redis-tools wrk nodejs node-express node-ws node-redis)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    as_root=()
    [[ $(id -u) -eq 0 ]] || as_root=(sudo)
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null; then
    echo "swift is not on PATH: install the Swift 6 toolchain (https://swift.org/install) and retry" >&2
    exit 1
fi
