"""A stand-in for the seed's "Pulse Booking" server (github.com/MohamedHossamRT/realtime-event-booking-system,
Server/), defects included, for `pulse conform --profile socketio` and wire-mode `pulse sim --profile socketio`.
REST under /api/v1 (Express 5 in the seed) and Socket.IO 4 (python-socketio here) speak the seed's wire format:
Mongoose documents as they are (`_id`, `__v`, ISO dates), seats addressed by their `_id`, the seed's envelopes,
messages, statuses and handler await order. State is in memory.

Usage: python seed_server.py PORT      prints `ready` once listening on HOST:PORT (HOST: 127.0.0.1 unless set).
  ADMIN_EMAIL (admin@seed.test), ADMIN_PASSWORD (admin-password): the admin (only the database makes admins).
  JWT_SECRET; JWT_EXPIRES_IN (default 1d; the seed passes its .env string to jsonwebtoken: "90d", "12h", and
  a bare number means MILLISECONDS). LOCK_TTL: seconds, float allowed (default 600: the seed's EX 600 and
  its 600000 ms timer). REDIS_MS (1) / MONGO_MS (3): latency of each Redis / MongoDB round trip, 0 allowed;
  JITTER (0.5): each round trip takes its latency x uniform(1 - JITTER, 1 + JITTER). LOGIN_LIMIT (10): log-ins
  per 15 minutes per address (the seed's 10; raise it for repeated runs against one process).
  SEED_FIXES: comma-separated defect names to switch off, or `all`. SEED_DEFECTS: defects the seed does not have,
  switched on by name (below). CLIENT_URL: CORS origin (default *).
  GET /healthz ({"ok": true}) is the stand-in's own route, not the seed's.

Model. Every Redis or MongoDB call of the seed is an await of REDIS_MS / MONGO_MS at the place the seed awaits
it; its effect applies at the end of that await, in one instant (SET NX, DEL of many keys, MGET are atomic; GET
then DEL are two instants). Lock keys expire at their instant (lazily on access and actively, like Redis).
Checkout's MongoDB transaction: its updateMany stages its seat writes at its instant and they become visible at
commitTransaction (abortTransaction drops them). While staged they are in flight: another transaction whose
updateMany touches one of those seats gets a WriteConflict at once (MongoDB fails the later writer, no waiting;
the seed calls no withTransaction, so nothing retries). Seats committed booked before that updateMany are
filtered by `status != booked` (modifiedCount short: 409). A standalone MongoDB (every checkout failing) is not
modelled. Errors: an AppError answers {"status": "fail" (4xx) | "error", message}; anything else answers 500
"Something went wrong!" (Server/middlewares/errorHandler.js is not in the published repository; this follows
docs/seed.md). Messages marked (fixed) below exist only in fixed variants: the seed has none there.

Defects, all on by default; SEED_FIXES=all makes a correct seed-style server (exclusive locks, no double booking,
no false broadcasts, no crash):
  release-get-del (race 1): release is GET, await, DEL; the DEL may remove a lock taken meanwhile.
      Fixed: compare-and-delete in one instant.
  checkout-no-fence (race 2): checkout GETs every lock and checks the owner, then awaits the MongoDB writes (a
      lock can expire and be taken meanwhile); its final DEL of all keys checks no owner. Fixed: the check fences
      the locks in the same instant (they can no longer expire, be released or be replaced); a failed checkout
      unfences them, a successful one deletes only its fenced keys.
  lock-reads-stale (race 3): request_lock reads event and seat from MongoDB, then SET NX; a seat booked in
      between gets locked. Fixed: after SET it re-reads the seat; if booked it removes its lock, lock_failed.
  locked-hides-booked (race 3): in the merged seat map a lock key overrides "booked". Fixed: booked wins.
  release-broadcast-always (race 4): the TTL timer and disconnect broadcast seat_released whether or not the
      release happened (leave_event already checks, in the seed). Fixed: only when this lock was removed; a lock
      that expires in Redis is announced once, when it vanishes (as a keyspace notification would).
  stale-timer (race 5): the timer releases the seat if this socket still tracks it, so a newer lock of the same
      user (re-lock, another tab) goes early; disconnect/leave_event likewise. (The timer cannot remove another
      user's lock: releaseSeat compares the owner.) Fixed: timer, disconnect and leave_event remove only the lock
      instance that socket acquired.
  no-seq (race 6): broadcasts carry no sequence number. Fixed: seat_locked, seat_released and seats_booked carry
      `seq`, the event's next integer from 1, contiguous, in broadcast order, and the seat map's `data.seq` is the
      seq its seats are as of (read in the same instant), so a client can order its fetch against its join.
  no-reason: seat_released has no reason. Fixed: `reason` released | expired | disconnected (also leave_event).
  crash-on-bad-payload (race 7): a socket payload failing the seed's Zod schema (not an object, missing, empty or
      non-string eventId/seatId; join/leave_event not a non-empty string) hits `result.error.errors.map` (not in
      Zod 4): an unhandled rejection, and the process ends (here os._exit(1)). REST: failed validation, malformed
      or too large JSON, bad ObjectIds, Mongoose validation, missing seatIds (controller lacks its AppError
      import) and invalid/expired JWTs all answer 500. Fixed: lock_failed (request_lock; nothing for the others)
      and the server lives on; 400 "Validation Error: ..." (validate.js's own text), 400 for casts/validation,
      413 for big bodies, 401 "Invalid token. Please log in again!" / "Your token has expired! Please log in
      again." (fixed).
  transaction-conflict-500 (race 8): concurrent checkouts of a seat: the later updateMany meets a WriteConflict:
      500. Fixed: 409 "One or more seats were already booked by another user."
  duplicate-email (race 9): sign-up inserts without any check and production has no unique index: every sign-up
      with a taken email succeeds (concurrent or not); log-in finds the first. Fixed: unique index at the insert
      instant; the loser gets 400 'Duplicate field value: "<email>". Please use another value!' (fixed: the
      seed's handler for E11000 is not published).
  event-grid-not-atomic (race 9): POST /events inserts the event, awaits, inserts the seat grid; a seat map read
      in between shows no seats. Fixed: both in one instant.
  no-hold-cap (race 9): no limit on seats a user may lock. Fixed: at most 10 live locks per user per event; the
      11th gets lock_failed "You may hold at most 10 seats of this event at a time." (fixed).
  trusts-total: checkout stores the client's totalAmount. Fixed: 400 unless it equals the seats' prices summed.
  no-error-codes: error answers carry only status and message (the seed has no codes). Fixed: they also carry
      the stable `code` of SPEC.md PB-ERR-2 (route_not_found, event_not_found, validation_failed, ...).

Defects the seed does not have, off by default and switched on by name (SEED_DEFECTS=name,...), to model other
seed-style servers:
  racing-broadcasts: each broadcast goes out after an await of its own (a MongoDB round trip, as a server that
      reads the seat for its payload before io.to(room).emit), so two changes close together reach the room in either order:
      a release followed at once by another user's lock may be heard as seat_locked, then seat_released. The
      changes themselves are right (with release-get-del fixed, release is an atomic compare-and-delete); with
      no-seq fixed the seqs are still taken in change order, and arrive out of order.
"""
import asyncio, base64, hashlib, hmac, json, math, os, random, re, secrets, sys, time, traceback
from datetime import datetime, timezone

