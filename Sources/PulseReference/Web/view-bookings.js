// My bookings (GET /bookings/me, newest first). Bookings carry only the event id, so the events'
// titles are fetched once each; a deleted event's bookings stay listed (PB-EVENT-7).
//
// Each booking shows its status (confirmed, or cancelled with when). A confirmed one can be
// cancelled (POST /bookings/:id/cancel, PB-CHECKOUT-8): "Cancel booking" opens an inline
// confirmation (no window.confirm) whose first focus is the harmless "Keep booking"; Escape keeps
// the booking too. The answer replaces the row, and the seats are on sale again for everyone.

import { api, describeError } from './api.js';
import { h, replace, toast, formatDate, formatMoney, compareSeatIds } from './dom.js';

const STATUS_TEXT = { confirmed: 'Confirmed', cancelled: 'Cancelled' };

export function bookingsView(root) {
  const list = h('div', { id: 'booking-list', 'aria-busy': 'true' }, h('p', { class: 'muted', text: 'Loading your bookings…' }));
  replace(root, h('div', { class: 'page-head' }, h('h1', { text: 'My bookings' })), list);
  let destroyed = false;
  (async () => {
    try {
      const r = await api('GET', '/bookings/me');
      const ids = [...new Set(r.data.bookings.map((b) => b.eventId))];
      const events = new Map(await Promise.all(ids.map(async (id) => {
        try { return [id, (await api('GET', `/events/${id}`, { auth: false })).data.event]; } catch { return [id, null]; }
      })));
      if (destroyed) return;
      list.setAttribute('aria-busy', 'false');
      if (r.data.bookings.length === 0) {
        replace(list, h('p', { class: 'muted' }, 'No bookings yet. ', h('a', { href: '#/events', text: 'Find an event' })));
        return;
      }
      replace(list, h('ul', { class: 'booking-list' }, r.data.bookings.map((b) => row(b, events.get(b.eventId)))));
    } catch (error) {
      if (!destroyed) replace(list, h('p', { class: 'form-error', text: describeError(error) }));
    }
  })();
  return () => { destroyed = true; };
}

function row(booking, event) {
  const seats = [...booking.seatIds].sort(compareSeatIds);
  const status = booking.status;
  const cancelled = status === 'cancelled';
  const statusEl = h('span', { class: `badge booking-status ${status === 'confirmed' ? 'badge-on' : cancelled ? 'badge-off' : ''}`,
    tabindex: -1, text: STATUS_TEXT[status] ?? status });
  const li = h('li', { class: `booking panel${cancelled ? ' booking-cancelled' : ''}`,
    dataset: { bookingId: booking.id, eventId: booking.eventId, status } },
    h('h2', { class: 'booking-title' }, event
      ? h('a', { href: `#/events/${booking.eventId}`, text: event.title })
      : h('span', { class: 'muted', text: 'Event no longer listed' })),
    event ? h('p', { class: 'muted', text: `${event.venue} · ${formatDate(event.date)}` }) : null,
    h('p', {}, `Seat${seats.length === 1 ? '' : 's'} `, h('strong', { class: 'booking-seats', text: seats.join(', ') })),
    h('p', { class: 'booking-foot' },
      h('span', {}, statusEl, ` ${formatMoney(booking.totalAmount)}`),
      h('span', { class: 'muted' }, `booked ${formatDate(booking.createdAt)}`,
        cancelled && booking.cancelledAt
          ? h('span', { class: 'booking-cancelled-at' }, ` · cancelled ${formatDate(booking.cancelledAt)}`) : null)),
    cancelled && booking.cancellationReason
      ? h('p', { class: 'muted booking-reason', text: `Reason: ${booking.cancellationReason}` }) : null,
    status === 'confirmed' ? cancelControls(booking, seats, (updated) => {
      const next = row({ ...booking, ...updated }, event);
      li.replaceWith(next);
      // The row was rebuilt: put focus on its new status so that keyboard users stay in place.
      next.querySelector('.booking-status').focus();
    }) : null);
  return li;
}

/** "Cancel booking" and its inline confirmation; `done(booking)` gets the server's answer. */
function cancelControls(booking, seats, done) {
  const questionId = `cancel-q-${booking.id}`;
  const confirmId = `cancel-confirm-${booking.id}`;
  const trigger = h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'cancel' },
    'aria-expanded': 'false', 'aria-controls': confirmId, text: 'Cancel booking' });
  const yes = h('button', { type: 'button', class: 'btn btn-danger armed', dataset: { action: 'confirm-cancel' },
    text: 'Yes, cancel booking' });
  const keep = h('button', { type: 'button', class: 'btn', dataset: { action: 'keep' }, text: 'Keep booking' });
  const confirm = h('div', { class: 'booking-confirm', id: confirmId, role: 'group', 'aria-labelledby': questionId, hidden: true },
    h('p', { id: questionId, class: 'booking-confirm-question',
      text: `Cancel this booking? Seat${seats.length === 1 ? '' : 's'} ${seats.join(', ')} will go back on sale and may be booked by someone else.` }),
    h('div', { class: 'booking-actions' }, yes, keep));
  let busy = false;

  function open() {
    trigger.hidden = true;
    trigger.setAttribute('aria-expanded', 'true');
    confirm.hidden = false;
    keep.focus();
  }
  function close() {
    if (busy) return;
    confirm.hidden = true;
    trigger.hidden = false;
    trigger.setAttribute('aria-expanded', 'false');
    trigger.focus();
  }
  async function cancel() {
    if (busy) return; // a second press while the first is in flight does nothing
    busy = true;
    yes.disabled = keep.disabled = true;
    yes.setAttribute('aria-busy', 'true');
    yes.textContent = 'Cancelling…';
    try {
      const r = await api('POST', `/bookings/${booking.id}/cancel`);
      toast(`Cancelled your booking of seat${seats.length === 1 ? '' : 's'} ${seats.join(', ')}.`, 'success');
      done(r.data.booking);
    } catch (error) {
      // Cancelling is idempotent (PB-CHECKOUT-9): after an unknown outcome, pressing again is safe.
      toast(describeError(error), 'error');
      busy = false;
      yes.disabled = keep.disabled = false;
      yes.removeAttribute('aria-busy');
      yes.textContent = 'Yes, cancel booking';
      yes.focus();
    }
  }

  trigger.addEventListener('click', open);
  keep.addEventListener('click', close);
  yes.addEventListener('click', cancel);
  confirm.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(); }
  });
  return h('div', { class: 'booking-cancel' }, trigger, confirm);
}
