// The live connection (SPEC.md §9, PB-LIVE): one WebSocket to /api/v1/live shared by the page,
// subscriptions per event, and the rules that keep a seat map exact:
//
// * Every change (seat_locked, seat_released, seats_booked, seats_released, event_deleted)
//   carries the event's seq; a subscription applies them strictly in seq order: seq <= lastSeq
//   is a duplicate (a replay overlapping what we had) and is dropped; seq > lastSeq + 1 means we
//   missed something, so the message is parked and we re-join with sinceSeq = lastSeq. The
//   server replays what we missed (then `joined`) or, when it no longer remembers, sends a fresh
//   `snapshot`.
// * A closed socket reconnects by itself with exponential backoff and jitter, and every
//   subscription re-joins with its sinceSeq, so nothing changed while we were away is lost.
// * A socket can also die silently (laptop sleep, a NAT dropping the flow). When the page comes
//   back (visibilitychange, the `online` event, or a timer that fired far too late) we re-join
//   every subscription with sinceSeq; a join not answered within JOIN_TIMEOUT_MS means the socket
//   is dead, and we reconnect.

import { AUTH_LOST_CODES } from './api.js';

const JOIN_TIMEOUT_MS = 6000;
const BACKOFF_MIN_MS = 400;
const BACKOFF_MAX_MS = 15000;
const WAKE_TICK_MS = 2000;     // the wake-up detector's timer period
const WAKE_GAP_MS = 10000;     // a tick this late means the machine slept (or the tab was frozen)
// seats_released: a cancelled booking's seats are on sale again (PB-CHECKOUT-10).
const CHANGE_TYPES = new Set(['seat_locked', 'seat_released', 'seats_booked', 'seats_released', 'event_deleted']);

class Subscription {
  constructor(client, eventId, handlers, sinceSeq) {
    this.client = client;
    this.eventId = eventId;
    this.handlers = handlers;
    // The seq of the state the view shows; null until a snapshot (or a REST map) gave one.
    this.lastSeq = Number.isInteger(sinceSeq) ? sinceSeq : null;
    this.parked = new Map();        // seq -> change message that arrived ahead of a gap
    this.joining = false;
    this.joinTimer = null;
    this.gapRejoins = 0;            // re-joins in a row that did not close a gap
    this.ended = false;
  }

  /** Asks the server for everything after lastSeq (or a snapshot when we have no seq). */
  join({ snapshot = false } = {}) {
    if (this.ended) return;
    const message = { type: 'join_event', eventId: this.eventId };
    if (!snapshot && this.lastSeq !== null) message.sinceSeq = this.lastSeq;
    if (!this.client.send(message)) return; // not connected: the reconnect will join
    this.joining = true;
    clearTimeout(this.joinTimer);
    // An unanswered join means the socket is dead even if the browser still thinks it is open.
    this.joinTimer = setTimeout(() => {
      if (this.joining) this.client.reconnectNow('join timed out');
    }, JOIN_TIMEOUT_MS);
  }

  joinAnswered() {
    this.joining = false;
    clearTimeout(this.joinTimer);
    this.client.connectionHealthy();
  }

  onSnapshot(m) {
    this.joinAnswered();
    this.lastSeq = m.seq;
    this.gapRejoins = 0;
    this.handlers.snapshot?.(m);
    this.drain();
  }

  onJoined(m) {
    this.joinAnswered();
    if (this.lastSeq === null || m.seq > this.lastSeq) {
      // The replay did not reach the seq the server says it reached: take a snapshot instead.
      this.join({ snapshot: true });
      return;
    }
    this.drain();
  }

  onChange(m) {
    if (this.lastSeq === null || m.seq > this.lastSeq) this.parked.set(m.seq, m);
    this.drain();
  }