import socketio
from aiohttp import web

DEFECTS = {
    "release-get-del": "race 1: release is GET, await, DEL",
    "checkout-no-fence": "race 2: checkout checks lock owners, then writes MongoDB; its DEL checks no owner",
    "lock-reads-stale": "race 3: request_lock reads MongoDB, then SET NX (a seat booked between gets locked)",
    "locked-hides-booked": "race 3: a lock key overrides booked in the merged seat map",
    "release-broadcast-always": "race 4: timer and disconnect broadcast seat_released even when nothing was released",
    "stale-timer": "race 5: timer/disconnect/leave release whatever lock of this user is there",
    "no-seq": "race 6: broadcasts carry no seq",
    "no-reason": "seat_released carries no reason",
    "crash-on-bad-payload": "race 7: bad socket payload ends the process; bad REST input and bad JWTs answer 500",
    "transaction-conflict-500": "race 8: concurrent checkouts of a seat: WriteConflict answers 500",
    "duplicate-email": "race 9: no unique email index",
    "event-grid-not-atomic": "race 9: event inserted, await, then its seat grid",
    "no-hold-cap": "race 9: no limit on seats locked per user",
    "trusts-total": "checkout stores the client's totalAmount unchecked",
    "no-error-codes": "error answers carry no stable code",
}
EXTRA_DEFECTS = {
    "racing-broadcasts": "broadcasts go out after an await of their own, in no fixed order",
}
FIXES = {name.strip() for name in os.environ.get("SEED_FIXES", "").split(",") if name.strip()}
FIXES = set(DEFECTS) if "all" in FIXES else FIXES
if FIXES - set(DEFECTS):
    sys.exit(f"seed_server: unknown SEED_FIXES {sorted(FIXES - set(DEFECTS))}; known: {', '.join(DEFECTS)}")

EXTRAS = {name.strip() for name in os.environ.get("SEED_DEFECTS", "").split(",") if name.strip()}
if EXTRAS - set(EXTRA_DEFECTS):
    sys.exit(f"seed_server: unknown SEED_DEFECTS {sorted(EXTRAS - set(EXTRA_DEFECTS))}; known: {', '.join(EXTRA_DEFECTS)}")

def defect(name):
    if name in EXTRA_DEFECTS:
        return name in EXTRAS
    assert name in DEFECTS, name
    return name not in FIXES

SECRET = os.environ.get("JWT_SECRET", "seed-secret-" + "x" * 32).encode()
LOCK_TTL = float(os.environ.get("LOCK_TTL", "600"))
REDIS_S, MONGO_S = float(os.environ.get("REDIS_MS", "1")) / 1000, float(os.environ.get("MONGO_MS", "3")) / 1000
JITTER = float(os.environ.get("JITTER", "0.5"))  # each round trip takes latency x uniform(1 - JITTER, 1 + JITTER), as networks do
_EXP = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?\s*", os.environ.get("JWT_EXPIRES_IN", "1d"))
JWT_TTL = float(_EXP[1]) * {None: 0.001, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}[_EXP[2]]
HOLD_CAP, LOGIN_WINDOW, BODY_LIMIT = 10, 900, 10 * 1024
LOGIN_LIMIT = int(os.environ.get("LOGIN_LIMIT", "10"))  # the seed's 10 per 15 minutes; a stand-in knob for repeated runs
HEADERS = {"Content-Security-Policy": "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
          "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';"
          "style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests", "Cross-Origin-Opener-Policy": "same-origin",
          "Cross-Origin-Resource-Policy": "same-origin", "Origin-Agent-Cluster": "?1", "Referrer-Policy": "no-referrer",
          "Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Content-Type-Options": "nosniff",
          "X-DNS-Prefetch-Control": "off", "X-Download-Options": "noopen", "X-Frame-Options": "SAMEORIGIN",
          "X-Permitted-Cross-Domain-Policies": "none", "X-XSS-Protection": "0",
          "Access-Control-Allow-Origin": os.environ.get("CLIENT_URL") or "*", "Access-Control-Allow-Credentials": "true"}
