// Small DOM helpers: element construction without innerHTML (no markup injection, CSP-friendly),
// toasts, and formatting.

/**
 * h("button", {class: "btn", type: "button", on: {click: fn}, dataset: {x: 1}}, "text", child)
 * Any other prop becomes an attribute (aria-*, role, href, ...); false/null/undefined skip it.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const TOAST_MS = { info: 4000, success: 5000, error: 8000 };

/**
 * Shows a toast. Errors go to the assertive region, the rest to the polite one. A toast can be
 * dismissed with its button; it goes away by itself after a few seconds.
 */
export function toast(message, kind = 'info') {
  const region = document.getElementById(kind === 'error' ? 'alerts' : 'toasts');
  if (!region) return;
  const item = h('div', { class: `toast toast-${kind}`, dataset: { kind } },
    h('span', { class: 'toast-text', text: message }),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', text: '×',
      on: { click: () => item.remove() } }));
  region.append(item);
  // Keep at most 4 on screen.
  while (region.children.length > 4) region.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS[kind] ?? 5000);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFormat.format(d);
}

const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
export function formatMoney(amount) { return money.format(amount); }

/** "m:ss" for a number of milliseconds (never negative). */
export function formatCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Compares seat ids "A2" < "A10" < "B1". */
export function compareSeatIds(a, b) {
  const [, ra, na] = /^([A-Z]+)(\d+)$/.exec(a) ?? [, a, 0];
  const [, rb, nb] = /^([A-Z]+)(\d+)$/.exec(b) ?? [, b, 0];
  return ra === rb ? Number(na) - Number(nb) : (ra < rb ? -1 : 1);
}
