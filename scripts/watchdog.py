#!/usr/bin/env python3
"""Runs a test command with a deadline, and names what hung if it does not finish.

Usage: scripts/watchdog.py SECONDS -- COMMAND [ARGS...]

Passes the command's output through. Swift Testing prints `Test "name" started.` and later
`Test "name" passed|failed ...`; the watchdog keeps the set of tests started and not yet finished.
If the command runs past SECONDS, it prints that set (the tests that hung), kills the command's
whole process group (`swift test` leaves its xctest child behind otherwise) and exits 124, so a hang
is a failure that says where, not a CI run that never ends.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

STARTED = re.compile(r'Test (?:case passing .*? to )?"(?P<name>.*)" started\.')
FINISHED = re.compile(r'Test "(?P<name>.*)" (?:passed|failed|skipped|recorded an issue)')


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    deadline = float(sys.argv[1])
    command = sys.argv[3:]
    running: dict[str, float] = {}
    lock = threading.Lock()
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, bufsize=0)

    def read() -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
            line = raw.decode("utf-8", "replace")
            with lock:
                if (started := STARTED.search(line)) and "passed" not in line:
                    running.setdefault(started["name"], time.monotonic())
                elif finished := FINISHED.search(line):
                    running.pop(finished["name"], None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        status = process.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        with lock:
            hung = sorted(running.items(), key=lambda item: item[1])
        now = time.monotonic()
        print(f"\nwatchdog: `{' '.join(command)}` ran past {deadline:.0f} s; "
              f"{len(hung)} test(s) started and never finished:", flush=True)
        for name, since in hung:
            print(f"  - {name} (running for {now - since:.0f} s)", flush=True)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return 124
    reader.join(timeout=5)
    print(f"watchdog: finished in {time.monotonic() - began:.0f} s with status {status}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
