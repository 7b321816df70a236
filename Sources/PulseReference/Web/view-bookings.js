// My bookings (GET /bookings/me, newest first). Bookings carry only the event id, so the events'
// titles are fetched once each; a deleted event's bookings stay listed (PB-EVENT-7).

import { api, describeError } from './api.js';
import { h, replace, formatDate, formatMoney, compareSeatIds } from './dom.js';

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
  return h('li', { class: 'booking panel', dataset: { bookingId: booking.id, eventId: booking.eventId } },
    h('h2', { class: 'booking-title' }, event
      ? h('a', { href: `#/events/${booking.eventId}`, text: event.title })
      : h('span', { class: 'muted', text: 'Event no longer listed' })),
    event ? h('p', { class: 'muted', text: `${event.venue} · ${formatDate(event.date)}` }) : null,
    h('p', {}, `Seat${seats.length === 1 ? '' : 's'} `, h('strong', { class: 'booking-seats', text: seats.join(', ') })),
    h('p', { class: 'booking-foot' },
      h('span', { text: `${formatMoney(booking.totalAmount)} · ${booking.status}` }),
      h('span', { class: 'muted', text: `booked ${formatDate(booking.createdAt)}` })));
}
