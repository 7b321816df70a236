// Log-in and sign-up forms (SPEC PB-USER-1, PB-USER-4).

import { api, session, describeError } from './api.js';
import { h, replace, toast } from './dom.js';

/** A labelled input. */
export function field(label, props) {
  const id = `f-${props.name}`;
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    h('input', { id, ...props }));
}

/** Shows an API error in the form's error box and marks the named field invalid. */
export function showFormError(form, error) {
  const box = form.querySelector('.form-error');
  box.textContent = describeError(error);
  box.hidden = false;
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const name = error.field?.split('.').pop();
  const input = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
}

/** A form control's value (form.name would be the form's own name attribute). */
export function value(form, name) { return form.elements.namedItem(name).value; }

function afterLogin(next) {
  location.hash = next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/events';
}

export function loginView(root, params) {
  const form = h('form', { class: 'panel form', id: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', text: 'Log in' }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'login-submit', text: 'Log in' }),
    h('p', { class: 'muted' }, 'No account? ', h('a', { href: `#/signup${params.next ? `?next=${encodeURIComponent(params.next)}` : ''}`, text: 'Sign up' })));
  onAccountSubmit(form, params, '/users/login', 'Welcome back',
    () => ({ email: value(form, 'email').trim(), password: value(form, 'password') }));
  replace(root, form);
  form.elements.namedItem('email').focus();
}

export function signupView(root, params) {
  const form = h('form', { class: 'panel form', id: 'signup-form', novalidate: true, 'aria-labelledby': 'signup-title' },
    h('h1', { id: 'signup-title', text: 'Create an account' }),
    field('Name', { name: 'name', type: 'text', autocomplete: 'name', required: true, minlength: 2, maxlength: 100 }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password (6 to 72 characters)', { name: 'password', type: 'password', autocomplete: 'new-password',
      required: true, minlength: 6, maxlength: 72 }),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'signup-submit', text: 'Sign up' }),
    h('p', { class: 'muted' }, 'Have an account? ', h('a', { href: '#/login', text: 'Log in' })));
  onAccountSubmit(form, params, '/users/signup', 'Welcome',
    () => ({ name: value(form, 'name').trim(), email: value(form, 'email').trim(), password: value(form, 'password') }));
  replace(root, form);
  form.querySelector('[name=name]').focus();
}

/** Submits `form` to `path` (log in or sign up) with the body `fields()` gives, keeps the session
 *  it answers, greets the user and goes on; a refusal shows in the form. */
function onAccountSubmit(form, params, path, greeting, fields) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const r = await api('POST', path, { auth: false, body: fields() });
      session.set(r.token, r.data.user);
      toast(`${greeting}, ${r.data.user.name}.`, 'success');
      afterLogin(params.next);
    } catch (error) {
      showFormError(form, error);
    } finally {
      button.disabled = false;
    }
  });
}
