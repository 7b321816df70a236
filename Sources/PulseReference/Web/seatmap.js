// The event page: the seat map (kept exact by live.js), the basket with hold countdowns, and
// checkout.
//
// A seat's state comes from the live stream (the REST map, then changes in seq order). REST
// answers of our own requests (hold granted, released, booked) may arrive before the broadcast
// of that change; to show them at once we keep an *overlay* for the seat, but only if no stream
// message touched the seat since the request was sent (seat.version), and the next stream message
// for the seat replaces it. So the overlay can never hide a later change by someone else.

import { api, session, describeError, serverNow, newIdempotencyKey } from './api.js';
import { h, replace, toast, formatDate, formatMoney, formatCountdown, compareSeatIds } from './dom.js';

const STATE_TEXT = { available: 'available', mine: 'held by you', held: 'held by another customer', booked: 'booked' };

export class EventPage {
  constructor(root, eventId, { live }) {
    this.root = root;
    this.eventId = eventId;
    this.live = live;
    this.event = null;
    this.seats = new Map();      // id -> {id, row, number, price, status, lockedBy, version}
    this.buttons = new Map();    // id -> <button>
    this.holds = new Map();      // hold id -> {id, seatIds, expiresAt, addedAt}
    this.overlay = new Map();    // seat id -> display state from our own REST answer
    this.pending = new Set();    // seat ids with a hold/release request in flight
    this.booking = false;
    this.basketKey = null;       // {sig, key}: one Idempotency-Key per basket content
    this.ended = false;
    this.sub = null;
    this.timers = [];
    this.onLiveState = (e) => this.showLiveState(e.detail);
    this.onVisible = () => { if (document.visibilityState === 'visible') this.refreshEvent(); };
  }

  async start() {
    replace(this.root, h('p', { class: 'muted', text: 'Loading event…' }));
    let event, map;
    try {
      [event, map] = await Promise.all([
        api('GET', `/events/${this.eventId}`, { auth: false }),
        api('GET', `/events/${this.eventId}/seats`, { auth: false }),
      ]);
    } catch (error) {
      if (this.destroyed) return;
      const missing = error.code === 'event_not_found' || error.code === 'invalid_id';
      replace(this.root, h('section', { class: 'panel' },
        h('h1', { text: missing ? 'Event not found' : 'Could not load the event' }),
        h('p', { text: missing ? 'This event does not exist or was deleted.' : describeError(error) }),
        h('a', { class: 'btn', href: '#/events', text: 'Back to events' })));
      return;
    }
    if (this.destroyed) return;
    this.event = event.data.event;
    for (const s of map.data.seats) this.seats.set(s.id, { ...s, version: 0 });
    this.render();
    // Join from the REST map's seq: the server replays whatever changed since (no lost window
    // between the fetch and the join, unlike the seed's client).
    this.sub = this.live.subscribe(this.eventId, {
      snapshot: (m) => this.applySnapshot(m),
      change: (m) => this.applyChange(m),
      ended: () => this.eventDeleted(),
      error: (m) => toast(m.code === 'rate_limited' ? 'Too many live messages; slowing down.' : m.message, 'error'),
    }, map.data.seq);
    window.addEventListener('pulse:live-state', this.onLiveState);
    document.addEventListener('visibilitychange', this.onVisible);
    this.showLiveState(this.live.state);
    this.refreshHolds();
    this.timers.push(setInterval(() => this.tickCountdowns(), 1000));
    this.timers.push(setInterval(() => this.refreshEvent(), 30000));
  }

  destroy() {
    this.destroyed = true;
    this.sub?.close();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.holdsTimer);
    window.removeEventListener('pulse:live-state', this.onLiveState);
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  /** For window.pulseDebug. */
  get lastSeq() { return this.sub?.lastSeq ?? null; }

  // ---- rendering ---------------------------------------------------------------------------

