#!/usr/bin/env bash
# An example CI job for the conformance suite: start the booking server under test, wait until it
# is ready, run `pulse conform` against it, keep every report, stop the server. Replace
# TARGET_COMMAND with the command that starts your server; the default starts Pulse's reference.
#
# Usage: examples/conform-in-ci.sh [REPORT_DIR]          (reports go to REPORT_DIR, default conformance-reports)
# Environment, all optional:
#   PULSE           the pulse binary (default: `pulse` on PATH, else .build/debug/pulse)
#   PORT            the port the target listens on (default 5080)
#   TARGET_URL      the target's root URL (default http://127.0.0.1:$PORT)
#   TARGET_COMMAND  starts the target in the foreground (default: the reference with test control)
#   READY_PATH      a path that answers 200 once the target is ready (default /readyz)
#   READY_SECONDS   how long to wait for it (default 120)
#   CONFORM_ARGS    more arguments for pulse conform, e.g. "--admin-email ops@example.com" for a
#                   target without test control (its password in PULSE_ADMIN_PASSWORD), or
#                   "--only PB-HOLD" for one area
# Exit status: pulse conform's (0 when no MUST case failed), or 2 when the target never got ready.
set -euo pipefail

reports=${1:-conformance-reports}
port=${PORT:-5080}
target_url=${TARGET_URL:-http://127.0.0.1:$port}
ready_path=${READY_PATH:-/readyz}
ready_seconds=${READY_SECONDS:-120}
pulse=${PULSE:-$(command -v pulse || echo .build/debug/pulse)}
mkdir -p "$reports"
data_dir=$(mktemp -d)
target_command=${TARGET_COMMAND:-"$pulse serve --host 127.0.0.1 --port $port --data-dir $data_dir --test-control"}

# The target, in the background; its output is kept beside the reports.
bash -c "exec $target_command" >"$reports/target.log" 2>&1 &
target_pid=$!
stop_target() {
    kill "$target_pid" 2>/dev/null && wait "$target_pid" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap stop_target EXIT

# Ready when READY_PATH answers 200 (python3's urllib: no curl needed).
if ! python3 - "$target_url$ready_path" "$ready_seconds" "$target_pid" <<'PY'; then
import os, sys, time, urllib.request
url, seconds, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"the target exited before it was ready")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(f"{url} did not answer 200 within {seconds:g} s")
PY
    echo "the target never got ready; its log:" >&2
    tail -n 40 "$reports/target.log" >&2
    exit 2
fi

status=0
# shellcheck disable=SC2086 # CONFORM_ARGS is a list of arguments
"$pulse" conform --target "$target_url" --junit "$reports/junit.xml" --json "$reports/report.json" \
    --html "$reports/report.html" --summary "$reports/summary.md" ${CONFORM_ARGS:-} >"$reports/console.txt" || status=$?
cat "$reports/console.txt"
# On GitHub Actions the summary shows on the job's page.
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then cat "$reports/summary.md" >>"$GITHUB_STEP_SUMMARY"; fi
exit "$status"
