// The list of active events (PB-EVENT-2), refreshed every 10 s while visible and when the page
// comes back into view. availableSeats counts seats not booked (held seats count as available).

import { api, describeError } from './api.js';
import { h, replace, formatDate, formatMoney } from './dom.js';

const REFRESH_MS = 10000;

export function eventsView(root) {
  const list = h('div', { class: 'event-grid', id: 'event-list', 'aria-busy': 'true' },
    h('p', { class: 'muted', text: 'Loading events…' }));
  replace(root, h('div', { class: 'page-head' }, h('h1', { text: 'Upcoming events' })), list);
  let destroyed = false;
  let shown = null; // the JSON last rendered: an unchanged list is not re-rendered (focus stays put)

  async function load() {
    if (document.visibilityState !== 'visible') return;
    try {
      const r = await api('GET', '/events', { auth: false });
      if (destroyed) return;
      list.setAttribute('aria-busy', 'false');
      const json = JSON.stringify(r.data.events);
      if (json === shown) return;
      shown = json;
      if (r.data.events.length === 0) {
        replace(list, h('p', { class: 'muted', text: 'No events on sale right now.' }));
        return;
      }
      replace(list, r.data.events.map(card));
    } catch (error) {
      if (!destroyed) { shown = null; replace(list, h('p', { class: 'form-error', text: describeError(error) })); }
    }
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  const onVisible = () => load();
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('focus', onVisible);
  return () => {
    destroyed = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
    window.removeEventListener('focus', onVisible);
  };
}

function card(ev) {
  const left = ev.availableSeats;
  const soldOut = left === 0;
  return h('article', { class: 'event-card panel', dataset: { eventId: ev.id } },
    h('h2', { class: 'event-card-title' }, h('a', { href: `#/events/${ev.id}`, text: ev.title })),
    h('p', { class: 'muted', text: ev.venue }),
    h('p', { text: formatDate(ev.date) }),
    h('p', { class: 'event-card-foot' },
      h('span', { class: soldOut ? 'seats-left sold-out' : 'seats-left', text: soldOut ? 'Sold out' : `${left} of ${ev.totalSeats} seats left` }),
      h('span', { class: 'price', text: `${formatMoney(ev.venueConfig.price)} a seat` })),
    h('a', { class: 'btn btn-primary', href: `#/events/${ev.id}`, 'aria-label': `Choose seats for ${ev.title}`, text: 'Choose seats' }));
}
