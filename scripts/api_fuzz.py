#!/usr/bin/env python3
"""Checks that the served API descriptions are exactly true: OpenAPI with schemathesis, AsyncAPI live.

Usage: .build/py-venv/bin/python scripts/api_fuzz.py PATH/TO/pulse [--examples N] [--seed S] [--store embedded|redis|mongo|all]
(the venv of scripts/test.sh: schemathesis, jsonschema-rs, aiohttp and SecantusDB, pinned there).

Starts `pulse serve` on a free loopback port (embedded stores, then with `--redis` on a
redis-server of its own, then with `--mongo` on a SecantusDB server of its own), signs up a user and bootstraps an admin, and runs `schemathesis run` with
every check, a fixed seed and a bounded number of examples per operation, once with the user's token
and once with the admin's. The live endpoint is left out of that: it is a WebSocket, which an HTTP
fuzzer cannot speak past the upgrade (its 101/401/426 are tested by LiveProtocolTests and the
conformance suite). Instead, two live clients and the REST API make the server send every message
of `GET /asyncapi.json`, and each message sent and received is validated against its JSON Schema
there. Exits non-zero if any run reports a failure.
"""
import argparse, asyncio, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

import aiohttp
import jsonschema_rs

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
    if store == "mongo":
        mongo_port = free_port()
        processes.append(subprocess.Popen([os.path.join(ROOT, ".build/py-venv/bin/secantusd-py"), "--host", "127.0.0.1", "--port", str(mongo_port),
                                           "--storage-path", os.path.join(work, "mongo-data"), "--log-level", "WARNING"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", mongo_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        extra = ["--mongo", f"mongodb://127.0.0.1:{mongo_port}/fuzz?directConnection=true"]
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
        if not live_messages_match(base, admin_token):
            failed.append(f"{store}/live")
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


def live_messages_match(base, admin_token):
    """Makes the server send every message the AsyncAPI document names; validates each against it."""
    document = json.load(urllib.request.urlopen(base + "/asyncapi.json", timeout=30))
    messages = document["components"]["messages"]
    refs = lambda operation: {ref["$ref"].rsplit("/", 1)[-1] for ref in document["operations"][operation]["messages"]}
    client_types, server_types = refs("sendClientMessage"), refs("receiveServerMessage")
    validators = {name: jsonschema_rs.validator_for(message["payload"]) for name, message in messages.items()}
    problems, seen = [], set()

    def validate(message, direction, allowed):
        kind = message.get("type")
        if kind not in allowed:
            problems.append(f"{direction} a message of type {kind!r}, which the document does not list")
        else:
            errors = [error.message for error in validators[kind].iter_errors(message)]
            if errors:
                problems.append(f"{direction} {kind} {json.dumps(message)[:200]}: {errors[:3]}")

    users = []
    for name in ("ana", "bob"):
        status, body = call(base, "POST", "/api/v1/users/signup", {"name": name.title(), "email": f"{name}@live.test", "password": f"{name}-password"})
        assert status == 201, (status, body)
        users.append((body["token"], body["data"]["user"]["id"]))
    status, body = call(base, "POST", "/api/v1/events", {"title": "Live", "venue": "Hall", "date": "2099-01-01",
                                                         "venueConfig": {"rows": 2, "cols": 3, "price": 10}}, admin_token)
    assert status == 201, (status, body)
    event = body["data"]["event"]["id"]

    async def scenario():
        async with aiohttp.ClientSession() as session:
            url = base.replace("http://", "ws://") + "/api/v1/live?token="
            sockets = [await session.ws_connect(url + token) for token, _ in users]
            inboxes = [[] for _ in sockets]

            async def read(index):
                async for frame in sockets[index]:
                    if frame.type == aiohttp.WSMsgType.TEXT:
                        message = json.loads(frame.data)
                        validate(message, "the server sent", server_types)
                        seen.add(message.get("type"))
                        inboxes[index].append(message)

            readers = [asyncio.create_task(read(index)) for index in range(len(sockets))]

            async def send(index, message):
                validate(message, "the client sent", client_types)
                await sockets[index].send_str(json.dumps(message))

            async def until(index, kind, count=1):
                for _ in range(500):
                    if sum(1 for message in inboxes[index] if message.get("type") == kind) >= count:
                        return
                    await asyncio.sleep(0.01)
                problems.append(f"client {index} waited for {count} {kind} in vain: {inboxes[index][-5:]}")

            for index in (0, 1):
                await send(index, {"type": "join_event", "eventId": event})
                await until(index, "snapshot")
            await send(0, {"type": "request_lock", "eventId": event, "seatId": "A1"})
            await until(0, "lock_acquired")
            await send(1, {"type": "request_lock", "eventId": event, "seatId": "A1"})
            await until(1, "lock_failed")
            await send(0, {"type": "release_lock", "eventId": event, "seatId": "A1"})
            await until(1, "seat_released")
            await sockets[1].send_str("not json")
            await until(1, "error")
            status, body = call(base, "POST", f"/api/v1/events/{event}/holds", {"seatIds": ["B1"]}, users[0][0])
            assert status == 201, (status, body)
            status, body = call(base, "POST", f"/api/v1/events/{event}/seats", {"seatIds": ["B1"], "totalAmount": 10}, users[0][0])
            assert status == 201, (status, body)
            await until(1, "seats_booked")
            status, body = call(base, "POST", f"/api/v1/bookings/{body['data']['booking']['id']}/cancel", {"reason": "live check"}, users[0][0])
            assert status == 200 and body["data"]["booking"]["status"] == "cancelled", (status, body)
            await until(1, "seats_released")
            last = max(message["seq"] for message in inboxes[1] if "seq" in message)
            await send(1, {"type": "leave_event", "eventId": event})
            await send(1, {"type": "join_event", "eventId": event, "sinceSeq": last})
            await until(1, "joined")
            status, _ = call(base, "DELETE", f"/api/v1/events/{event}", token=admin_token)
            assert status == 204, status
            for index in (0, 1):
                await until(index, "event_deleted")
            for socket_ in sockets:
                await socket_.close()
            for reader in readers:
                reader.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    if seen != server_types:
        problems.append(f"server messages never seen: {sorted(server_types - seen)}; unlisted: {sorted(seen - server_types)}")
    for problem in problems:
        print(f"api-fuzz: live: {problem}", flush=True)
    print(f"api-fuzz: live: {len(seen)} kinds of server message checked against /asyncapi.json, {len(problems)} problem(s)", flush=True)
    return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--store", choices=["embedded", "redis", "mongo", "all"], default="all")
    options = parser.parse_args()
    if not os.access(SCHEMATHESIS, os.X_OK):
        sys.exit("no schemathesis in .build/py-venv: run scripts/test.sh once")
    work = tempfile.mkdtemp(prefix="pulse-fuzz-")
    try:
        stores = ["embedded", "redis", "mongo"] if options.store == "all" else [options.store]
        failed = [run for store in stores for run in fuzz(os.path.abspath(options.binary), store, options.examples, options.seed, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = 3 * len(stores)
    print(f"api-fuzz: {runs - len(failed)} passed, {len(failed)} failed" + (f" ({', '.join(failed)})" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
