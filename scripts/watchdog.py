#!/usr/bin/env python3
"""Runs a test command with a deadline, and names what hung if it does not finish.

Usage: scripts/watchdog.py SECONDS -- COMMAND [ARGS...]

Passes the command's output through. Swift Testing prints `Test "name" started.` and later
`Test "name" passed|failed ...`; the watchdog keeps the set of tests started and not yet finished.
If the command runs past SECONDS, it prints that set (the tests that hung) and the failures seen so
far (a test run whose tests all ended can still hang at its end: a failed test's server that never
shuts down), kills every process of the command's session (`swift test` puts its xctest child in a
process group of its own) and exits 124, so a hang is a failure that says where, not a CI run that
never ends. A run that fails repeats its failures (with their messages) at the end, where a CI
log that keeps only its tail still shows them.
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


def kill_session(session: int) -> None:
    """SIGKILL to every process whose session is `session` (the command and all it started)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # pid (comm) state ppid pgrp session ...: comm may hold spaces, so split after ')'.
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    deadline = float(sys.argv[1])
    command = sys.argv[3:]
    running: dict[str, float] = {}
    failures: list[str] = []
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
                if "\u2718" in line and len(failures) < 40:
                    failures.append(line.strip()[:1500])

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
        if failures:
            print("watchdog: failures seen before the hang:", flush=True)
            for failure in failures:
                print(f"  {failure}", flush=True)
        kill_session(process.pid)
        process.wait()
        return 124
    reader.join(timeout=5)
    if status != 0 and failures:
        print("watchdog: the failures of this run, again:", flush=True)
        for failure in failures:
            print(f"  {failure}", flush=True)
    print(f"watchdog: finished in {time.monotonic() - began:.0f} s with status {status}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