  /** Applies parked changes that continue lastSeq; re-joins when a gap remains. */
  drain() {
    if (this.lastSeq === null) return;
    for (const seq of this.parked.keys()) if (seq <= this.lastSeq) this.parked.delete(seq);
    while (!this.ended && this.parked.has(this.lastSeq + 1)) {
      const m = this.parked.get(this.lastSeq + 1);
      this.parked.delete(m.seq);
      this.lastSeq = m.seq;
      this.handlers.change?.(m);
      if (m.type === 'event_deleted') {
        this.end();
        this.handlers.ended?.('deleted');
      }
    }
    if (this.ended || this.parked.size === 0) {
      this.gapRejoins = 0;
      return;
    }
    if (this.joining) return; // the join in flight will fill the gap
    this.client.stats.gaps += 1;
    this.gapRejoins += 1;
    // Twice in a row the replay did not close the gap: start over from a snapshot.
    this.join({ snapshot: this.gapRejoins > 2 });
  }

  /** The event is gone (event_deleted, or join answered event_not_found). */
  end() {
    this.ended = true;
    this.joining = false;
    clearTimeout(this.joinTimer);
    this.parked.clear();
    this.client.subscriptions.delete(this);
  }

  /** Stops following the event. */
  close() {
    if (!this.ended && this.client.socketOpen) this.client.send({ type: 'leave_event', eventId: this.eventId });
    this.end();
    this.client.maybeDisconnect();
  }
}

