"""A stand-in for the seed's "Pulse Booking" server (shared/seed/SEED-BEHAVIOUR.md), built like it:
REST under /api/v1 with the seed's envelopes (no error codes) and Socket.IO 4 (python-socketio)
with the seed's events and payloads (no sequence numbers). State lives in memory. It exists so
that `pulse conform --profile socketio` is tested against a real Socket.IO server.

Usage: python seed_server.py PORT   (ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET from the environment)
"""
import asyncio, base64, hashlib, hmac, json, os, secrets, sys, time

import socketio
from aiohttp import web

SECRET = os.environ.get("JWT_SECRET", "seed-secret-" + "x" * 32).encode()
LOCK_TTL = int(os.environ.get("LOCK_TTL", "600"))
users, events, bookings = {}, {}, []
locks = {}          # (event_id, seat_id) -> (user_id, expires_at)
socket_seats = {}   # sid -> set of (event_id, seat_id)
socket_users = {}   # sid -> user id


def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(user_id):
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"id": user_id, "iat": now, "exp": now + 86400}).encode())
    return f"{head}.{body}." + b64(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())


def verify(token):
    head, body, signature = token.split(".")
    expected = b64(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        raise ValueError("invalid signature")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if payload["exp"] < time.time() or payload["id"] not in users:
        raise ValueError("expired or unknown user")
    return users[payload["id"]]


def fail(status, message):
    return web.json_response({"status": "fail", "message": message}, status=status)


def public(user): return {"id": user["id"], "name": user["name"], "email": user["email"], "role": user["role"]}


def add_user(name, email, password, role="user"):
    user = {"id": secrets.token_hex(12), "name": name, "email": email, "role": role,
            "password": hashlib.sha256(password.encode()).hexdigest()}
    users[user["id"]] = user
    return user


def current(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        return verify(header[7:])
    except Exception:
        return None


def live_lock(event_id, seat_id):
    held = locks.get((event_id, seat_id))
    if held and held[1] <= time.time():
        del locks[(event_id, seat_id)]
        return None
    return held


async def signup(request):
    body = await request.json()
    user = add_user(body["name"], body["email"], body["password"])
    return web.json_response({"status": "success", "token": sign(user["id"]), "data": {"user": public(user)}}, status=201)


async def login(request):
    body = await request.json()
    for user in users.values():
        if user["email"] == body.get("email") and user["password"] == hashlib.sha256(body.get("password", "").encode()).hexdigest():
            return web.json_response({"status": "success", "token": sign(user["id"]), "data": {"user": public(user)}})
    return fail(401, "Incorrect email or password")


async def my_bookings(request):
    user = current(request)
    if user is None:
        return fail(401, "You are not logged in! Please log in to get access.")
    mine = [booking for booking in reversed(bookings) if booking["user"] == user["id"]]
    return web.json_response({"status": "success", "results": len(mine), "data": {"bookings": mine}})


def event_view(event):
    booked = sum(1 for seat in event["seats"].values() if seat["status"] == "booked")
    return {"id": event["id"], "title": event["title"], "venue": event["venue"], "date": event["date"], "isActive": True,
            "venueConfig": event["venueConfig"], "totalSeats": len(event["seats"]), "availableSeats": len(event["seats"]) - booked}


async def list_events(request):
    items = [event_view(event) for event in events.values()]
    return web.json_response({"status": "success", "results": len(items), "data": {"events": items}})


async def create_event(request):
    user = current(request)
    if user is None:
        return fail(401, "You are not logged in! Please log in to get access.")
    if user["role"] != "admin":
        return fail(403, "You do not have permission to perform this action")
    body = await request.json()
    config = body["venueConfig"]
    event = {"id": secrets.token_hex(12), "title": body["title"], "venue": body["venue"], "date": body["date"], "venueConfig": config, "seats": {}}
    for row in range(config["rows"]):
        for col in range(1, config["cols"] + 1):
            label = f"{chr(65 + row)}{col}"
            event["seats"][label] = {"id": label, "label": label, "row": chr(65 + row), "number": col, "price": config["price"], "status": "available"}
    events[event["id"]] = event
    return web.json_response({"status": "success", "data": {"event": event_view(event)}}, status=201)


async def get_event(request):
    event = events.get(request.match_info["id"])
    if event is None:
        return fail(404, "No event found with that ID")
    return web.json_response({"status": "success", "data": {"event": event_view(event)}})


async def seat_map(request):
    event = events.get(request.match_info["id"])
    if event is None:
        return fail(404, "No event found with that ID")
    seats = []
    for seat in event["seats"].values():
        held = live_lock(event["id"], seat["id"])
        # Seed race 3: a lock hides "booked".
        seats.append(dict(seat, status="locked", lockedBy=held[0]) if held else dict(seat))
    return web.json_response({"status": "success", "results": len(seats), "data": {"seats": seats}})


async def checkout(request):
    user = current(request)
    if user is None:
        return fail(401, "You are not logged in! Please log in to get access.")
    event = events.get(request.match_info["id"])
    body = await request.json()
    seat_ids = body["seatIds"]
    if any((live_lock(event["id"], seat) or (None,))[0] != user["id"] for seat in seat_ids):
        return fail(400, "One or more seats have expired or are held by others.")
    if any(event["seats"][seat]["status"] == "booked" for seat in seat_ids):
        return fail(409, "One or more seats were already booked by another user.")
    for seat in seat_ids:
        event["seats"][seat]["status"] = "booked"
        locks.pop((event["id"], seat), None)
    booking = {"id": secrets.token_hex(12), "event": event["id"], "user": user["id"], "seats": seat_ids,
               "totalAmount": body.get("totalAmount", 0), "status": "confirmed"}
    bookings.append(booking)
    await sio.emit("seats_booked", {"seatIds": seat_ids}, room=event["id"])
    return web.json_response({"status": "success", "data": {"booking": booking}}, status=201)


sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")


@sio.event
async def connect(sid, environ, auth):
    token = (auth or {}).get("token", "")
    try:
        if not token.startswith("Bearer "):
            raise ValueError("no token")
        socket_users[sid] = verify(token[7:])["id"]
    except Exception as error:
        raise socketio.exceptions.ConnectionRefusedError(f"Authentication error: {error}")
    socket_seats[sid] = set()


@sio.event
async def join_event(sid, event_id):
    await sio.enter_room(sid, event_id)


@sio.event
async def request_lock(sid, data):
    event_id, seat_id = data["eventId"], data["seatId"]
    event = events.get(event_id)
    if event is None or event["seats"].get(seat_id, {}).get("status") != "available" or live_lock(event_id, seat_id):
        await sio.emit("lock_failed", {"seatId": seat_id, "message": "Seat is already locked or booked"}, to=sid)
        return
    locks[(event_id, seat_id)] = (socket_users[sid], time.time() + LOCK_TTL)
    socket_seats[sid].add((event_id, seat_id))
    asyncio.ensure_future(release_later(event_id, seat_id))
    await sio.emit("seat_locked", {"seatId": seat_id, "lockedBy": socket_users[sid]}, room=event_id)


async def release_later(event_id, seat_id):
    # The seed's in-process TTL timer. Seed races 4 and 5: it removes whatever lock is there by
    # then (a newer one too) and announces the seat free either way.
    await asyncio.sleep(LOCK_TTL)
    locks.pop((event_id, seat_id), None)
    await sio.emit("seat_released", {"seatId": seat_id}, room=event_id)


@sio.event
async def release_lock(sid, data):
    event_id, seat_id = data["eventId"], data["seatId"]
    held = live_lock(event_id, seat_id)  # GET ... then DEL (seed race 1)
    if held and held[0] == socket_users[sid]:
        locks.pop((event_id, seat_id), None)
        socket_seats[sid].discard((event_id, seat_id))
        await sio.emit("seat_released", {"seatId": seat_id}, room=event_id)


@sio.event
async def disconnect(sid, *args):
    # Seed race 4: released and broadcast whether or not the release happened.
    for event_id, seat_id in socket_seats.pop(sid, set()):
        locks.pop((event_id, seat_id), None)
        await sio.emit("seat_released", {"seatId": seat_id}, room=event_id)
    socket_users.pop(sid, None)


def main():
    add_user("Admin", os.environ.get("ADMIN_EMAIL", "admin@seed.test"), os.environ.get("ADMIN_PASSWORD", "admin-password"), role="admin")
    app = web.Application()
    sio.attach(app)
    app.add_routes([web.post("/api/v1/users/signup", signup), web.post("/api/v1/users/login", login),
                    web.get("/api/v1/events", list_events), web.post("/api/v1/events", create_event),
                    web.get("/api/v1/events/{id}", get_event), web.get("/api/v1/events/{id}/seats", seat_map),
                    web.post("/api/v1/events/{id}/seats", checkout), web.get("/api/v1/bookings/me", my_bookings), web.get("/healthz", lambda request: web.json_response({"ok": True}))])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *args: print("ready", flush=True))


if __name__ == "__main__":
    main()
