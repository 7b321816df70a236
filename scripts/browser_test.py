#!/usr/bin/env python3
"""Browser test of the Pulse web app (Sources/PulseReference/Web) with Playwright and Chromium.

Usage (from the repository root):
    .build/py-venv/bin/python scripts/browser_test.py .build/debug/pulse [--web-dir DIR]

Starts `pulse serve` on a free loopback port with its own data directory and a 4 s hold TTL (with
--web-dir, or PULSE_WEB_DIR, the app is served from DIR instead of the binary's copy), creates an
event as the admin over REST, and drives two users' browsers (A signs up through the form, B logs
in through the form):
  1. A holds a seat: A sees it `mine`, B sees it `held` (grey, pulsing) within 2 s; A releases it.
  2. A holds two seats and double-clicks Book: both see `booked`, one booking (REST), one
     Idempotency-Key on the wire, and A's bookings page lists it.
  3. B's socket is cut; meanwhile A holds a seat; B reconnects by itself and shows it `held`.
     Then a lost live message (a seq gap) and a wake-up (visibilitychange) also resync B.
  4. B holds a seat first; A clicking it gets the "taken" toast and no hold.
  5. A hold (made with the keyboard) expires after the TTL: `available` again on both pages.
  6. A cancels the booking of step 2 on its bookings page (with the keyboard, through the inline
     confirmation): the row says cancelled, with when. B, still on the event's map, sees the seats
     turn from booked to available live (seats_released) without a reload, at the server's seq and
     with the server's map; then B holds one of them.
  7. The admin creates an event in the admin page; it appears in the events list; close, reopen
     and delete work. A bad token sends you to log in; the map fits a phone-width screen.
No CSP violation and no uncaught script error may occur. Screenshots go to .build/browser-test/.
Chromium is Debian's (/usr/bin/chromium, or PULSE_CHROMIUM); nothing is downloaded.
Timing: every wait polls for its condition until a deadline. Holds live 4 s, so a step whose
premise a slow machine lets lapse (a hold expiring before the step could look at it) is retried
with fresh seats (at most 3 times) instead of failing; a wrong state is never retried.
"""
import json, os, signal, socket, subprocess, sys, tempfile, shutil, time, traceback, urllib.error, urllib.request, uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright, TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".build" / "browser-test"
CHROMIUM = os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium")
HOLD_TTL = 4
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@browser.test", "admin-password"
SECRET = "browser-test-secret-" + "s" * 28  # 48 characters
# Seat colours of app.css by data-state (computed background colours).
COLOURS = {"available": "rgb(231, 245, 234)", "mine": "rgb(30, 99, 214)", "held": "rgb(154, 161, 171)", "booked": "rgb(211, 47, 47)"}


class Failure(Exception):
    """An assertion of the test failed."""


class Inconclusive(Exception):
    """A step's premise lapsed on a slow machine (a 4 s hold ran out first): retry the step."""


