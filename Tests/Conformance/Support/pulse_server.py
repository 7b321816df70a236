"""The Pulse Booking Protocol, version 1: an independent second implementation (Python, aiohttp).

Written from SPEC.md alone, so that the conformance suite can be run against a server it was not
written next to. State lives in memory in one process. Every change of an event's hot state happens
inside one synchronous block (no await), which makes it atomic on the asyncio loop: the seq of a
change is assigned, logged and broadcast in the same block. The test-control profile (SPEC §14) is
always offered.

Usage: python pulse_server.py PORT   (listens on 127.0.0.1:PORT and prints "ready" when listening)
Environment: PULSE_DEFECT (one defect name below, or unset), HOLD_TTL_SECONDS (600),
MAX_HELD_SEATS (10), JWT_SECRET (a fixed 40-byte default), PULSE_AUTH_RATE_LIMIT (10),
PULSE_JWT_TTL (86400), PULSE_ADMIN_EMAIL and PULSE_ADMIN_PASSWORD (an admin made at start).

Decisions where SPEC.md is silent or open:
- A checkout freezes its holds (a 30 s lease) before it commits; a frozen hold may commit after its
  expiresAt within the lease, and its seats stay unavailable meanwhile. A checkout that starts at or
  after expiresAt gets 410 hold_expired even before a sweep ran.
- seatIds without holdId: a seat whose last hold was the caller's and lapsed (nobody held it since)
  is 410 hold_expired; a seat the caller never held, or someone else holds, is 409 hold_required.
- A hold granted with Pulse-Test-Hold-TTL: t has TTL t (extend seconds 1...t, lifetime grant + 3t).
- release_lock releases that one seat of the caller's hold; success has no direct reply (the
  seat_released broadcast answers); leave_event has no reply.
- A release decides at its compare-and-delete step: a hold that lapsed before it is 404
  hold_not_found. Pulse-Test-Stall before=ms stalls right before a request's first hot-store step,
  hot=ms right after it (a release after its read, a grant after its grant, a checkout after its
  freeze), commit=ms right before the booking is committed.
- Pulse-Test-Fault commit=fail writes nothing, commit=lost writes the booking; both answer 503
  store_unavailable (outcomeUnknown true, Retry-After 1) and leave the holds frozen. When the lease
  runs out a lost commit is finished (holds gone, seats_booked), a failed one released as expired. A
  retry with the same Idempotency-Key replays a lost commit's booking (finishing it at once) and
  takes over the frozen holds of a failed one.
- Partial checkout: seats of the hold outside seatIds stay held (same hold, same expiresAt).
- GET /api/v1/live without a valid token is 401; with one and no upgrade 426. A refused upgrade is
  an HTTP 401 with the error envelope.
- A malformed :holdId is 404 hold_not_found; a malformed event :id is 400 invalid_id (also for the
  eventId of a live message); a malformed booking :id is 400 invalid_id.
- A cancel's body is validated before the booking is looked up: a bad reason is 400 whatever the
  booking (unknown, another user's, already cancelled). A reason is kept as sent (not trimmed) and
  its length counts code points; "reason": null is no reason. On an already cancelled booking the
  reason sent is ignored.
- Pulse-Test-Stall on a cancel: before=ms stalls right before its atomic step, hot=ms right after
  it (before the 200); commit= and Pulse-Test-Fault do not apply to a cancel. Hot and durable state
  are one process's memory here, so a cancel never answers 503.
- Cancelling a booking whose checkout answer was lost while its lease runs (PB-CHECKOUT-7) first
  finishes the booking (holds gone, seats_booked), then cancels it (seats_released at the next seq),
  in one step. A cancelled booking's seats count as booked since for PB-CHECKOUT-3: a checkout of
  them without a new hold is 409 hold_required.
- POST /api/v1/test-control/token {"expiresInSeconds": n} (-86400...86400) gives the caller a token
  whose exp is now + n. A malformed test-control header or body is 400 validation_failed naming it.

Sections: configuration, utilities, tokens and passwords, state, hot-state operations, HTTP
plumbing, users, events and seat map, holds, checkout, cancellation, live protocol, test control and
operations, main.

Each defect is one realistic mistake, switched on by PULSE_DEFECT=<name> (an unknown name refuses
to start). Where a defect needs two requests to interleave, its code path awaits 5 ms where a real
server would await its store.

DEFECTS:
pb-rest-1-text-content-type: PB-REST-1: success bodies are sent with Content-Type text/plain instead of application/json
pb-rest-2-list-results-missing: PB-REST-2: list responses (events, seat map, holds, bookings) carry no "results" count
pb-rest-2-token-in-data: PB-REST-2: sign-up and log-in put "token" inside "data" instead of beside it
pb-rest-3-booking-id-uuid: PB-REST-3: booking ids are dashed UUIDs instead of 24 lower-case hex characters
pb-rest-3-hold-id-short: PB-REST-3: hold ids are 24 hex characters (96 bits) instead of 32
pb-rest-4-no-millis: PB-REST-4: instants (date, expiresAt, createdAt) are written without milliseconds
pb-rest-4-float-cents: PB-REST-4: totals are computed in floating point (3 x 0.1 = 0.30000000000000004), so totalAmount has more than two decimals and the exact amount is refused
pb-rest-6-non-object-accepted: PB-REST-6: a JSON body that is not an object (an array, a string) is read as {} and answered validation_failed instead of malformed_json
pb-rest-6-field-missing: PB-REST-6: validation_failed errors do not name the field
pb-rest-6-bool-as-number: PB-REST-6: true/false pass where an integer is required (Python's bool is an int): venueConfig.rows true makes a 1-row event
pb-rest-6-unknown-field-refused: PB-REST-6: unknown body fields are refused with validation_failed instead of ignored
pb-err-1-status-error-for-4xx: PB-ERR-1: every error envelope says "status":"error", 4xx included
pb-err-2-route-not-found-code: PB-ERR-2: an unknown route is answered with code not_found instead of route_not_found
pb-err-2-email-taken-400: PB-ERR-2: email_taken is sent with status 400 instead of 409
pb-err-3-nonstring-email-500: PB-ERR-3: a sign-up whose email is not a string crashes the handler: 500 instead of 400 validation_failed
pb-err-3-bad-utf8-500: PB-ERR-3: a body that is not valid UTF-8 is answered 500 instead of 400 malformed_json
pb-err-4-retry-after-missing: PB-ERR-4: a 503 store_unavailable carries no Retry-After header
pb-err-4-outcome-unknown-false: PB-ERR-4: a 503 store_unavailable says outcomeUnknown false (the server "knows" the write failed)
pb-user-1-email-case: PB-USER-1: emails are stored as typed, not lower-cased (the user's email keeps its capitals, a log-in in another case fails)
pb-user-1-password-bytes: PB-USER-1: the 72 limit counts UTF-8 bytes, not characters (a 40-character password of 76 bytes is refused)
pb-user-1-password-cut: PB-USER-1: only the first 72 bytes of a password count, as bcrypt alone reads them
pb-user-1-name-untrimmed: PB-USER-1: the name's length is checked before trimming (" a " passes)
pb-user-2-role-honoured: PB-USER-2: a role field in the sign-up body is honoured ("admin" makes an admin)
pb-user-3-check-then-insert: PB-USER-3: the email is checked, the password hashed (an await), then the user inserted with no unique index: two concurrent sign-ups with one email both get 201
pb-user-4-unknown-email-message: PB-USER-4: an unknown email is answered "No account with that email", unlike a wrong password
pb-user-5-hash-in-user: PB-USER-5: the user object of sign-up, log-in and me carries the password hash
pb-auth-1-missing-as-invalid-token: PB-AUTH-1: a request without Authorization is answered 401 invalid_token instead of unauthenticated
pb-auth-2-alg-none-accepted: PB-AUTH-2: a token whose header says alg "none" is accepted without a signature
pb-auth-2-malformed-500: PB-AUTH-2: a token that is not three dot-separated parts crashes the check: 500
pb-auth-2-exp-unchecked: PB-AUTH-2: a token's exp is never checked; expired tokens are accepted
pb-auth-2-expired-as-invalid: PB-AUTH-2: an expired token is answered invalid_token instead of token_expired
pb-auth-3-lifetime-1h: PB-AUTH-3: tokens live one hour (exp = iat + 3600) instead of 24 hours
pb-auth-3-sub-claim: PB-AUTH-3: the payload carries the user id as "sub" instead of "id"
pb-auth-4-patch-role-unchecked: PB-AUTH-4: PATCH /events/:id checks the token but not the admin role
pb-auth-4-forbidden-as-401: PB-AUTH-4: a non-admin on an admin route gets 401 instead of 403
pb-auth-5-env-admin-role-user: PB-AUTH-5: the account from PULSE_ADMIN_EMAIL/PASSWORD is created with role user
pb-auth-6-off-by-one: PB-AUTH-6: the limit refuses only the attempt after limit + 1 (11 attempts pass)
pb-auth-6-no-retry-after: PB-AUTH-6: 429 rate_limited carries no Retry-After header
pb-auth-6-shared-bucket: PB-AUTH-6: sign-up and log-in share one bucket instead of one per route
pb-event-1-total-seats-remaining: PB-EVENT-1: totalSeats reports the seats still available instead of rows x cols
pb-event-1-no-venueconfig: PB-EVENT-1: events are returned without venueConfig
pb-event-2-inactive-listed: PB-EVENT-2: inactive events are listed
pb-event-2-held-not-available: PB-EVENT-2: availableSeats also subtracts held seats
pb-event-2-unsorted: PB-EVENT-2: the list is in creation order, not sorted by date
pb-event-3-rows-27: PB-EVENT-3: rows is accepted up to 27 (off by one; the 27th row is lettered "[")
pb-event-3-price-3-decimals: PB-EVENT-3: a price with three decimals is accepted (and rounded)
pb-event-3-columns-from-zero: PB-EVENT-3: columns are numbered from 0 (A0, A1, ...)
pb-event-4-invalid-id-404: PB-EVENT-4: a malformed :id is answered 404 event_not_found instead of 400 invalid_id
pb-event-4-inactive-404: PB-EVENT-4: GET /events/:id of an inactive event is 404
pb-event-5-inactive-holds-allowed: PB-EVENT-5: an inactive event still grants holds
pb-event-5-inactive-checkout-allowed: PB-EVENT-5: an inactive event still books checkouts
pb-event-6-venueconfig-ignored: PB-EVENT-6: a venueConfig in a PATCH is silently ignored (200)
pb-event-7-seats-still-served: PB-EVENT-7: the seat map of a deleted event is still served
pb-event-7-bookings-dropped: PB-EVENT-7: deleting an event deletes its confirmed bookings from GET /bookings/me
pb-event-7-silent-delete: PB-EVENT-7: deleting an event drops its holds and tells its subscribers nothing
pb-event-7-released-per-seat: PB-EVENT-7: deleting an event releases each held seat (seat_released, reason released) instead of one event_deleted
pb-seat-1-lockedby-missing: PB-SEAT-1: locked seats carry no lockedBy
pb-seat-1-lockedby-on-available: PB-SEAT-1: available and booked seats carry "lockedBy": null
pb-seat-2-seq-read-early: PB-SEAT-2: the seat map reads seq, awaits, then reads the seats: map and seq are of two instants
pb-seat-2-column-major: PB-SEAT-2: the seats are listed column by column instead of row-major
pb-seat-2-cached-map: PB-SEAT-2: the seat map is served from a copy up to a second old (a read cache)
pb-seat-3-torn-hold: PB-SEAT-3: a multi-seat hold is written seat by seat (0.4 s between its first seat and the rest, as one store write per seat): meanwhile the seat map and a joining subscriber's snapshot show its first seat locked and the others available, though no one else can take them
pb-hold-1-checkout-without-hold: PB-HOLD-1: a checkout of free seats the caller never held books them
pb-hold-2-no-fence: PB-HOLD-2: the hold object has no fence
pb-hold-2-status-200: PB-HOLD-2: a granted hold is answered 200 instead of 201
pb-hold-3-duplicates-accepted: PB-HOLD-3: a seatIds list that repeats a seat is accepted
pb-hold-3-eleven-seats: PB-HOLD-3: a hold of 11 seats is accepted (off by one)
pb-hold-3-unknown-seat-409: PB-HOLD-3: seat ids that are not seats of the venue are answered 409 seat_unavailable instead of 422 seat_not_found
pb-hold-4-partial-grant: PB-HOLD-4: a hold with some unavailable seats grants the free ones (201) instead of nothing
pb-hold-4-own-seat-regrant: PB-HOLD-4: a seat the caller already holds can be held again (two live holds of one seat)
pb-hold-4-check-then-set: PB-HOLD-4: availability is checked, then (after an await) the hold set without re-checking: two concurrent holds of one seat both win
pb-hold-4-booked-holdable: PB-HOLD-4: a booked seat can be held
pb-hold-4-conflict-seatids-all: PB-HOLD-4: the 409's seatIds lists every requested seat, not the conflicting ones
pb-hold-5-cap-off-by-one: PB-HOLD-5: the cap refuses only beyond cap + 1 held seats
pb-hold-5-cap-counts-request-only: PB-HOLD-5: the cap counts the seats of the request, not the seats the user already holds
pb-hold-5-cap-race: PB-HOLD-5: the held count is read, then (after an await) the hold granted: concurrent holds exceed the cap
pb-hold-6-grace-second: PB-HOLD-6: holds stay live until one second after expiresAt (checkout, extend, release work; others cannot hold)
pb-hold-6-frozen-lapse: PB-HOLD-6: a checkout that froze its holds before expiresAt is refused 410 when it commits after it
pb-hold-6-frozen-hold-swept: PB-HOLD-6: the sweep expires a frozen hold at expiresAt: others can hold its seats during the checkout, which then fails
pb-hold-6-expiresat-off-by-one-second: PB-HOLD-6: expiresAt is reported one second later than the hold lapses
pb-hold-7-fence-reused: PB-HOLD-7: the fence is the count of live holds + 1, so a release lets the next grant reuse a fence
pb-hold-8-silent-expiry: PB-HOLD-8: the sweep drops lapsed holds without seq or seat_released
pb-hold-8-expired-reason-released: PB-HOLD-8: expiry is broadcast with reason released instead of expired
pb-hold-8-lazy-expiry: PB-HOLD-8: there is no sweep; a lapsed hold is expired (and announced) only when a request touches its event
pb-hold-9-past-lifetime-cap: PB-HOLD-9: an extension may move expiresAt past grant + 3 x TTL
pb-hold-9-shortens: PB-HOLD-9: an extension sets now + seconds even when that is earlier than expiresAt
pb-hold-9-lapsed-404: PB-HOLD-9: extending a lapsed hold is 404 hold_not_found instead of 410 hold_expired
pb-hold-9-broadcast: PB-HOLD-9: an extension is broadcast as seat_locked with new seqs
pb-hold-9-seconds-unbounded: PB-HOLD-9: seconds above the TTL are accepted
pb-hold-9-frozen-extend: PB-HOLD-9: a hold being checked out can be extended (200 instead of 409 checkout_in_progress)
pb-hold-9-other-user-extend: PB-HOLD-9: another user's hold can be extended
pb-hold-10-get-then-del: PB-HOLD-10: the release reads the hold, then deletes its seats by seat id: a release stalled past expiry removes a newer hold of the seat
pb-hold-10-decided-at-arrival: PB-HOLD-10: a release judges liveness by the time the request arrived: a hold that lapsed before the delete step (a before= or hot= stall) is still answered 204
pb-hold-10-other-user-release: PB-HOLD-10: another user's hold can be released
pb-hold-10-frozen-release: PB-HOLD-10: a hold being checked out can be released (204 instead of 409)
pb-hold-10-double-release-204: PB-HOLD-10: releasing an already released hold of the caller is 204 instead of 404
pb-hold-10-release-lost: PB-HOLD-10: the release of one hold in three (fence a multiple of 3) is answered 204 and never applied
pb-checkout-1-holdid-coverage-unchecked: PB-CHECKOUT-1: with holdId, seats held by another hold of the caller are accepted instead of 409 hold_required
pb-checkout-1-multi-hold: PB-CHECKOUT-1: without holdId only the hold of the first seat is used; seats of the caller's other holds get 409 hold_required
pb-checkout-2-no-broadcast: PB-CHECKOUT-2: a booking is not broadcast as seats_booked
pb-checkout-2-bookings-oldest-first: PB-CHECKOUT-2: GET /bookings/me lists oldest first
pb-checkout-2-holds-kept: PB-CHECKOUT-2: the booked seats stay in the hold after the booking (it can still be released or extended)
pb-checkout-2-missing-userid: PB-CHECKOUT-2: the booking has no userId
pb-checkout-3-lapsed-409: PB-CHECKOUT-3: the caller's lapsed hold is answered 409 hold_required instead of 410 hold_expired
pb-checkout-3-unknown-holdid-409: PB-CHECKOUT-3: an unknown holdId is answered 409 hold_required instead of 404 hold_not_found
pb-checkout-3-partial-coverage: PB-CHECKOUT-3: only the first seat is checked for a hold; the others are booked unheld
pb-checkout-3-others-lapse-410: PB-CHECKOUT-3: a seat whose last hold was another user's lapsed hold is 410 hold_expired instead of 409 hold_required
pb-checkout-3-lapsed-booked: PB-CHECKOUT-3: a seat whose caller's hold lapsed (and nobody took it) is booked instead of 410
pb-checkout-4-client-amount-trusted: PB-CHECKOUT-4: a client's totalAmount is taken as the price
pb-checkout-4-no-expected-amount: PB-CHECKOUT-4: amount_mismatch carries no expectedAmount
pb-checkout-4-price-per-booking: PB-CHECKOUT-4: the price is the event's price once, not seats x price
pb-checkout-5-no-fence: PB-CHECKOUT-5: the commit checks neither its lease nor the fence: a checkout stalled past its lease lands over a newer hold
pb-checkout-5-same-hold-twice: PB-CHECKOUT-5: the freeze is a read, an await, then a write, and the commit has no unique check: two concurrent checkouts of one hold both book
pb-checkout-5-superseded-code: PB-CHECKOUT-5: a commit refused by its fence is 410 hold_expired instead of 409 hold_superseded
pb-checkout-6-global-key: PB-CHECKOUT-6: idempotency keys are scoped globally: another user's checkout with the same key replays the first user's booking
pb-checkout-6-no-replay-header: PB-CHECKOUT-6: a replay carries no Idempotent-Replayed header
pb-checkout-6-reuse-unchecked: PB-CHECKOUT-6: a key reused for other seats replays the first booking instead of 422 idempotency_key_reused
pb-checkout-6-in-progress-race: PB-CHECKOUT-6: the key is recorded only when the booking commits: a retry while it commits gets 409 checkout_in_progress instead of idempotency_in_progress
pb-checkout-6-key-length-unchecked: PB-CHECKOUT-6: an Idempotency-Key of more than 128 characters is accepted
pb-checkout-7-lease-release-reason: PB-CHECKOUT-7: a checkout lease that runs out uncommitted releases its seats with reason released instead of expired
pb-checkout-7-holds-released-on-failure: PB-CHECKOUT-7: a failed commit releases its holds at once (reason released) instead of keeping them frozen until the lease decides
pb-checkout-7-lost-booking-released: PB-CHECKOUT-7: when the lease of a commit whose answer was lost runs out, its booked seats are announced seat_released (expired) instead of seats_booked
pb-checkout-8-any-user-cancels: PB-CHECKOUT-8: the cancel checks the token but not the booking's owner: any user can cancel any booking
pb-checkout-8-other-user-403: PB-CHECKOUT-8: another user's booking is answered 403 forbidden instead of 404 booking_not_found
pb-checkout-8-admin-own-only: PB-CHECKOUT-8: the booking is looked up among the caller's own bookings, admins included: an admin's cancel of a user's booking is 404
pb-checkout-8-deleted-event-404: PB-CHECKOUT-8: the cancel looks the booking's event up as every event route does: a booking of a deleted event is 404 event_not_found
pb-checkout-9-second-cancel-409: PB-CHECKOUT-9: cancelling an already cancelled booking is 409 (booking_not_confirmed) instead of 200
pb-checkout-9-rebroadcast: PB-CHECKOUT-9: a second cancel frees the seats again and broadcasts another seats_released (a new seq)
pb-checkout-9-overwrites: PB-CHECKOUT-9: a second cancel writes the booking again: a new cancelledAt, and its reason (or none) replaces the first
pb-checkout-10-no-broadcast: PB-CHECKOUT-10: a cancel frees the seats but takes no seq and broadcasts nothing
pb-checkout-10-seats-stay-booked: PB-CHECKOUT-10: a cancel marks the booking cancelled and broadcasts seats_released but keeps its seat claims: the seats stay booked
pb-checkout-10-broadcast-before-free: PB-CHECKOUT-10: seats_released takes its seq and is broadcast, then (after an await, and a hot= stall) the seats are freed: a hold in between is 409 seat_unavailable
pb-checkout-10-released-per-seat: PB-CHECKOUT-10: a cancel is broadcast as one seat_released (reason cancelled) per seat instead of one seats_released
pb-checkout-10-reason-released: PB-CHECKOUT-10: seats_released says reason released instead of cancelled
pb-checkout-11-vanishes-from-list: PB-CHECKOUT-11: GET /bookings/me lists confirmed bookings only: a cancelled booking disappears
pb-checkout-11-available-not-restored: PB-CHECKOUT-11: availableSeats is a count that bookings lower and cancels never raise
pb-checkout-11-claim-kept: PB-CHECKOUT-11: the durable claim of a cancelled booking's seats stays (the unique index ignores status): the seats show available and can be held, but a checkout of them is refused 409 hold_superseded
pb-checkout-12-no-cutoff: PB-CHECKOUT-12: the owner can cancel a booking after the event's date has come (200 instead of 409 cancellation_closed)
pb-checkout-12-admin-cutoff: PB-CHECKOUT-12: the cut-off applies to admins too: an admin's cancel after the event's date is 409 cancellation_closed
pb-checkout-11-replay-rebooks: PB-CHECKOUT-11: a cancel frees the booking's Idempotency-Key: a retry with it runs as a new checkout (409 hold_required, or a new booking when the caller holds the seats again)
pb-live-1-query-token-ignored: PB-LIVE-1: the ?token= query parameter is ignored (browsers cannot connect: 401)
pb-live-1-expired-token-accepted: PB-LIVE-1: the live endpoint does not check exp: an expired token upgrades
pb-live-1-plain-get-400: PB-LIVE-1: a plain GET of the live endpoint is 400 instead of 426 upgrade_required
pb-live-2-batched-frames: PB-LIVE-2: the seat_locked messages of a multi-seat hold are sent in one frame, newline-separated
pb-live-3-release-lock-whole-hold: PB-LIVE-3: release_lock releases every seat of the hold, not only the seat named
pb-live-3-leave-keeps-holds: PB-LIVE-3: leave_event keeps the holds the connection acquired
pb-live-3-leave-releases-rest-holds: PB-LIVE-3: leave_event also releases the caller's REST holds of the event
pb-live-4-lock-acquired-no-hold: PB-LIVE-4: lock_acquired carries no hold
pb-live-4-snapshot-no-seq: PB-LIVE-4: the snapshot carries no seq
pb-live-4-joined-before-replay: PB-LIVE-4: joined is sent before the replayed changes
pb-live-5-seq-race: PB-LIVE-5: a REST grant reads seq, awaits, then writes it: concurrent grants share seqs
pb-live-5-empty-release-broadcast: PB-LIVE-5: release_lock of a seat the caller does not hold still broadcasts seat_released
pb-live-5-hold-one-seq: PB-LIVE-5: the seats of one hold share one seq
pb-live-5-booking-per-seat: PB-LIVE-5: a booking is broadcast as one seats_booked per seat
pb-live-5-expiry-seq-gap: PB-LIVE-5: an expiry bumps seq once more than it announces, leaving a gap
pb-live-6-disconnect-reason-released: PB-LIVE-6: holds released by a closed connection are announced with reason released
pb-live-6-leave-reason-disconnected: PB-LIVE-6: holds released by leave_event are announced with reason disconnected
pb-live-7-subscribe-after-snapshot: PB-LIVE-7: the snapshot is sent, then (after an await) the connection subscribed: changes in between are never delivered
pb-live-7-subscribe-before-snapshot: PB-LIVE-7: the connection is subscribed, then (after an await) the snapshot sent: changes arrive before it and again in it
pb-live-7-sender-excluded: PB-LIVE-7: changes made by a connection's own request_lock/release_lock are not sent to it
pb-live-7-send-tasks: PB-LIVE-7: every message is sent by its own task, so messages overtake one another
pb-live-8-resync-skips-one: PB-LIVE-8: the replay starts at sinceSeq + 2, skipping one change
pb-live-8-resync-includes-since: PB-LIVE-8: the replay starts at sinceSeq itself, repeating one change
pb-live-8-too-old-partial: PB-LIVE-8: a sinceSeq older than the change log gets what the log still has, then joined, instead of a snapshot
pb-live-8-future-since-joined: PB-LIVE-8: a sinceSeq above the current seq is answered joined instead of a snapshot
pb-live-8-joined-seq-since: PB-LIVE-8: joined carries the client's sinceSeq instead of the seq reached
pb-live-9-malformed-closes: PB-LIVE-9: a frame that is not JSON closes the connection (1011)
pb-live-9-unknown-type-ignored: PB-LIVE-9: an unknown type is silently ignored
pb-live-9-missing-field-code: PB-LIVE-9: a missing or mistyped field is answered malformed_json instead of validation_failed
pb-live-9-lock-failed-as-error: PB-LIVE-9: a failed request_lock is answered with error instead of lock_failed
pb-live-10-drop-when-full: PB-LIVE-10: a full outbox silently drops messages instead of closing with slow_consumer
pb-live-10-close-code: PB-LIVE-10: a slow consumer is closed with 1011 instead of 1008
pb-live-11-disconnect-keeps-holds: PB-LIVE-11: a closed connection's request_lock holds are kept
pb-live-11-rest-holds-released: PB-LIVE-11: a closed connection also releases its user's REST holds in the events it joined
pb-limit-1-limit-100k: PB-LIMIT-1: the body limit is 100 KiB instead of 10 KiB
pb-limit-1-status-400: PB-LIMIT-1: an oversized body is 400 malformed_json instead of 413 payload_too_large
pb-limit-2-checkout-size-unchecked: PB-LIMIT-2: checkout seatIds is not bounded: an empty list books nothing with 201
pb-limit-2-lifetime-4x: PB-LIMIT-2: the hold lifetime cap is 4 x TTL instead of 3 x TTL
pb-limit-3-frame-limit-1mib: PB-LIMIT-3: live frames up to 1 MiB are read instead of closing with 1009 above 16 KiB
pb-limit-3-subscriptions-unbounded: PB-LIMIT-3: a connection may join more than 16 events
pb-sec-1-headers-missing-on-errors: PB-SEC-1: the security headers are sent on successful responses only
pb-sec-2-empty-secret: PB-SEC-2: the configured secret is not used: tokens are signed with an empty key (forgeable)
pb-hold-11-lists-other-users: PB-HOLD-11: GET /events/:id/holds lists every user's holds, hold ids included
pb-hold-11-no-list-route: PB-HOLD-11: the optional GET /events/:id/holds does not exist (404 route_not_found); MUST cases may not fail for it
pb-user-6-no-me-route: PB-USER-6: the optional GET /users/me does not exist (404 route_not_found); MUST cases may not fail for it
pb-ops-1-healthz-missing: PB-OPS-1: GET /healthz is 404
pb-ops-3-readyz-missing: PB-OPS-3: GET /readyz is 404
pb-event-8-past-event-open: PB-EVENT-8: an event whose date has passed still takes holds and checkouts
pb-err-2-405-without-allow: PB-ERR-2: a method the path does not have is 405 without an Allow header
pb-test-2-admin-token-user-role: PB-TEST-2: the test-control admin account has role user
pb-test-2-new-admin-each-call: PB-TEST-2: every admin-token call creates another admin account
pb-test-3-ttl-header-ignored: PB-TEST-3: Pulse-Test-Hold-TTL is ignored; holds get the server's TTL
pb-test-3-extend-server-ttl: PB-TEST-3: an extension bounds seconds and the lifetime by the server's TTL, not the hold's
pb-test-3-range-unchecked: PB-TEST-3: Pulse-Test-Hold-TTL outside 1...3600 (0, 3601) is accepted
pb-test-4-header-ignored: PB-TEST-4: Pulse-Test-Client is ignored; sign-ups are limited by address
pb-test-4-length-unchecked: PB-TEST-4: a Pulse-Test-Client longer than 64 characters is accepted
pb-test-5-stall-ignored: PB-TEST-5: Pulse-Test-Stall is parsed but never stalls
pb-test-5-hot-stall-before-freeze: PB-TEST-5: a checkout's hot stall comes before it freezes its holds, not after
pb-test-5-malformed-ignored: PB-TEST-5: a malformed Pulse-Test-Stall is ignored instead of 400 validation_failed
pb-test-5-before-stall-after-freeze: PB-TEST-5: a checkout's before stall comes after it froze its holds, so a checkout stalled past expiresAt still books
pb-test-6-exp-ignored: PB-TEST-6: the test-control token ignores expiresInSeconds and lives the usual 24 hours
pb-test-6-positive-only: PB-TEST-6: a negative expiresInSeconds is refused with 400 instead of giving an expired token
pb-test-7-fault-ignored: PB-TEST-7: Pulse-Test-Fault is validated but ignored: the checkout books and answers 201
pb-test-7-lost-not-written: PB-TEST-7: commit=lost writes nothing, like commit=fail (no booking exists, a retry books anew)
pb-test-8-lease-ignored: PB-TEST-8: Pulse-Test-Lease is validated but the checkout keeps the 30 s lease
pb-checkout-10-frees-owners-seats: PB-CHECKOUT-10: a cancel frees (and announces) the claims it finds by event and owner: every seat of the owner's confirmed bookings in the event, not the booking's alone
pb-event-7-stale-hold-granted: PB-EVENT-7: a hold checks the event when it arrives, not in its hot-store step: a hold stalled across the deletion is granted (201) on the deleted event
pb-event-7-listed-after-delete: PB-EVENT-7: the events list does not filter deleted events: a deleted event is still listed
pb-event-7-delete-twice-204: PB-EVENT-7: DELETE is idempotent: deleting a deleted event answers 204 again instead of 404 event_not_found
pb-event-7-bookings-cancelled: PB-EVENT-7: deleting an event cancels its confirmed bookings (they stay in bookings/me, status cancelled)
pb-checkout-6-key-ignores-event: PB-CHECKOUT-6: an Idempotency-Key's record compares the seat ids only: the same key and seats in another event replay the first event's booking
pb-checkout-3-lapsed-wins: PB-CHECKOUT-3: without holdId, one seat of the caller's lapsed hold makes the answer 410 hold_expired even when another seat was never the caller's (409 hold_required)
pb-checkout-12-cutoff-before-replay: PB-CHECKOUT-12: the cut-off is checked before whether the booking is already cancelled: after the date the owner's repeated cancel is 409 cancellation_closed instead of 200
pb-checkout-12-deleted-event-closed: PB-CHECKOUT-12: the cut-off applies to a deleted event's bookings too: their owner's cancel after the date is 409 cancellation_closed
pb-hold-5-cap-across-events: PB-HOLD-5: the cap counts the user's held seats in every event, not per event
pb-event-5-join-refused: PB-EVENT-5: joining an inactive event is refused (error event_inactive): its live stream is not readable
pb-event-5-inactive-lock-allowed: PB-EVENT-5: request_lock does not check isActive: an inactive event's seats are locked over the socket
pb-event-8-join-refused: PB-EVENT-8: joining an event whose date has come is refused (error event_inactive): its live stream is not readable
pb-event-8-past-lock-allowed: PB-EVENT-8: request_lock checks isActive but not the date: a past event's seats are locked over the socket
pb-hold-2-lock-acquired-broadcast: PB-HOLD-2: lock_acquired (with the hold and its id) is sent to every subscriber of the event, not to the caller alone
pb-hold-2-hold-id-in-seat-locked: PB-HOLD-2: seat_locked carries the hold's id (holdId) to every subscriber
pb-live-11-release-by-seat: PB-LIVE-11: a closing connection releases the seats it once locked, by seat id, whoever holds them now (the seed's way)
pb-live-3-leave-releases-every-event: PB-LIVE-3: leave_event releases the connection's holds in every event it joined, not only in the event it leaves

"""
import asyncio
import base64
import contextvars
import binascii
import collections
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import random
import re
import secrets
import signal
import sys
import time
import traceback
import uuid