EMAIL = re.compile(r"(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}")  # Zod 4
MISSING = object()  # JavaScript's undefined

users, passwords, events, seats, bookings = {}, {}, {}, {}, []  # MongoDB collections (documents in wire form)
locks = {}            # Redis: key -> {"value": user id, "expires", "inst", "event", "seat", "fenced"}
inflight = []         # MongoDB transactions with staged seat writes
seqs, sockets, limits, tasks = {}, {}, {}, set()
_PREFIX, _COUNTER, _INSTANCE = secrets.token_hex(5), iter(range(secrets.randbelow(1 << 20), 1 << 24)), iter(range(1, 1 << 62))

class AppError(Exception):
    """The seed's operational error: answered with its status and message."""
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status

class Unhandled(Exception):
    """An error the seed's error handler does not know (bad input, MongoDB errors): 500 in the seed."""

def bad(seed_message, fixed_message, status=400):
    return Unhandled(seed_message) if defect("crash-on-bad-payload") else AppError(status, fixed_message)

def new_id():  # an ObjectId: 4-byte time, 5-byte process random, 3-byte counter
    return f"{int(time.time()):08x}{_PREFIX}{next(_COUNTER):06x}"

def iso(t=None):
    moment = datetime.fromtimestamp(time.time() if t is None else t, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

def now(): return asyncio.get_running_loop().time()
def latency(seconds): return seconds * random.uniform(1 - JITTER, 1 + JITTER)
async def redis_call(): await asyncio.sleep(latency(REDIS_S))
async def mongo_call(): await asyncio.sleep(latency(MONGO_S))

def spawn(coroutine):
    task = asyncio.ensure_future(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)

def jstype(value):
    if value is MISSING: return "undefined"
    if value is None: return "null"
    if isinstance(value, bool): return "boolean"
    if isinstance(value, (int, float)): return "number"
    return {str: "string", list: "array"}.get(type(value), "object")

def js(value):  # `${value}` in JavaScript, as the seed builds its Redis keys
    if value is None or value is MISSING: return "null" if value is None else "undefined"
    if isinstance(value, bool): return str(value).lower()
    if isinstance(value, float) and value.is_integer(): return str(int(value))
    if isinstance(value, list): return ",".join("" if item is None else js(item) for item in value)
    return "[object Object]" if isinstance(value, dict) else str(value)

def truthy(value): return value is not MISSING and value not in (None, False, 0, "")

def oid(value, model, path="_id"):  # Mongoose's cast to ObjectId
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{24}", value):
        return value.lower()
    raise bad(f'Cast to ObjectId failed for value "{js(value)}" (type {jstype(value)}) at path "{path}" for model "{model}"',
              f"Invalid {path}: {js(value)}.")

def cast_number(value, path, errors, low=None, high=None):
    if value is MISSING or value is None:
        return errors.append(f"{path}: Path `{path}` is required.")
    if isinstance(value, (bool, int, float)): number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", value): number = float(value)
    else: return errors.append(f'{path}: Cast to Number failed for value {json.dumps(value)} (type {jstype(value)}) at path "{path}"')
    number = int(number) if float(number).is_integer() else number
    if low is not None and number < low: errors.append(f"{path}: Path `{path}` ({number}) is less than minimum allowed value ({low}).")
    if high is not None and number > high: errors.append(f"{path}: Path `{path}` ({number}) is more than maximum allowed value ({high}).")
    return number

def cast_string(value, path, required, errors):  # Mongoose String with trim and a custom required message
    if isinstance(value, (dict, list)): return errors.append(f'{path}: Cast to string failed for value {json.dumps(value)} (type {jstype(value)}) at path "{path}"')
    text = "" if value is MISSING or value is None else js(value).strip()
    return text if text else errors.append(f"{path}: {required}")

def cast_date(value, errors):
    try:
        if value is MISSING or value is None: return errors.append("date: An event must have a date")
        if isinstance(value, bool) or isinstance(value, (dict, list)): raise ValueError
        if isinstance(value, (int, float)): return iso(value / 1000)
        moment = datetime.fromisoformat(value)
        return iso((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())
    except (ValueError, OverflowError, OSError):
        errors.append(f'date: Cast to date failed for value {json.dumps(value)} (type {jstype(value)}) at path "date"')

# ---- JWT (jsonwebtoken, HS256) ----
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def b64json(part): return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
def mac(text): return b64(hmac.new(SECRET, text.encode(), hashlib.sha256).digest())

def sign(user_id):
    iat = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps({"id": user_id, "iat": iat, "exp": math.floor(iat + JWT_TTL)}, separators=(",", ":")).encode())
    return f"{head}.{body}.{mac(f'{head}.{body}')}"

def verify(token):
    try:
        head, body, signature = token.split(".")
        header, payload = b64json(head), b64json(body)
        if header.get("alg") != "HS256" or not hmac.compare_digest(signature, mac(f"{head}.{body}")) or not isinstance(payload, dict):
            raise ValueError
    except Exception:
        raise bad("JsonWebTokenError: invalid token", "Invalid token. Please log in again!", 401)
    if isinstance(payload.get("exp"), (int, float)) and time.time() >= payload["exp"]:
        raise bad("TokenExpiredError: jwt expired", "Your token has expired! Please log in again.", 401)
    return payload

# ---- Redis: lock:event:<eventId>:seat:<seatId> = <user id>, NX, EX LOCK_TTL ----
def rkey(event_id, seat_id): return f"lock:event:{js(event_id)}:seat:{js(seat_id)}"

def rget(key):
    """The key at this instant: an expired key is gone."""
    entry = locks.get(key)
    if entry and entry["expires"] <= now():
        del locks[key]
        if not defect("release-broadcast-always"):
            broadcast(entry["event"], "seat_released", {"seatId": entry["seat"]}, "expired")
        return None
    return entry

async def active_expiry(key, entry):
    while locks.get(key) is entry and entry["expires"] != math.inf:
        if entry["expires"] <= now(): return rget(key)
        await asyncio.sleep(entry["expires"] - now() + 0.0005)

def owned(entry, user, inst=None):
    return bool(entry) and entry["value"] == user and not entry["fenced"] and inst in (None, entry["inst"])

def set_nx(event_id, seat_id, user):
    key = rkey(event_id, seat_id)
    if rget(key):
        return None
    if not defect("no-hold-cap") and sum(1 for k, e in list(locks.items()) if e["event"] == event_id and e["value"] == user and rget(k)) >= HOLD_CAP:
        raise AppError(409, f"You may hold at most {HOLD_CAP} seats of this event at a time.")
    locks[key] = {"value": user, "expires": now() + LOCK_TTL, "inst": next(_INSTANCE), "event": event_id, "seat": seat_id, "fenced": False}
    spawn(active_expiry(key, locks[key]))
    return locks[key]["inst"]

async def release_seat(event_id, seat_id, user, inst=None):
    """SeatService.releaseSeat: GET, and DEL if the caller holds the lock; True when it deleted."""
    key = rkey(event_id, seat_id)
    await redis_call()
    if not owned(rget(key), user, inst):
        return False
    if defect("release-get-del") and inst is None:
        await redis_call()  # race 1: the lock may have expired and been taken by now; DEL removes whatever is there
    locks.pop(key, None)
    return True

def broadcast(room, name, payload, reason=None):
    if reason and not defect("no-reason"):
        payload["reason"] = reason
    if not defect("no-seq"):
        seqs[room] = payload["seq"] = seqs.get(room, 0) + 1
    if defect("racing-broadcasts"):
        spawn(emit_after_await(name, payload, room))
    else:
        spawn(emit_in_order(name, payload, room))  # like io.to(room).emit: no await, order kept

ROOM_ORDER = {}  # room -> asyncio.Lock: one broadcast at a time, in the order they were made

async def emit_in_order(name, payload, room):
    """Node's io.to(room).emit writes to every socket before it returns, so broadcasts reach each
    client in the order they were made. python-socketio's emit awaits inside, and two spawned emits
    could interleave on a loaded machine (a run saw a release delivered after the lock that followed
    it): one at a time, FIFO, as the seed does."""
    lock = ROOM_ORDER.setdefault(room, asyncio.Lock())
    async with lock:
        await sio.emit(name, payload, room=room)

async def emit_after_await(name, payload, room):
    """racing-broadcasts: the emit waits for a round trip of its own first; broadcasts overtake one another."""
    await mongo_call()
    await sio.emit(name, payload, room=room)

# ---- REST ----
def reply(status, body=None):
    if status == 204:
        return web.Response(status=204)
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":"), ensure_ascii=False), content_type="application/json")