  render() {
    const ev = this.event;
    this.liveBadge = h('span', { class: 'live-badge', id: 'live-status', role: 'status', dataset: { state: 'connecting' } });
    this.banner = h('div', { class: 'banner', id: 'event-banner', hidden: true });
    this.basket = h('aside', { class: 'basket panel', id: 'basket', 'aria-labelledby': 'basket-title' });
    this.map = h('div', { class: 'seat-map', id: 'seat-map', role: 'group', 'aria-label': 'Seat map',
      'aria-describedby': 'map-hint', on: { click: (e) => this.onMapClick(e), keydown: (e) => this.onMapKey(e) } });
    this.renderSeats();
    this.buildBasket();
    replace(this.root,
      h('div', { class: 'event-head' },
        h('a', { class: 'back-link', href: '#/events', text: '← All events' }),
        h('div', { class: 'event-title-line' }, h('h1', { id: 'event-title', text: ev.title }), this.liveBadge),
        h('p', { class: 'muted', id: 'event-meta' })),
      this.banner,
      h('div', { class: 'event-layout' },
        h('section', { class: 'panel map-panel', 'aria-label': 'Seats' },
          legend(),
          h('div', { class: 'stage', 'aria-hidden': 'true', text: 'Stage' }),
          this.staleNote = h('p', { class: 'stale-note', id: 'stale-note', hidden: true,
            text: 'Reconnecting to live updates: seats may be out of date for a moment.' }),
          h('div', { class: 'seat-map-scroll' }, this.map),
          h('p', { class: 'hint muted', id: 'map-hint',
            text: 'Choose a free seat to hold it; choose your seat again to release it. Arrow keys move between seats.' })),
        this.basket));
    this.renderEventInfo();
    this.renderBasket();
  }

  renderEventInfo() {
    const ev = this.event;
    document.getElementById('event-title').textContent = ev.title;
    document.getElementById('event-meta').textContent =
      `${ev.venue} · ${formatDate(ev.date)} · ${formatMoney(ev.venueConfig.price)} per seat`;
    if (this.ended) this.showBanner('This event was deleted. Nothing here can be booked any more.');
    else if (!ev.isActive) this.showBanner('Booking is closed for this event.');
    else if (Date.parse(ev.date) <= serverNow()) this.showBanner('This event has started; booking is closed.');
    else this.banner.hidden = true;
  }

  showBanner(text) {
    this.banner.textContent = text;
    this.banner.hidden = false;
  }

  renderSeats() {
    const rows = new Map();
    for (const seat of this.seats.values()) {
      if (!rows.has(seat.row)) rows.set(seat.row, []);
      rows.get(seat.row).push(seat);
    }
    const rowEls = [];
    let first = true;
    for (const [row, seats] of rows) {
      const buttons = seats.map((seat) => {
        const b = h('button', { type: 'button', class: 'seat', dataset: { seatId: seat.id },
          tabindex: first ? 0 : -1, text: String(seat.number) });
        first = false; // roving tabindex: the map is one tab stop, arrows move inside it
        this.buttons.set(seat.id, b);
        return b;
      });
      rowEls.push(h('div', { class: 'seat-row', role: 'group', 'aria-label': `Row ${row}` },
        h('span', { class: 'row-label', 'aria-hidden': 'true', text: row }),
        buttons,
        h('span', { class: 'row-label', 'aria-hidden': 'true', text: row })));
    }
    replace(this.map, rowEls);
    for (const id of this.seats.keys()) this.updateSeat(id);
  }

  displayState(seat) {
    if (seat.status === 'booked') return 'booked';
    const overlay = this.overlay.get(seat.id);
    if (overlay) return overlay;
    if (seat.status === 'locked') return seat.lockedBy === session.user?.id ? 'mine' : 'held';
    return 'available';
  }

  updateSeat(id) {
    const seat = this.seats.get(id);
    const b = this.buttons.get(id);
    if (!seat || !b) return;
    const state = this.displayState(seat);
    b.dataset.state = state;
    b.setAttribute('aria-label', `Row ${seat.row} seat ${seat.number}, ${STATE_TEXT[state]}`);
    b.setAttribute('aria-pressed', state === 'mine' ? 'true' : 'false');
    b.title = `${seat.id} · ${STATE_TEXT[state]} · ${formatMoney(seat.price)}`;
    // aria-disabled rather than disabled: booked seats stay reachable with the arrow keys.
    if (state === 'booked' || this.ended) b.setAttribute('aria-disabled', 'true');
    else b.removeAttribute('aria-disabled');
    if (this.pending.has(id)) b.dataset.pending = 'true';
    else delete b.dataset.pending;
  }

  updateAll() { for (const id of this.seats.keys()) this.updateSeat(id); }

  mySeatIds() {
    return [...this.seats.values()].filter((s) => this.displayState(s) === 'mine').map((s) => s.id).sort(compareSeatIds);
  }