def log(message):
    print(message, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, web_dir):
        self.binary, self.web_dir = binary, web_dir
        self.work = tempfile.mkdtemp(prefix="pulse-browser-")
        self.log_path = os.path.join(self.work, "server.log")
        self.process = None

    def start(self):
        env = dict(os.environ, PULSE_ADMIN_EMAIL=ADMIN_EMAIL, PULSE_ADMIN_PASSWORD=ADMIN_PASSWORD, PULSE_BCRYPT_COST="4",
                   PULSE_USER_RATE_SCALE="0", PULSE_JWT_SECRET=SECRET, PULSE_LOG_LEVEL="warning")
        for _ in range(3):  # a free port can be taken by someone else before we bind it: try another
            port = free_port()
            args = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
                    os.path.join(self.work, "data"), "--hold-ttl", str(HOLD_TTL)]
            if self.web_dir:
                args += ["--web-dir", self.web_dir]
            self.log_file = open(self.log_path, "ab")
            self.process = subprocess.Popen(args, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if self.call("GET", "/healthz")[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop()
        raise Failure(f"pulse serve did not start; log:\n{self.log_tail()}")

    def call(self, method, path, token=None, body=None, headers=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        def parse(raw, headers):
            return json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else {}
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, parse(response.read(), response.headers), response.headers
        except urllib.error.HTTPError as error:
            return error.code, parse(error.read(), error.headers), error.headers

    def api(self, method, path, token=None, body=None, expect=200):
        status, data, _ = self.call(method, "/api/v1" + path, token, body)
        if status != expect:
            raise Failure(f"{method} {path}: expected {expect}, got {status} {data}")
        return data

    def log_tail(self):
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)


class Browser:
    """One user's browser context and page, with what it logged."""

    def __init__(self, browser, base, name, viewport=(1280, 860)):
        self.name, self.base = name, base
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.context.set_default_timeout(10000)
        self.page = self.context.new_page()
        # PULSE_BROWSER_CPU_THROTTLE=N runs the pages N times slower (a check that the waits hold on slow CI).
        throttle = float(os.environ.get("PULSE_BROWSER_CPU_THROTTLE", "0") or 0)
        if throttle > 1:
            self.context.new_cdp_session(self.page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        self.problems = []       # CSP violations and uncaught errors
        self.checkout_keys = []  # Idempotency-Key of every checkout request
        self.joins = []          # every join_event this browser sent on a WebSocket
        self.watch(self.page)

    def watch(self, page):
        def on_console(message):
            text = message.text
            if "Content Security Policy" in text or "Refused to" in text:
                self.problems.append(f"{self.name}: CSP: {text}")
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.name}: uncaught: {error}"))

        def on_request(request):
            if request.method == "POST" and request.url.endswith("/seats") and "/api/v1/events/" in request.url:
                self.checkout_keys.append(request.headers.get("idempotency-key"))
        page.on("request", on_request)

        def on_frame(payload):
            try:
                message = json.loads(payload)
            except (TypeError, ValueError):
                return
            if isinstance(message, dict) and message.get("type") == "join_event":
                self.joins.append(message)
        page.on("websocket", lambda ws: ws.on("framesent", on_frame))

    def joins_since(self, count, why):
        """The join_events sent after the first `count`; at least one must carry sinceSeq."""
        joins = self.joins[count:]
        if not any(isinstance(j.get("sinceSeq"), int) for j in joins):
            raise Failure(f"{why}: {self.name} must re-join with sinceSeq; it sent {joins}")
        return joins

    def goto(self, hash_route):
        self.page.goto(f"{self.base}/#{hash_route}")

    def seat(self, seat_id):
        return self.page.locator(f'button[data-seat-id="{seat_id}"]')

    def state_of(self, seat_id):
        return self.page.evaluate("id => document.querySelector(`[data-seat-id=\"${id}\"]`)?.dataset.state ?? null", seat_id)

    def debug(self):
        return self.page.evaluate("() => window.pulseDebug ? {state: pulseDebug.state, lastSeq: pulseDebug.lastSeq, stats: pulseDebug.stats} : null")

    def wait_seat(self, seat_id, states, seconds, why):
        states = [states] if isinstance(states, str) else list(states)
        try:
            self.page.wait_for_function(
                "([id, states]) => { const b = document.querySelector(`[data-seat-id=\"${id}\"]`);"
                " return !!b && states.includes(b.dataset.state); }",
                arg=[seat_id, states], timeout=seconds * 1000, polling=50)
        except PlaywrightTimeout:
            raise Failure(f"{why}: {self.name} shows seat {seat_id} as {self.state_of(seat_id)!r}, expected "
                          f"{' or '.join(states)} within {seconds} s (live: {self.debug()})") from None

    def wait_colour(self, seat_id, state, why):
        """The seat's background settles on its state's colour (after the CSS transition)."""
        try:
            self.page.wait_for_function(
                "([id, colour]) => getComputedStyle(document.querySelector(`[data-seat-id=\"${id}\"]`)).backgroundColor === colour",
                arg=[seat_id, COLOURS[state]], timeout=3000, polling=50)
        except PlaywrightTimeout:
            actual = self.page.evaluate("id => getComputedStyle(document.querySelector(`[data-seat-id=\"${id}\"]`)).backgroundColor", seat_id)
            raise Failure(f"{why}: {self.name}'s seat {seat_id} ({state}) is {actual}, expected {COLOURS[state]}") from None

    def wait_js(self, expression, seconds, why, arg=None):
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=seconds * 1000, polling=50)
        except PlaywrightTimeout:
            raise Failure(f"{why} (not within {seconds} s; {self.name} live: {self.debug()})") from None

    def wait_live(self, why):
        self.wait_js("() => window.pulseDebug && pulseDebug.state === 'open' && pulseDebug.lastSeq !== null", 10,
                     f"{why}: {self.name}'s live connection did not open")

    def open_event(self, event_id):
        self.goto(f"/events/{event_id}")
        self.page.wait_for_selector('button[data-seat-id="A1"]')
        self.wait_live("opening the event")

    def toast_with(self, text, seconds, why):
        try:
            self.page.locator("#alerts .toast, #toasts .toast").filter(has_text=text).first.wait_for(timeout=seconds * 1000)
        except PlaywrightTimeout:
            toasts = self.page.locator(".toast").all_inner_texts()
            raise Failure(f"{why}: {self.name} shows no toast containing {text!r} within {seconds} s (toasts: {toasts})") from None

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(300)  # cosmetic only: let colour transitions and toasts settle
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), animations="allow")


def retry(step, attempts, fn):
    """Runs fn(attempt) until it does not raise Inconclusive (at most `attempts` times)."""
    for attempt in range(attempts):
        try:
            return fn(attempt)
        except Inconclusive as why:
            log(f"  note  {step}: attempt {attempt + 1} inconclusive ({why}); retrying with fresh seats")
    raise Failure(f"{step}: inconclusive {attempts} times in a row (holds lapsing before the step could finish?)")


