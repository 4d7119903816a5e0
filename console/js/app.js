// The router, the top bar and the signed-in state.

import * as api from './api.js';
import { h, fill, flash, clearFlash, closeDialog, orgSelect, problemBox, pageHeader } from './ui.js';
import signin from './pages/signin.js';
import connections from './pages/connections.js';
import connection from './pages/connection.js';
import jobs from './pages/jobs.js';
import job from './pages/job.js';
import transactions from './pages/transactions.js';
import conflicts from './pages/conflicts.js';
import timeline from './pages/timeline.js';

const PAGES = { signin, connections, connection, jobs, job, transactions, conflicts, timeline };

const ROUTES = [
  [/^\/connections\/?$/, 'connections', []],
  [/^\/connections\/([^/]+)\/?$/, 'connection', ['org']],
  [/^\/jobs\/?$/, 'jobs', []],
  [/^\/jobs\/([^/]+)\/?$/, 'job', ['id']],
  [/^\/transactions(?:\/([^/]+))?\/?$/, 'transactions', ['org']],
  [/^\/conflicts(?:\/([^/]+))?\/?$/, 'conflicts', ['org']],
  [/^\/timeline(?:\/([^/]+))?\/?$/, 'timeline', ['org']],
];
const PER_ORG = ['transactions', 'conflicts', 'timeline'];
const ROLE_LABEL = { provider: 'provider', org_admin: 'org admin', org_user: 'org user' };

let current = null; // {aborter}
let signinMessage = '';
let carriedFlash = null;
let orgsPromise = null;
let expiryTimer = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/connections';
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = Object.fromEntries(new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)));
  for (const [re, name, keys] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    const params = {};
    keys.forEach((k, i) => {
      if (m[i + 1]) params[k] = safeDecode(m[i + 1]);
    });
    return { name, params, query, path };
  }
  return { name: path === '/' || path === '' ? 'connections' : 'notfound', params: {}, query, path };
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The signed-in user's claims, or null (no token, unreadable, or expired). */
function session() {
  const c = api.claims();
  if (!c) return null;
  if (typeof c.exp === 'number' && c.exp * 1000 <= Date.now()) {
    api.clearToken();
    signinMessage = 'Your session expired. Sign in again.';
    return null;
  }
  return c;
}

function signOut(message = '') {
  api.clearToken();
  orgsPromise = null;
  clearTimeout(expiryTimer);
  signinMessage = message;
  route();
}

api.onUnauthorized((err) => {
  if (!api.getToken()) return; // already signed out
  signOut(`Your session has ended (${err.detail}). Sign in again.`);
});

export function navigate(hash, message) {
  carriedFlash = message || null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function orgs(claims) {
  if (!orgsPromise) {
    orgsPromise = api
      .get(api.paths.connections)
      .then((d) => (d.Connections || []).map((c) => c.Org).sort())
      .catch(() => (claims.org ? [claims.org] : []));
  }
  return orgsPromise;
}

function setTopbar(claims, r) {
  const bar = document.getElementById('topbar');
  bar.hidden = !claims;
  if (!claims) return;
  const who = document.getElementById('whoami');
  fill(who, h('strong', {}, claims.sub || '?'), ` · ${ROLE_LABEL[claims.role] || claims.role || ''}`,
    claims.org ? ` · ${claims.org}` : '');
  who.title = `Signed in as ${claims.sub} (${claims.role}${claims.org ? `, org ${claims.org}` : ''})`;
  const org = r.params.org || claims.org || '';
  for (const a of bar.querySelectorAll('a[data-nav]')) {
    const name = a.dataset.nav;
    if (PER_ORG.includes(name)) a.href = org ? `#/${name}/${encodeURIComponent(org)}` : `#/${name}`;
    const active = name === r.name || (name === 'connections' && r.name === 'connection') || (name === 'jobs' && r.name === 'job');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  current?.aborter.abort();
  closeDialog();
  const aborter = new AbortController();
  current = { aborter };
  const main = document.getElementById('main');
  const claims = session();
  let r = parseHash();

  if (!claims) {
    setTopbar(null, r);
    clearFlash();
    renderPage(main, 'signin', {
      message: signinMessage,
      signal: aborter.signal,
      onSignedIn(token) {
        api.setToken(token.AccessToken);
        signinMessage = '';
        orgsPromise = null;
        route();
      },
    });
    return;
  }

  if (PER_ORG.includes(r.name) && !r.params.org && claims.org) {
    history.replaceState(null, '', `#/${r.name}/${encodeURIComponent(claims.org)}`);
    r = parseHash();
  }
  clearTimeout(expiryTimer);
  if (typeof claims.exp === 'number') {
    const ms = claims.exp * 1000 - Date.now();
    if (ms < 2 ** 31) expiryTimer = setTimeout(() => signOut('Your session expired. Sign in again.'), ms);
  }
  if (r.name === 'connections') orgsPromise = null; // a new connection shows in the org pickers
  setTopbar(claims, r);
  clearFlash();
  if (carriedFlash) flash(carriedFlash);
  carriedFlash = null;
  if (main.dataset.lastPath !== r.path) window.scrollTo(0, 0);
  main.dataset.lastPath = r.path;

  const ctx = {
    params: r.params,
    query: r.query,
    signal: aborter.signal,
    claims,
    isProvider: claims.role === 'provider',
    navigate,
    orgs: () => orgs(claims),
    /** Rewrites the hash's query (no new history entry, no re-render). */
    setQuery(q) {
      const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();
      history.replaceState(null, '', `#${r.path}${s ? `?${s}` : ''}`);
      ctx.query = Object.fromEntries(new URLSearchParams(s));
    },
    /** A select to switch this per-org page to another org. */
    orgSwitcher(label = 'Organization') {
      const box = h('label', { class: 'org-switch' }, h('span', {}, label));
      const pick = (org) => navigate(`#/${r.name}/${encodeURIComponent(org)}`);
      box.append(orgSelect(r.params.org ? [r.params.org] : [], r.params.org, pick, { id: 'org-picker' }));
      orgs(claims).then((names) => {
        if (!aborter.signal.aborted) box.querySelector('select').replaceWith(orgSelect(names, r.params.org, pick, { id: 'org-picker' }));
      });
      return box;
    },
  };
  renderPage(main, PAGES[r.name] ? r.name : 'notfound', ctx);
}

function renderPage(main, name, ctx) {
  main.dataset.page = name;
  main.replaceChildren();
  const page = PAGES[name];
  if (!page) {
    main.append(pageHeader('Page not found'),
      h('p', {}, 'There is no page at this address. ', h('a', { href: '#/connections' }, 'Go to Connections'), '.'));
    return;
  }
  Promise.resolve()
    .then(() => page.render(main, ctx))
    .catch((err) => {
      if (api.isAbort(err) || err?.handled || ctx.signal.aborted) return;
      if (!main.querySelector('h1')) main.prepend(pageHeader(page.title || name));
      main.append(problemBox(err, 'This page could not be shown'));
    });
}

function start() {
  document.getElementById('signout').addEventListener('click', () => signOut(''));
  window.addEventListener('hashchange', route);
  route();
}

start();