# The stable codes of SPEC.md PB-ERR-2 that a fixed variant adds (no-error-codes), by message start, then status.
ERROR_CODES = [("No event found", "event_not_found"), ("Can't find", "route_not_found"), ("Too many", "rate_limited"),
               ("Incorrect email", "invalid_credentials"), ("You are not logged in", "unauthenticated")]
STATUS_CODES = {400: "validation_failed", 401: "invalid_token", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "payload_too_large",
                429: "rate_limited", 500: "internal_error"}

def envelope(status, message):
    body = {"status": "fail" if status < 500 else "error", "message": message}
    if not defect("no-error-codes"):
        body["code"] = next((code for start, code in ERROR_CODES if message.startswith(start)), STATUS_CODES.get(status, "error"))
    return body

def error_reply(error):
    if isinstance(error, AppError):
        return reply(error.status, envelope(error.status, str(error)))
    if not isinstance(error, Unhandled):
        traceback.print_exc()
    return reply(500, envelope(500, "Something went wrong!"))

async def read_body(request):
    """express.json({limit: "10kb"}): JSON requests only (else req.body is undefined), object or array."""
    if request.content_type.lower() != "application/json" or not ("Content-Length" in request.headers or "Transfer-Encoding" in request.headers):
        return MISSING
    too_large = bad("PayloadTooLargeError: request entity too large", "request entity too large", 413)
    if (request.content_length or 0) > BODY_LIMIT:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large
    if len(raw) > BODY_LIMIT:
        raise too_large
    text = raw.decode("utf-8", "replace").strip()
    try:
        if text and text[0] not in "{[": raise ValueError(f"Unexpected token '{text[0]}'")
        return json.loads(text, parse_constant=lambda name: 1 / 0) if text else {}
    except (ValueError, ZeroDivisionError) as error:
        raise bad(f"SyntaxError: {error}", f"Invalid JSON body: {error}")

def validate(issues):  # middlewares/validate.js
    if issues and defect("crash-on-bad-payload"):
        raise Unhandled("TypeError: Cannot read properties of undefined (reading 'map')")  # Zod 4 has no error.errors
    if issues:
        raise AppError(400, "Validation Error: " + ". ".join(issues))

def zod_string(value, minimum, message):
    return [f"Invalid input: expected string, received {jstype(value)}"] if not isinstance(value, str) else [message] if len(value) < minimum else []