def server_seat(server, event_id, seat_id):
    seats = server.api("GET", f"/events/{event_id}/seats")["data"]["seats"]
    return next(s for s in seats if s["id"] == seat_id)


def run(binary, web_dir):
    started = time.monotonic()
    server = Server(binary, web_dir)
    browsers = []
    pw = chromium = None
    try:
        server.start()
        log(f"browser test: pulse serve at {server.base} (hold TTL {HOLD_TTL} s){' with --web-dir ' + web_dir if web_dir else ''}")
        status, _, headers = server.call("GET", "/")
        if status != 200 or "text/html" not in headers.get("Content-Type", ""):
            raise Failure(f"GET / must serve the app's index.html; got {status} {headers.get('Content-Type')}")

        admin_token = server.api("POST", "/users/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["token"]
        date = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT19:30:00.000Z")
        event = server.api("POST", "/events", admin_token, {"title": "Browser Test Night", "venue": "Hall One", "date": date,
                           "venueConfig": {"rows": 5, "cols": 8, "price": 15.5}}, expect=201)["data"]["event"]
        eid = event["id"]
        suffix = uuid.uuid4().hex[:8]
        a_email, b_email, password = f"alice-{suffix}@browser.test", f"bob-{suffix}@browser.test", "secret-pass-1"
        b_token = server.api("POST", "/users/signup", body={"name": "Bob", "email": b_email, "password": password}, expect=201)["token"]

        pw = sync_playwright().start()
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu", "--no-first-run"])
        A = Browser(chromium, server.base, "A")
        B = Browser(chromium, server.base, "B")
        browsers += [A, B]

        # A signs up through the form, B logs in through the form.
        A.goto("/signup")
        A.page.fill("#f-name", "Alice")
        A.page.fill("#f-email", a_email)
        A.page.fill("#f-password", password)
        A.page.click("#signup-submit")
        A.page.wait_for_selector("#nav-user:has-text('Alice')")
        a_token = A.page.evaluate("localStorage.getItem('pulse.token')")
        B.goto("/login")
        B.page.fill("#f-email", b_email)
        B.page.fill("#f-password", password)
        B.page.click("#login-submit")
        B.page.wait_for_selector("#nav-user:has-text('Bob')")
        B.page.wait_for_selector(f'#event-list [data-event-id="{eid}"]')
        log("  ok    A signed up and B logged in through the forms; B's event list shows the event")
        A.open_event(eid)
        B.open_event(eid)

        # 1. A holds a seat; B sees it held (grey, pulsing); A releases it.
        def step1(attempt):
            seat = ["A1", "A3", "A5"][attempt]
            A.seat(seat).click()
            A.wait_seat(seat, "mine", 5, "step 1: A's own hold")
            B.wait_seat(seat, "held", 2, "step 1: B must see A's hold within 2 s")
            style = B.page.evaluate("id => { const s = getComputedStyle(document.querySelector(`[data-seat-id=\"${id}\"]`));"
                                    " return {name: s.animationName, duration: s.animationDuration, bg: s.backgroundColor}; }", seat)
            if style["name"] != "seat-pulse" or style["duration"] != "1.5s":
                raise Failure(f"step 1: a seat held by someone else must pulse every 1.5 s; B's {seat} has {style}")
            A.wait_colour(seat, "mine", "step 1: your own hold is blue")
            B.wait_colour(seat, "held", "step 1: someone else's hold is grey")
            A.page.locator(f'#basket-list [data-seat-id="{seat}"]').wait_for(timeout=3000)
            B.page.mouse.move(5, 5)
            B.shot("1-B-sees-held")
            A.shot("1-A-mine")
            if A.state_of(seat) != "mine":
                raise Inconclusive(f"A's hold of {seat} lapsed before the release")
            A.seat(seat).click()
            A.wait_seat(seat, "available", 5, "step 1: A released its seat")
            B.wait_seat(seat, "available", 3, "step 1: B sees A's release")
            log(f"  ok    step 1: A holds {seat} (mine, blue); B sees it held within 2 s (grey, pulsing every 1.5 s); release seen by both")
        retry("step 1", 3, step1)

        # 2. A holds two seats and double-clicks Book: booked once, seen by both, listed.
        def step2(attempt):
            seats = [["B1", "B2"], ["B4", "B5"], ["B7", "B8"]][attempt]
            A.checkout_keys.clear()
            for seat in seats:
                A.seat(seat).click()
                A.wait_seat(seat, "mine", 5, "step 2: A's hold")
            A.page.locator("#book-button").dblclick()
            try:
                A.page.wait_for_function("ids => ids.every(id => document.querySelector(`[data-seat-id=\"${id}\"]`).dataset.state"
                                         " === 'booked') || [...document.querySelectorAll('#alerts .toast')].some(t =>"
                                         " /expired|no longer held/.test(t.textContent))", arg=seats, timeout=8000, polling=50)
            except PlaywrightTimeout:
                raise Failure(f"step 2: A's booking of {seats} did not complete: states "
                              f"{[A.state_of(s) for s in seats]}, toasts {A.page.locator('.toast').all_inner_texts()}") from None
            if any(A.state_of(s) != "booked" for s in seats):
                raise Inconclusive(f"A's holds of {seats} lapsed before the checkout")
            for seat in seats:
                B.wait_seat(seat, "booked", 3, "step 2: B sees A's booking")
            B.wait_colour(seats[0], "booked", "step 2: a booked seat is red")
            A.wait_colour(seats[1], "booked", "step 2: a booked seat is red")
            bookings = server.api("GET", "/bookings/me", a_token)["data"]["bookings"]
            if len(bookings) != 1 or sorted(bookings[0]["seatIds"]) != seats or bookings[0]["totalAmount"] != 31:
                raise Failure(f"step 2: a double click on Book must book once ({seats}, 31.00); A has {bookings}")
            keys = set(A.checkout_keys)
            if len(keys) != 1 or None in keys:
                raise Failure(f"step 2: every checkout request of one basket must carry one Idempotency-Key; saw {A.checkout_keys}")
            A.toast_with("Booked", 5, "step 2: success toast")
            B.page.mouse.move(5, 5)
            B.shot("2-B-sees-booked")
            A.shot("2-A-booked")
            page = A.context.new_page()
            A.watch(page)
            page.goto(f"{server.base}/#/bookings")
            try:
                page.locator(f'.booking[data-booking-id="{bookings[0]["id"]}"] .booking-seats').filter(
                    has_text=", ".join(seats)).wait_for(timeout=8000)
                page.locator(".booking .booking-title").filter(has_text="Browser Test Night").first.wait_for(timeout=3000)
            except PlaywrightTimeout:
                raise Failure(f"step 2: A's bookings page does not list the booking of {seats}: "
                              f"{page.locator('#booking-list').inner_text()!r}") from None
            page.screenshot(path=str(SHOTS / "2-A-bookings-page.png"))
            page.close()
            log(f"  ok    step 2: double-clicked Book: one booking of {', '.join(seats)} (31.00, {len(A.checkout_keys)} request(s), "
                "one Idempotency-Key); both see booked; listed on A's bookings page")
            return bookings[0]["id"], seats
        booking_id, booked = retry("step 2", 3, step2)

        # 3. B never shows a stale seat: after a wake-up, after a lost live message (a seq gap), and
        #    after its socket is cut while A holds a seat. The wake-up case runs first, while no other
        #    hold is about to expire (an expiry would resync B through the seq gap it makes).
        def step3_wake(attempt):
            seat = ["E1", "E3", "E5"][attempt]
            dropped = B.debug()["stats"]["dropped"]
            joins = len(B.joins)
            # A socket that silently loses everything (a sleeping laptop): B drops every message...
            B.page.evaluate("pulseDebug.dropIncoming(1000000)")
            A.seat(seat).click()
            A.wait_seat(seat, "mine", 5, "step 3 (wake-up): A's hold")
            B.wait_js("n => pulseDebug.stats.dropped > n", 5, "step 3 (wake-up): the broadcast of A's hold must reach B", arg=dropped)
            stale = B.state_of(seat)
            # ...then the page wakes up: visibilitychange must resync it.
            B.page.evaluate("pulseDebug.dropIncoming(0); document.dispatchEvent(new Event('visibilitychange'))")
            try:
                B.wait_seat(seat, "held", 2.5, "step 3 (wake-up): a wake-up (visibilitychange) must resync B")
            except Failure:
                if server_seat(server, eid, seat)["status"] != "locked":
                    raise Inconclusive(f"A's hold of {seat} lapsed before B resynced")
                raise
            B.joins_since(joins, "step 3 (wake-up)")
            log(f"  ok    step 3 (wake-up): B lost the live message of A's hold ({seat} stayed {stale!r}); "
                "visibilitychange re-joined with sinceSeq and showed 'held'")
        retry("step 3 (wake-up)", 3, step3_wake)

        def step3_gap(attempt):
            first, second = [("D1", "D2"), ("D4", "D5"), ("D7", "D8")][attempt]
            gaps = B.debug()["stats"]["gaps"]
            joins = len(B.joins)
            B.page.evaluate("pulseDebug.dropIncoming(1)")  # B loses the next live change: a seq gap
            for seat in (first, second):
                A.seat(seat).click()
                A.wait_seat(seat, "mine", 5, "step 3 (seq gap): A's hold")
            try:
                B.wait_seat(first, "held", 2.5, "step 3 (seq gap): B must notice the gap, re-join and show the missed change")
                B.wait_seat(second, "held", 1, "step 3 (seq gap): B shows the change after the gap")
            except Failure:
                if any(server_seat(server, eid, s)["status"] != "locked" for s in (first, second)):
                    raise Inconclusive("A's holds lapsed before B resynced")
                raise
            if B.debug()["stats"]["gaps"] <= gaps:
                raise Failure(f"step 3 (seq gap): B should have counted the seq gap (live: {B.debug()})")
            B.joins_since(joins, "step 3 (seq gap)")
            log(f"  ok    step 3 (seq gap): B lost one live message; the next one's seq showed the gap, B re-joined with "
                f"sinceSeq: {first} and {second} held")
        retry("step 3 (seq gap)", 3, step3_gap)

        # Record every state each seat of B's map takes, so that a hold B learns of only through the
        # replay of a re-join (locked, then released by its expiry, on a slow machine) still counts.
        B.page.evaluate("""() => {
            window.__seen = {};
            new MutationObserver((records) => {
                for (const r of records) {
                    const id = r.target.dataset.seatId;
                    if (id) (window.__seen[id] ||= []).push(r.oldValue, r.target.dataset.state);
                }
            }).observe(document.getElementById('seat-map'),
                       {subtree: true, attributes: true, attributeFilter: ['data-state'], attributeOldValue: true});
        }""")

        def step3_cut(attempt):
            seat = ["C1", "C3", "C5"][attempt]
            connects = B.debug()["stats"]["connects"]
            joins = len(B.joins)
            if not B.page.evaluate("pulseDebug.dropConnection(1500)"):
                raise Failure("step 3: pulseDebug.dropConnection() found no socket to cut")
            B.wait_js("() => pulseDebug.state !== 'open'", 2, "step 3: B's connection state must leave 'open' after the cut")
            A.seat(seat).click()
            A.wait_seat(seat, "mine", 5, "step 3: A's hold while B is offline")
            b_was_down = B.debug()["state"] != "open"
            if b_was_down and B.state_of(seat) != "available":
                raise Failure(f"step 3: B's socket was cut, yet B shows {seat} as {B.state_of(seat)!r}")
            B.shot("3-B-offline-stale")
            try:
                B.wait_js("id => (window.__seen[id] || []).includes('held')", 10,
                          f"step 3: after reconnecting by itself B must show {seat}, which A held meanwhile, as held", arg=seat)
            except Failure:
                truth = server.api("GET", f"/events/{eid}/seats")["data"]
                try:
                    B.wait_js("seq => pulseDebug.lastSeq >= seq", 2, "", arg=truth["seq"])
                except Failure:
                    raise Failure(f"step 3: B did not catch up after the cut: B at seq {B.debug()}, server at {truth['seq']}") from None
                if next(s for s in truth["seats"] if s["id"] == seat)["status"] == "locked":
                    raise
                raise Inconclusive(f"B caught up, but by a snapshot after A's hold of {seat} had lapsed")
            stats = B.debug()
            if stats["state"] != "open" or stats["stats"]["connects"] <= connects:
                raise Failure(f"step 3: B must have reconnected by itself (live: {stats})")
            B.joins_since(joins, "step 3")
            now = B.state_of(seat)
            B.page.mouse.move(5, 5)
            B.shot("3-B-reconnected")
            log(f"  ok    step 3: B's socket cut (B {'was still offline' if b_was_down else 'was already back'} when A held {seat});"
                f" B reconnected by itself ({stats['stats']['connects']} connects), re-joined with sinceSeq and showed {seat} held"
                f"{'' if now == 'held' else f' (now {now!r}: the 4 s hold lapsed)'}")
        retry("step 3", 3, step3_cut)

        # 4. B holds a seat first; A clicking it gets the toast and no hold.
        def step4(attempt):
            seat = ["A8", "C8", "E8"][attempt]
            B.seat(seat).click()
            B.wait_seat(seat, "mine", 5, "step 4: B's hold")
            A.wait_seat(seat, "held", 3, "step 4: A sees B's hold")
            A.page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
            A.seat(seat).click()
            try:
                A.page.locator("#alerts .toast").filter(has_text=seat).filter(has_text="taken").first.wait_for(timeout=5000)
            except PlaywrightTimeout:
                a_holds = server.api("GET", f"/events/{eid}/holds", a_token)["data"]["holds"]
                if any(seat in h["seatIds"] for h in a_holds) and server_seat(server, eid, seat)["lockedBy"] != B_id:
                    raise Inconclusive(f"B's hold of {seat} lapsed before A's click, so A got it")
                raise Failure(f"step 4: A clicking B's seat {seat} must show a 'taken' toast; toasts: "
                              f"{A.page.locator('.toast').all_inner_texts()}") from None
            a_holds = server.api("GET", f"/events/{eid}/holds", a_token)["data"]["holds"]
            if any(seat in h["seatIds"] for h in a_holds):
                raise Failure(f"step 4: A must not hold {seat} after the refusal; A's holds {a_holds}")
            if A.state_of(seat) == "mine":
                raise Failure(f"step 4: A's map must not show {seat} as mine after the refusal")
            A.wait_seat(seat, "held", 1, "step 4: A's view of B's seat after the refusal")
            A.page.mouse.move(5, 5)
            A.shot("4-A-taken-toast")
            text = A.page.locator("#alerts .toast").first.inner_text()
            log(f"  ok    step 4: B held {seat} first; A's click shows {text.splitlines()[0]!r}, A holds nothing, {seat} stays held")
        B_id = server.api("GET", "/users/me", b_token)["data"]["user"]["id"]
        retry("step 4", 3, step4)

        # 5. A hold made with the keyboard expires: available again on both pages.
        seat = "D6"
        A.seat(seat).focus()
        A.page.keyboard.press("Enter")
        A.wait_seat(seat, "mine", 5, "step 5: A's hold made with the keyboard (Enter on a focused seat)")
        B.wait_seat(seat, "held", 3, "step 5: B sees A's hold")
        A.page.keyboard.press("ArrowRight")
        focused = A.page.evaluate("document.activeElement?.dataset.seatId")
        if focused != "D7":
            raise Failure(f"step 5: ArrowRight from D6 must focus D7, focused {focused!r}")
        A.wait_seat(seat, "available", HOLD_TTL + 6, "step 5: A's hold must expire")
        B.wait_seat(seat, "available", 3, "step 5: B sees the expiry")
        A.toast_with(f"hold on seat {seat} expired", 3, "step 5: expiry toast")
        A.page.mouse.move(5, 5)
        A.shot("5-A-after-expiry")
        log(f"  ok    step 5: A's keyboard hold of {seat} expired after {HOLD_TTL} s: available on both pages, A told")

        # The seat map at phone width: no sideways overflow of the page (the map scrolls by itself).
        B.page.set_viewport_size({"width": 390, "height": 844})
        overflow = B.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        B.shot("5-B-phone-width")
        B.page.set_viewport_size({"width": 1280, "height": 860})
        if overflow > 1:
            raise Failure(f"at phone width (390 px) the page overflows sideways by {overflow} px")
        log("  ok    the event page fits a 390 px wide screen")

        # 6. A cancels the booking of step 2 on the bookings page; B, on the event's map, sees its
        #    seats turn available live (seats_released, at the next seq) and can hold one. No hold is
        #    alive now (step 5 waited for the last expiry), so nothing but the cancellation changes
        #    the map: an app that ignores seats_released keeps showing the seats booked.
        for seat in booked:
            B.wait_seat(seat, "booked", 1, "step 6: before the cancellation")
        B.wait_live("step 6")
        before = B.debug()
        B.page.evaluate("window.__notReloaded = true")  # a reload of B's page would lose it
        A.goto("/bookings")
        row = A.page.locator(f'.booking[data-booking-id="{booking_id}"]')
        cancel = row.locator("[data-action=cancel]")
        try:
            cancel.wait_for(timeout=8000)
        except PlaywrightTimeout:
            raise Failure(f"step 6: A's bookings page must show booking {booking_id} with a 'Cancel booking' button: "
                          f"{A.page.locator('#booking-list').inner_text()!r}") from None
        status = row.locator(".booking-status").inner_text()
        if row.get_attribute("data-status") != "confirmed" or status.strip() != "Confirmed":
            raise Failure(f"step 6: a confirmed booking must say so; its row has data-status "
                          f"{row.get_attribute('data-status')!r} and status text {status!r}")
        # The keyboard: Enter opens the confirmation on "Keep booking"; Escape closes it (nothing is
        # cancelled); Enter again, Shift+Tab to "Yes, cancel booking", Enter cancels.
        focused = "() => document.activeElement?.dataset.action ?? null"
        cancel.focus()
        A.page.keyboard.press("Enter")
        A.wait_js("() => document.activeElement?.dataset.action === 'keep'", 2,
                  "step 6: 'Cancel booking' must open a confirmation with the focus on 'Keep booking'")
        A.page.keyboard.press("Escape")
        A.wait_js("() => document.activeElement?.dataset.action === 'cancel'", 2,
                  "step 6: Escape must close the confirmation and give the focus back to 'Cancel booking'")
        if row.locator("[data-action=confirm-cancel]").is_visible():
            raise Failure("step 6: the confirmation must be hidden after Escape")
        A.page.keyboard.press("Enter")
        A.wait_js("() => document.activeElement?.dataset.action === 'keep'", 2, "step 6: the confirmation reopens")
        A.page.keyboard.press("Shift+Tab")
        if A.page.evaluate(focused) != "confirm-cancel":
            raise Failure(f"step 6: Shift+Tab from 'Keep booking' must reach 'Yes, cancel booking'; focus is on {A.page.evaluate(focused)!r}")
        A.page.keyboard.press("Enter")
        done = A.page.locator(f'.booking[data-booking-id="{booking_id}"][data-status="cancelled"]')
        try:
            done.wait_for(timeout=5000)
        except PlaywrightTimeout:
            raise Failure(f"step 6: after confirming, A's booking {booking_id} must show as cancelled; row: "
                          f"{row.inner_text()!r}; toasts: {A.page.locator('.toast').all_inner_texts()}") from None
        text = done.inner_text()
        if "Cancelled" not in text or done.locator(".booking-cancelled-at").count() != 1 or done.locator("[data-action=cancel]").count():
            raise Failure(f"step 6: a cancelled booking must say 'Cancelled' with its cancelledAt and offer no cancel button; row: {text!r}")
        A.toast_with("Cancelled", 3, "step 6: success toast")
        mine = {b["id"]: b for b in server.api("GET", "/bookings/me", a_token)["data"]["bookings"]}
        if mine.get(booking_id, {}).get("status") != "cancelled" or not mine[booking_id].get("cancelledAt"):
            raise Failure(f"step 6: the server must list booking {booking_id} as cancelled with cancelledAt: {mine.get(booking_id)}")
        for seat in booked:
            try:
                B.wait_seat(seat, "available", 3, "")
            except Failure:
                truth = server.api("GET", f"/events/{eid}/seats")["data"]
                raise Failure(f"step 6: B's map must turn {seat} from booked to available live after A cancelled (the"
                              f" seats_released message); B shows {B.state_of(seat)!r} at seq {B.debug()['lastSeq']}, the"
                              f" server has it {server_seat(server, eid, seat)['status']!r} at seq {truth['seq']}: the app"
                              " does not apply seats_released") from None
        truth = server.api("GET", f"/events/{eid}/seats")["data"]
        B.wait_js("seq => pulseDebug.lastSeq === seq", 2, f"step 6: B's seq must reach the server's ({truth['seq']})", arg=truth["seq"])
        expected = {s["id"]: {"available": "available", "booked": "booked"}.get(s["status"], "mine" if s.get("lockedBy") == B_id else "held")
                    for s in truth["seats"]}
        shown = B.page.evaluate("() => Object.fromEntries([...document.querySelectorAll('#seat-map [data-seat-id]')]"
                                ".map(b => [b.dataset.seatId, b.dataset.state]))")
        wrong = {k: (shown.get(k), v) for k, v in expected.items() if shown.get(k) != v}
        if wrong:
            raise Failure(f"step 6: B's map must equal the server's at seq {truth['seq']}; differing seats (B, server): {wrong}")
        after = B.debug()
        if not B.page.evaluate("window.__notReloaded === true"):
            raise Failure("step 6: B's page was reloaded; the seats must turn available live")
        if truth["seq"] != before["lastSeq"] + 1 or after["stats"]["gaps"] != before["stats"]["gaps"]:
            raise Failure(f"step 6: the cancellation must be one change at the next seq, applied in order: B went from seq "
                          f"{before['lastSeq']} to {after['lastSeq']} (server {truth['seq']}), gaps {before['stats']['gaps']} -> "
                          f"{after['stats']['gaps']}")
        A.shot("6-A-booking-cancelled")
        B.page.mouse.move(5, 5)
        B.shot("6-B-seats-released")
        seat = booked[0]
        B.seat(seat).click()
        B.wait_seat(seat, "mine", 5, f"step 6: B holds {seat}, released by the cancellation")
        b_holds = server.api("GET", f"/events/{eid}/holds", b_token)["data"]["holds"]
        if not any(seat in h["seatIds"] for h in b_holds):
            raise Failure(f"step 6: the server must show B holding {seat}; B's holds {b_holds}")
        B.seat(seat).click()
        B.wait_seat(seat, "available", 5, f"step 6: B releases {seat}")
        log(f"  ok    step 6: A cancelled booking of {', '.join(booked)} on its bookings page (keyboard, inline confirmation):"
            f" shown cancelled; B's map turned them available live at seq {truth['seq']} (= server's map), then B held {seat}")

        # 7. Admin page: create (UI) -> listed; close, reopen, delete (B, watching it, is told).
        C = Browser(chromium, server.base, "admin")
        browsers.append(C)
        C.goto("/login")
        C.page.fill("#f-email", ADMIN_EMAIL)
        C.page.fill("#f-password", ADMIN_PASSWORD)
        C.page.click("#login-submit")
        C.page.wait_for_selector("nav a[href='#/admin']")
        C.goto("/admin")
        title = f"Admin Made {suffix}"
        C.page.fill("#f-title", title)
        C.page.fill("#f-venue", "Studio B")
        C.page.fill("#f-rows", "3")
        C.page.fill("#f-cols", "6")
        C.page.fill("#f-price", "9.99")
        C.page.click("#create-event-submit")
        row = C.page.locator(".admin-event").filter(has_text=title)
        try:
            row.wait_for(timeout=8000)
        except PlaywrightTimeout:
            raise Failure(f"step 7: the created event is not in the admin list; form error: "
                          f"{C.page.locator('#create-event-form .form-error').inner_text()!r}") from None
        new_id = row.get_attribute("data-event-id")
        C.shot("7-admin")
        C.goto("/events")
        C.page.locator("#event-list .event-card").filter(has_text=title).wait_for(timeout=8000)
        C.shot("7-events-list")
        created = server.api("GET", f"/events/{new_id}")["data"]["event"]
        if created["venueConfig"] != {"rows": 3, "cols": 6, "price": 9.99} or not created["isActive"]:
            raise Failure(f"step 7: the event created in the UI is wrong: {created}")
        B.open_event(new_id)
        C.goto("/admin")
        row = C.page.locator(f'.admin-event[data-event-id="{new_id}"]')
        row.locator("[data-action=toggle]").click()
        C.page.locator(f'.admin-event[data-event-id="{new_id}"][data-active="false"]').wait_for(timeout=5000)
        if server.api("GET", f"/events/{new_id}")["data"]["event"]["isActive"]:
            raise Failure("step 7: Close booking did not close the event")
        C.page.locator(f'.admin-event[data-event-id="{new_id}"] [data-action=toggle]').click()
        C.page.locator(f'.admin-event[data-event-id="{new_id}"][data-active="true"]').wait_for(timeout=5000)
        delete = C.page.locator(f'.admin-event[data-event-id="{new_id}"] [data-action=delete]')
        delete.click()
        delete.click()  # the second press confirms
        C.page.locator(f'.admin-event[data-event-id="{new_id}"]').wait_for(state="detached", timeout=5000)
        if server.call("GET", f"/api/v1/events/{new_id}")[0] != 404:
            raise Failure("step 7: Delete did not delete the event")
        try:
            B.page.locator("#event-banner").filter(has_text="deleted").wait_for(timeout=5000)
        except PlaywrightTimeout:
            raise Failure("step 7: B, on the deleted event's page, must be told (event_deleted)") from None
        B.shot("7-B-event-deleted")
        log(f"  ok    step 7: the admin page created {title!r} (listed in events), closed, reopened and deleted it;"
            " B, watching it, got event_deleted")

        # Extras: a bad token sends you to log in; phone width; no CSP violation anywhere.
        page = C.context.new_page()
        C.watch(page)
        page.goto(f"{server.base}/#/events")
        page.evaluate("localStorage.setItem('pulse.token', 'not-a-valid-token')")
        page.goto(f"{server.base}/#/bookings")
        page.reload()
        try:
            page.wait_for_function("() => location.hash.startsWith('#/login') && document.querySelector('#login-form')", timeout=8000)
        except PlaywrightTimeout:
            raise Failure(f"an invalid token must send you to log in; at {page.url}") from None
        page.close()
        B.page.locator("#logout").click()
        B.page.wait_for_selector("nav a[href='#/login']")
        if B.page.evaluate("localStorage.getItem('pulse.token')") is not None:
            raise Failure("logging out must forget the token")
        log("  ok    an invalid token leads to the log-in page; Log out forgets the token")
        problems = [p for b in browsers for p in b.problems]
        if problems:
            raise Failure("CSP violations or uncaught errors:\n    " + "\n    ".join(problems[:10]))
        log("  ok    no CSP violation and no uncaught script error in any page")
        log(f"browser test: PASSED in {time.monotonic() - started:.1f} s (screenshots in {SHOTS.relative_to(ROOT)})")
        return 0
    except Failure as failure:
        log(f"  FAIL  {failure}")
        for b in browsers:
            try:
                b.shot(f"failure-{b.name}")
            except Exception:
                pass
        log(f"server log (last lines):\n{server.log_tail()}")
        log(f"browser test: FAILED after {time.monotonic() - started:.1f} s (screenshots in {SHOTS})")
        return 1
    except Exception:
        traceback.print_exc()
        log(f"browser test: ERROR after {time.monotonic() - started:.1f} s")
        return 1
    finally:
        for b in browsers:
            try:
                b.context.close()
            except Exception:
                pass
        if chromium:
            try:
                chromium.close()
            except Exception:
                pass
        if pw:
            pw.stop()
        server.cleanup()


def main():
    args = sys.argv[1:]
    web_dir = os.environ.get("PULSE_WEB_DIR")
    if "--web-dir" in args:
        i = args.index("--web-dir")
        web_dir = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    binary = os.path.abspath(args[0])
    if not os.path.exists(CHROMIUM):
        sys.exit(f"browser test: Chromium not found at {CHROMIUM} (apt-get install chromium, or set PULSE_CHROMIUM)")
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    sys.exit(run(binary, os.path.abspath(web_dir) if web_dir else None))


if __name__ == "__main__":
    main()
