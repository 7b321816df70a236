// REST client for /api/v1 (SPEC.md §1-§8): the session (token and user in localStorage), the
// success/error envelopes, and an estimate of the server's clock for hold countdowns.

const TOKEN_KEY = 'pulse.token';
const USER_KEY = 'pulse.user';

/** The logged-in user, if any. `user` is {id, name, email, role}. */
export const session = {
  token: localStorage.getItem(TOKEN_KEY),
  user: readUser(),
  get loggedIn() { return Boolean(this.token && this.user); },
  get isAdmin() { return this.user?.role === 'admin'; },
  set(token, user) {
    this.token = token;
    this.user = user;
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
    notify();
  },
  setUser(user) {
    this.user = user;
    localStorage.setItem(USER_KEY, JSON.stringify(user));
    notify();
  },
  clear() {
    this.token = null;
    this.user = null;
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
    notify();
  },
};

function readUser() {
  try { return JSON.parse(localStorage.getItem(USER_KEY)); } catch { return null; }
}

const sessionListeners = new Set();
/** Calls `fn` whenever the session changes (log in, log out, expiry). */
export function onSessionChange(fn) { sessionListeners.add(fn); }
function notify() { for (const fn of sessionListeners) fn(session); }

// Another tab logged in or out: follow it.
window.addEventListener('storage', (e) => {
  if (e.key !== TOKEN_KEY && e.key !== USER_KEY) return;
  session.token = localStorage.getItem(TOKEN_KEY);
  session.user = readUser();
  notify();
});

/** An error envelope (SPEC PB-ERR-1), or a network failure (status 0, code "network_error"). */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `Request failed (${status})`);
    this.status = status;
    this.code = body?.code || 'unknown_error';
    this.seatIds = body?.seatIds;
    this.field = body?.field;
    this.expectedAmount = body?.expectedAmount;
    // A network failure leaves a write indeterminate, as a 503 with outcomeUnknown does.
    this.outcomeUnknown = Boolean(body?.outcomeUnknown) || status === 0;
    this.retryAfter = retryAfter;
  }
}

/** Codes that mean the token is no good any more (PB-AUTH-1/2): log in again. */
export const AUTH_LOST_CODES = new Set(['unauthenticated', 'invalid_token', 'token_expired']);

let authLostHandler = () => {};
/** `fn(code)` runs when an authenticated request is refused for its token. */
export function setAuthLostHandler(fn) { authLostHandler = fn; }

/** Reports a lost session once (several requests may fail together). */
export function reportAuthLost(code) {
  if (!session.token) return;
  session.clear();
  authLostHandler(code);
}

// Server clock minus client clock, in ms, estimated from the Date header (1 s resolution, so a
// skew under 1.5 s is ignored). Hold countdowns use it: expiresAt is in server time.
let clockSkew = 0;
export function serverNow() { return Date.now() + clockSkew; }
function trackClock(response) {
  const date = Date.parse(response.headers.get('Date') || '');
  if (Number.isNaN(date)) return;
  const skew = date + 500 - Date.now();
  clockSkew = Math.abs(skew) > 1500 ? skew : 0;
}

/**
 * Calls the API. Returns the parsed success envelope (null for 204) or throws ApiError.
 * options: body (JSON), headers, auth (send the token; default when logged in).
 */
export async function api(method, path, { body, headers = {}, auth = true } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, cache: 'no-store' };
  const token = auth ? session.token : null;
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, { code: 'network_error', message: 'The server could not be reached. Check your connection.' });
  }
  trackClock(response);
  if (response.status === 204) return null;
  let json = null;
  try { json = await response.json(); } catch { /* not JSON: handled below */ }
  if (response.ok && json) return json;
  const error = new ApiError(response.status, json, Number(response.headers.get('Retry-After')) || undefined);
  if (response.status === 401 && token && AUTH_LOST_CODES.has(error.code)) reportAuthLost(error.code);
  throw error;
}

/** A human sentence for an ApiError (codes, not messages, decide: PB-ERR-2). */
export function describeError(error) {
  if (!(error instanceof ApiError)) return error?.message || 'Something went wrong.';
  const seats = error.seatIds?.length ? error.seatIds.join(', ') : null;
  switch (error.code) {
    case 'seat_unavailable':
      return seats ? `Sorry, seat ${seats} was taken by someone else.` : 'Sorry, that seat was taken by someone else.';
    case 'hold_limit_exceeded': return 'You already hold the most seats allowed for this event.';
    case 'event_inactive': return 'This event is closed for booking.';
    case 'event_not_found': return 'This event no longer exists.';
    case 'hold_expired': return 'Your hold expired. Pick your seats again.';
    case 'hold_required': return 'Some seats are no longer held by you. Pick them again.';
    case 'hold_not_found': return 'That hold is gone (it may have expired).';
    case 'booking_not_found': return 'This booking was not found. Reload the page to see your bookings.';
    case 'cancellation_closed': return 'This event has taken place: its bookings can no longer be cancelled.';
    case 'checkout_in_progress':
    case 'idempotency_in_progress': return 'Your booking is still being processed.';
    case 'amount_mismatch': return `The price changed: the total is now ${error.expectedAmount}.`;
    case 'rate_limited':
      return `Too many attempts. Try again${error.retryAfter ? ` in ${error.retryAfter} s` : ' later'}.`;
    case 'invalid_credentials': return 'Incorrect email or password.';
    case 'email_taken': return 'An account with this email already exists.';
    case 'validation_failed': return error.field ? `${error.message} (${error.field})` : error.message;
    case 'token_expired':
    case 'invalid_token':
    case 'unauthenticated': return 'Your session has ended. Please log in again.';
    case 'store_unavailable':
      return error.outcomeUnknown
        ? 'The server could not confirm whether this went through. Try again: it will not be done twice.'
        : 'The server is busy. Try again in a moment.';
    case 'network_error': return error.message;
    default: return error.message || 'Something went wrong.';
  }
}

/** A random Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