  holdFor(seatId) {
    for (const hold of this.holds.values()) if (hold.seatIds.includes(seatId)) return hold;
    return null;
  }

  /** Builds the basket once; renderBasket() updates it (the Book button keeps its focus). */
  buildBasket() {
    this.basketBody = h('div', { class: 'basket-body' });
    this.basketTotal = h('strong', { id: 'basket-total' });
    this.bookButton = h('button', { type: 'button', class: 'btn btn-primary btn-block', id: 'book-button',
      on: { click: () => this.book() } });
    replace(this.basket,
      h('h2', { id: 'basket-title', text: 'Your seats' }),
      this.basketBody,
      h('p', { class: 'basket-total' }, 'Total ', this.basketTotal),
      this.bookButton,
      h('p', { class: 'hint muted', text: 'Seats are held for a limited time; book before the countdown ends.' }));
  }

  renderBasket() {
    const mine = this.mySeatIds();
    const price = this.event.venueConfig.price;
    const closed = this.ended || !this.event.isActive || Date.parse(this.event.date) <= serverNow();
    const items = mine.map((id) => {
      const hold = this.holdFor(id);
      return h('li', { class: 'basket-item', dataset: { seatId: id } },
        h('span', { class: 'basket-seat', text: id }),
        h('span', { class: 'countdown', text: countdownText(hold) }),
        h('span', { class: 'basket-price', text: formatMoney(price) }));
    });
    replace(this.basketBody, mine.length === 0
      ? h('p', { class: 'muted', id: 'basket-empty', text: 'No seats held yet. Pick a free seat on the map.' })
      : h('ul', { class: 'basket-list', id: 'basket-list' }, items));
    this.basketTotal.textContent = formatMoney(Math.round(price * 100) * mine.length / 100);
    const b = this.bookButton;
    b.disabled = mine.length === 0 || this.booking || closed;
    if (this.booking) b.setAttribute('aria-busy', 'true');
    else b.removeAttribute('aria-busy');
    b.textContent = this.booking ? 'Booking…'
      : mine.length === 0 ? 'Book' : `Book ${mine.length} seat${mine.length === 1 ? '' : 's'}`;
    this.tickCountdowns();
  }

  tickCountdowns() {
    for (const el of this.basket.querySelectorAll('.countdown')) {
      const hold = this.holdFor(el.closest('.basket-item').dataset.seatId);
      el.textContent = countdownText(hold);
      el.classList.toggle('countdown-low', Boolean(hold) && Date.parse(hold.expiresAt) - serverNow() < 30000);
    }
  }

