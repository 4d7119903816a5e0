// Sign in: org (empty for a provider user), user name, password.

import { signIn } from '../api.js';
import { h, errorText } from '../ui.js';

function render(main, ctx) {
  const org = h('input', { id: 'signin-org', name: 'org', autocomplete: 'organization', spellcheck: 'false',
    autocapitalize: 'off', placeholder: 'empty for a provider user', 'aria-describedby': 'signin-org-hint' });
  const user = h('input', { id: 'signin-user', name: 'username', autocomplete: 'username', required: true,
    spellcheck: 'false', autocapitalize: 'off' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const submit = h('button', { id: 'signin-submit', type: 'submit', class: 'btn-primary' }, 'Sign in');
  const error = h('p', { id: 'signin-error', class: ctx.message ? 'error' : '', role: 'alert' }, ctx.message || '');

  const form = h('form', { class: 'signin-form', novalidate: true, onsubmit: onSubmit },
    h('div', { class: 'field' }, h('label', { for: 'signin-org' }, 'Organization'), org,
      h('small', { id: 'signin-org-hint', class: 'hint' }, 'Leave empty to sign in as a provider user.')),
    h('div', { class: 'field' }, h('label', { for: 'signin-user' }, 'User name'), user),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, 'Password'), password),
    error,
    submit);

  async function onSubmit(e) {
    e.preventDefault();
    if (!user.value.trim() || !password.value) {
      error.className = 'error';
      error.textContent = 'Enter your user name and password.';
      (user.value.trim() ? password : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    error.className = '';
    error.textContent = '';
    try {
      const token = await signIn(org.value.trim(), user.value.trim(), password.value);
      ctx.onSignedIn(token);
    } catch (err) {
      if (ctx.signal.aborted) return;
      error.className = 'error';
      error.textContent = errorText(err);
      submit.disabled = false;
      submit.textContent = 'Sign in';
      password.select();
    }
  }

  main.append(h('section', { class: 'signin card' },
    h('h1', {}, 'Sign in to orgsync'),
    h('p', { class: 'sub' }, 'Admin console for keeping client organizations in step with their servers.'),
    form));
  org.focus();
}

export default { title: 'Sign in', render };