from aiohttp import WSMsgType, web

# ================================================================================ configuration


def _defect_names():
    block = (__doc__ or "").split("\nDEFECTS:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split(":", 1)[0].strip() for line in block.splitlines() if line.strip()]


DEFECT_NAMES = _defect_names()
DEFECT = os.environ.get("PULSE_DEFECT") or None


def bug(name):
    """True when the defect `name` is switched on."""
    return DEFECT == name


def env_int(names, default):
    for name in names:
        if os.environ.get(name):
            return int(os.environ[name])
    return default


HOLD_TTL = env_int(("HOLD_TTL_SECONDS", "PULSE_HOLD_TTL"), 600)
MAX_HELD = env_int(("MAX_HELD_SEATS", "PULSE_MAX_HELD_SEATS"), 10)
AUTH_RATE_LIMIT = env_int(("PULSE_AUTH_RATE_LIMIT",), 10)
JWT_TTL = env_int(("PULSE_JWT_TTL",), 86400)
SECRET = (os.environ.get("JWT_SECRET") or os.environ.get("PULSE_JWT_SECRET")
          or "pulse-second-implementation-secret-4096!").encode()

MAX_BODY = 100 * 1024 if bug("pb-limit-1-limit-100k") else 10 * 1024
MAX_FRAME = 1024 * 1024 if bug("pb-limit-3-frame-limit-1mib") else 16 * 1024
MAX_SUBSCRIPTIONS = 16
OUTBOX_LIMIT = 4096
LOG_KEEP = 1024
LEASE_MS = 30_000
SWEEP_EVERY = 0.1
RATE_WINDOW = 15 * 60
SEATS_PER_HOLD = 10
PASSWORD_ROUNDS = 10_000
TEST_HEADERS = ["Pulse-Test-Hold-TTL", "Pulse-Test-Client", "Pulse-Test-Stall", "Pulse-Test-Fault", "Pulse-Test-Lease"]
# The checkout lease of the request in progress (PB-TEST-8's Pulse-Test-Lease, else LEASE_MS).
REQUEST_LEASE_MS = contextvars.ContextVar("lease_ms", default=None)

HEX24 = re.compile(r"[0-9a-f]{24}")
HEX32 = re.compile(r"[0-9a-f]{32}")
HOLD_ID = HEX24 if bug("pb-rest-3-hold-id-short") else HEX32
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                     r"(Z|z|[+-]\d{2}:?\d{2})?)?")