def zod_email(value):
    return zod_string(value, 0, "") or ([] if EMAIL.fullmatch(value) else ["Invalid email address"])

def auth_issues(body, signup):
    if not isinstance(body, dict):
        return [f"Invalid input: expected object, received {jstype(body)}"]
    issues = zod_string(body.get("name", MISSING), 2, "Name must be at least 2 characters") if signup else []
    issues += zod_email(body.get("email", MISSING))
    issues += zod_string(body.get("password", MISSING), 6 if signup else 1, "Password must be at least 6 characters" if signup else "Password is required")
    if signup and body.get("role", "user") not in ("user", "admin"):
        issues.append('Invalid option: expected one of "user"|"admin"')
    return issues

async def protect(request):
    header = request.headers.get("Authorization", "")
    token = (header.split(" ") + [""])[1] if header.startswith("Bearer") else ""
    if not token:
        raise AppError(401, "You are not logged in! Please log in to get access.")
    user_id = verify(token).get("id")
    await mongo_call()
    user = users.get(oid(user_id, "User")) if user_id is not None else None
    if not user:
        raise AppError(401, "The user belonging to this token no longer exists.")
    return user

async def admin(request):
    user = await protect(request)
    if user["role"] != "admin":
        raise AppError(403, "You do not have permission to perform this action")

def digest(password): return hashlib.sha256(password.encode()).hexdigest()

async def signup(request, body):
    validate(auth_issues(body, signup=True))
    stamp = iso()
    user = {"_id": new_id(), "name": body["name"], "email": body["email"].lower(), "role": "user", "createdAt": stamp, "updatedAt": stamp, "__v": 0}
    await mongo_call()  # User.create: insert (race 9: no check, no unique index)
    if not defect("duplicate-email") and any(other["email"] == user["email"] for other in users.values()):
        raise AppError(400, f'Duplicate field value: "{user["email"]}". Please use another value!')
    users[user["_id"]], passwords[user["_id"]] = user, digest(body["password"])
    return reply(201, {"status": "success", "token": sign(user["_id"]), "data": {"user": user}})

def rate_limit(request):  # express-rate-limit 8: max 10 per 15 min per IP, standardHeaders (draft-6), handler -> AppError 429
    moment, hits = time.time(), limits.get(request.remote)
    if not hits or hits[1] <= moment:
        hits = limits[request.remote] = [0, moment + LOGIN_WINDOW]
    hits[0] += 1
    reset = str(math.ceil(hits[1] - moment))
    request["headers"].update({"RateLimit-Policy": f"{LOGIN_LIMIT};w={LOGIN_WINDOW}", "RateLimit-Limit": str(LOGIN_LIMIT),
                               "RateLimit-Remaining": str(max(0, LOGIN_LIMIT - hits[0])), "RateLimit-Reset": reset})
    if hits[0] > LOGIN_LIMIT:
        request["headers"]["Retry-After"] = reset
        raise AppError(429, "Too many login attempts from this IP, please try again in 15 minutes!")

async def login(request, body):
    rate_limit(request)
    validate(auth_issues(body, signup=False))
    await mongo_call()  # User.findOne({email}).select("+password"): the first match
    user = next((user for user in users.values() if user["email"] == body["email"].lower()), None)
    if not user or passwords[user["_id"]] != digest(body["password"]):
        raise AppError(401, "Incorrect email or password")
    return reply(200, {"status": "success", "token": sign(user["_id"]), "data": {"user": user}})

async def list_events(request, body):
    await mongo_call()  # one aggregate: active events, availableSeats = seats whose stored status is available
    found = [dict(event, availableSeats=sum(1 for seat in seats.values() if seat["event"] == event["_id"] and seat["status"] == "available"))
             for event in events.values() if event["status"] == "active"]
    found.sort(key=lambda event: event["date"])
    return reply(200, {"status": "success", "results": len(found), "data": {"events": found}})

def event_fields(body, partial):
    """Mongoose's casts and validators of Event (creation) or of the fields a PATCH sets (runValidators)."""
    errors, fields, config = [], {}, body.get("venueConfig") if isinstance(body.get("venueConfig"), dict) else {}
    for name, required in (("title", "An event must have a title"), ("venue", "An event must have a venue name")):
        if not partial or name in body: fields[name] = cast_string(body.get(name, MISSING), name, required, errors)
    if not partial or "date" in body: fields["date"] = cast_date(body.get("date", MISSING), errors)
    if partial and "status" in body:
        fields["status"] = body["status"]
        if body["status"] not in ("draft", "active", "ended", "cancelled"):
            errors.append(f"status: `{js(body['status'])}` is not a valid enum value for path `status`.")
    if not partial:
        fields["venueConfig"] = {"rows": cast_number(config.get("rows", MISSING), "venueConfig.rows", errors, 1, 26),
                                 "cols": cast_number(config.get("cols", MISSING), "venueConfig.cols", errors, 1, 50),
                                 "price": cast_number(config.get("price", MISSING), "venueConfig.price", errors)}
    if errors:
        raise bad("ValidationError: Event validation failed: " + ", ".join(errors), "Event validation failed: " + ", ".join(errors))
    return fields

