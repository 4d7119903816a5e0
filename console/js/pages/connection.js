// One connection: its settings, MatchOn and DeleteGuard forms, its links (directions, sync
// filter editor with Explain), snapshots (snapshot.js: dry-run preview, filtered or whole), and Compare.

import * as api from '../api.js';
import {
  h, fill, badge, time, kv, fmtNum, plural, flash, flashError, problemBox, confirmDialog, dataTable,
  pageHeader, summaryTable, firstIdsList, progressBar,
} from '../ui.js';
import { jobLink, jobStartedMessage, jobErrorBox, jobCommand } from './jobs.js';
import { runSnapshot, snapshotFilterText } from './snapshot.js';

const COMPARE_COLS = ['Server', 'Client', 'Missing', 'Extra', 'Stale', 'LocalOnly', 'Pending'];
const pretty = (f) => (f === null || f === undefined ? '' : JSON.stringify(f, null, 2));

/** The editor's text as a filter: null when empty; throws a readable error when it is not one. */
function parseFilter(text) {
  if (!text.trim()) return null;
  let v;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`This is not JSON: ${err.message}`);
  }
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) {
    throw new Error('A filter is a JSON object such as {"Type": "and", "Conditions": [...]}.');
  }
  return v;
}

async function render(main, ctx) {
  const { signal } = ctx;
  const org = ctx.params.org;
  const orgQ = encodeURIComponent(org);
  const stateBadge = h('span');
  const btn = (action, label, onclick, extra = {}) => h('button', { type: 'button', 'data-action': action, onclick, ...extra }, label);

  main.append(
    pageHeader(`Connection ${org}`, { sub: h('span', {}, 'State: ', stateBadge) }),
    h('nav', { class: 'subnav', 'aria-label': `${org} pages` },
      h('a', { href: `#/transactions/${orgQ}` }, 'Transactions'),
      h('a', { href: `#/conflicts/${orgQ}` }, 'Conflicts'),
      h('a', { href: `#/timeline/${orgQ}` }, 'Timeline'),
      h('a', { href: `#/jobs?org=${orgQ}` }, 'Jobs')),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Connection actions' },
      btn('sync', 'Sync now', (e) => startSimple(e.currentTarget, 'sync')),
      btn('update-client', 'Update client', (e) => startSimple(e.currentTarget, 'update')),
      h('span', { class: 'sep' }),
      btn('get-snapshot', 'Get snapshot…', () => snapshot('Get')),
      btn('send-snapshot', 'Send snapshot…', () => snapshot('Send')),
      h('span', { class: 'sep' }),
      btn('compare', 'Compare', () => compare(false)),
      btn('compare-repair', 'Compare & repair…', () => compare(true))),
  );
  const activity = h('section', { id: 'activity', class: 'card', hidden: true, 'aria-live': 'polite' });
  const settingsBox = h('section', { class: 'card' }, h('h2', {}, 'Settings'), h('p', { class: 'muted' }, 'Loading…'));
  const guardsBox = h('div', { class: 'grid-2' });
  const linksBox = h('section', { class: 'card' }, h('h2', {}, 'Links'));
  main.append(activity, settingsBox, linksBox, guardsBox);

  let conn = await api.get(api.paths.connection(org), undefined, { signal });
  const linkRows = new Map();
  showConnection();
  renderLinks();

  function showConnection(withForms = true) {
    fill(stateBadge, badge(conn.State));
    fill(settingsBox, h('h2', {}, 'Settings'), kv(2, [
      ['Server URL', h('code', { class: 'wrap' }, conn.Url)],
      ['User', conn.UserName],
      ['Provider', conn.ProviderID],
      ['State', badge(conn.State)],
      conn.LastError ? ['Last error', h('span', { class: 'bad-text' }, conn.LastError)] : null,
      conn.HeldJob ? ['Held job', jobLink(conn.HeldJob)] : null,
      ['Last sync', time(conn.LastSyncOn, true)],
      ['Write offline', conn.WriteOffline ? 'Yes: client writes wait for the next sync' : 'No: client writes are delivered at once'],
      ['Sync mode', conn.SyncMode],
      ['Conflict policy', conn.ConflictPolicy],
      ['Sync interval', conn.SyncInterval || 'None (no periodic sync)'],
      ['Entities', conn.Entities?.length ? conn.Entities.join(', ') : 'All of the server’s'],
      ['Created', time(conn.CreatedOn, true)],
      ['Updated', time(conn.UpdatedOn, true)],
    ]));
    if (withForms) fill(guardsBox, matchOnForm(), deleteGuardForm());
  }

  async function patchConnection(body, msgEl, done) {
    try {
      conn = await api.patch(api.paths.connection(org), body, { signal });
      showConnection();
      flash(done);
    } catch (err) {
      if (api.isAbort(err) || err.handled) return;
      fill(msgEl, problemBox(err, 'Not saved'));
    }
  }

  function matchOnForm() {
    const current = conn.MatchOn || {};
    const entities = [...new Set([...(conn.Links || []).map((l) => l.Entity), ...Object.keys(current)])].sort();
    const inputs = entities.map((e) => h('input', { id: `matchon-${e}`, 'data-matchon-for': e, value: (current[e] || []).join(', '),
      placeholder: 'e.g. emailaddress1', spellcheck: 'false', autocapitalize: 'off' }));
    const msg = h('div', { class: 'form-msg' });
    const form = h('form', { class: 'card', id: 'matchon-form', onsubmit: (e) => {
      e.preventDefault();
      const value = {};
      entities.forEach((ent, i) => {
        const attrs = inputs[i].value.split(',').map((s) => s.trim()).filter(Boolean);
        if (attrs.length) value[ent] = attrs;
      });
      patchConnection({ MatchOn: Object.keys(value).length ? value : null }, msg, 'MatchOn saved.');
    } },
    h('h2', {}, 'Match on'),
    h('p', { class: 'muted small' }, 'On a link’s first sync, an existing client record whose values of these attributes match a server record (trimmed, any case) is adopted instead of duplicated. Comma-separated attribute names; empty: no matching.'),
    entities.length
      ? h('div', { class: 'form-grid' }, entities.map((e, i) => [h('label', { for: `matchon-${e}` }, e), inputs[i]]))
      : h('p', { class: 'muted' }, 'No links yet.'),
    msg,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn-primary', disabled: !entities.length }, 'Save MatchOn')));
    return form;
  }

  function deleteGuardForm() {
    const g = conn.DeleteGuard;
    const off = g === 'Off';
    const count = h('input', { id: 'guard-count', type: 'number', min: 0, step: 1, inputmode: 'numeric', value: off ? '' : g?.Count ?? '', placeholder: '500' });
    const percent = h('input', { id: 'guard-percent', type: 'number', min: 0, max: 100, step: 1, inputmode: 'numeric', value: off ? '' : g?.Percent ?? '', placeholder: '10' });
    const limit = h('input', { type: 'radio', name: 'guard-mode', id: 'guard-limit', value: 'Limit', checked: !off });
    const none = h('input', { type: 'radio', name: 'guard-mode', id: 'guard-off', value: 'Off', checked: off });
    const msg = h('div', { class: 'form-msg' });
    const sync = () => { count.disabled = none.checked; percent.disabled = none.checked; };
    limit.addEventListener('change', sync);
    none.addEventListener('change', sync);
    sync();
    return h('form', { class: 'card', id: 'guard-form', onsubmit: (e) => {
      e.preventDefault();
      if (none.checked) return patchConnection({ DeleteGuard: 'Off' }, msg, 'Delete guard switched off.');
      const v = {};
      if (count.value !== '') v.Count = Number(count.value);
      if (percent.value !== '') v.Percent = Number(percent.value);
      if (Object.values(v).some((n) => !Number.isInteger(n) || n < 0) || v.Percent > 100) {
        fill(msg, problemBox({ detail: 'Count is a whole number of records; Percent a whole number from 0 to 100.' }));
        return undefined;
      }
      return patchConnection({ DeleteGuard: v }, msg, 'Delete guard saved.');
    } },
    h('h2', {}, 'Delete guard'),
    h('p', { class: 'muted small' }, 'A job holds for approval before deleting more than Count records, or more than Percent of a link’s records, on either side.'),
    h('div', { class: 'radio-row' }, h('label', {}, limit, ' Hold above'), h('label', {}, none, ' Off: let every delete through')),
    h('div', { class: 'form-grid' }, h('label', { for: 'guard-count' }, 'Count'), count, h('label', { for: 'guard-percent' }, 'Percent'), percent),
    msg,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn-primary' }, 'Save delete guard'),
      h('button', { type: 'button', onclick: () => patchConnection({ DeleteGuard: null }, msg, 'Delete guard back to its default.') }, 'Use default')));
  }

  function renderLinks() {
    const links = [...(conn.Links || [])].sort((a, b) => a.Entity.localeCompare(b.Entity));
    const { wrap, table } = dataTable({ id: 'links' }, ['Entity', 'Inbound', 'Outbound', 'Outbound state', 'Last sync',
      'Next read', 'Snapshot filter', 'Actions']);
    table.querySelector('tbody').remove();
    for (const link of links) table.append(linkBody(link));
    fill(linksBox, h('h2', {}, `Links (${links.length})`),
      h('p', { class: 'muted small' }, 'Inbound brings the server’s changes to the client; Outbound sends the client’s writes to the server. A changed sync filter re-reads the link in full at the next sync.'),
      links.length ? wrap : h('p', { class: 'empty-state', id: 'links-empty' }, 'No links yet: the Connect or Update client job makes one per synced entity.'));
  }

  function linkBody(link) {
    const e = link.Entity;
    const check = (field) => h('input', { type: 'checkbox', 'data-field': field, checked: link[field], 'aria-label': `${field} ${e}`,
      onchange: (ev) => patchDirection(e, field, ev.currentTarget) });
    const cells = { outState: h('td'), lastSync: h('td'), full: h('td'), snap: h('td') };
    const row = h('tr', { 'data-entity': e },
      h('th', { scope: 'row' }, e),
      h('td', { class: 'center' }, check('Inbound')),
      h('td', { class: 'center' }, check('Outbound')),
      cells.outState, cells.lastSync, cells.full, cells.snap,
      h('td', { class: 'actions' },
        btn('sync-entity', 'Sync', (ev) => startSimple(ev.currentTarget, 'sync', e), { 'data-entity': e, class: 'btn-small' }),
        btn('get-snapshot', 'Get snapshot…', () => snapshot('Get', e), { 'data-entity': e, class: 'btn-small' }),
        btn('send-snapshot', 'Send snapshot…', () => snapshot('Send', e), { 'data-entity': e, class: 'btn-small' })));
    const ta = h('textarea', { 'data-filter-for': e, id: `filter-${e}`, spellcheck: 'false', autocapitalize: 'off',
      rows: Math.min(14, Math.max(3, pretty(link.SyncFilter).split('\n').length + 1)), value: pretty(link.SyncFilter),
      placeholder: 'No filter: every record is synced. For example {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}' });
    const msg = h('div', { class: 'form-msg', 'data-filter-msg-for': e, role: 'status' });
    const explained = h('div', { class: 'explain', 'data-explain-for': e, role: 'status' });
    const state = { link, row, cells, ta, saved: pretty(link.SyncFilter) };
    ta.addEventListener('input', () => {
      msg.className = 'form-msg';
      msg.textContent = ta.value === state.saved ? '' : 'Unsaved changes.';
    });
    const editor = h('tr', { class: 'filter-row' }, h('td', { colspan: 8 },
      h('label', { for: `filter-${e}`, class: 'small strong' }, `Sync filter of ${e} (JSON; empty: every record)`), ta,
      h('div', { class: 'filter-actions' },
        h('button', { type: 'button', class: 'btn-primary btn-small', 'data-action': 'save-filter', 'data-entity': e, onclick: (ev) => saveFilter(state, msg, ev.currentTarget) }, 'Validate & save'),
        h('button', { type: 'button', class: 'btn-small', 'data-action': 'explain', 'data-entity': e, onclick: (ev) => explain(state, explained, ev.currentTarget) }, 'Explain'),
        h('button', { type: 'button', class: 'btn-small', 'data-action': 'revert-filter', 'data-entity': e, onclick: () => { ta.value = state.saved; msg.textContent = ''; } }, 'Revert'),
        explained),
      msg));
    linkRows.set(e, state);
    updateLinkRow(state, link);
    return h('tbody', { 'data-link': e }, row, editor);
  }

  function updateLinkRow(state, link) {
    state.link = link;
    for (const f of ['Inbound', 'Outbound']) state.row.querySelector(`input[data-field="${f}"]`).checked = Boolean(link[f]);
    fill(state.cells.outState, badge(link.OutboundState));
    fill(state.cells.lastSync, time(link.LastSyncOn));
    fill(state.cells.full, link.NeedsFull ? badge('Full', 'warn') : h('span', { class: 'muted' }, 'Changes'));
    fill(state.cells.snap, snapshotFilterText(link.SnapshotFilter));
    const saved = pretty(link.SyncFilter);
    if (state.ta.value === state.saved) state.ta.value = saved;
    state.saved = saved;
  }

  async function patchDirection(e, field, box) {
    const on = box.checked;
    box.disabled = true;
    try {
      const link = await api.patch(api.paths.link(org, e), { [field]: on }, { signal });
      updateLinkRow(linkRows.get(e), link);
      flash(`${e}: ${field} switched ${on ? 'on' : 'off'}${link.OutboundState === 'AwaitingSendSnapshot' && field === 'Outbound'
        ? '; client writes wait for a full Send snapshot of the link' : ''}.`);
    } catch (err) {
      box.checked = !on;
      flashError(err, `${e}: ${field} not changed`);
    } finally {
      box.disabled = false;
    }
  }

  async function saveFilter(state, msg, button) {
    const e = state.link.Entity;
    let filter;
    try {
      filter = parseFilter(state.ta.value);
    } catch (err) {
      fill(msg, problemBox({ detail: err.message, code: 'not_json' }, 'Invalid filter'));
      return;
    }
    button.disabled = true;
    try {
      const link = await api.patch(api.paths.link(org, e), { SyncFilter: filter }, { signal });
      state.ta.value = pretty(link.SyncFilter);
      updateLinkRow(state, link);
      fill(msg, h('span', { class: 'ok-text' }, filter ? 'Saved. The link is read in full at the next sync.' : 'Filter cleared: every record is synced.'));
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) fill(msg, problemBox(err, 'Invalid filter'));
    } finally {
      button.disabled = false;
    }
  }

  async function explain(state, out, button) {
    let filter;
    try {
      filter = parseFilter(state.ta.value);
    } catch (err) {
      fill(out, problemBox({ detail: err.message, code: 'not_json' }, 'Explain'));
      return;
    }
    button.disabled = true;
    fill(out, h('span', { class: 'muted' }, 'Counting on the server…'));
    try {
      // An empty editor means no filter: every record is in scope, so only Total matters.
      const r = await api.post(api.paths.explain(org, state.link.Entity), filter ? { SyncFilter: filter } : {}, { signal });
      const inScope = filter ? r.InScope : r.Total;
      const pct = r.Total ? ` (${((100 * inScope) / r.Total).toFixed(1)} %)` : '';
      fill(out, h('strong', {}, `${fmtNum(inScope)} of ${fmtNum(r.Total)} server records in scope`), pct,
        filter ? '' : ' — no filter');
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) fill(out, problemBox(err, 'Explain'));
    } finally {
      button.disabled = false;
    }
  }

  async function startSimple(button, what, entity) {
    const label = what === 'sync' ? `Sync of ${org}${entity ? `: ${entity}` : ''}` : `Update client of ${org}`;
    button.disabled = true;
    try {
      const path = what === 'sync' ? api.paths.sync(org) : api.paths.updateMetadata(org);
      const accepted = await api.startJob(path, entity ? { Entities: [entity] } : undefined, { signal });
      flash(jobStartedMessage(accepted, label));
      track(accepted);
    } catch (err) {
      flashError(err, `${label} could not start`);
    } finally {
      button.disabled = false;
    }
  }

  function snapshot(direction, entity) {
    return runSnapshot({ org, direction, entity, signal, track,
      linkOf: (e) => linkRows.get(e)?.link,
      links: () => [...linkRows.values()].map((st) => st.link),
      onLink: (link) => linkRows.has(link.Entity) && updateLinkRow(linkRows.get(link.Entity), link) });
  }

  async function compare(repair) {
    if (repair) {
      const ok = await confirmDialog({ title: 'Compare & repair?', okText: 'Compare & repair', danger: true,
        message: 'Compare finds the records that differ between the client and the server; repair then syncs exactly those records, through the delete guard and the quarantine.' });
      if (!ok || signal.aborted) return;
    }
    try {
      const accepted = await api.startJob(api.paths.compare(org), repair ? { Repair: true } : undefined, { signal });
      flash(jobStartedMessage(accepted, repair ? `Compare & repair of ${org}` : `Compare of ${org}`));
      track(accepted, true);
    } catch (err) {
      flashError(err, 'Compare could not start');
    }
  }

  /** Follows a job started here in the activity panel; reloads the connection when it ends. */
  let tracking = null;
  async function track(accepted, isCompare = false) {
    tracking?.abort();
    const mine = new AbortController();
    tracking = mine;
    signal.addEventListener('abort', () => mine.abort(), { once: true });
    activity.hidden = false;
    const head = h('h2', {}, 'Latest job');
    const body = h('div');
    fill(activity, head, body);
    try {
      const job = await api.watchJob(accepted.JobId, { signal: mine.signal, interval: 1000, timeoutMs: 3600000, onUpdate: (j) => {
        fill(head, jobCommand(j));
        fill(body, h('p', {}, badge(j.Status), ' ', jobLink(j.JobId), ' ', progressBar(j.Progress, j.Status)));
      } });
      if (job.Error) body.append(jobErrorBox(job.Error, 'The job failed'));
      const compareJob = isCompare || job.Kind === 'Compare';
      body.append(summaryTable(job.Summary, { id: compareJob ? 'compare-summary' : undefined,
        columns: compareJob && !job.Request?.Repair ? COMPARE_COLS : undefined, empty: 'Nothing to report.' }),
      firstIdsList(job.Summary) || '');
      if (compareJob) {
        const t = Object.values(job.Summary || {}).reduce((n, s) => n + (s.Missing || 0) + (s.Extra || 0) + (s.Stale || 0), 0);
        body.append(h('p', { class: t ? 'warn-text' : 'ok-text' }, t ? `${plural(t, 'difference')} found; the job’s log names each.` : 'No drift: client and server agree.'));
      }
      conn = await api.get(api.paths.connection(org), undefined, { signal: mine.signal });
      showConnection(false);
      for (const link of conn.Links || []) if (linkRows.has(link.Entity)) updateLinkRow(linkRows.get(link.Entity), link);
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) body.append(problemBox(err, 'Could not follow the job'));
    }
  }
}

export default { title: 'Connection', render };
