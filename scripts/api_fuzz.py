#!/usr/bin/env python3
"""Checks that the served OpenAPI document is exactly true, with schemathesis (PyPI, pinned).

Usage: scripts/api_fuzz.py PATH/TO/pulse [--examples N] [--seed S] [--store embedded|redis|both]

Starts `pulse serve` on a free loopback port (embedded stores, then with `--redis` on a
redis-server of its own), signs up a user and bootstraps an admin, and runs `schemathesis run` with
every check, a fixed seed and a bounded number of examples per operation, once with the user's token
and once with the admin's. Exits non-zero if any run reports a failure. The live endpoint is left
out: it is a WebSocket, which an HTTP fuzzer cannot speak past the upgrade (its 101/401/426 are
tested by LiveProtocolTests and the conformance suite).
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMATHESIS = os.path.join(ROOT, ".build/py-venv/bin/schemathesis")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_ready(base, process, what):
    for _ in range(300):
        try:
            if call(base, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None:
            sys.exit(f"{what} exited early with {process.returncode}")
        time.sleep(0.1)
    sys.exit(f"{what} did not become ready")


def fuzz(binary, store, examples, seed, work):
    """Runs schemathesis as a user and as an admin against one server; returns the failed runs."""
    processes = []
    extra = []
    if store == "redis":
        redis_port = free_port()
        processes.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL))
        extra = ["--redis", f"redis://127.0.0.1:{redis_port}"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PULSE_JWT_SECRET="fuzz-secret-" + "x" * 40, PULSE_ADMIN_EMAIL="root@fuzz.test",
               PULSE_ADMIN_PASSWORD="root-password", PULSE_BCRYPT_COST="4", PULSE_LOG_LEVEL="critical",
               # Sign-up and log-in are fuzzed, not throttled (their limit has tests of its own).
               PULSE_AUTH_RATE_LIMIT="1000000")
    data_dir = os.path.join(work, store)
    server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir, *extra], env=env)
    processes.append(server)
    failed = []
    try:
        wait_ready(base, server, f"pulse serve ({store})")
        status, body = call(base, "POST", "/api/v1/users/signup", {"name": "Fuzz User", "email": "user@fuzz.test", "password": "user-password"})
        assert status == 201, (status, body)
        user_token = body["token"]
        status, body = call(base, "POST", "/api/v1/users/login", {"email": "root@fuzz.test", "password": "root-password"})
        assert status == 200, (status, body)
        admin_token = body["token"]
        # An event to find: operations on existing ids are tested too, not only 404s.
        status, body = call(base, "POST", "/api/v1/events", {"title": "Fuzzed", "venue": "Hall", "date": "2099-01-01",
                                                             "venueConfig": {"rows": 3, "cols": 4, "price": 10}}, admin_token)
        assert status == 201, (status, body)
        for role, token in (("user", user_token), ("admin", admin_token)):
            print(f"api-fuzz: {store} store, as {role}", flush=True)
            command = [SCHEMATHESIS, "--config-file", os.path.join(ROOT, "scripts/schemathesis.toml"), "run", base + "/openapi.json", "--checks", "all", "--seed", str(seed),
                       "--max-examples", str(examples), "--workers", "1", "--exclude-path", "/api/v1/live",
                       "-H", f"Authorization: Bearer {token}", "--no-color", "--request-timeout", "30"]
            result = subprocess.run(command, cwd=work, timeout=1200)
            if result.returncode != 0:
                failed.append(f"{store}/{role}")
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--store", choices=["embedded", "redis", "both"], default="both")
    options = parser.parse_args()
    if not os.access(SCHEMATHESIS, os.X_OK):
        sys.exit("no schemathesis in .build/py-venv: run scripts/test.sh once")
    work = tempfile.mkdtemp(prefix="pulse-fuzz-")
    try:
        stores = ["embedded", "redis"] if options.store == "both" else [options.store]
        failed = [run for store in stores for run in fuzz(os.path.abspath(options.binary), store, options.examples, options.seed, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = 2 * len(stores)
    print(f"api-fuzz: {runs - len(failed)} passed, {len(failed)} failed" + (f" ({', '.join(failed)})" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