async def create_event(request, body):
    await admin(request)
    if not isinstance(body, dict):
        raise bad("TypeError: Cannot read properties of undefined (reading 'title')", "Event validation failed: the body must be an object")
    fields = event_fields(body, partial=False)
    rows, cols, price = (fields["venueConfig"][k] for k in ("rows", "cols", "price"))
    stamp = iso()
    event = {"_id": new_id(), "title": fields["title"], "venue": fields["venue"], "date": fields["date"], "status": "active",
             "venueConfig": fields["venueConfig"], "createdAt": stamp, "updatedAt": stamp, "__v": 0}
    grid = [{"_id": new_id(), "event": event["_id"], "row": chr(65 + r), "number": c, "label": f"{chr(65 + r)}{c}", "price": price,
             "status": "available", "lockedBy": None, "bookedBy": None} for r in range(math.ceil(rows)) for c in range(1, math.floor(cols) + 1)]
    await mongo_call()  # Event.create
    events[event["_id"]] = event
    if defect("event-grid-not-atomic"):
        await mongo_call()  # Seat.insertMany (race 9: meanwhile the event has no seats)
    seats.update((seat["_id"], seat) for seat in grid)
    return reply(201, {"status": "success", "data": {"event": event}})

async def get_event(request, body, event_id):
    event_id = oid(event_id, "Event")
    await mongo_call()
    if event_id not in events:
        raise AppError(404, "No event found with that ID")
    return reply(200, {"status": "success", "data": {"event": events[event_id]}})

async def update_event(request, body, event_id):
    await admin(request)
    if not isinstance(body, dict):
        raise bad("TypeError: Cannot read properties of undefined (reading 'venueConfig')", "Event validation failed: the body must be an object")
    if truthy(body.get("venueConfig", MISSING)):
        raise AppError(400, "Cannot update venue configuration (rows/cols) after event creation. Please delete and recreate the event if the layout changed.")
    event_id, changes = oid(event_id, "Event"), event_fields(body, partial=True)
    await mongo_call()  # findByIdAndUpdate(id, body, {new: true, runValidators: true})
    if event_id not in events:
        raise AppError(404, "No event found with that ID")
    events[event_id].update(changes, updatedAt=iso())
    return reply(200, {"status": "success", "data": {"event": events[event_id]}})

async def delete_event(request, body, event_id):
    await admin(request)
    event_id = oid(event_id, "Event")
    await mongo_call()  # Event.findById
    if event_id not in events:
        raise AppError(404, "No event found with that ID")
    await mongo_call()  # Seat.deleteMany (lock keys and bookings stay)
    for seat_id in [seat_id for seat_id, seat in seats.items() if seat["event"] == event_id]:
        del seats[seat_id]
    await mongo_call()  # Event.findByIdAndDelete
    events.pop(event_id, None)
    return reply(204)

async def seat_map(request, body, event_id):
    cast = oid(event_id, "Seat", "event")
    await mongo_call()  # Seat.find({event}).sort({row: 1, number: 1}).lean()
    found = sorted((dict(seat) for seat in seats.values() if seat["event"] == cast), key=lambda seat: (seat["row"], seat["number"]))
    if found:
        await redis_call()  # one MGET of every seat's lock key
        if not defect("no-seq"):  # a map a client can order against the broadcasts: seats and seq of one instant
            found = sorted((dict(seat) for seat in seats.values() if seat["event"] == cast), key=lambda seat: (seat["row"], seat["number"]))
        for seat, entry in [(seat, rget(rkey(event_id, seat["_id"]))) for seat in found]:
            if entry and (defect("locked-hides-booked") or seat["status"] != "booked"):
                seat.update(status="locked", isTemporarilyHeld=True, lockedBy=entry["value"])
    data = {"seats": found} if defect("no-seq") else {"seats": found, "seq": seqs.get(event_id, 0)}
    return reply(200, {"status": "success", "results": len(found), "data": data})

async def checkout(request, body, event_id):
    """seatController.bookSeats + SeatService.bookSeats, await by await."""
    user = (await protect(request))["_id"]
    seat_ids, total = (body.get("seatIds"), body.get("totalAmount", MISSING)) if isinstance(body, dict) else (MISSING, MISSING)
    if not truthy(seat_ids) or seat_ids in ([], ""):
        raise bad("ReferenceError: AppError is not defined", "No seats selected")
    if not isinstance(seat_ids, list):
        raise bad("TypeError: seatIds.map is not a function", "seatIds must be an array of seat ids")
    keys, tx = [rkey(event_id, seat_id) for seat_id in seat_ids], {"seats": set(), "sent": False, "fenced": []}
    try:
        await redis_call()  # Promise.all of one GET per seat
        if not all(owned(rget(key), user) for key in keys):
            raise AppError(400, "One or more seats have expired or are held by others.")
        if not defect("checkout-no-fence"):  # the fence: these locks can no longer expire, be released or be replaced
            tx["fenced"] = [(key, locks[key], locks[key]["expires"]) for key in dict.fromkeys(keys)]
            for key, entry, expires in tx["fenced"]:
                entry.update(fenced=True, expires=math.inf)
        ids = [oid(seat_id, "Seat") for seat_id in seat_ids]
        await mongo_call()  # Seat.updateMany({_id: {$in}, status: {$ne: booked}}, ..., {session})
        tx["sent"] = True
        if any(seat_id in other["seats"] for other in inflight for seat_id in ids):
            raise Unhandled("WriteConflict") if defect("transaction-conflict-500") else AppError(409, "One or more seats were already booked by another user.")
        tx["seats"] = {seat_id for seat_id in ids if seat_id in seats and seats[seat_id]["status"] != "booked"}
        inflight.append(tx)
        if len(tx["seats"]) != len(seat_ids):
            raise AppError(409, "One or more seats were already booked by another user.")
        errors, prices = [], sum(seats[seat_id]["price"] for seat_id in tx["seats"])
        amount = cast_number(total, "totalAmount", errors)
        if errors:
            raise bad("ValidationError: Booking validation failed: " + ", ".join(errors), "Booking validation failed: " + ", ".join(errors))
        if not defect("trusts-total") and abs(amount - prices) > 1e-9:
            raise AppError(400, f"totalAmount must equal the price of the seats ({prices}).")
        stamp = iso()
        booking = {"_id": new_id(), "event": oid(event_id, "Booking", "event"), "user": user, "seats": ids, "totalAmount": amount,
                   "status": "confirmed", "createdAt": stamp, "updatedAt": stamp, "__v": 0}
        await mongo_call()  # Booking.create([...], {session})
        await mongo_call()  # commitTransaction: the staged writes become visible
        for seat_id in tx["seats"]:
            seats[seat_id].update(status="booked", bookedBy=user, lockedBy=None)
        bookings.append(booking)
        inflight.remove(tx)
    except Exception:
        if tx["sent"]:
            await mongo_call()  # abortTransaction (the driver sends nothing when no command was sent)
        inflight[:] = [other for other in inflight if other is not tx]
        if tx["fenced"]:
            await redis_call()  # unfence
            for key, entry, expires in tx["fenced"]:
                if locks.get(key) is entry:
                    entry.update(fenced=False, expires=expires)
                    spawn(active_expiry(key, entry))
        raise
    await redis_call()  # DEL all lock keys (race 2: whoever holds them now)
    for key in keys:
        if defect("checkout-no-fence") or any(locks.get(key) is entry for _, entry, _ in tx["fenced"]):
            locks.pop(key, None)
    broadcast(event_id, "seats_booked", {"seatIds": seat_ids})
    return reply(201, {"status": "success", "data": {"booking": booking}})