# ================================================================================ utilities


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    stamp = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc)
    if bug("pb-rest-4-no-millis"):
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_date(text):
    """An ISO 8601 date or date-time as epoch milliseconds, or None."""
    match = DATE_RE.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = dt.timezone.utc
        if zone and zone not in "Zz":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((fraction or "0").ljust(6, "0")[:6])
        stamp = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                            int(second or 0), micro, tzinfo=tz)
    except ValueError:
        return None
    return int(stamp.timestamp() * 1000)


def require_open(ev, inactive_defect, past_defects=("pb-event-8-past-event-open",)):
    """PB-EVENT-5 and PB-EVENT-8: an inactive event, or one whose date has come, takes no holds or checkouts."""
    if not ev.active and not bug(inactive_defect):
        raise ApiError(409, "event_inactive", "This event is closed for booking")
    if ev.date <= now_ms() and not any(bug(name) for name in past_defects):
        raise ApiError(409, "event_inactive", "This event has already taken place")


def money(cents):
    return cents // 100 if cents % 100 == 0 else cents / 100


def is_int(value):
    if isinstance(value, bool):
        return bug("pb-rest-6-bool-as-number")
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_number(value):
    if isinstance(value, bool):
        return bug("pb-rest-6-bool-as-number")
    return isinstance(value, (int, float)) and math.isfinite(value)


def two_decimals(value):
    return abs(value * 100 - round(value * 100)) < 1e-6


class ApiError(Exception):
    """An error envelope (PB-ERR-1), raised anywhere and answered by the middleware."""

    def __init__(self, status, code, message, headers=None, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.details = status, code, message, headers, details

    def body(self):
        status = "error" if self.status >= 500 or bug("pb-err-1-status-error-for-4xx") else "fail"
        return {"status": status, "code": self.code, "message": self.message, **self.details}

    def response(self):
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def invalid(field, message=None):
    details = {} if bug("pb-rest-6-field-missing") else {"field": field}
    return ApiError(400, "validation_failed", message or f"Invalid value for {field}", **details)


def malformed():
    return ApiError(400, "malformed_json", "The body must be a JSON object")


def hold_not_found():
    return ApiError(404, "hold_not_found", "No hold of yours with that id")


def respond(body, status=200, headers=None):
    content_type = "text/plain" if bug("pb-rest-1-text-content-type") else "application/json"
    return web.Response(text=json.dumps(body), status=status, content_type=content_type, headers=headers)


def success(data, status=200, headers=None, results=None, token=None):
    body = {"status": "success"}
    if results is not None and not bug("pb-rest-2-list-results-missing"):
        body["results"] = results
    if token is not None:
        if bug("pb-rest-2-token-in-data"):
            data = {"token": token, **data}
        else:
            body["token"] = token
    body["data"] = data
    return respond(body, status, headers)

# ================================================================================ tokens and passwords


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(signing_input):
    return hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest()


def sign_token(user_id, lifetime=None):
    now = int(time.time())
    if lifetime is None:
        lifetime = 3600 if bug("pb-auth-3-lifetime-1h") else JWT_TTL
    claim = "sub" if bug("pb-auth-3-sub-claim") else "id"
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({claim: user_id, "iat": now, "exp": now + lifetime}).encode())
    return f"{head}.{body}.{b64url(signature(f'{head}.{body}'))}"


def verify_token(token, check_exp=True):
    """The user a token names (PB-AUTH-2), or an ApiError 401."""
    bad = ApiError(401, "invalid_token", "Invalid token. Please log in again!")
    parts = token.split(".")
    if len(parts) != 3:
        if bug("pb-auth-2-malformed-500"):
            raise RuntimeError("jwt malformed")
        raise bad
    try:
        header, payload, sig = json.loads(unb64url(parts[0])), json.loads(unb64url(parts[1])), unb64url(parts[2])
    except (ValueError, binascii.Error, RecursionError):
        raise bad from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise bad
    alg = header.get("alg")
    if not (alg == "none" and bug("pb-auth-2-alg-none-accepted")):
        if alg != "HS256" or not hmac.compare_digest(sig, signature(f"{parts[0]}.{parts[1]}")):
            raise bad
    exp = payload.get("exp")
    if not is_number(exp):
        raise bad
    if check_exp and not bug("pb-auth-2-exp-unchecked") and time.time() >= exp:
        if bug("pb-auth-2-expired-as-invalid"):
            raise bad
        raise ApiError(401, "token_expired", "Your token has expired! Please log in again.")
    user_id = payload.get("sub" if bug("pb-auth-3-sub-claim") else "id")
    user = USERS.get(user_id) if isinstance(user_id, str) else None
    if user is None:
        raise bad
    return user


