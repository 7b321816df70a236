// Entry point: hash router (#/events, #/events/:id, #/login, #/signup, #/bookings, #/admin),
// navigation bar, the shared live connection, and window.pulseDebug for browser tests.

import { api, session, onSessionChange, setAuthLostHandler, reportAuthLost } from './api.js';
import { h, replace, toast } from './dom.js';
import { LiveClient } from './live.js';
import { EventPage } from './seatmap.js';
import { loginView, signupView } from './view-auth.js';
import { eventsView } from './view-events.js';
import { bookingsView } from './view-bookings.js';
import { adminView } from './view-admin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

const live = new LiveClient({
  tokenProvider: () => session.token,
  onAuthLost: (code) => reportAuthLost(code),
  onStateChange: (state) => window.dispatchEvent(new CustomEvent('pulse:live-state', { detail: state })),
  // A refused upgrade: a 401 here logs out (through the auth-lost handler); else keep retrying.
  onConnectFailed: () => { api('GET', '/users/me').catch(() => {}); },
});

let cleanup = null;       // the current view's teardown
let eventPage = null;     // the current EventPage, for pulseDebug

setAuthLostHandler((code) => {
  live.closeAll();
  toast(code === 'token_expired' ? 'Your session expired. Please log in again.' : 'Please log in again.', 'error');
  goToLogin();
});

function goToLogin() {
  const here = location.hash;
  location.hash = here.startsWith('#/login') || here.startsWith('#/signup') ? here : `#/login?next=${encodeURIComponent(here || '#/events')}`;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/events';
  const [path, query = ''] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), params: Object.fromEntries(new URLSearchParams(query)) };
}

/** Pages that need a session: an event's seat map (holds need a user), bookings, admin. */
function needsLogin([page, id]) {
  return (page === 'events' && Boolean(id)) || page === 'bookings' || page === 'admin';
}

function route() {
  cleanup?.();
  cleanup = null;
  eventPage = null;
  const { parts, params } = parseHash();
  const [page, id] = parts;
  if (needsLogin(parts) && !session.loggedIn) { goToLogin(); return; }
  switch (page) {
    case 'login': loginView(main, params); break;
    case 'signup': signupView(main, params); break;
    case 'bookings': cleanup = bookingsView(main); break;
    case 'admin': cleanup = adminView(main); break;
    case 'events':
      if (id) {
        eventPage = new EventPage(main, id, { live });
        eventPage.start();
        const current = eventPage;
        cleanup = () => current.destroy();
      } else {
        cleanup = eventsView(main);
      }
      break;
    default:
      replace(main, h('section', { class: 'panel' }, h('h1', { text: 'Page not found' }),
        h('a', { class: 'btn', href: '#/events', text: 'Back to events' })));
  }
  renderNav();
  if (document.activeElement === document.body || !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

function renderNav() {
  const { parts } = parseHash();
  const link = (href, text, page) => h('a', { href, class: 'nav-link', text,
    'aria-current': parts[0] === page && (page !== 'events' || parts.length === 1) ? 'page' : null });
  const items = [link('#/events', 'Events', 'events')];
  if (session.loggedIn) {
    items.push(link('#/bookings', 'My bookings', 'bookings'));
    if (session.isAdmin) items.push(link('#/admin', 'Admin', 'admin'));
    items.push(h('span', { class: 'nav-user', id: 'nav-user', text: session.user.name }));
    items.push(h('button', { type: 'button', class: 'btn btn-small', id: 'logout', text: 'Log out', on: { click: logout } }));
  } else {
    items.push(link('#/login', 'Log in', 'login'), link('#/signup', 'Sign up', 'signup'));
  }
  replace(nav, items);
}

function logout() {
  live.closeAll();
  location.hash = '#/events'; // first, so that the session change below finds a public page
  session.clear();
  toast('You are logged out.', 'info');
}

onSessionChange(() => {
  renderNav();
  if (session.loggedIn) return;
  // Logged out (here, in another tab, or the token was refused): leave pages that need a session.
  live.closeAll();
  if (needsLogin(parseHash().parts)) goToLogin();
});
window.addEventListener('hashchange', route);

// Test hook (read-only state; dropConnection cuts the socket as a network failure would).
window.pulseDebug = Object.freeze({
  get state() { return live.state; },
  get lastSeq() { return eventPage?.lastSeq ?? null; },
  get eventId() { return eventPage?.eventId ?? null; },
  get stats() { return { ...live.stats }; },
  dropConnection: (downMs = 0) => live.dropConnection(downMs),
  dropIncoming: (n = 1) => { live.dropIncoming = Math.max(0, Number(n) || 0); },
  resync: () => live.resync('debug'),
});

// Check the stored token (and refresh the role) before the first page.
(async () => {
  if (session.token) {
    try {
      const r = await api('GET', '/users/me');
      session.setUser(r.data.user);
    } catch { /* 401 logs out through the auth-lost handler; a network error keeps the session */ }
  }
  route();
})();