async def my_bookings(request, body):
    await mongo_call()  # Booking.find({user}).sort({createdAt: -1})
    mine = [booking for booking in reversed(bookings) if booking["user"] == request["user"]["_id"]]
    await mongo_call()  # populate event (title date venue venueConfig.address) and seats (row number label price)
    mine = [dict(booking, event={key: events[booking["event"]][key] for key in ("_id", "title", "date", "venue")} if booking["event"] in events else None,
                 seats=[{key: seats[seat_id][key] for key in ("_id", "row", "number", "label", "price")} for seat_id in booking["seats"] if seat_id in seats])
            for booking in mine]
    return reply(200, {"status": "success", "results": len(mine), "data": {"bookings": mine}})

async def healthz(request, body): return reply(200, {"ok": True})  # the stand-in's own route

ROUTES = [(method, re.compile(path + "/?", re.I), handler) for method, path, handler in [
    ("GET", "/healthz", healthz), ("POST", "/api/v1/users/signup", signup), ("POST", "/api/v1/users/login", login),
    ("GET", "/api/v1/events/([^/]+)/seats", seat_map), ("POST", "/api/v1/events/([^/]+)/seats", checkout),
    ("GET", "/api/v1/events", list_events), ("POST", "/api/v1/events", create_event), ("GET", "/api/v1/events/([^/]+)", get_event),
    ("PATCH", "/api/v1/events/([^/]+)", update_event), ("DELETE", "/api/v1/events/([^/]+)", delete_event),
    ("GET", "/api/v1/bookings/me", my_bookings)]]