def hash_password_sync(password, salt=None):
    salt = salt or secrets.token_bytes(16)
    data = password.encode()[:72] if bug("pb-user-1-password-cut") else password.encode()
    digest = hashlib.pbkdf2_hmac("sha256", data, salt, PASSWORD_ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def check_password_sync(password, stored):
    salt = bytes.fromhex(stored.split("$", 1)[0])
    return hmac.compare_digest(hash_password_sync(password, salt), stored)

# ================================================================================ state


class Event:
    def __init__(self, title, venue, date_ms, description, rows, cols, price_cents):
        self.id = secrets.token_hex(12)
        self.title, self.venue, self.date, self.description = title, venue, date_ms, description
        self.active, self.deleted = True, False
        self.rows, self.cols, self.price_cents = rows, cols, price_cents
        first = 0 if bug("pb-event-3-columns-from-zero") else 1
        self.grid = [(chr(65 + r), c) for r in range(rows) for c in range(first, first + cols)]
        self.seat_ids = [f"{row}{number}" for row, number in self.grid]
        self.seat_set = set(self.seat_ids)
        # hot state
        self.seq = 0
        self.fence = 0
        self.holds = {}        # hold id -> Hold (live or frozen)
        self.seat_hold = {}    # seat -> hold id
        self.last = {}         # seat -> (user id, how its last hold ended: None while live)
        self.floor = {}        # seat -> highest fence granted (the durable fence floor)
        self.log = collections.deque(maxlen=LOG_KEEP)
        self.subs = set()
        # durable state
        self.booked = {}       # seat -> booking id (the unique claim per seat)
        self.stale_claims = set()  # seats whose cancelled booking's claim stays (pb-checkout-11-claim-kept only)


class Hold:
    def __init__(self, event_id, user_id, seats, ttl, fence, conn):
        now = now_ms()
        self.id = secrets.token_hex(12 if bug("pb-rest-3-hold-id-short") else 16)
        self.event_id, self.user_id, self.seats = event_id, user_id, list(seats)
        self.granted, self.expires, self.ttl, self.fence, self.conn = now, now + ttl * 1000, ttl, fence, conn
        self.state = "live"     # live, released, expired, booked
        self.frozen_by = None   # the checkout that froze it
        self.lease_until = 0
        self.orphaned = False   # its connection closed while it was frozen
        self.unwritten = set()  # pb-seat-3-torn-hold: seats held but not yet shown


USERS = {}         # id -> user dict
EMAILS = {}        # email -> user id
EVENTS = {}        # id -> Event
HOLDS = {}         # id -> Hold, every hold ever granted
BOOKINGS = []      # booking dicts, oldest first
IDEMPOTENCY = {}   # (user id, key) -> {"eventId", "seats", "booking"}
PENDING = {}       # checkout token -> {"booking": dict or None, "scope"}: commits whose store answer failed
RATE = {}          # (route, client) -> deque of attempt times
CONNECTIONS = set()
METRICS = collections.Counter()
HTTP_STATS = collections.defaultdict(lambda: [0, 0.0])
TEST_ADMIN = {}


def public_user(user):
    shown = {key: user[key] for key in ("id", "name", "email", "role")}
    if bug("pb-user-5-hash-in-user"):
        shown["password"] = user["password"]
    return shown


def create_user(name, email, password_hash, role="user"):
    user = {"id": secrets.token_hex(12), "name": name, "email": email, "role": role, "password": password_hash}
    USERS[user["id"]] = user
    EMAILS[email] = user["id"]
    return user


def event_json(ev):
    total = ev.rows * ev.cols
    available = total - len(ev.booked)
    if bug("pb-checkout-11-available-not-restored"):
        available = max(0, available - sum(len(b["seatIds"]) for b in BOOKINGS
                                           if b["eventId"] == ev.id and b["status"] == "cancelled"))
    if bug("pb-event-2-held-not-available"):
        available -= len([s for s in ev.seat_hold if s not in ev.booked])
    if bug("pb-event-1-total-seats-remaining"):
        total = available
    shown = {"id": ev.id, "title": ev.title, "venue": ev.venue, "date": iso(ev.date), "isActive": ev.active,
             "venueConfig": {"rows": ev.rows, "cols": ev.cols, "price": money(ev.price_cents)},
             "totalSeats": total, "availableSeats": available}
    if ev.description is not None:
        shown["description"] = ev.description
    if bug("pb-event-1-no-venueconfig"):
        del shown["venueConfig"]
    return shown


def hold_json(h):
    expires = h.expires + (1000 if bug("pb-hold-6-expiresat-off-by-one-second") else 0)
    shown = {"id": h.id, "eventId": h.event_id, "seatIds": list(h.seats), "expiresAt": iso(expires), "fence": h.fence}
    if bug("pb-hold-2-no-fence"):
        del shown["fence"]
    return shown


def seats_json(ev):
    order = sorted(range(len(ev.grid)), key=lambda i: (ev.grid[i][1], ev.grid[i][0])) \
        if bug("pb-seat-2-column-major") else range(len(ev.grid))
    seats = []
    for i in order:
        (row, number), seat = ev.grid[i], ev.seat_ids[i]
        shown = {"id": seat, "label": seat, "row": row, "number": number, "price": money(ev.price_cents)}
        holder = ev.holds.get(ev.seat_hold.get(seat))
        if holder is not None and seat in holder.unwritten:
            holder = None
        if seat in ev.booked:
            shown["status"] = "booked"
        elif holder is not None:
            shown["status"] = "locked"
            if not bug("pb-seat-1-lockedby-missing"):
                shown["lockedBy"] = holder.user_id
        else:
            shown["status"] = "available"
        if bug("pb-seat-1-lockedby-on-available") and shown["status"] != "locked":
            shown["lockedBy"] = None
        seats.append(shown)
    return seats

# ================================================================================ hot-state operations
# Each function here runs without an await: it is one atomic step of the event's hot state.


def emit(ev, message, origin=None, deliver=True, seq=None):
    """Give a change the next seq, log it and broadcast it (PB-LIVE-5)."""
    if seq is None:
        ev.seq += 1
        seq = ev.seq
    message["seq"] = seq
    text = json.dumps(message)
    ev.log.append((seq, text))
    if deliver:
        broadcast(ev, text, origin)
    return text


def broadcast(ev, text, origin=None):
    for conn in list(ev.subs):
        if conn is origin and bug("pb-live-7-sender-excluded"):
            continue
        conn.send(text)


def publish(ev, messages, origin=None):
    if not messages:
        return
    shared_seq = None
    if bug("pb-live-5-hold-one-seq") and messages[0]["type"] == "seat_locked":
        ev.seq += 1
        shared_seq = ev.seq
    batch = bug("pb-live-2-batched-frames") and len(messages) > 1
    texts = [emit(ev, m, origin, deliver=not batch, seq=shared_seq) for m in messages]
    if batch:
        broadcast(ev, "\n".join(texts), origin)


def lapsed(h, now):
    return now >= h.expires + (1000 if bug("pb-hold-6-grace-second") else 0)


def release_seats(ev, h, seats, reason, end_state, origin=None, silent=False):
    """Take seats out of hold h; the hold ends (end_state) when it has none left."""
    messages = []
    for seat in seats:
        if seat in h.seats:
            h.seats.remove(seat)
        if ev.seat_hold.get(seat) == h.id:
            del ev.seat_hold[seat]
        ev.last[seat] = (h.user_id, end_state)
        messages.append({"type": "seat_released", "eventId": ev.id, "seatId": seat, "reason": reason})
    if not h.seats:
        h.state = end_state
        ev.holds.pop(h.id, None)
    METRICS["seats_expired" if end_state == "expired" else "seats_released"] += len(seats)
    if not silent:
        publish(ev, messages, origin)


def expire_hold(ev, h, reason="expired"):
    h.frozen_by = None
    if bug("pb-hold-8-expired-reason-released"):
        reason = "released"
    if bug("pb-live-5-expiry-seq-gap"):
        ev.seq += 1
    release_seats(ev, h, list(h.seats), reason, "expired", silent=bug("pb-hold-8-silent-expiry"))


def thaw(ev, h):
    """Undo a checkout's freeze; a hold whose connection closed meanwhile is released now."""
    h.frozen_by = None
    if h.orphaned and h.state == "live" and h.seats:
        release_seats(ev, h, list(h.seats), "disconnected", "released")


def end_lease(ev, token, holds, now):
    """A checkout lease ran out: decide the checkout (PB-CHECKOUT-5, PB-CHECKOUT-7)."""
    pending = PENDING.pop(token, None)
    reason = "released" if bug("pb-checkout-7-lease-release-reason") else "expired"
    if pending is not None and pending["booking"] is not None and not bug("pb-checkout-7-lost-booking-released"):
        finish_booking(ev, pending["booking"], token)  # the commit landed: finish it
        return
    for h in holds:
        if h.frozen_by != token:
            continue
        h.frozen_by = None
        if pending is not None or lapsed(h, now):
            expire_hold(ev, h, reason)
        elif h.orphaned:
            thaw(ev, h)


def expire_due(ev):
    """Expire the lapsed holds of ev and end the checkout leases that ran out (PB-HOLD-8)."""
    now = now_ms()
    ended = {}
    for h in list(ev.holds.values()):
        if h.frozen_by is None:
            if lapsed(h, now):
                expire_hold(ev, h)
        elif now >= h.lease_until:
            ended.setdefault(h.frozen_by, []).append(h)
        elif bug("pb-hold-6-frozen-hold-swept") and lapsed(h, now):
            expire_hold(ev, h)
    for token, holds in ended.items():
        end_lease(ev, token, holds, now)


def check_grant(ev, user_id, seats):
    """Raise the 409 a grant of seats gets (PB-HOLD-4, PB-HOLD-5); return the seats to grant. The
    event is checked here, in the grant's atomic step: a hold that was validated before the event's
    deletion and reaches this step after it is refused (PB-EVENT-7)."""
    if ev.deleted and not bug("pb-event-7-stale-hold-granted"):
        raise ApiError(404, "event_not_found", "No event found with that ID")
    expire_due(ev)
    conflicts = []
    for seat in seats:
        holder = ev.holds.get(ev.seat_hold.get(seat))
        if seat in ev.booked and not bug("pb-hold-4-booked-holdable"):
            conflicts.append(seat)
        elif holder is not None and not (holder.user_id == user_id and bug("pb-hold-4-own-seat-regrant")):
            conflicts.append(seat)
    if conflicts and bug("pb-hold-4-partial-grant") and len(conflicts) < len(seats):
        seats, conflicts = [s for s in seats if s not in conflicts], []
    if conflicts:
        METRICS["hold_conflicts"] += 1
        shown = list(seats) if bug("pb-hold-4-conflict-seatids-all") else conflicts
        raise ApiError(409, "seat_unavailable", "Some of these seats are held or booked", seatIds=shown)
    held = 0 if bug("pb-hold-5-cap-counts-request-only") else \
        sum(len(h.seats) for h in ev.holds.values() if h.user_id == user_id)
    if bug("pb-hold-5-cap-across-events"):
        held = sum(len(h.seats) for other in EVENTS.values() if not other.deleted
                   for h in other.holds.values() if h.user_id == user_id)
    if held + len(seats) > MAX_HELD + (1 if bug("pb-hold-5-cap-off-by-one") else 0):
        METRICS["hold_conflicts"] += 1
        raise ApiError(409, "hold_limit_exceeded", f"You may hold at most {MAX_HELD} seats of an event")
    return seats


def apply_grant(ev, user_id, seats, ttl, conn=None, origin=None, deliver=True):
    fence = len(ev.holds) + 1 if bug("pb-hold-7-fence-reused") else ev.fence + 1
    ev.fence = max(ev.fence, fence)
    h = Hold(ev.id, user_id, seats, ttl, fence, conn)
    HOLDS[h.id] = ev.holds[h.id] = h
    messages = []
    for seat in seats:
        ev.seat_hold[seat] = h.id
        ev.last[seat] = (user_id, None)
        ev.floor[seat] = max(ev.floor.get(seat, 0), fence)
        messages.append({"type": "seat_locked", "eventId": ev.id, "seatId": seat, "lockedBy": user_id})
        if bug("pb-hold-2-hold-id-in-seat-locked"):
            messages[-1]["holdId"] = h.id
    METRICS["holds_granted"] += 1
    if deliver:
        publish(ev, messages, origin)
    return h, messages


async def grant_hold(ev, user_id, seats, ttl, conn=None, origin=None):
    seats = check_grant(ev, user_id, seats)
    if bug("pb-hold-4-check-then-set") or bug("pb-hold-5-cap-race"):
        await asyncio.sleep(0.005)  # the store round trip between the check and the set
    if bug("pb-seat-3-torn-hold") and len(seats) > 1:
        h, messages = apply_grant(ev, user_id, seats, ttl, conn, origin, deliver=False)
        h.unwritten = set(seats[1:])
        await asyncio.sleep(0.4)  # the other seats' writes
        h.unwritten = set()
        publish(ev, messages, origin)
        return h
    if bug("pb-live-5-seq-race"):
        h, messages = apply_grant(ev, user_id, seats, ttl, conn, origin, deliver=False)
        base = ev.seq
        await asyncio.sleep(0.005)  # seq read in one round trip, written in the next
        for offset, message in enumerate(messages, 1):
            emit(ev, message, origin, seq=base + offset)
        ev.seq = base + len(messages)
        return h
    return apply_grant(ev, user_id, seats, ttl, conn, origin)[0]

# ================================================================================ HTTP plumbing


def route_not_found(request, status):
    code = "not_found" if bug("pb-err-2-route-not-found-code") else "route_not_found"
    return ApiError(status, code, f"Can't find {request.path} on this server!").response()


def too_large():
    if bug("pb-limit-1-status-400"):
        return malformed()
    return ApiError(413, "payload_too_large", f"The body exceeds {MAX_BODY} bytes")


def parse_stall(text):
    stalls = {}
    for part in text.split(","):
        match = re.fullmatch(r"\s*(before|hot|commit)\s*=\s*([0-9]{1,6})\s*", part)
        if not match or match.group(1) in stalls or not 1 <= int(match.group(2)) <= 30000:
            return None
        stalls[match.group(1)] = int(match.group(2))
    return stalls


def read_test_headers(request):
    """The test-control headers (PB-TEST-3...5), validated into request["test_*"]."""
    ttl = request.headers.get("Pulse-Test-Hold-TTL")
    if ttl is not None:
        low, high = (0, 10**6) if bug("pb-test-3-range-unchecked") else (1, 3600)
        if not re.fullmatch(r"[0-9]{1,7}", ttl.strip()) or not low <= int(ttl) <= high:
            raise invalid("Pulse-Test-Hold-TTL", "Pulse-Test-Hold-TTL must be 1...3600 seconds")
        request["test_ttl"] = int(ttl)
    client = request.headers.get("Pulse-Test-Client")
    if client is not None:
        longest = 10**6 if bug("pb-test-4-length-unchecked") else 64
        if not 1 <= len(client) <= longest or any(not 32 <= ord(c) <= 126 for c in client):
            raise invalid("Pulse-Test-Client", "Pulse-Test-Client must be 1...64 printable ASCII characters")
        request["test_client"] = client
    stall = request.headers.get("Pulse-Test-Stall")
    if stall is not None:
        stalls = parse_stall(stall)
        if stalls is None and not bug("pb-test-5-malformed-ignored"):
            raise invalid("Pulse-Test-Stall", "Pulse-Test-Stall is before=<ms>,hot=<ms>,commit=<ms> with ms 1...30000")
        request["test_stall"] = stalls or {}
    fault = request.headers.get("Pulse-Test-Fault")
    if fault is not None:
        match = re.fullmatch(r"\s*commit\s*=\s*(fail|lost)\s*", fault)
        if not match:
            raise invalid("Pulse-Test-Fault", "Pulse-Test-Fault is commit=fail or commit=lost")
        request["test_fault"] = None if bug("pb-test-7-fault-ignored") else match.group(1)
    lease = request.headers.get("Pulse-Test-Lease")
    if lease is not None:
        if not re.fullmatch(r"[0-9]{1,5}", lease.strip()) or not 100 <= int(lease) <= 30_000:
            raise invalid("Pulse-Test-Lease", "Pulse-Test-Lease must be 100...30000 ms")
        if not bug("pb-test-8-lease-ignored"):
            REQUEST_LEASE_MS.set(int(lease))


async def stall(request, phase):
    ms = request.get("test_stall", {}).get(phase)
    if ms and not bug("pb-test-5-stall-ignored"):
        await asyncio.sleep(ms / 1000)


def record_http(request, response, started):
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    stats = HTTP_STATS[(request.method, name, response.status)]
    stats[0] += 1
    stats[1] += time.perf_counter() - started


@web.middleware
async def api_middleware(request, handler):
    started = time.perf_counter()
    try:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise too_large()
        read_test_headers(request)
        response = await handler(request)
    except ApiError as error:
        response = error.response()
    except web.HTTPNotFound:
        response = route_not_found(request, 404)
    except web.HTTPMethodNotAllowed as error:
        response = route_not_found(request, 405)
        if not bug("pb-err-2-405-without-allow"):
            response.headers["Allow"] = ", ".join(sorted(error.allowed_methods))
    except web.HTTPException as error:
        code = "internal_error" if error.status >= 500 else "validation_failed"
        response = ApiError(error.status, code, error.reason).response()
    except asyncio.CancelledError:
        raise
    except Exception:
        traceback.print_exc(file=sys.stderr)
        response = ApiError(500, "internal_error", "Something went wrong!").response()
    record_http(request, response, started)
    return response


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin",
}


async def add_security_headers(request, response):
    if bug("pb-sec-1-headers-missing-on-errors") and response.status >= 400:
        return
    response.headers.update(SECURITY_HEADERS)


async def read_body(request):
    data = bytearray()
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > MAX_BODY:
            raise too_large()


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