  showLiveState(state) {
    if (!this.liveBadge) return;
    if (this.ended) state = 'ended'; // the event's stream is over, whatever the socket does
    const text = { open: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', idle: 'Offline', ended: 'Ended' }[state] ?? state;
    this.liveBadge.dataset.state = state;
    this.liveBadge.textContent = text;
    // While the socket is down the map may be behind: say so (it catches up on reconnect).
    this.map.classList.toggle('stale', state !== 'open' && state !== 'ended');
    this.map.classList.toggle('ended', state === 'ended');
    this.staleNote.hidden = state === 'open' || state === 'ended';
  }

  // ---- live stream -------------------------------------------------------------------------

  applySnapshot(m) {
    for (const s of m.seats) {
      const seat = this.seats.get(s.id);
      if (!seat) continue;
      seat.status = s.status;
      seat.lockedBy = s.lockedBy;
      seat.version += 1;
    }
    this.overlay.clear();
    this.updateAll();
    this.renderBasket();
    this.refreshHolds();
  }

  applyChange(m) {
    // seats_booked and seats_released (a cancelled booking, PB-CHECKOUT-10) name several seats.
    const touched = Array.isArray(m.seatIds) ? m.seatIds : m.seatId ? [m.seatId] : [];
    for (const id of touched) {
      const seat = this.seats.get(id);
      if (!seat) continue;
      const wasMine = this.displayState(seat) === 'mine';
      if (m.type === 'seat_locked') {
        seat.status = 'locked';
        seat.lockedBy = m.lockedBy;
        // Our own hold made elsewhere (another tab): fetch its id and expiry.
        if (m.lockedBy === session.user?.id && !this.holdFor(id)) this.refreshHolds();
      } else {
        // seat_released and seats_released (whatever its reason) leave the seat on sale.
        seat.status = m.type === 'seats_booked' ? 'booked' : 'available';
        seat.lockedBy = undefined;
        this.dropSeatFromHolds(id);
        if (wasMine && m.type === 'seat_released' && m.reason === 'expired') toast(`Your hold on seat ${id} expired.`, 'info');
      }
      seat.version += 1;
      this.overlay.delete(id);
      this.updateSeat(id);
    }
    this.renderBasket();
  }

  eventDeleted() {
    this.ended = true;
    this.holds.clear();
    this.overlay.clear();
    for (const seat of this.seats.values()) if (seat.status === 'locked') { seat.status = 'available'; seat.lockedBy = undefined; }
    this.updateAll();
    this.renderEventInfo();
    this.renderBasket();
    this.showLiveState('ended');
    toast('This event was deleted.', 'error');
  }

  // ---- holds -------------------------------------------------------------------------------

  addHold(hold) { this.holds.set(hold.id, { ...hold, addedAt: Date.now() }); }

  dropSeatFromHolds(seatId) {
    for (const hold of [...this.holds.values()]) {
      if (!hold.seatIds.includes(seatId)) continue;
      hold.seatIds = hold.seatIds.filter((id) => id !== seatId);
      if (hold.seatIds.length === 0) this.holds.delete(hold.id);
    }
  }

  /** Reloads our holds (ids and expiry); debounced. Holds added after the request started stay. */
  refreshHolds() {
    if (!session.loggedIn || this.ended) return Promise.resolve();
    clearTimeout(this.holdsTimer);
    return new Promise((resolve) => {
      this.holdsTimer = setTimeout(async () => {
        const started = Date.now();
        try {
          const r = await api('GET', `/events/${this.eventId}/holds`);
          if (this.destroyed) return;
          const fresh = new Map(r.data.holds.map((hold) => [hold.id, { ...hold, addedAt: started }]));
          for (const hold of this.holds.values()) if (hold.addedAt > started && !fresh.has(hold.id)) fresh.set(hold.id, hold);
          this.holds = fresh;
          this.renderBasket();
        } catch { /* the next change or the countdown will retry */ }
        resolve();
      }, 100);
    });
  }

  onMapClick(e) {
    const b = e.target.closest('button.seat');
    if (!b) return;
    this.focusSeat(b);
    const seat = this.seats.get(b.dataset.seatId);
    if (!seat || this.pending.has(seat.id) || this.ended) return;
    const state = this.displayState(seat);
    if (state === 'booked') { toast(`Seat ${seat.id} is already booked.`, 'info'); return; }
    if (!session.loggedIn) { location.hash = `#/login?next=${encodeURIComponent(location.hash)}`; return; }
    // A seat shown held by someone else is still tried: the hold may have just lapsed (PB-HOLD-6);
    // the server decides, and its 409 becomes the "taken" toast.
    if (state === 'mine') this.release(seat);
    else this.hold(seat);
  }

  async hold(seat) {
    const version = seat.version;
    const looked = this.displayState(seat);
    this.pending.add(seat.id);
    this.updateSeat(seat.id);
    try {
      const r = await api('POST', `/events/${this.eventId}/holds`, { body: { seatIds: [seat.id] } });
      this.addHold(r.data.hold);
      if (seat.version === version && Date.parse(r.data.hold.expiresAt) > serverNow()) this.overlay.set(seat.id, 'mine');
    } catch (error) {
      toast(describeError(error), 'error');
      // Our map said free but the server says taken: we may have missed something; re-sync.
      if (error.code === 'seat_unavailable' && looked === 'available') this.sub?.join();
    } finally {
      this.pending.delete(seat.id);
      this.updateSeat(seat.id);
      this.renderBasket();
    }
  }

  async release(seat) {
    let hold = this.holdFor(seat.id);
    if (!hold) { await this.refreshHolds(); hold = this.holdFor(seat.id); }
    if (!hold) { toast(`Your hold on seat ${seat.id} is gone (it may have expired).`, 'info'); return; }
    const versions = new Map(hold.seatIds.map((id) => [id, this.seats.get(id)?.version]));
    this.pending.add(seat.id);
    this.updateSeat(seat.id);
    try {
      await api('DELETE', `/events/${this.eventId}/holds/${hold.id}`);
      this.holds.delete(hold.id);
      for (const [id, v] of versions) if (this.seats.get(id)?.version === v) this.overlay.set(id, 'available');
    } catch (error) {
      if (error.code === 'hold_not_found') this.holds.delete(hold.id);
      toast(describeError(error), error.code === 'hold_not_found' ? 'info' : 'error');
    } finally {
      this.pending.delete(seat.id);
      for (const id of versions.keys()) this.updateSeat(id);
      this.renderBasket();
    }
  }

  // ---- checkout ----------------------------------------------------------------------------

  async book() {
    if (this.booking) return; // a second click while the first is in flight does nothing
    const seatIds = this.mySeatIds();
    if (seatIds.length === 0) return;
    // One key per basket content: a retry of the same basket (double click, lost answer) is the
    // same checkout to the server (PB-CHECKOUT-6); a changed basket is a new one.
    const sig = seatIds.join(',');
    if (this.basketKey?.sig !== sig) this.basketKey = { sig, key: newIdempotencyKey() };
    const versions = new Map(seatIds.map((id) => [id, this.seats.get(id).version]));
    const totalCents = Math.round(this.event.venueConfig.price * 100) * seatIds.length;
    this.booking = true;
    this.renderBasket();
    try {
      const r = await api('POST', `/events/${this.eventId}/seats`, {
        body: { seatIds, totalAmount: totalCents / 100 },
        headers: { 'Idempotency-Key': this.basketKey.key },
      });
      const booking = r.data.booking;
      this.basketKey = null;
      for (const id of booking.seatIds) {
        this.dropSeatFromHolds(id);
        if (this.seats.get(id)?.version === versions.get(id)) this.overlay.set(id, 'booked');
        this.updateSeat(id);
      }
      toast(`Booked seat${booking.seatIds.length === 1 ? '' : 's'} ${booking.seatIds.join(', ')} for ${formatMoney(booking.totalAmount)}. See My bookings.`, 'success');
    } catch (error) {
      // Keep the key only when the outcome is unknown: the retry must be the same checkout.
      if (!error.outcomeUnknown && error.code !== 'idempotency_in_progress') this.basketKey = null;
      toast(describeError(error), 'error');
      if (['hold_required', 'hold_expired', 'hold_not_found', 'hold_superseded'].includes(error.code)) {
        this.refreshHolds();
        this.sub?.join();
      }
    } finally {
      this.booking = false;
      this.renderBasket();
    }
  }

  async refreshEvent() {
    try {
      const r = await api('GET', `/events/${this.eventId}`, { auth: false });
      if (this.destroyed) return;
      this.event = r.data.event;
      this.renderEventInfo();
      this.renderBasket();
    } catch { /* deletion arrives as event_deleted */ }
  }

  // ---- keyboard ----------------------------------------------------------------------------

  focusSeat(b) {
    for (const other of this.map.querySelectorAll('button.seat[tabindex="0"]')) other.tabIndex = -1;
    b.tabIndex = 0;
    b.focus();
  }

  onMapKey(e) {
    const b = e.target.closest('button.seat');
    if (!b) return;
    const row = b.parentElement;
    const index = [...row.querySelectorAll('button.seat')].indexOf(b);
    let next = null;
    if (e.key === 'ArrowLeft') next = b.previousElementSibling;
    else if (e.key === 'ArrowRight') next = b.nextElementSibling;
    else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      const other = e.key === 'ArrowUp' ? row.previousElementSibling : row.nextElementSibling;
      const seats = other ? other.querySelectorAll('button.seat') : [];
      next = seats[Math.min(index, seats.length - 1)] ?? null;
    } else if (e.key === 'Home') next = row.querySelector('button.seat');
    else if (e.key === 'End') next = [...row.querySelectorAll('button.seat')].pop();
    else return;
    e.preventDefault();
    if (next?.matches('button.seat')) this.focusSeat(next);
  }
}

function countdownText(hold) {
  if (!hold) return '…';
  const left = Date.parse(hold.expiresAt) - serverNow();
  return left > 0 ? `held ${formatCountdown(left)}` : 'expiring…';
}

function legend() {
  const item = (state, text) => h('li', { class: 'legend-item' },
    h('span', { class: 'seat seat-swatch', dataset: { state }, 'aria-hidden': 'true' }), text);
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    item('available', 'Available'), item('mine', 'Your hold'), item('held', 'Held by someone else'), item('booked', 'Booked'));
}