async def dispatch(request):
    """The Express app: helmet, cors, express.json, the routers, the 404 handler, the error handler."""
    if request.method == "OPTIONS":  # cors() answers every preflight
        return web.Response(status=204, headers=dict(HEADERS, **{"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
                            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", ""), "Vary": "Access-Control-Request-Headers"}))
    request["headers"] = dict(HEADERS)
    try:
        body, method = await read_body(request), "GET" if request.method == "HEAD" else request.method
        if re.match(r"/api/v1/bookings(/|$)", request.path, re.I):
            request["user"] = await protect(request)  # bookingRoutes: router.use(protect) before any route
        for route_method, pattern, handler in ROUTES:
            match = pattern.fullmatch(request.path)
            if match and route_method == method:
                response = await handler(request, body, *match.groups())
                break
        else:
            raise AppError(404, f"Can't find {request.raw_path} on this server!")
    except Exception as error:
        response = error_reply(error)
    response.headers.update(request["headers"])
    return response

# ---- Socket.IO (sockets/seatHandler.js, middlewares/socketAuth.js) ----
sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")

def payload(name, args, issues_of):
    """validateSocket(schema, handler): the data, or (None, message) when the schema rejects it."""
    data = args[0] if args else MISSING
    issues = issues_of(data)
    if issues and defect("crash-on-bad-payload"):
        print(f"UNHANDLED REJECTION! Shutting down... TypeError: Cannot read properties of undefined (reading 'map')"
              f" (invalid {name} payload: {', '.join(issues)})", file=sys.stderr, flush=True)
        os._exit(1)
    return (None, ", ".join(issues)) if issues else (data, None)

def lock_issues(data):
    if not isinstance(data, dict):
        return [f"Invalid input: expected object, received {jstype(data)}"]
    return zod_string(data.get("eventId", MISSING), 1, "Event ID is required") + zod_string(data.get("seatId", MISSING), 1, "Seat ID is required")

def room_issues(data): return zod_string(data, 1, "Event ID is required")

@sio.event
async def connect(sid, environ, auth=None):
    try:
        raw = (auth if isinstance(auth, dict) else {}).get("token")
        token = (raw.split(" ") + [None])[1] if raw is not None else None
        if not token:
            raise socketio.exceptions.ConnectionRefusedError("Authentication error: Token missing")
        user_id = verify(token).get("id")
        await mongo_call()  # User.findById(decoded.id).lean()
        user = users.get(oid(user_id, "User")) if user_id is not None else None
    except socketio.exceptions.ConnectionRefusedError:
        raise
    except Exception:
        raise socketio.exceptions.ConnectionRefusedError("Authentication error: Invalid token")
    if not user:
        raise socketio.exceptions.ConnectionRefusedError("Authentication error: User not found")
    sockets[sid] = {"user": user["_id"], "held": {}}  # held: (eventId, seatId) -> lock instance, like socket.data.heldSeats

@sio.on("join_event")
async def join_event(sid, *args):
    event_id, error = payload("join_event", args, room_issues)
    if error:
        return {"status": "error", "message": error}
    await sio.enter_room(sid, event_id)

async def release_held(state, always, reason="disconnected"):
    """releaseHeldSeats (leave_event) and the disconnect loop: every seat this socket tracks, of every event."""
    held = state["held"]
    for (event_id, seat_id), inst in list(held.items()):
        if (event_id, seat_id) in held:
            removed = await release_seat(event_id, seat_id, state["user"], None if defect("stale-timer") else inst)
            if removed or (always and defect("release-broadcast-always")):
                broadcast(event_id, "seat_released", {"seatId": seat_id}, reason)

@sio.on("leave_event")
async def leave_event(sid, *args):
    event_id, error = payload("leave_event", args, room_issues)
    if error:
        return {"status": "error", "message": error}
    state = sockets.get(sid)
    if state:
        await release_held(state, always=False)  # the seed broadcasts here only when the release happened
        state["held"].clear()
    await sio.leave_room(sid, event_id)

async def lock_seat(event_id, seat_id, user):
    """SeatService.lockSeat: event active and seat not booked in MongoDB, then SET NX EX."""
    event = oid(event_id, "Event")
    await mongo_call()  # Event.findById(eventId).select("status")
    if event not in events or events[event]["status"] != "active":
        raise AppError(400, "This event is not accepting bookings.")
    seat = oid(seat_id, "Seat")
    await mongo_call()  # Seat.findOne({_id: seatId, event: eventId})
    if seat not in seats or seats[seat]["event"] != event:
        raise AppError(404, "Seat not found")
    if seats[seat]["status"] == "booked":
        raise AppError(400, "Seat is already permanently booked")
    await redis_call()  # SET key user NX EX 600 (race 3: the seat may have been booked since the read)
    inst = set_nx(event_id, seat_id, user)
    if inst is None:
        raise AppError(409, "Seat is currently held by another user")
    if not defect("lock-reads-stale"):
        await mongo_call()  # re-read the seat now that the lock is ours
        if seats.get(seat, {}).get("status") == "booked":
            await redis_call()
            if owned(locks.get(rkey(event_id, seat_id)), user, inst):
                del locks[rkey(event_id, seat_id)]
            raise AppError(400, "Seat is already permanently booked")
    return inst

@sio.on("request_lock")
async def request_lock(sid, *args):
    data, error = payload("request_lock", args, lock_issues)
    if error:
        seat_id = args[0].get("seatId") if args and isinstance(args[0], dict) else None
        spawn(sio.emit("lock_failed", {"seatId": seat_id, "message": error}, to=sid))
        return {"status": "error", "message": error}
    state, event_id, seat_id = sockets.get(sid), data["eventId"], data["seatId"]
    if not state:
        return
    try:
        inst = await lock_seat(event_id, seat_id, state["user"])
    except Exception as failure:
        spawn(sio.emit("lock_failed", {"seatId": seat_id, "message": str(failure)}, to=sid))
        return
    state["held"][(event_id, seat_id)] = inst
    broadcast(event_id, "seat_locked", {"seatId": seat_id, "lockedBy": state["user"]})
    spawn(lock_timer(state, event_id, seat_id, inst))

async def lock_timer(state, event_id, seat_id, inst):
    """The seed's setTimeout(600000) after each lock: release if this socket still tracks the seat, then announce."""
    await asyncio.sleep(LOCK_TTL)
    key, held = (event_id, seat_id), state["held"]
    if key not in held or (not defect("stale-timer") and held[key] != inst):
        return
    removed = await release_seat(event_id, seat_id, state["user"], None if defect("stale-timer") else inst)
    if removed or defect("release-broadcast-always"):
        broadcast(event_id, "seat_released", {"seatId": seat_id}, "expired")
    if defect("stale-timer") or held.get(key) == inst:
        held.pop(key, None)

@sio.on("release_lock")
async def release_lock(sid, *args):
    data, error = payload("release_lock", args, lock_issues)
    state = sockets.get(sid)
    if error or not state:
        return {"status": "error", "message": error} if error else None
    if await release_seat(data["eventId"], data["seatId"], state["user"]):
        state["held"].pop((data["eventId"], data["seatId"]), None)
        broadcast(data["eventId"], "seat_released", {"seatId": data["seatId"]}, "released")

@sio.event
async def disconnect(sid, *args):
    state = sockets.pop(sid, None)
    if state:  # the socket has left its rooms already; heldSeats is not cleared (its timers still run)
        spawn(release_held(state, always=True))

def main():
    stamp, email = iso(), os.environ.get("ADMIN_EMAIL", "admin@seed.test").lower()
    user = {"_id": new_id(), "name": "Admin", "email": email, "role": "admin", "createdAt": stamp, "updatedAt": stamp, "__v": 0}
    users[user["_id"]], passwords[user["_id"]] = user, digest(os.environ.get("ADMIN_PASSWORD", "admin-password"))
    app = web.Application()
    sio.attach(app)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    web.run_app(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(sys.argv[1]), access_log=None, print=lambda *args: print("ready", flush=True))

if __name__ == "__main__":
    main()