async def json_body(request, required=True, allowed=None):
    """The request body as a JSON object (PB-REST-6); None when optional and empty."""
    raw = await read_body(request)
    if not raw.strip():
        if required:
            raise malformed()
        return None
    if bug("pb-err-3-bad-utf8-500"):
        raw.decode("utf-8")  # outside the try: a UnicodeDecodeError escapes as a 500
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        raise malformed() from None
    if not isinstance(body, dict):
        if bug("pb-rest-6-non-object-accepted"):
            return {}
        raise malformed()
    if allowed is not None and bug("pb-rest-6-unknown-field-refused"):
        for key in body:
            if key not in allowed:
                raise invalid(key, f"Unknown field {key}")
    return body


def bearer_token(request):
    parts = request.headers.get("Authorization", "").split()
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else None


def unauthenticated():
    if bug("pb-auth-1-missing-as-invalid-token"):
        return ApiError(401, "invalid_token", "Invalid token. Please log in again!")
    return ApiError(401, "unauthenticated", "You are not logged in! Please log in to get access.")


def authenticate(request):
    token = bearer_token(request)
    if token is None:
        raise unauthenticated()
    return verify_token(token)


def require_admin(request, check_role=True):
    user = authenticate(request)
    if check_role and user["role"] != "admin":
        status = 401 if bug("pb-auth-4-forbidden-as-401") else 403
        raise ApiError(status, "forbidden", "You do not have permission to perform this action")
    return user


def path_event_id(request):
    event_id = request.match_info["id"]
    if not HEX24.fullmatch(event_id):
        if bug("pb-event-4-invalid-id-404"):
            raise ApiError(404, "event_not_found", "No event found with that ID")
        raise ApiError(400, "invalid_id", "Invalid id: an id is 24 lower-case hex characters")
    return event_id


def find_event(event_id, allow_deleted=False):
    ev = EVENTS.get(event_id)
    if ev is None or (ev.deleted and not allow_deleted):
        raise ApiError(404, "event_not_found", "No event found with that ID")
    return ev


def unknown_seats(ev, seats):
    unknown = [s for s in seats if s not in ev.seat_set]
    if unknown:
        if bug("pb-hold-3-unknown-seat-409"):
            raise ApiError(409, "seat_unavailable", "Some of these seats are not available", seatIds=unknown)
        raise ApiError(422, "seat_not_found", "Some seat ids are not seats of this venue", seatIds=unknown)


def seat_list(body, longest, allow_empty=False, allow_repeats=False):
    seats = body.get("seatIds")
    if not isinstance(seats, list) or not all(isinstance(s, str) for s in seats):
        raise invalid("seatIds", "seatIds must be a list of seat ids")
    if (not seats and not allow_empty) or len(seats) > longest:
        raise invalid("seatIds", f"seatIds holds 1...{longest} seats")
    if len(set(seats)) != len(seats) and not allow_repeats:
        raise invalid("seatIds", "seatIds must not repeat a seat")
    return seats

# ================================================================================ users


def rate_check(request, route):
    """PB-AUTH-6: a sliding window of attempts per route and client (PB-TEST-4)."""
    client = request.get("test_client") or request.remote or "unknown"
    if bug("pb-test-4-header-ignored"):
        client = request.remote or "unknown"
    if bug("pb-auth-6-shared-bucket"):
        route = "auth"
    attempts = RATE.setdefault((route, client), collections.deque())
    now = time.time()
    while attempts and attempts[0] <= now - RATE_WINDOW:
        attempts.popleft()
    if len(attempts) >= AUTH_RATE_LIMIT + (1 if bug("pb-auth-6-off-by-one") else 0):
        retry = max(1, math.ceil(attempts[0] + RATE_WINDOW - now))
        headers = None if bug("pb-auth-6-no-retry-after") else {"Retry-After": str(retry)}
        raise ApiError(429, "rate_limited", "Too many attempts from this client, please try again later", headers)
    attempts.append(now)


def validate_signup(body):
    name, email, password = body.get("name"), body.get("email"), body.get("password")
    if bug("pb-err-3-nonstring-email-500"):
        email = email.strip()  # an AttributeError for a non-string email
    if not isinstance(name, str):
        raise invalid("name")
    if not 2 <= len(name if bug("pb-user-1-name-untrimmed") else name.strip()) <= 100:
        raise invalid("name", "name is 2...100 characters")
    if not isinstance(email, str) or not EMAIL_RE.fullmatch(email.strip()) or len(email.strip()) > 254:
        raise invalid("email", "email must be a valid address")
    if not isinstance(password, str):
        raise invalid("password")
    size = len(password.encode()) if bug("pb-user-1-password-bytes") else len(password)
    if not 6 <= size <= 72:
        raise invalid("password", "password is 6...72 characters")
    email = email.strip() if bug("pb-user-1-email-case") else email.strip().lower()
    return name.strip(), email, password


def email_taken():
    return ApiError(400 if bug("pb-err-2-email-taken-400") else 409, "email_taken", "An account with this email exists")


async def signup(request):
    rate_check(request, "signup")
    body = await json_body(request, allowed={"name", "email", "password", "role"})
    name, email, password = validate_signup(body)
    role = body.get("role") if bug("pb-user-2-role-honoured") and body.get("role") in ("user", "admin") else "user"
    if bug("pb-user-3-check-then-insert"):
        if email in EMAILS:
            raise email_taken()
        await asyncio.sleep(0.005)
        user = create_user(name, email, await asyncio.to_thread(hash_password_sync, password), role)
    else:
        password_hash = await asyncio.to_thread(hash_password_sync, password)
        if email in EMAILS:  # checked and inserted in one step: the unique index
            raise email_taken()
        user = create_user(name, email, password_hash, role)
    return success({"user": public_user(user)}, 201, token=sign_token(user["id"]))


async def login(request):
    rate_check(request, "login")
    body = await json_body(request, allowed={"email", "password"})
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str):
        raise invalid("email")
    if not isinstance(password, str):
        raise invalid("password")
    key = email.strip() if bug("pb-user-1-email-case") else email.strip().lower()
    user = USERS.get(EMAILS.get(key))
    if user is None:
        message = "No account with that email" if bug("pb-user-4-unknown-email-message") else "Incorrect email or password"
        raise ApiError(401, "invalid_credentials", message)
    if not await asyncio.to_thread(check_password_sync, password, user["password"]):
        raise ApiError(401, "invalid_credentials", "Incorrect email or password")
    return success({"user": public_user(user)}, token=sign_token(user["id"]))


async def me(request):
    return success({"user": public_user(authenticate(request))})


def ensure_admin(email, password):
    """PB-AUTH-5: create the account, or promote it and give it that password."""
    role = "user" if bug("pb-auth-5-env-admin-role-user") else "admin"
    password_hash = hash_password_sync(password)
    user = USERS.get(EMAILS.get(email.lower()))
    if user is None:
        return create_user("Admin", email.lower(), password_hash, role)
    user["role"], user["password"] = role, password_hash
    return user

# ================================================================================ events and seat map


def text_field(body, name, longest, shortest=1):
    value = body.get(name)
    if not isinstance(value, str) or not shortest <= len(value.strip()) <= longest:
        raise invalid(name, f"{name} is {shortest}...{longest} characters")
    return value.strip()


def description_field(body):
    value = body.get("description")
    if value is not None and (not isinstance(value, str) or len(value) > 2000):
        raise invalid("description", "description is at most 2000 characters")
    return value


def date_field(body):
    value = body.get("date")
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise invalid("date", "date must be an ISO 8601 date or date-time")
    return parsed


def int_field(body, name, low, high, path):
    value = body.get(name)
    if not is_int(value) or not low <= value <= high:
        raise invalid(path, f"{path} is an integer {low}...{high}")
    return int(value)


def venue_config(body):
    config = body.get("venueConfig")
    if not isinstance(config, dict):
        raise invalid("venueConfig", "venueConfig is {rows, cols, price}")
    rows = int_field(config, "rows", 1, 27 if bug("pb-event-3-rows-27") else 26, "venueConfig.rows")
    cols = int_field(config, "cols", 1, 50, "venueConfig.cols")
    price = config.get("price")
    if not is_number(price) or not 0 <= price <= 100000 or \
            not (two_decimals(price) or bug("pb-event-3-price-3-decimals")):
        raise invalid("venueConfig.price", "venueConfig.price is 0...100000 with at most two decimals")
    return rows, cols, round(price * 100)


async def list_events(request):
    shown = [ev for ev in EVENTS.values() if (not ev.deleted or bug("pb-event-7-listed-after-delete"))
             and (ev.active or bug("pb-event-2-inactive-listed"))]
    if not bug("pb-event-2-unsorted"):
        shown.sort(key=lambda ev: (ev.date, ev.id))
    return success({"events": [event_json(ev) for ev in shown]}, results=len(shown))


async def create_event(request):
    require_admin(request)
    body = await json_body(request, allowed={"title", "venue", "date", "description", "venueConfig"})
    title, venue = text_field(body, "title", 200), text_field(body, "venue", 200)
    date, description = date_field(body), description_field(body)
    rows, cols, price_cents = venue_config(body)
    ev = Event(title, venue, date, description, rows, cols, price_cents)
    EVENTS[ev.id] = ev  # the event and its grid in one step
    return success({"event": event_json(ev)}, 201)


async def get_event(request):
    ev = find_event(path_event_id(request))
    if bug("pb-event-4-inactive-404") and not ev.active:
        raise ApiError(404, "event_not_found", "No event found with that ID")
    return success({"event": event_json(ev)})


async def update_event(request):
    require_admin(request, check_role=not bug("pb-auth-4-patch-role-unchecked"))
    event_id = path_event_id(request)
    body = await json_body(request)
    ev = find_event(event_id)
    if "venueConfig" in body and not bug("pb-event-6-venueconfig-ignored"):
        raise ApiError(400, "venue_config_immutable", "venueConfig cannot change after creation")
    changes = {}
    for name in ("title", "venue"):
        if name in body:
            changes[name] = text_field(body, name, 200)
    if "date" in body:
        changes["date"] = date_field(body)
    if "description" in body:
        changes["description"] = description_field(body)
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            raise invalid("isActive", "isActive is a boolean")
        changes["active"] = body["isActive"]
    for name, value in changes.items():
        setattr(ev, name, value)
    return success({"event": event_json(ev)})


async def delete_event(request):
    require_admin(request)
    ev = find_event(path_event_id(request), allow_deleted=bug("pb-event-7-delete-twice-204"))
    if ev.deleted:
        return web.Response(status=204)
    ev.deleted = True
    held = sorted(ev.seat_hold)
    for h in ev.holds.values():
        h.state = "released"
    ev.holds.clear()
    ev.seat_hold.clear()
    if bug("pb-event-7-released-per-seat"):
        publish(ev, [{"type": "seat_released", "eventId": ev.id, "seatId": seat, "reason": "released"} for seat in held])
    elif not bug("pb-event-7-silent-delete"):
        emit(ev, {"type": "event_deleted", "eventId": ev.id})
    for conn in list(ev.subs):  # the event's last change: its subscriptions end with it
        conn.subs.discard(ev.id)
    ev.subs.clear()
    if bug("pb-event-7-bookings-dropped"):
        BOOKINGS[:] = [b for b in BOOKINGS if b["eventId"] != ev.id]
    if bug("pb-event-7-bookings-cancelled"):
        for booking in BOOKINGS:
            if booking["eventId"] == ev.id and booking["status"] == "confirmed":
                mark_cancelled(booking, None)
    return web.Response(status=204)


MAP_COPIES = {}  # pb-seat-2-cached-map: event id -> (taken at ms, seq, seats)


async def seat_map(request):
    ev = find_event(path_event_id(request), allow_deleted=bug("pb-event-7-seats-still-served"))
    await stall(request, "before")
    expire_due(ev)
    if bug("pb-seat-2-seq-read-early"):
        seq = ev.seq
        await asyncio.sleep(0.005)  # a second round trip for the seats
        seats = seats_json(ev)
    elif bug("pb-seat-2-cached-map"):
        taken, seq, seats = MAP_COPIES.get(ev.id, (-math.inf, 0, []))
        if now_ms() - taken >= 1000:
            seq, seats = ev.seq, seats_json(ev)
            MAP_COPIES[ev.id] = (now_ms(), seq, seats)
    else:
        seq, seats = ev.seq, seats_json(ev)
    return success({"eventId": ev.id, "seq": seq, "seats": seats}, results=len(seats))

# ================================================================================ holds


async def create_hold(request):
    user = authenticate(request)
    event_id = path_event_id(request)
    body = await json_body(request, allowed={"seatIds"})
    seats = seat_list(body, SEATS_PER_HOLD + (1 if bug("pb-hold-3-eleven-seats") else 0),
                      allow_repeats=bug("pb-hold-3-duplicates-accepted"))
    ev = find_event(event_id)
    require_open(ev, "pb-event-5-inactive-holds-allowed")
    unknown_seats(ev, seats)
    ttl = HOLD_TTL if bug("pb-test-3-ttl-header-ignored") else request.get("test_ttl", HOLD_TTL)
    await stall(request, "before")
    h = await grant_hold(ev, user["id"], seats, ttl)
    await stall(request, "hot")
    return success({"hold": hold_json(h)}, 200 if bug("pb-hold-2-status-200") else 201)


async def list_holds(request):
    user = authenticate(request)
    ev = find_event(path_event_id(request))
    await stall(request, "before")
    expire_due(ev)
    mine = [h for h in ev.holds.values() if h.user_id == user["id"] or bug("pb-hold-11-lists-other-users")]
    return success({"holds": [hold_json(h) for h in mine]}, results=len(mine))


def owned_hold(ev, user_id, hold_id, lapsed_404=False, others=False):
    """The caller's live hold hold_id of ev for an extension, or the 404/409/410 it gets."""
    expire_due(ev)
    h = HOLDS.get(hold_id)
    if h is None or h.event_id != ev.id or (h.user_id != user_id and not others):
        raise hold_not_found()
    if h.state == "expired" or (h.state == "live" and h.frozen_by is None and lapsed(h, now_ms())):
        if lapsed_404:
            raise hold_not_found()
        raise ApiError(410, "hold_expired", "Your hold has expired")
    if h.state != "live":
        raise hold_not_found()
    if h.frozen_by is not None and not bug("pb-hold-9-frozen-extend"):
        raise ApiError(409, "checkout_in_progress", "A checkout is committing this hold")
    return h