export class LiveClient {
  /**
   * tokenProvider(): the current token (null: none). onAuthLost(code): the server refused the
   * token. onStateChange(state): 'connecting' | 'open' | 'reconnecting' | 'idle'.
   * onConnectFailed(): a socket closed before it opened (a server may refuse the upgrade with a
   * 401 that a browser cannot read, PB-LIVE-1): the app checks the token over REST.
   */
  constructor({ tokenProvider, onAuthLost, onStateChange, onConnectFailed }) {
    this.tokenProvider = tokenProvider;
    this.onConnectFailed = onConnectFailed;
    this.onAuthLost = onAuthLost;
    this.onStateChange = onStateChange;
    this.subscriptions = new Set();
    this.ws = null;
    this.state = 'idle';
    this.attempt = 0;
    this.retryTimer = null;
    this.holdOffUntil = 0;          // dropConnection(downMs) keeps us offline until then
    this.dropIncoming = 0;          // test hook: discard the next N change messages
    this.stats = { connects: 0, reconnects: 0, gaps: 0, resyncs: 0, dropped: 0 };
    this.lastTick = Date.now();
    setInterval(() => this.tick(), WAKE_TICK_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.resync('visible');
    });
    window.addEventListener('online', () => this.resync('online'));
    window.addEventListener('pageshow', (e) => { if (e.persisted) this.resync('pageshow'); });
  }

  get socketOpen() { return this.ws?.readyState === WebSocket.OPEN; }

  /** Follows an event. handlers: snapshot(m), change(m), ended(reason), error(m). */
  subscribe(eventId, handlers, sinceSeq) {
    const sub = new Subscription(this, eventId, handlers, sinceSeq);
    this.subscriptions.add(sub);
    if (this.socketOpen) sub.join();
    else this.ensureConnected();
    return sub;
  }

  send(message) {
    if (!this.socketOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onStateChange?.(state);
  }

  ensureConnected() {
    if (this.ws || this.retryTimer || this.subscriptions.size === 0) return;
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const token = this.tokenProvider();
    if (!token || this.subscriptions.size === 0) { this.setState('idle'); return; }
    if (Date.now() < this.holdOffUntil) { this.scheduleReconnect(this.holdOffUntil - Date.now()); return; }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Browsers cannot set headers on a WebSocket: the token goes in the query (PB-LIVE-1).
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/live?token=${encodeURIComponent(token)}`);
    this.ws = ws;
    this.authFailed = false;
    this.setState(this.stats.connects === 0 ? 'connecting' : 'reconnecting');
    ws.onopen = () => {
      ws.opened = true;
      this.stats.connects += 1;
      this.setState('open');
      for (const sub of this.subscriptions) sub.join();
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => this.closed(ws);
    ws.onerror = () => { /* onclose follows */ };
  }

  /** The socket is gone (however it went): re-join after a backoff unless the token was refused. */
  closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const sub of this.subscriptions) { sub.joining = false; clearTimeout(sub.joinTimer); }
    if (this.authFailed || this.subscriptions.size === 0) { this.setState('idle'); return; }
    if (!ws.opened) this.onConnectFailed?.();
    this.setState('reconnecting');
    // 400 ms, 800 ms, 1.6 s ... 15 s, each with up to 50% random jitter (no thundering herd).
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.scheduleReconnect(base / 2 + Math.random() * base / 2);
  }

  scheduleReconnect(delay) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.stats.reconnects += 1;
      this.connect();
    }, Math.max(0, delay));
  }

  /** A join was answered: the connection works, so the next failure starts the backoff afresh. */
  connectionHealthy() { this.attempt = 0; }

  /**
   * The socket looks dead (a join went unanswered): drop it and reconnect through the backoff,
   * which restarts from its shortest delay only once a join is answered again.
   */
  reconnectNow(reason) {
    this.stats.resyncs += 1;
    console.debug(`pulse live: reconnect (${reason})`);
    const ws = this.ws;
    if (!ws) return;
    this.detach(ws);
    this.closed(ws);
  }

  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch { /* already closed */ }
  }

  /**
   * The page woke up, became visible or came online: make sure the map is current. With an open
   * socket, re-join every subscription with sinceSeq (cheap: the server replays only what we
   * missed; the join timeout catches a dead socket); without one, connect now.
   */
  resync(reason) {
    if (this.subscriptions.size === 0 || !this.tokenProvider()) return;
    this.stats.resyncs += 1;
    console.debug(`pulse live: resync (${reason})`);
    if (this.socketOpen) {
      for (const sub of this.subscriptions) sub.join();
    } else if (!this.ws || this.ws.readyState !== WebSocket.CONNECTING) {
      this.attempt = 0;
      this.scheduleReconnect(Math.max(0, this.holdOffUntil - Date.now()));
    }
  }

  tick() {
    const now = Date.now();
    const late = now - this.lastTick > WAKE_GAP_MS;
    this.lastTick = now;
    // Hidden tabs get throttled timers; their return is handled by visibilitychange.
    if (late && document.visibilityState === 'visible') this.resync('wake-up');
  }

  receive(data) {
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (!m || typeof m !== 'object') return;
    if (CHANGE_TYPES.has(m.type) && this.dropIncoming > 0) {
      this.dropIncoming -= 1;
      this.stats.dropped += 1;
      return;
    }
    if (m.type === 'error') { this.receiveError(m); return; }
    for (const sub of [...this.subscriptions]) {
      if (sub.eventId !== m.eventId) continue;
      if (m.type === 'snapshot') sub.onSnapshot(m);
      else if (m.type === 'joined') sub.onJoined(m);
      else if (CHANGE_TYPES.has(m.type) && Number.isInteger(m.seq)) sub.onChange(m);
    }
  }

  /** `error` carries no eventId; a failed join is the one in flight. */
  receiveError(m) {
    if (AUTH_LOST_CODES.has(m.code)) {
      this.authFailed = true; // the server closes with 1008 next; do not retry with this token
      this.onAuthLost?.(m.code);
      return;
    }
    const joining = [...this.subscriptions].filter((s) => s.joining);
    if (m.code === 'event_not_found' && joining.length > 0) {
      for (const sub of joining) { sub.end(); sub.handlers.ended?.('deleted'); }
      return;
    }
    for (const sub of this.subscriptions) sub.handlers.error?.(m);
  }

  /** Closes the socket when nothing is followed any more. */
  maybeDisconnect() {
    if (this.subscriptions.size > 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) { this.detach(this.ws); this.ws = null; }
    this.setState('idle');
  }

  /** Log out: forget every subscription and close. */
  closeAll() {
    for (const sub of [...this.subscriptions]) sub.end();
    this.maybeDisconnect();
  }

  /**
   * Test hook: cut the socket as a network failure would (no close handshake seen by the app,
   * which then reconnects by itself); with downMs, stay offline at least that long.
   */
  dropConnection(downMs = 0) {
    this.holdOffUntil = Date.now() + Math.max(0, Number(downMs) || 0);
    const ws = this.ws;
    if (!ws) return false;
    this.detach(ws);
    this.closed(ws);
    return true;
  }
}
