#!/usr/bin/env python3
"""End-to-end check of the `pulse` binary, as a user runs it.

Starts `pulse serve` on a free loopback port with a fresh data directory, drives the REST API,
checks the CLI's help, the server's own expiry, `pulse admin create` against the live database, that the served
OpenAPI document is valid OpenAPI 3, graceful shutdown on SIGTERM, that an acknowledged booking
survives a restart, `pulse conform` and wire mode on the reference, wire mode over Socket.IO on the
seed stand-in, and that `pulse bench fanout` completes. Usage: smoke.py PATH/TO/pulse
"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request, urllib.error

binary = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="pulse-smoke-")
data_dir = os.path.join(work, "data")
secret = "smoke-secret-" + "x" * 40
passed, failed = 0, 0


def check(condition, what):
    global passed, failed
    if condition:
        passed += 1
        print(f"  ok    {what}")
    else:
        failed += 1
        print(f"  FAIL  {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else {}), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, (json.loads(raw) if raw else {}), dict(error.headers)


def start_server(port, extra=()):
    env = dict(os.environ, PULSE_JWT_SECRET=secret, PULSE_ADMIN_EMAIL="root@smoke.test", PULSE_ADMIN_PASSWORD="root-password",
               PULSE_BCRYPT_COST="4", PULSE_LOG_LEVEL="warning")
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir, "--hold-ttl", "2", *extra], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if call(base, "GET", "/healthz")[0] == 200:
                return process, base
        except OSError:
            pass
        if process.poll() is not None:
            sys.exit(f"pulse serve exited early with {process.returncode}")
        time.sleep(0.1)
    process.kill()
    sys.exit("pulse serve did not become ready")


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return None


print("smoke: the CLI's help")
def help_text(*args):
    return subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30).stdout
top = help_text()
check(all(f"\n{name} " in "\n" + top.split("USAGE")[0].replace("\n  ", "\n") for name in ["serve", "admin", "sim", "check", "conform", "bench"]),
      "pulse --help describes every command")
check(all(name in help_text("bench") for name in ["flash-sale", "fanout", "holds", "checkouts", "sim", "checker"]), "pulse bench --help lists every benchmark")
def broken_lines(text):
    # A line of prose cut in the middle by a hard break in the source: a short fragment followed by more text.
    lines = text.split("USAGE")[0].splitlines()
    return [a for a, b in zip(lines, lines[1:]) if a.strip() and b.strip() and len(a) < 40 and not a.startswith(" ") and not a.endswith(":")]
for command in [[], ["serve"], ["admin", "create"], ["sim"], ["check"], ["conform"], ["bench"], ["bench", "flash-sale"], ["bench", "fanout"],
                ["bench", "holds"], ["bench", "checkouts"], ["bench", "sim"], ["bench", "checker"]]:
    check(broken_lines(help_text(*command)) == [], f"pulse {' '.join(command)} --help has no line broken mid-sentence: {broken_lines(help_text(*command))}")

print("smoke: pulse serve, first run")
process, base = start_server(free_port())
try:
    status, body, _ = call(base, "POST", "/api/v1/users/login", body={"email": "root@smoke.test", "password": "root-password"})
    check(status == 200 and body["data"]["user"]["role"] == "admin", "the bootstrapped admin logs in")
    admin = body.get("token")
    status, body, _ = call(base, "POST", "/api/v1/events", admin, {"title": "Smoke", "venue": "Hall", "date": "2030-01-01T20:00:00Z",
                                                                     "venueConfig": {"rows": 2, "cols": 3, "price": 25}})
    check(status == 201 and body["data"]["event"]["totalSeats"] == 6, "an admin creates an event with a 2 x 3 grid")
    event = body["data"]["event"]["id"]
    status, body, _ = call(base, "POST", "/api/v1/users/signup", body={"name": "Ana", "email": "ana@smoke.test", "password": "ana-password"})
    check(status == 201 and "token" in body, "a user signs up")
    ana = body["token"]
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", ana, {"seatIds": ["A1", "A2"]})
    check(status == 201 and body["data"]["hold"]["seatIds"] == ["A1", "A2"] and body["data"]["hold"]["fence"] > 0, "the user holds two seats")
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/seats", ana, {"seatIds": ["A1", "A2"], "totalAmount": 50},
                           {"Idempotency-Key": "smoke-1"})
    check(status == 201 and body["data"]["booking"]["totalAmount"] == 50, "checkout books them at the server's price")
    booking = body["data"]["booking"]["id"]
    status, body, headers = call(base, "POST", f"/api/v1/events/{event}/seats", ana, {"seatIds": ["A1", "A2"]}, {"Idempotency-Key": "smoke-1"})
    check(status == 201 and body["data"]["booking"]["id"] == booking and headers.get("Idempotent-Replayed") == "true",
          "a retry with the same Idempotency-Key replays the same booking")
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", ana, {"seatIds": ["B1"]})
    check(status == 201, "the user holds B1 with a 2 s TTL")
    time.sleep(3.5)
    status, body, _ = call(base, "GET", f"/api/v1/events/{event}/seats")
    seats = {seat["id"]: seat["status"] for seat in body["data"]["seats"]}
    check(seats.get("B1") == "available" and seats.get("A1") == "booked", "the server expired B1 by itself; A1 stays booked")
    first_seq = body["data"]["seq"]
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", ana, {"seatIds": ["Z9"]})
    check(status == 422 and body.get("code") == "seat_not_found", "a seat outside the venue gets 422 seat_not_found")

    admin_create = subprocess.run([binary, "admin", "create", "--email", "ops@smoke.test", "--data-dir", data_dir, "--bcrypt-cost", "4"],
                                  env=dict(os.environ, PULSE_ADMIN_PASSWORD="ops-password"), capture_output=True, text=True, timeout=60)
    check(admin_create.returncode == 0, "pulse admin create works beside the running server")
    status, body, _ = call(base, "POST", "/api/v1/users/login", body={"email": "ops@smoke.test", "password": "ops-password"})
    check(status == 200 and body["data"]["user"]["role"] == "admin", "the new admin logs in to the running server")

    with urllib.request.urlopen(base + "/openapi.json", timeout=30) as response:
        document = json.loads(response.read())
    venv = os.path.join(os.getcwd(), ".build", "smoke-venv")
    if not os.path.exists(os.path.join(venv, "bin", "openapi-spec-validator")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "openapi-spec-validator==0.7.1"], check=True)
    spec_file = os.path.join(work, "openapi.json")
    with open(spec_file, "w") as handle:
        json.dump(document, handle)
    validation = subprocess.run([os.path.join(venv, "bin", "openapi-spec-validator"), spec_file], capture_output=True, text=True)
    check(validation.returncode == 0, "GET /openapi.json is a valid OpenAPI 3 document" + ("" if validation.returncode == 0 else ": " + validation.stdout[-400:]))
finally:
    code = stop_server(process)
check(code == 0, "SIGTERM shuts the server down gracefully with status 0")

print("smoke: pulse serve, restarted on the same data directory")
process, base = start_server(free_port())
try:
    status, body, _ = call(base, "POST", "/api/v1/users/login", body={"email": "ana@smoke.test", "password": "ana-password"})
    ana = body.get("token")
    status, body, _ = call(base, "GET", "/api/v1/bookings/me", ana)
    check(status == 200 and [b["id"] for b in body["data"]["bookings"]] == [booking], "the acknowledged booking survived the restart")
    status, body, _ = call(base, "GET", f"/api/v1/events/{event}/seats")
    seats = {seat["id"]: seat["status"] for seat in body["data"]["seats"]}
    check(seats.get("A1") == "booked" and seats.get("A2") == "booked", "its seats are still booked after the restart")
    check(body["data"]["seq"] > first_seq, "the event's seq continues above every earlier seq")
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", ana, {"seatIds": ["A1"]})
    check(status == 409 and body.get("code") == "seat_unavailable", "a sold seat cannot be held after the restart")
finally:
    code = stop_server(process)
check(code == 0, "the second run shuts down gracefully too")

print("smoke: pulse serve --redis, with Redis flushed and stopped under it")
redis_port = free_port()


def start_redis():
    process = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(redis_port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            return process
        time.sleep(0.05)
    sys.exit("redis-server did not start")


redis = start_redis()
data_dir = os.path.join(work, "data-redis")
process, base = start_server(free_port(), ["--redis", f"redis://127.0.0.1:{redis_port}"])
try:
    status, body, _ = call(base, "POST", "/api/v1/users/login", body={"email": "root@smoke.test", "password": "root-password"})
    admin = body.get("token")
    status, body, _ = call(base, "POST", "/api/v1/events", admin, {"title": "Redis", "venue": "Hall", "date": "2030-01-01T20:00:00Z",
                                                                     "venueConfig": {"rows": 1, "cols": 4, "price": 10}})
    event = body["data"]["event"]["id"]
    status, body, _ = call(base, "POST", "/api/v1/users/signup", body={"name": "Bo", "email": "bo@smoke.test", "password": "bo-password"})
    bo = body["token"]
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", bo, {"seatIds": ["A1", "A2"]})
    check(status == 201, "a hold is granted with the hot state in Redis")
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/seats", bo, {"seatIds": ["A1"]})
    check(status == 201, "checkout books A1")
    status, body, _ = call(base, "GET", f"/api/v1/events/{event}/seats")
    seq_before = body["data"]["seq"]
    subprocess.run(["redis-cli", "-p", str(redis_port), "flushall"], check=True, capture_output=True)
    status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", bo, {"seatIds": ["A1"]})
    check(status == 409 and body.get("code") == "seat_unavailable", "after FLUSHALL the sold seat A1 still cannot be held")
    status, body, _ = call(base, "GET", f"/api/v1/events/{event}/seats")
    seats = {seat["id"]: seat["status"] for seat in body["data"]["seats"]}
    check(seats.get("A1") == "booked" and seats.get("A2") == "available", "the seat map is rebuilt from the durable store: A1 booked, the lost hold gone")
    check(body["data"]["seq"] > seq_before, "seqs continue above the lost ones (subscribers resync)")
    redis.kill()
    redis.wait()
    status, body, headers = call(base, "POST", f"/api/v1/events/{event}/holds", bo, {"seatIds": ["A3"]})
    check(status == 503 and body.get("code") == "store_unavailable" and body.get("outcomeUnknown") is True and "Retry-After" in headers,
          "with Redis down a hold gets 503 store_unavailable, outcome unknown, Retry-After")
    check("X-Request-Id" in headers and "redis" not in json.dumps(body).lower() and "127.0.0.1" not in json.dumps(body),
          "the 503 carries a request id and none of the Redis client's error text")
    status, body, headers = call(base, "GET", "/readyz")
    check(status == 503 and body.get("code") == "store_unavailable" and "hot store" in body.get("message", ""), "with Redis down /readyz is 503 naming the hot store")
    redis = start_redis()
    ok = False
    for _ in range(100):
        status, body, _ = call(base, "POST", f"/api/v1/events/{event}/holds", bo, {"seatIds": ["A3"]})
        if status == 201:
            ok = True
            break
        time.sleep(0.1)
    check(ok, "the server recovers when Redis is back")
    check(call(base, "GET", "/readyz")[0] == 200, "and /readyz is 200 again")
finally:
    code = stop_server(process)
    redis.kill()
check(code == 0, "the Redis-backed server shuts down gracefully")

print("smoke: pulse check on a good and a bad history")
good = [
    {"index": 0, "time_ns": 0, "process": "u1", "type": "invoke", "f": "hold", "value": {"event": "e", "seats": ["A1"]}},
    {"index": 1, "time_ns": 10, "process": "u1", "type": "ok", "f": "hold",
     "value": {"event": "e", "seats": ["A1"], "hold": "h1", "fence": 1, "expires_at_ns": 10_000_000_000}},
    {"index": 2, "time_ns": 20, "process": "u1", "type": "invoke", "f": "checkout", "value": {"event": "e", "seats": ["A1"]}},
    {"index": 3, "time_ns": 30, "process": "u1", "type": "ok", "f": "checkout", "value": {"event": "e", "seats": ["A1"], "booking": "b1"}},
]
bad = good + [
    {"index": 4, "time_ns": 40, "process": "u2", "type": "invoke", "f": "checkout", "value": {"event": "e", "seats": ["A1"]}},
    {"index": 5, "time_ns": 50, "process": "u2", "type": "ok", "f": "checkout", "value": {"event": "e", "seats": ["A1"], "booking": "b2"}},
]
for name, history, expected in [("good", good, 0), ("bad", bad, 1)]:
    path = os.path.join(work, f"{name}.jsonl")
    with open(path, "w") as handle:
        handle.write("\n".join(json.dumps(record) for record in history) + "\n")
    result = subprocess.run([binary, "check", path], capture_output=True, text=True, timeout=60)
    check(result.returncode == expected and ("no-double-booking" in result.stdout),
          f"pulse check exits {expected} on the {name} history" + ("" if result.returncode == expected else ": " + result.stdout[-300:] + result.stderr[-300:]))

print("smoke: pulse sim: deterministic, passes the reference, catches a mutant")
runs = []
for attempt in range(2):
    path = os.path.join(work, f"sim-{attempt}.jsonl")
    result = subprocess.run([binary, "sim", "Scenarios/small-race.yaml", "--seed", "3", "--history", path], capture_output=True, text=True, timeout=300)
    runs.append((result.returncode, open(path).read() if os.path.exists(path) else ""))
check(runs[0][0] == 0 and runs[1][0] == 0, "pulse sim passes the reference engine on a scenario")
check(runs[0][1] != "" and runs[0][1] == runs[1][1], "the same scenario and seed give a byte-identical history")
checked = subprocess.run([binary, "check", os.path.join(work, "sim-0.jsonl")], capture_output=True, text=True, timeout=120)
check(checked.returncode == 0 and "not checked" not in checked.stdout, "pulse check agrees with pulse sim on that history, every invariant checked")
check("linearizable seats: " in checked.stdout and " 0 violated, 0 unknown" in checked.stdout and " 0 ok," not in checked.stdout,
      "pulse check finds every seat of the reference's history linearizable")
empty = os.path.join(work, "empty.jsonl")
open(empty, "w").close()
for path, what in [(empty, "an empty history"), (os.path.join(work, "missing.jsonl"), "a missing file")]:
    result = subprocess.run([binary, "check", path], capture_output=True, text=True, timeout=60)
    check(result.returncode == 2 and "pulse check:" in result.stderr, f"pulse check exits 2 on {what}")
head = os.path.join(work, "head.jsonl")
with open(head, "w") as handle:
    handle.write("".join(runs[0][1].splitlines(keepends=True)[:3]))
result = subprocess.run([binary, "check", head], capture_output=True, text=True, timeout=60)
check(result.returncode == 0 and "not checked" in result.stdout and "ok " not in result.stdout.replace("ok          broadcast-order", ""),
      "pulse check says 'not checked' for the invariants a 3-line history gives nothing to check")
report_dir = os.path.join(work, "sim-report")
mutant = subprocess.run([binary, "sim", "Scenarios/pause-past-ttl.yaml", "--mutant", "no-fence", "--seeds", "10", "--report", report_dir],
                        capture_output=True, text=True, timeout=300)
check(mutant.returncode == 1 and "replay: pulse sim" in mutant.stdout, "pulse sim fails a mutant and prints the replay command")
pages = sorted(name for name in os.listdir(report_dir) if name.endswith(".html")) if os.path.isdir(report_dir) else []
page = open(os.path.join(report_dir, pages[0])).read() if pages else ""
check(pages and all(name.replace(".html", ".jsonl") in os.listdir(report_dir) for name in pages)
      and 'class="witness"' in page and "<h2>Seats</h2>" in page and 'class="flagged"' in page,
      "pulse sim --report writes an HTML picture beside each failing history, its witnesses highlighted")
unfenced = os.path.join(work, "unfenced.jsonl")
subprocess.run([binary, "sim", "Scenarios/small-race.yaml", "--mutant", "no-fence", "--seed", "1", "--history", unfenced], capture_output=True, timeout=300)
pictures = []
for attempt in range(2):
    page = os.path.join(work, f"unfenced-{attempt}.html")
    result = subprocess.run([binary, "check", unfenced, "--html", page], capture_output=True, text=True, timeout=120)
    pictures.append((result.returncode, result.stdout, open(page).read() if os.path.exists(page) else ""))
check(pictures[0][0] == 1 and "0 violated" not in pictures[0][1] and "B10: no order of the seat's operations explains" in pictures[0][1]
      and "<svg" in pictures[0][2] and pictures[0][2] == pictures[1][2],
      "pulse check fails a seat no order explains (the no-fence mutant), draws it, and draws it alike in two processes")
bad_html = os.path.join(work, "bad.html")
result = subprocess.run([binary, "check", os.path.join(work, "bad.jsonl"), "--html", bad_html], capture_output=True, text=True, timeout=60)
check(result.returncode == 1 and os.path.exists(bad_html) and 'href="#line-6"' in open(bad_html).read(),
      "pulse check --html draws the history and links the double booking's witness line")

print("smoke: pulse serve --test-control and pulse conform with every report")
conform_dir = os.path.join(work, "conform-data")
conform_port = free_port()
conform_env = dict(os.environ, PULSE_JWT_SECRET=secret, PULSE_BCRYPT_COST="4", PULSE_LOG_LEVEL="warning")
conform_server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(conform_port), "--data-dir", conform_dir, "--test-control"],
                                  env=conform_env)
try:
    conform_base = f"http://127.0.0.1:{conform_port}"
    for _ in range(300):
        try:
            if call(conform_base, "GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    junit, report_json, report_html = (os.path.join(work, name) for name in ("conform.xml", "conform.json", "conform.html"))
    conform = subprocess.run([binary, "conform", "--target", conform_base, "--junit", junit, "--json", report_json, "--html", report_html],
                             capture_output=True, text=True, timeout=600)
    check(conform.returncode == 0 and "PASSED: no MUST case failed" in conform.stdout,
          "pulse conform grades the reference all OK" + ("" if conform.returncode == 0 else ": " + conform.stdout[-1500:]))
    import xml.etree.ElementTree as ElementTree
    suites = ElementTree.parse(junit).getroot()
    check(suites.tag == "testsuites" and int(suites.get("tests")) >= 60 and suites.get("failures") == "0", "the JUnit report is XML with every case and no failure")
    summary = json.load(open(report_json))
    check(summary["passed"] and len(summary["cases"]) >= 60 and all({"id", "clause", "grade", "durationSeconds", "evidence"} <= set(case) for case in summary["cases"]),
          "the JSON report has id, clause, grade, duration and evidence per case")
    check("<h2>PB-LIVE</h2>" in open(report_html).read(), "the HTML report has a section per clause area")
    wire = subprocess.run([binary, "sim", "Scenarios/small-race.yaml", "--target", conform_base, "--history", os.path.join(work, "wire.jsonl")],
                          capture_output=True, text=True, timeout=300)
    check(wire.returncode == 0 and "violations 0" in wire.stdout and "Wire mode checks what clients observed" in wire.stdout,
          "pulse sim --target runs a scenario on the live reference and finds nothing" + ("" if wire.returncode == 0 else ": " + wire.stdout[-800:]))
finally:
    stop_server(conform_server)

print("smoke: wire mode over Socket.IO against the seed stand-in")
python = os.path.abspath(".build/py-venv/bin/python")
seed_port = free_port()
seed_env = dict(os.environ, ADMIN_EMAIL="admin@seed.test", ADMIN_PASSWORD="admin-password")
seed_server = subprocess.Popen([python, "Tests/Conformance/Support/seed_server.py", str(seed_port)], env=seed_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    seed_base = f"http://127.0.0.1:{seed_port}"
    for _ in range(300):
        try:
            if call(seed_base, "GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    seed_wire = subprocess.run([binary, "sim", "Scenarios/small-race.yaml", "--target", seed_base, "--profile", "socketio",
                                "--admin-email", "admin@seed.test", "--admin-password", "admin-password"], capture_output=True, text=True, timeout=300)
    check(seed_wire.returncode == 1 and "without seq" in seed_wire.stdout and "seat_released of a seat that was booked" in seed_wire.stdout,
          "pulse sim --profile socketio shows the seed's unnumbered broadcasts and its booked seats announced free" + ("" if seed_wire.returncode == 1 else ": " + seed_wire.stdout[-800:] + seed_wire.stderr[-400:]))
finally:
    seed_server.kill()
    seed_server.wait()

print("smoke: the README's example CI job (examples/conform-in-ci.sh) on the reference")
ci_reports = os.path.join(work, "ci-reports")
ci_job = subprocess.run(["bash", "examples/conform-in-ci.sh", ci_reports], capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, PULSE=binary, PORT=str(free_port()), CONFORM_ARGS="--only PB-HOLD",
                                 GITHUB_STEP_SUMMARY=os.path.join(work, "step-summary.md")))
ci_files = ["junit.xml", "report.json", "report.html", "summary.md", "console.txt", "target.log"]
check(ci_job.returncode == 0 and all(os.path.exists(os.path.join(ci_reports, name)) for name in ci_files),
      "the example CI job starts the target, waits for /readyz, conforms and keeps every report" + ("" if ci_job.returncode == 0 else ": " + ci_job.stdout[-600:] + ci_job.stderr[-400:]))
summary = open(os.path.join(ci_reports, "summary.md")).read() if os.path.exists(os.path.join(ci_reports, "summary.md")) else ""
check(summary.startswith("## Pulse conformance: passed") and "| PB-HOLD-2 | MUST |" in summary
      and open(os.path.join(work, "step-summary.md")).read() == summary, "its Markdown summary has a row per clause and reaches GITHUB_STEP_SUMMARY")
broken_job = subprocess.run(["bash", "examples/conform-in-ci.sh", os.path.join(work, "ci-broken")], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PULSE=binary, TARGET_COMMAND="sleep 1; exit 3", READY_SECONDS="20"))
check(broken_job.returncode == 2 and "exited before it was ready" in broken_job.stderr, "a target that never gets ready fails the job with status 2")

print("smoke: pulse bench fanout (a short run; figures are not checked here)")
bench = subprocess.run([binary, "bench", "fanout", "--subscribers", "1,20", "--changes", "5"], capture_output=True, text=True, timeout=300)
print(bench.stdout)
check(bench.returncode == 0 and "reference" in bench.stdout, "the fan-out benchmark runs to completion" + ("" if bench.returncode == 0 else ": " + bench.stderr[-400:]))

print(f"smoke: {passed} passed, {failed} failed")
# A clean run leaves nothing behind; a failed one keeps its files (logs, reports) to look at.
if failed:
    print(f"smoke: its files are kept in {work}")
else:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failed else 0)