async def extend_hold(request):
    user = authenticate(request)
    ev = find_event(path_event_id(request))
    hold_id = request.match_info["holdId"]
    if not HOLD_ID.fullmatch(hold_id):
        raise hold_not_found()
    body = await json_body(request, required=False) or {}
    seconds = body.get("seconds")
    if seconds is not None and (not is_int(seconds) or seconds < 1):
        raise invalid("seconds", "seconds is an integer 1...TTL")
    flags = {"lapsed_404": bug("pb-hold-9-lapsed-404"), "others": bug("pb-hold-9-other-user-extend")}
    await stall(request, "before")
    h = owned_hold(ev, user["id"], hold_id, **flags)
    ttl = HOLD_TTL if bug("pb-test-3-extend-server-ttl") else h.ttl
    seconds = ttl if seconds is None else int(seconds)
    if seconds > ttl and not bug("pb-hold-9-seconds-unbounded"):
        raise invalid("seconds", f"seconds is an integer 1...{ttl}")
    await stall(request, "hot")
    h = owned_hold(ev, user["id"], hold_id, **flags)
    lifetime = (4 if bug("pb-limit-2-lifetime-4x") else 3) * ttl * 1000
    target = now_ms() + seconds * 1000
    if not bug("pb-hold-9-past-lifetime-cap"):
        target = min(target, h.granted + lifetime)
    h.expires = target if bug("pb-hold-9-shortens") else max(h.expires, target)
    if bug("pb-hold-9-broadcast"):
        publish(ev, [{"type": "seat_locked", "eventId": ev.id, "seatId": s, "lockedBy": h.user_id} for s in h.seats])
    return success({"hold": hold_json(h)})


def releasable(ev, h, user_id, now):
    """The 404/409 a release of h gets at instant now, or None (PB-HOLD-10)."""
    mine = h is not None and h.event_id == ev.id and (h.user_id == user_id or bug("pb-hold-10-other-user-release"))
    if not mine or h.state != "live" or h.id not in ev.holds or (h.frozen_by is None and lapsed(h, now)):
        return hold_not_found()
    if h.frozen_by is not None and not bug("pb-hold-10-frozen-release"):
        return ApiError(409, "checkout_in_progress", "A checkout is committing this hold")
    return None


async def delete_hold(request):
    arrival = now_ms()
    user = authenticate(request)
    ev = find_event(path_event_id(request))
    hold_id = request.match_info["holdId"]
    if not HOLD_ID.fullmatch(hold_id):
        raise hold_not_found()
    await stall(request, "before")
    # First hot-store read: the hold, as it is now.
    expire_due(ev)
    h = HOLDS.get(hold_id)
    if bug("pb-hold-10-double-release-204") and h is not None and h.user_id == user["id"] and h.state == "released":
        return web.Response(status=204)
    if bug("pb-hold-10-decided-at-arrival") and h is not None and h.event_id == ev.id and \
            h.user_id == user["id"] and arrival < h.expires and h.frozen_by is None:
        await stall(request, "hot")  # live when the request arrived: released by id, whatever is left
        if h.state == "live" and h.id in ev.holds:
            release_seats(ev, h, list(h.seats), "released", "released")
        return web.Response(status=204)
    refusal = releasable(ev, h, user["id"], now_ms())
    if refusal is not None:
        raise refusal
    seats_read = list(h.seats)
    await stall(request, "hot")
    if bug("pb-hold-10-get-then-del"):
        await asyncio.sleep(0.005)
        for seat in seats_read:  # deleted by seat: whichever hold has the seat now
            holder = ev.holds.get(ev.seat_hold.get(seat))
            if holder is not None:
                release_seats(ev, holder, [seat], "released", "released")
        return web.Response(status=204)
    # The compare-and-delete: the same hold, still live, not being checked out, at this instant.
    expire_due(ev)
    refusal = releasable(ev, h, user["id"], now_ms())
    if refusal is not None:
        raise refusal
    h.frozen_by = None
    if bug("pb-hold-10-release-lost") and h.fence % 3 == 0:
        return web.Response(status=204)  # acknowledged, never applied
    release_seats(ev, h, list(h.seats), "released", "released")
    return web.Response(status=204)


# ================================================================================ checkout


def idempotency_key(request):
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    longest = 10**6 if bug("pb-checkout-6-key-length-unchecked") else 128
    if not 1 <= len(key) <= longest or any(not 32 <= ord(c) <= 126 for c in key):
        raise invalid("Idempotency-Key", "Idempotency-Key is 1...128 printable ASCII characters")
    return key


def idempotency_scope(user_id, key):
    if key is None:
        return None
    return key if bug("pb-checkout-6-global-key") else (user_id, key)


def idempotency_begin(scope, event_id, seats):
    """The booking to replay, or None after reserving the key for this checkout (PB-CHECKOUT-6)."""
    record = IDEMPOTENCY.get(scope)
    if record is None:
        if not bug("pb-checkout-6-in-progress-race"):
            IDEMPOTENCY[scope] = {"eventId": event_id, "seats": frozenset(seats), "booking": None}
        return None
    same = (record["eventId"] == event_id or bug("pb-checkout-6-key-ignores-event")) and record["seats"] == frozenset(seats)
    if not same and not bug("pb-checkout-6-reuse-unchecked"):
        raise ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used for another checkout")
    if record["booking"] is None:
        raise ApiError(409, "idempotency_in_progress", "A checkout with this Idempotency-Key is still committing")
    return record["booking"]


def idempotency_end(scope, event_id, seats, booking):
    if booking is None:
        record = IDEMPOTENCY.get(scope)
        if record is not None and record["booking"] is None:
            del IDEMPOTENCY[scope]
    else:
        IDEMPOTENCY[scope] = {"eventId": event_id, "seats": frozenset(seats), "booking": booking}


def hold_expired(seats=None):
    METRICS["lapsed_checkouts"] += 1
    if bug("pb-checkout-3-lapsed-409"):
        return ApiError(409, "hold_required", "You hold no live hold on these seats", seatIds=seats or [])
    return ApiError(410, "hold_expired", "Your hold has expired", **({"seatIds": seats} if seats else {}))


def hold_required(seats):
    METRICS["checkout_conflicts"] += 1
    return ApiError(409, "hold_required", "You hold no live hold on these seats", seatIds=seats)


def adoptable(h, scope):
    """Is h frozen by a checkout whose commit failed, which a retry with the same key takes over?"""
    pending = PENDING.get(h.frozen_by)
    return pending is not None and pending["booking"] is None and scope is not None and pending["scope"] == scope


def in_checkout(h, scope):
    return h.frozen_by is not None and not adoptable(h, scope)


def lapsed_for_checkout(h, scope, now):
    """A checkout starting now finds h lapsed (a hold frozen by another checkout is not judged)."""
    return (h.frozen_by is None or adoptable(h, scope)) and lapsed(h, now)


def named_cover(ev, user_id, seats, hold_id, scope, now):
    """PB-CHECKOUT-1 with holdId: that hold must cover the seats. Returns {seat: hold}."""
    h = HOLDS.get(hold_id) if HOLD_ID.fullmatch(hold_id) else None
    if h is None or h.event_id != ev.id or h.user_id != user_id:
        if bug("pb-checkout-3-unknown-holdid-409"):
            raise hold_required(list(seats))
        raise hold_not_found()
    if h.state == "expired" or (h.state == "live" and lapsed_for_checkout(h, scope, now)):
        raise hold_expired()
    if h.state != "live":
        raise hold_not_found()
    if in_checkout(h, scope):
        raise ApiError(409, "checkout_in_progress", "A checkout is committing this hold")
    cover = {s: h for s in seats if s in h.seats}
    if bug("pb-checkout-1-holdid-coverage-unchecked"):
        for seat in seats:
            other = ev.holds.get(ev.seat_hold.get(seat))
            if seat not in cover and other is not None and other.user_id == user_id and other.frozen_by is None:
                cover[seat] = other
    uncovered = [s for s in seats if s not in cover]
    if uncovered:
        raise hold_required(uncovered)
    return cover


def implicit_cover(ev, user_id, seats, scope):
    """PB-CHECKOUT-1 without holdId: the caller's live holds covering the seats. Returns {seat: hold}."""
    cover, required, expired, busy = {}, [], [], []
    for seat in seats[:1] if bug("pb-checkout-3-partial-coverage") else seats:
        h = ev.holds.get(ev.seat_hold.get(seat))
        if h is not None and h.user_id == user_id and lapsed_for_checkout(h, scope, now_ms()):
            expired.append(seat)
            continue
        if h is not None and h.user_id == user_id:
            if in_checkout(h, scope):
                busy.append(seat)
            cover[seat] = h
            continue
        free = h is None and seat not in ev.booked
        if free and bug("pb-hold-1-checkout-without-hold"):
            continue
        last = ev.last.get(seat)
        was_mine = h is None and last is not None and last[1] == "expired" and \
            (last[0] == user_id or bug("pb-checkout-3-others-lapse-410"))
        if was_mine and free and bug("pb-checkout-3-lapsed-booked"):
            continue
        (expired if was_mine else required).append(seat)
    if bug("pb-checkout-1-multi-hold") and cover:
        first = next(iter(cover.values()))
        required += [s for s, h in cover.items() if h is not first]
    if busy:
        raise ApiError(409, "checkout_in_progress", "A checkout is committing these seats", seatIds=busy)
    if expired and bug("pb-checkout-3-lapsed-wins"):
        raise hold_expired(expired)
    if required:
        raise hold_required(required)
    if expired:
        raise hold_expired(expired)
    return cover


def price(ev, count, amount):
    """The server's price of count seats (PB-CHECKOUT-4) as a JSON amount; 422 when amount differs."""
    cents = ev.price_cents * (1 if bug("pb-checkout-4-price-per-booking") else count)
    if bug("pb-rest-4-float-cents"):
        total = (ev.price_cents / 100) * count
        matches = amount == total
    else:
        total = money(cents)
        matches = two_decimals(amount) and round(amount * 100) == cents if amount is not None else True
    if amount is not None and not matches:
        if bug("pb-checkout-4-client-amount-trusted"):
            return amount
        METRICS["checkout_conflicts"] += 1
        details = {} if bug("pb-checkout-4-no-expected-amount") else {"expectedAmount": total}
        raise ApiError(422, "amount_mismatch", "totalAmount disagrees with the price", **details)
    return total


async def freeze(ev, user_id, seats, hold_id, amount, scope, token):
    """Verify the caller's holds and the price, then freeze the holds for this checkout (its lease)."""
    expire_due(ev)
    now = now_ms()
    if hold_id is not None:
        cover = named_cover(ev, user_id, seats, hold_id, scope, now)
    else:
        cover = implicit_cover(ev, user_id, seats, scope)
    total = price(ev, len(seats), amount)
    if bug("pb-checkout-5-same-hold-twice"):
        await asyncio.sleep(0.005)  # the freeze is a second round trip after the check
    for h in set(cover.values()):
        PENDING.pop(h.frozen_by, None)  # a failed checkout taken over by its retry
        h.frozen_by, h.lease_until = token, now_ms() + (REQUEST_LEASE_MS.get() or LEASE_MS)
    return cover, total


def refuse_commit(ev, holds, token, seats):
    for h in holds:
        if h.frozen_by == token:
            thaw(ev, h)
    METRICS["checkout_conflicts"] += 1
    if bug("pb-checkout-5-superseded-code"):
        return ApiError(410, "hold_expired", "Your hold has expired")
    return ApiError(409, "hold_superseded", "Your hold lapsed during checkout; the booking was refused", seatIds=seats)


def check_commit(ev, cover, token, seats):
    """The durable store's checks: the checkout still owns its holds, their fences are the newest
    of their seats, and no seat is booked (PB-CHECKOUT-5)."""
    holds = set(cover.values())
    if ev.deleted:
        raise ApiError(404, "event_not_found", "No event found with that ID")
    if bug("pb-hold-6-frozen-lapse") and any(now_ms() >= h.expires for h in holds):
        for h in holds:
            if h.frozen_by == token:
                thaw(ev, h)
        raise hold_expired()
    expire_due(ev)  # a lease that ran out is ended before the check
    if not bug("pb-checkout-5-no-fence") and not bug("pb-checkout-5-same-hold-twice"):
        if any(h.state != "live" or h.frozen_by != token for h in holds) or \
                any(ev.floor.get(seat, 0) > h.fence for seat, h in cover.items()):
            raise refuse_commit(ev, holds, token, seats)
    if not bug("pb-checkout-5-same-hold-twice") and any(seat in ev.booked for seat in seats):
        raise refuse_commit(ev, holds, token, seats)
    if bug("pb-checkout-11-claim-kept") and any(seat in ev.stale_claims for seat in seats):
        raise refuse_commit(ev, holds, token, seats)


def write_booking(ev, user_id, seats, total):
    """The durable write: the booking and its unique claim on each seat."""
    booking = {"id": str(uuid.uuid4()) if bug("pb-rest-3-booking-id-uuid") else secrets.token_hex(12),
               "eventId": ev.id, "userId": user_id, "seatIds": list(seats), "totalAmount": total,
               "status": "confirmed", "createdAt": iso(now_ms())}
    if bug("pb-checkout-2-missing-userid"):
        del booking["userId"]
    BOOKINGS.append(booking)
    booking["_owner"] = user_id
    for seat in seats:
        ev.booked[seat] = booking["id"]
        ev.last[seat] = (user_id, "booked")
    METRICS["bookings"] += 1
    METRICS["booked_seats"] += len(seats)
    return booking


def finish_booking(ev, booking, token):
    """The hot-state side of a booking: its seats leave their holds; seats_booked is broadcast."""
    seats = booking["seatIds"]
    for seat in seats:
        holder = ev.holds.get(ev.seat_hold.get(seat))
        if holder is not None and not bug("pb-checkout-2-holds-kept"):
            holder.seats.remove(seat)
            del ev.seat_hold[seat]
            if not holder.seats:
                holder.state, holder.frozen_by = "booked", None
                ev.holds.pop(holder.id, None)
    for h in list(ev.holds.values()):
        if h.frozen_by == token:
            thaw(ev, h)
    if not bug("pb-checkout-2-no-broadcast"):
        groups = [[s] for s in seats] if bug("pb-live-5-booking-per-seat") else [list(seats)]
        publish(ev, [{"type": "seats_booked", "eventId": ev.id, "seatIds": group} for group in groups])


