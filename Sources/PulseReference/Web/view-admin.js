// Admin: create events (PB-EVENT-3), close/reopen them (PATCH isActive, PB-EVENT-5) and delete
// them (PB-EVENT-7). GET /events lists only active events, so the ids of events this browser
// created or closed are remembered in localStorage to keep closed ones in reach for reopening.

import { api, session, describeError } from './api.js';
import { h, replace, toast, formatDate, formatMoney } from './dom.js';
import { field, showFormError, value } from './view-auth.js';

const KNOWN_KEY = 'pulse.admin.events';

function knownIds() {
  try { return new Set(JSON.parse(localStorage.getItem(KNOWN_KEY)) || []); } catch { return new Set(); }
}
function remember(id, keep = true) {
  const ids = knownIds();
  if (keep) ids.add(id); else ids.delete(id);
  localStorage.setItem(KNOWN_KEY, JSON.stringify([...ids].slice(-50)));
}

/** "YYYY-MM-DDTHH:MM" in local time, as datetime-local wants. */
function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function adminView(root) {
  if (!session.isAdmin) {
    replace(root, h('section', { class: 'panel' }, h('h1', { text: 'Admins only' }),
      h('p', { text: 'You need an admin account to manage events.' })));
    return () => {};
  }
  const tomorrow = new Date(Date.now() + 86400000);
  tomorrow.setHours(19, 30, 0, 0);
  const form = h('form', { class: 'panel form form-wide', id: 'create-event-form', novalidate: true, 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title', text: 'Create an event' }),
    field('Title', { name: 'title', type: 'text', required: true, maxlength: 200 }),
    field('Venue', { name: 'venue', type: 'text', required: true, maxlength: 200 }),
    field('Date and time', { name: 'date', type: 'datetime-local', required: true, value: localInputValue(tomorrow) }),
    h('div', { class: 'field' }, h('label', { for: 'f-description', text: 'Description (optional)' }),
      h('textarea', { id: 'f-description', name: 'description', maxlength: 2000, rows: 2 })),
    h('div', { class: 'field-row' },
      field('Rows (1–26)', { name: 'rows', type: 'number', min: 1, max: 26, required: true, value: '8' }),
      field('Seats per row (1–50)', { name: 'cols', type: 'number', min: 1, max: 50, required: true, value: '12' }),
      field('Price per seat', { name: 'price', type: 'number', min: 0, max: 100000, step: '0.01', required: true, value: '25.00' })),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'create-event-submit', text: 'Create event' }));
  const list = h('div', { id: 'admin-event-list' }, h('p', { class: 'muted', text: 'Loading…' }));
  replace(root, h('div', { class: 'page-head' }, h('h1', { text: 'Admin' })), form,
    h('section', { class: 'admin-events', 'aria-labelledby': 'admin-events-title' },
      h('h2', { id: 'admin-events-title', text: 'Events' }), list));
  let destroyed = false;

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    const when = new Date(value(form, 'date'));
    const body = {
      title: value(form, 'title').trim(),
      venue: value(form, 'venue').trim(),
      date: Number.isNaN(when.getTime()) ? value(form, 'date') : when.toISOString(),
      venueConfig: { rows: Number(value(form, 'rows')), cols: Number(value(form, 'cols')), price: Number(value(form, 'price')) },
    };
    const description = value(form, 'description').trim();
    if (description) body.description = description;
    button.disabled = true;
    try {
      const r = await api('POST', '/events', { body });
      remember(r.data.event.id);
      toast(`Created “${r.data.event.title}”.`, 'success');
      form.querySelector('.form-error').hidden = true;
      form.elements.namedItem('title').value = '';
      load();
    } catch (error) {
      showFormError(form, error);
    } finally {
      button.disabled = false;
    }
  });

  async function load() {
    try {
      const active = (await api('GET', '/events', { auth: false })).data.events;
      const seen = new Set(active.map((ev) => ev.id));
      const others = await Promise.all([...knownIds()].filter((id) => !seen.has(id)).map(async (id) => {
        try { return (await api('GET', `/events/${id}`, { auth: false })).data.event; } catch (error) {
          if (error.code === 'event_not_found') remember(id, false);
          return null;
        }
      }));
      if (destroyed) return;
      const events = [...active, ...others.filter(Boolean)].sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
      replace(list, events.length === 0 ? h('p', { class: 'muted', text: 'No events yet.' })
        : h('ul', { class: 'admin-list' }, events.map(row)));
    } catch (error) {
      if (!destroyed) replace(list, h('p', { class: 'form-error', text: describeError(error) }));
    }
  }

  function row(ev) {
    const toggle = h('button', { type: 'button', class: 'btn', dataset: { action: 'toggle' },
      text: ev.isActive ? 'Close booking' : 'Reopen booking' });
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        await api('PATCH', `/events/${ev.id}`, { body: { isActive: !ev.isActive } });
        remember(ev.id);
        toast(`${ev.isActive ? 'Closed' : 'Reopened'} “${ev.title}”.`, 'success');
        load();
      } catch (error) {
        toast(describeError(error), 'error');
        toggle.disabled = false;
      }
    });
    // Two-step delete without window.confirm: the first press arms the button for 5 s.
    const del = h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'delete' }, text: 'Delete' });
    let armed = null;
    del.addEventListener('click', async () => {
      if (!armed) {
        del.textContent = 'Confirm delete';
        del.classList.add('armed');
        armed = setTimeout(() => { armed = null; del.textContent = 'Delete'; del.classList.remove('armed'); }, 5000);
        return;
      }
      clearTimeout(armed);
      del.disabled = true;
      try {
        await api('DELETE', `/events/${ev.id}`);
        remember(ev.id, false);
        toast(`Deleted “${ev.title}”.`, 'success');
        load();
      } catch (error) {
        toast(describeError(error), 'error');
        del.disabled = false;
      }
    });
    return h('li', { class: 'admin-event panel', dataset: { eventId: ev.id, active: String(ev.isActive) } },
      h('div', { class: 'admin-event-info' },
        h('h3', {}, h('a', { href: `#/events/${ev.id}`, text: ev.title })),
        h('p', { class: 'muted', text: `${ev.venue} · ${formatDate(ev.date)} · ${ev.venueConfig.rows}×${ev.venueConfig.cols} · ${formatMoney(ev.venueConfig.price)}` }),
        h('p', {}, h('span', { class: ev.isActive ? 'badge badge-on' : 'badge badge-off', text: ev.isActive ? 'On sale' : 'Closed' }),
          ` ${ev.availableSeats} of ${ev.totalSeats} seats left`)),
      h('div', { class: 'admin-actions' }, toggle, del));
  }

  load();
  return () => { destroyed = true; };
}