class StoreFailure(ApiError):
    """PB-CHECKOUT-7: the durable commit failed (booking None) or its answer was lost (booking set)."""

    def __init__(self, booking):
        details = {"outcomeUnknown": False if bug("pb-err-4-outcome-unknown-false") else True}
        headers = None if bug("pb-err-4-retry-after-missing") else {"Retry-After": "1"}
        super().__init__(503, "store_unavailable", "The booking store did not answer", headers, **details)
        self.booking = booking


def store_failure(ev, cover, token, scope, booking):
    """Answer a failed commit: the holds stay frozen until the lease decides (or a retry takes over)."""
    if bug("pb-checkout-7-holds-released-on-failure"):
        for h in set(cover.values()):
            h.frozen_by = None
            release_seats(ev, h, list(h.seats), "released", "released")
    else:
        PENDING[token] = {"booking": booking, "scope": scope}
    return StoreFailure(booking)


def commit(ev, user_id, seats, cover, total, token, scope, fault):
    """Land the booking (PB-CHECKOUT-2) unless the store refuses it (PB-CHECKOUT-5) or fails (PB-TEST-7)."""
    check_commit(ev, cover, token, seats)
    if fault == "fail":
        raise store_failure(ev, cover, token, scope, None)
    if fault == "lost" and bug("pb-test-7-lost-not-written"):
        raise store_failure(ev, cover, token, scope, None)
    booking = write_booking(ev, user_id, seats, total)
    if fault == "lost":
        raise store_failure(ev, cover, token, scope, booking)
    finish_booking(ev, booking, token)
    return booking


def booking_json(booking):
    return {k: v for k, v in booking.items() if not k.startswith("_")}


def finish_replayed(booking):
    """A retry replays a booking whose first answer was lost: finish its hot-state side now."""
    for token, pending in list(PENDING.items()):
        if pending["booking"] is booking:
            del PENDING[token]
            finish_booking(EVENTS[booking["eventId"]], booking, token)


async def run_checkout(request, user, event_id, seats, hold_id, amount, scope):
    ev = find_event(event_id)
    require_open(ev, "pb-event-5-inactive-checkout-allowed")
    unknown_seats(ev, seats)
    late_before = bug("pb-test-5-before-stall-after-freeze")
    early_hot = bug("pb-test-5-hot-stall-before-freeze")
    if not late_before:
        await stall(request, "before")
    if early_hot:
        await stall(request, "hot")
    token = secrets.token_hex(8)
    cover, total = await freeze(ev, user["id"], seats, hold_id, amount, scope, token)
    if late_before:
        await stall(request, "before")
    if not early_hot:
        await stall(request, "hot")
    await stall(request, "commit")
    await asyncio.sleep(0.002)  # the durable write takes a moment; the freeze covers it
    return commit(ev, user["id"], seats, cover, total, token, scope, request.get("test_fault"))


async def checkout(request):
    user = authenticate(request)
    event_id = path_event_id(request)
    body = await json_body(request, allowed={"seatIds", "holdId", "totalAmount"})
    unbounded = bug("pb-limit-2-checkout-size-unchecked")
    seats = seat_list(body, 10**6 if unbounded else MAX_HELD, allow_empty=unbounded)
    hold_id, amount = body.get("holdId"), body.get("totalAmount")
    if hold_id is not None and not isinstance(hold_id, str):
        raise invalid("holdId", "holdId is a hold id")
    if amount is not None and not is_number(amount):
        raise invalid("totalAmount", "totalAmount is a number")
    scope = idempotency_scope(user["id"], idempotency_key(request))
    if scope is not None:
        replay = idempotency_begin(scope, event_id, seats)
        if replay is not None:
            finish_replayed(replay)
            headers = None if bug("pb-checkout-6-no-replay-header") else {"Idempotent-Replayed": "true"}
            return success({"booking": booking_json(replay)}, 201, headers)
    booking = None
    try:
        booking = await run_checkout(request, user, event_id, seats, hold_id, amount, scope)
    except StoreFailure as failure:
        booking = failure.booking  # a lost answer: the booking exists, and a retry replays it
        raise
    finally:
        if scope is not None:
            idempotency_end(scope, event_id, seats, booking)
    return success({"booking": booking_json(booking)}, 201)


async def my_bookings(request):
    user = authenticate(request)
    mine = [booking_json(b) for b in BOOKINGS if b.get("_owner") == user["id"]
            and not (bug("pb-checkout-11-vanishes-from-list") and b["status"] == "cancelled")]
    if not bug("pb-checkout-2-bookings-oldest-first"):
        mine.reverse()
    return success({"bookings": mine}, results=len(mine))

# ================================================================================ cancellation


def path_booking_id(request):
    booking_id = request.match_info["id"]
    if not HEX24.fullmatch(booking_id):
        raise ApiError(400, "invalid_id", "Invalid id: an id is 24 lower-case hex characters")
    return booking_id


def booking_not_found():
    return ApiError(404, "booking_not_found", "No booking of yours with that id")


def reason_field(body):
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= 500):
        raise invalid("reason", "reason is 1...500 characters")
    return reason


def cancellable(user, booking_id):
    """The booking the caller may cancel (PB-CHECKOUT-8): their own, or any for an admin."""
    booking = next((b for b in BOOKINGS if b["id"] == booking_id), None)
    if booking is None:
        raise booking_not_found()
    admin = user["role"] == "admin" and not bug("pb-checkout-8-admin-own-only")
    if booking["_owner"] != user["id"] and not admin and not bug("pb-checkout-8-any-user-cancels"):
        if bug("pb-checkout-8-other-user-403"):
            raise ApiError(403, "forbidden", "You do not have permission to perform this action")
        raise booking_not_found()
    ev = EVENTS[booking["eventId"]]
    if bug("pb-checkout-8-deleted-event-404"):
        find_event(ev.id)
    return booking, ev


def mark_cancelled(booking, reason):
    """The durable record of a cancellation: status, instant and reason."""
    booking["status"] = "cancelled"
    booking["cancelledAt"] = iso(now_ms())
    booking.pop("cancellationReason", None)
    if reason is not None:
        booking["cancellationReason"] = reason
    if bug("pb-checkout-11-replay-rebooks"):
        for scope, record in list(IDEMPOTENCY.items()):
            if record["booking"] is booking:
                del IDEMPOTENCY[scope]


def free_claims(ev, booking):
    """The durable unique claims of the booking's seats go: at most one *confirmed* booking per seat."""
    if bug("pb-checkout-10-seats-stay-booked"):
        return
    if bug("pb-checkout-10-frees-owners-seats"):
        mine = {b["id"] for b in BOOKINGS if b["eventId"] == ev.id and b["_owner"] == booking["_owner"]}
        booking["_freed"] = [seat for seat in ev.seat_ids if ev.booked.get(seat) in mine]
        for seat in booking["_freed"]:
            del ev.booked[seat]
            ev.last[seat] = (booking["_owner"], "cancelled")
        return
    for seat in booking["seatIds"]:
        if ev.booked.get(seat) == booking["id"]:
            del ev.booked[seat]
            ev.last[seat] = (booking["_owner"], "cancelled")
            if bug("pb-checkout-11-claim-kept"):
                ev.stale_claims.add(seat)


def announce_cancel(ev, booking):
    """One seats_released (reason cancelled) at the event's next seq (PB-CHECKOUT-10, PB-LIVE-5);
    a deleted event's stream has ended, so its cancellations are not broadcast."""
    booking["_announced"] = True
    if ev.deleted or bug("pb-checkout-10-no-broadcast"):
        return
    seats = list(booking.get("_freed") or booking["seatIds"])
    if bug("pb-checkout-10-released-per-seat"):
        messages = [{"type": "seat_released", "eventId": ev.id, "seatId": s, "reason": "cancelled"} for s in seats]
    else:
        reason = "released" if bug("pb-checkout-10-reason-released") else "cancelled"
        messages = [{"type": "seats_released", "eventId": ev.id, "seatIds": seats, "reason": reason}]
    publish(ev, messages)


def finish_lost_commit(ev, booking):
    """A booking whose checkout answer was lost (PB-CHECKOUT-7) is finished before it is cancelled."""
    for token, pending in list(PENDING.items()):
        if pending["booking"] is booking:
            del PENDING[token]
            if not ev.deleted:
                finish_booking(ev, booking, token)


def check_cutoff(user, ev):
    """PB-CHECKOUT-12: after the event's date only an admin cancels (a deleted event's bookings stay cancellable)."""
    admin = user["role"] == "admin" and not bug("pb-checkout-12-admin-cutoff")
    gone = ev.deleted and not bug("pb-checkout-12-deleted-event-closed")
    if not gone and ev.date <= now_ms() and not admin and not bug("pb-checkout-12-no-cutoff"):
        raise ApiError(409, "cancellation_closed", "This event has taken place: its bookings can no longer be cancelled")


async def cancel_booking(request):
    """POST /api/v1/bookings/:id/cancel (PB-CHECKOUT-8...11)."""
    user = authenticate(request)
    booking_id = path_booking_id(request)
    body = await json_body(request, required=False, allowed={"reason"}) or {}
    reason = reason_field(body)
    await stall(request, "before")
    # One atomic step from here to the answer (no await), but for the defects that await.
    booking, ev = cancellable(user, booking_id)
    if bug("pb-checkout-12-cutoff-before-replay"):
        check_cutoff(user, ev)
    if booking["status"] == "cancelled":
        # PB-CHECKOUT-9: the booking as its first cancellation left it; nothing changes.
        if bug("pb-checkout-9-second-cancel-409"):
            raise ApiError(409, "booking_not_confirmed", "This booking is already cancelled")
        if bug("pb-checkout-9-overwrites"):
            mark_cancelled(booking, reason)
        if bug("pb-checkout-9-rebroadcast"):
            free_claims(ev, booking)
            announce_cancel(ev, booking)
        elif not booking.get("_announced"):
            announce_cancel(ev, booking)  # a cancel whose hot step failed is finished by its retry
        await stall(request, "hot")
        return success({"booking": booking_json(booking)})
    check_cutoff(user, ev)
    finish_lost_commit(ev, booking)
    mark_cancelled(booking, reason)
    if bug("pb-checkout-10-broadcast-before-free"):
        announce_cancel(ev, booking)
        await stall(request, "hot")
        await asyncio.sleep(0.005)  # the seq and broadcast in one round trip, the seats in the next
        free_claims(ev, booking)
    else:
        free_claims(ev, booking)
        announce_cancel(ev, booking)
        await stall(request, "hot")
    return success({"booking": booking_json(booking)})

# ================================================================================ live protocol


class LiveConnection:
    """One WebSocket client: its subscriptions and an ordered outbox drained by one sender task."""

    def __init__(self, ws, user, ttl):
        self.id, self.ws, self.user, self.ttl = secrets.token_hex(8), ws, user, ttl
        self.subs = set()
        self.locked = []  # (event id, seat) of every request_lock granted (pb-live-11-release-by-seat only)
        self.outbox = collections.deque()
        self.wake = asyncio.Event()
        self.closing = False
        self.sender = asyncio.create_task(self.pump())

    def send(self, message):
        if self.closing:
            return
        text = message if isinstance(message, str) else json.dumps(message)
        if bug("pb-live-7-send-tasks"):
            asyncio.create_task(self.send_later(text))
            return
        if len(self.outbox) >= OUTBOX_LIMIT:
            if not bug("pb-live-10-drop-when-full"):
                self.shut(1011 if bug("pb-live-10-close-code") else 1008, "slow_consumer")
            return
        self.outbox.append(text)
        self.wake.set()

    async def send_later(self, text):
        await asyncio.sleep(random.random() * 0.005)  # encoding off the loop, one task per message
        try:
            await self.ws.send_str(text)
        except Exception:
            pass

    async def pump(self):
        try:
            while True:
                while self.outbox:
                    await self.ws.send_str(self.outbox.popleft())
                self.wake.clear()
                await self.wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.closing = True

    def unsubscribe_all(self):
        for event_id in self.subs:
            ev = EVENTS.get(event_id)
            if ev is not None:
                ev.subs.discard(self)

    def shut(self, code, reason):
        if self.closing:
            return
        self.closing = True
        self.unsubscribe_all()
        self.sender.cancel()
        asyncio.create_task(self.close_ws(code, reason))

    async def close_ws(self, code, reason):
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode(), drain=False), 60)
        except Exception:
            pass


def live_field(message, name):
    value = message.get(name)
    if not isinstance(value, str):
        code = "malformed_json" if bug("pb-live-9-missing-field-code") else "validation_failed"
        raise ApiError(400, code, f"{name} must be a string", field=name)
    return value


def live_event(message):
    event_id = live_field(message, "eventId")
    if not HEX24.fullmatch(event_id):
        raise ApiError(400, "invalid_id", "Invalid id: an id is 24 lower-case hex characters")
    return find_event(event_id)


def replay_since(ev, since):
    """The logged changes after since, or None when they are not all remembered (PB-LIVE-8)."""
    if since > ev.seq:
        return [] if bug("pb-live-8-future-since-joined") else None
    oldest = ev.log[0][0] if ev.log else ev.seq + 1
    if since + 1 < oldest and not bug("pb-live-8-too-old-partial"):
        return None
    start = since + 1
    if bug("pb-live-8-resync-skips-one"):
        start += 1
    if bug("pb-live-8-resync-includes-since"):
        start -= 1
    return [text for seq, text in ev.log if seq >= start]


def snapshot(ev):
    message = {"type": "snapshot", "eventId": ev.id, "seq": ev.seq, "seats": seats_json(ev)}
    if bug("pb-live-4-snapshot-no-seq"):
        del message["seq"]
    return message


def answer_join(conn, ev, since):
    """A snapshot, or the remembered changes after since and then joined (PB-LIVE-8)."""
    replay = replay_since(ev, since) if since is not None else None
    if replay is None:
        conn.send(snapshot(ev))
        return
    joined = {"type": "joined", "eventId": ev.id, "seq": since if bug("pb-live-8-joined-seq-since") else ev.seq}
    if bug("pb-live-4-joined-before-replay"):
        conn.send(joined)
    for text in replay:
        conn.send(text)
    if not bug("pb-live-4-joined-before-replay"):
        conn.send(joined)


def subscribe(conn, ev):
    if not conn.closing:
        ev.subs.add(conn)
        conn.subs.add(ev.id)


async def join_event(conn, message):
    ev = live_event(message)
    since = message.get("sinceSeq")
    if since is not None and (not is_int(since) or since < 0):
        raise ApiError(400, "validation_failed", "sinceSeq is a non-negative integer", field="sinceSeq")
    if ev.id not in conn.subs and len(conn.subs) >= MAX_SUBSCRIPTIONS and not bug("pb-limit-3-subscriptions-unbounded"):
        raise ApiError(400, "too_many_subscriptions", f"A connection follows at most {MAX_SUBSCRIPTIONS} events")
    since = None if since is None else int(since)
    if (bug("pb-event-5-join-refused") and not ev.active) or (bug("pb-event-8-join-refused") and ev.date <= now_ms()):
        raise ApiError(409, "event_inactive", "This event is closed for booking")
    if bug("pb-live-7-subscribe-before-snapshot"):
        subscribe(conn, ev)
        await asyncio.sleep(0.005)  # the subscription and the state read are two round trips
    expire_due(ev)
    answer_join(conn, ev, since)  # in the same step as the subscription: nothing missed, nothing twice
    if bug("pb-live-7-subscribe-after-snapshot"):
        await asyncio.sleep(0.005)
    subscribe(conn, ev)


async def leave_event(conn, message):
    event_id = live_field(message, "eventId")
    if event_id not in conn.subs:
        raise ApiError(400, "not_joined", "This connection has not joined that event")
    conn.subs.discard(event_id)
    ev = EVENTS.get(event_id)
    if ev is None or ev.deleted:
        return
    ev.subs.discard(conn)
    if bug("pb-live-3-leave-keeps-holds"):
        return
    everyone = bug("pb-live-3-leave-releases-rest-holds")
    reason = "disconnected" if bug("pb-live-6-leave-reason-disconnected") else "released"
    scope = [e for e in EVENTS.values() if not e.deleted] if bug("pb-live-3-leave-releases-every-event") else [ev]
    for ev in scope:
        expire_due(ev)
        for h in list(ev.holds.values()):
            if h.user_id == conn.user["id"] and (h.conn == conn.id or everyone) and h.frozen_by is None:
                release_seats(ev, h, list(h.seats), reason, "released", origin=conn)


async def request_lock(conn, message):
    event_id, seat = live_field(message, "eventId"), live_field(message, "seatId")
    try:
        ev = live_event(message)
        inactive = "pb-event-5-inactive-lock-allowed" if bug("pb-event-5-inactive-lock-allowed") else "pb-event-5-inactive-holds-allowed"
        require_open(ev, inactive, ("pb-event-8-past-event-open", "pb-event-8-past-lock-allowed"))
        unknown_seats(ev, [seat])
        h = await grant_hold(ev, conn.user["id"], [seat], conn.ttl, conn=conn.id, origin=conn)
    except ApiError as error:
        if bug("pb-live-9-lock-failed-as-error"):
            raise
        conn.send({"type": "lock_failed", "eventId": event_id, "seatId": seat, "code": error.code, "message": error.message})
        return
    reply = {"type": "lock_acquired", "eventId": ev.id, "seatId": seat, "hold": hold_json(h)}
    if bug("pb-live-4-lock-acquired-no-hold"):
        del reply["hold"]
    conn.locked.append((ev.id, seat))
    if bug("pb-hold-2-lock-acquired-broadcast"):
        for other in list(ev.subs | {conn}):  # to the room, as the seed emits its broadcasts
            other.send(reply)
        return
    conn.send(reply)


async def release_lock(conn, message):
    seat = live_field(message, "seatId")
    ev = live_event(message)
    expire_due(ev)
    h = ev.holds.get(ev.seat_hold.get(seat))
    if h is None or h.user_id != conn.user["id"]:
        if bug("pb-live-5-empty-release-broadcast"):
            publish(ev, [{"type": "seat_released", "eventId": ev.id, "seatId": seat, "reason": "released"}], conn)
        raise ApiError(404, "hold_not_found", "You hold no live hold on that seat")
    if h.frozen_by is not None:
        raise ApiError(409, "checkout_in_progress", "A checkout is committing this hold")
    seats = list(h.seats) if bug("pb-live-3-release-lock-whole-hold") else [seat]
    release_seats(ev, h, seats, "released", "released", origin=conn)


LIVE_HANDLERS = {"join_event": join_event, "leave_event": leave_event,
                 "request_lock": request_lock, "release_lock": release_lock}


async def on_live_message(conn, text):
    try:
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            if bug("pb-live-9-malformed-closes"):
                conn.shut(1011, "internal error")
                return
            raise ApiError(400, "malformed_json", "A message is a JSON object") from None
        if not isinstance(message, dict):
            raise ApiError(400, "malformed_json", "A message is a JSON object")
        kind = live_field(message, "type")
        if kind not in LIVE_HANDLERS:
            if bug("pb-live-9-unknown-type-ignored"):
                return
            raise ApiError(400, "unknown_message_type", f"Unknown message type {kind[:64]!r}")
        await LIVE_HANDLERS[kind](conn, message)
    except ApiError as error:
        conn.send({"type": "error", "code": error.code, "message": error.message, **error.details})
    except asyncio.CancelledError:
        raise
    except Exception:
        traceback.print_exc(file=sys.stderr)
        conn.send({"type": "error", "code": "internal_error", "message": "Something went wrong!"})


def on_disconnect(conn):
    """PB-LIVE-11: release the holds this connection acquired with request_lock."""
    conn.closing = True
    conn.sender.cancel()
    conn.unsubscribe_all()
    CONNECTIONS.discard(conn)
    if bug("pb-live-11-disconnect-keeps-holds"):
        return
    reason = "released" if bug("pb-live-6-disconnect-reason-released") else "disconnected"
    if bug("pb-live-11-release-by-seat"):
        for event_id, seat in conn.locked:
            ev = EVENTS.get(event_id)
            holder = ev.holds.get(ev.seat_hold.get(seat)) if ev is not None and not ev.deleted else None
            if holder is not None and holder.frozen_by is None:
                release_seats(ev, holder, [seat], reason, "released")
        return
    for ev in list(EVENTS.values()):
        if ev.deleted:
            continue
        tied = [h for h in ev.holds.values() if h.conn == conn.id or
                (bug("pb-live-11-rest-holds-released") and ev.id in conn.subs and h.user_id == conn.user["id"])]
        if not tied:
            continue
        expire_due(ev)
        for h in tied:
            if h.state != "live":
                continue
            if h.frozen_by is not None:
                h.orphaned = True
            else:
                release_seats(ev, h, list(h.seats), reason, "released")


async def live_endpoint(request):
    token = bearer_token(request)
    if token is None and not bug("pb-live-1-query-token-ignored"):
        token = request.query.get("token") or None
    if token is None:
        raise unauthenticated()
    user = verify_token(token, check_exp=not bug("pb-live-1-expired-token-accepted"))
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, compress=False, autoping=True)
    if not ws.can_prepare(request).ok:
        if bug("pb-live-1-plain-get-400"):
            raise ApiError(400, "validation_failed", "Expected a WebSocket upgrade", field="Upgrade")
        raise ApiError(426, "upgrade_required", "This endpoint speaks WebSocket only", headers={"Upgrade": "websocket"})
    await ws.prepare(request)
    ttl = HOLD_TTL if bug("pb-test-3-ttl-header-ignored") else request.get("test_ttl", HOLD_TTL)
    conn = LiveConnection(ws, user, ttl)
    CONNECTIONS.add(conn)
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await on_live_message(conn, frame.data)
            elif frame.type == WSMsgType.BINARY:
                conn.send({"type": "error", "code": "malformed_json", "message": "Messages are JSON text frames"})
            else:
                break
    finally:
        on_disconnect(conn)
    return ws

# ================================================================================ test control and operations


async def test_control(request):
    return success({"profile": "pulse-test-control/1", "holdTTLSeconds": HOLD_TTL,
                    "heldSeatsMax": MAX_HELD, "headers": TEST_HEADERS})


async def test_admin_token(request):
    user = USERS.get(TEST_ADMIN.get("id"))
    if user is None or bug("pb-test-2-new-admin-each-call"):
        role = "user" if bug("pb-test-2-admin-token-user-role") else "admin"
        email = f"conformance-admin-{secrets.token_hex(4)}@pulse.test"
        user = create_user("Conformance Admin", email, hash_password_sync(secrets.token_hex(16)), role)
        TEST_ADMIN["id"] = user["id"]
    return success({"user": public_user(user)}, token=sign_token(user["id"]))


async def test_token(request):
    user = authenticate(request)
    body = await json_body(request)
    seconds = body.get("expiresInSeconds")
    low = 0 if bug("pb-test-6-positive-only") else -86400
    if not is_int(seconds) or not low <= seconds <= 86400:
        raise invalid("expiresInSeconds", "expiresInSeconds is an integer -86400...86400")
    lifetime = None if bug("pb-test-6-exp-ignored") else int(seconds)
    return success({"user": public_user(user)}, token=sign_token(user["id"], lifetime))


async def healthz(request):
    return respond({"status": "ok"})


async def readyz(request):
    # Both stores are this process's memory: ready whenever it answers.
    return success({"hotStore": "ready", "durableStore": "ready"})


async def metrics(request):
    lines = []
    for name, key in [("holds_granted", "holds_granted"), ("hold_conflicts", "hold_conflicts"),
                      ("seats_released", "seats_released"), ("seats_expired", "seats_expired"),
                      ("bookings", "bookings"), ("booked_seats", "booked_seats"),
                      ("checkout_conflicts", "checkout_conflicts"), ("lapsed_checkouts", "lapsed_checkouts")]:
        lines += [f"# TYPE pulse_{name}_total counter", f"pulse_{name}_total {METRICS[key]}"]
    lines += ["# TYPE pulse_live_connections gauge", f"pulse_live_connections {len(CONNECTIONS)}",
              "# TYPE pulse_http_requests_total counter"]
    for (method, route, status), (count, _) in sorted(HTTP_STATS.items()):
        lines.append(f'pulse_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}')
    lines.append("# TYPE pulse_http_request_duration_seconds summary")
    for (method, route, status), (count, total) in sorted(HTTP_STATS.items()):
        labels = f'method="{method}",route="{route}",status="{status}"'
        lines += [f"pulse_http_request_duration_seconds_sum{{{labels}}} {total:.6f}",
                  f"pulse_http_request_duration_seconds_count{{{labels}}} {count}"]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


ROUTES = [
    ("POST", "/api/v1/users/signup", signup, "user"), ("POST", "/api/v1/users/login", login, "user"),
    ("GET", "/api/v1/users/me", me, "user"),
    ("GET", "/api/v1/events", list_events, "events"), ("POST", "/api/v1/events", create_event, "event"),
    ("GET", "/api/v1/events/{id}", get_event, "event"), ("PATCH", "/api/v1/events/{id}", update_event, "event"),
    ("DELETE", "/api/v1/events/{id}", delete_event, None),
    ("GET", "/api/v1/events/{id}/seats", seat_map, "seats"), ("POST", "/api/v1/events/{id}/seats", checkout, "booking"),
    ("POST", "/api/v1/events/{id}/holds", create_hold, "hold"), ("GET", "/api/v1/events/{id}/holds", list_holds, "holds"),
    ("DELETE", "/api/v1/events/{id}/holds/{holdId}", delete_hold, None),
    ("POST", "/api/v1/events/{id}/holds/{holdId}/extend", extend_hold, "hold"),
    ("GET", "/api/v1/bookings/me", my_bookings, "bookings"),
    ("POST", "/api/v1/bookings/{id}/cancel", cancel_booking, "booking"),
    ("GET", "/api/v1/live", live_endpoint, None),
    ("GET", "/api/v1/test-control", test_control, "profile"),
    ("POST", "/api/v1/test-control/admin-token", test_admin_token, "user"),
    ("POST", "/api/v1/test-control/token", test_token, None),
]


async def openapi(request):
    paths = {}
    for method, path, handler, data in ROUTES:
        responses = {"204": {"description": "No Content"}} if data is None and method == "DELETE" else \
            {"200": {"description": f"the success envelope with {data or 'a token'}"}}
        operation = {"operationId": handler.__name__, "responses": {**responses, "4XX": {"$ref": "#/components/responses/Error"}}}
        if method in ("POST", "PATCH"):
            operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[method.lower()] = operation
    error = {"type": "object", "required": ["status", "code", "message"],
             "properties": {"status": {"enum": ["fail", "error"]}, "code": {"type": "string"}, "message": {"type": "string"}}}
    return respond({"openapi": "3.0.3", "info": {"title": "Pulse Booking Protocol", "version": "1"}, "paths": paths,
                    "components": {"schemas": {"Error": error},
                                   "responses": {"Error": {"description": "the error envelope", "content": {
                                       "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}})

# ================================================================================ main


async def sweeper():
    """PB-HOLD-8: expire lapsed holds every 100 ms, announced as seat_released (expired)."""
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        if bug("pb-hold-8-lazy-expiry"):
            continue
        for ev in list(EVENTS.values()):
            if not ev.deleted and ev.holds:
                try:
                    expire_due(ev)
                except Exception:
                    traceback.print_exc(file=sys.stderr)


def build_app():
    app = web.Application(middlewares=[api_middleware], client_max_size=MAX_BODY + 1)
    app.on_response_prepare.append(add_security_headers)
    absent = {("GET", "/api/v1/events/{id}/holds") if bug("pb-hold-11-no-list-route") else None,
              ("GET", "/api/v1/users/me") if bug("pb-user-6-no-me-route") else None}
    for method, path, handler, _ in ROUTES:
        if (method, path) not in absent:
            app.router.add_route(method, path, handler)
    if not bug("pb-ops-1-healthz-missing"):
        app.router.add_get("/healthz", healthz)
    if not bug("pb-ops-3-readyz-missing"):
        app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    return app


async def serve(port):
    admin_email, admin_password = os.environ.get("PULSE_ADMIN_EMAIL"), os.environ.get("PULSE_ADMIN_PASSWORD")
    if admin_email and admin_password:
        ensure_admin(admin_email, admin_password)
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sweep = asyncio.create_task(sweeper())
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    await stop.wait()
    sweep.cancel()
    await runner.cleanup()


def main():
    global SECRET
    if DEFECT is not None and DEFECT not in DEFECT_NAMES:
        sys.exit(f"unknown PULSE_DEFECT {DEFECT!r}")
    if len(SECRET) < 32:
        sys.exit("JWT_SECRET must be at least 32 bytes (PB-SEC-2)")
    if bug("pb-sec-2-empty-secret"):
        SECRET = b""
    if len(sys.argv) != 2:
        sys.exit("usage: python pulse_server.py PORT")
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
