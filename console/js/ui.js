// Small DOM helpers: an element builder that only ever sets text (never innerHTML),
// formatting, badges, the flash message, the confirm dialog, tables and pollers.

import { isAbort } from './api.js';

/**
 * h('a', {href, class, 'data-x': 1, onclick: fn}, 'text', child, [more]) — strings become
 * text nodes; null, undefined and false are skipped; on… props become event listeners.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'value') value = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && !k.includes('-') && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value; // after the children: a <select> needs its options
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---- formatting -----------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** "2026-03-01 14:05:09" in local time, or "—". */
export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Short local text: "15:04:09" today, "Mar 1 15:04" this year, else "2025-03-01". */
export function fmtShort(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso ? String(iso) : '—';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.getFullYear() === now.getFullYear()) return `${MONTHS[d.getMonth()]} ${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A <time> (short text, or the full local date with `long`) with the full date in its title. */
export function time(iso, long = false) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: `${fmtDate(iso)} (${fmtAgo(iso)})` }, long ? fmtDate(iso) : fmtShort(iso));
}

/** "45 s", "3 min", "2 h 5 min", "4 d 3 h". */
export function fmtLag(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? `${d} d ${hrs % 24} h` : `${d} d`;
}

export function fmtAgo(iso) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = (Date.now() - t) / 1000;
  return s >= 0 ? `${fmtLag(s)} ago` : `in ${fmtLag(-s)}`;
}

const numberFormat = new Intl.NumberFormat();
export const fmtNum = (n) => (n === null || n === undefined ? '—' : numberFormat.format(n));

/** An attribute value as text: null as an em dash, objects as JSON. */
export function fmtValue(v) {
  if (v === undefined) return '(absent)';
  if (v === null) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export const plural = (n, one, many = `${one}s`) => `${fmtNum(n)} ${n === 1 ? one : many}`;

// ---- badges, progress, key/value lists ------------------------------------------------

const TONE = {
  Completed: 'ok', Connected: 'ok', Processed: 'ok', Resolved: 'ok',
  CompletedWithErrors: 'warn', Warning: 'warn', Held: 'warn', AwaitingSendSnapshot: 'warn',
  Failed: 'bad', Error: 'bad', Open: 'bad',
  InProcess: 'info', Connecting: 'info', Pending: 'info', On: 'info',
  Queued: 'neutral', Cancelled: 'neutral', Archived: 'neutral', Info: 'neutral', Off: 'neutral',
};

/** A coloured badge whose text is the raw value. */
export function badge(value, tone = TONE[value] || 'neutral') {
  return h('span', { class: `badge badge-${tone}` }, value ?? '—');
}

/** A <progress> with its phase and counts. */
export function progressBar(progress, status) {
  const p = progress || { Phase: '', Done: 0, Total: 0 };
  const bar = h('progress', { max: 1 });
  const done = !['Queued', 'InProcess', 'Held'].includes(status);
  if (p.Total > 0) {
    bar.max = p.Total;
    bar.value = done && status === 'Completed' ? p.Total : Math.min(p.Done, p.Total);
  } else if (status === 'InProcess') {
    bar.removeAttribute('value'); // indeterminate
  } else {
    bar.value = done && status === 'Completed' ? 1 : 0;
  }
  const counts = p.Total > 0 ? `${fmtNum(p.Done)}/${fmtNum(p.Total)}` : p.Done ? fmtNum(p.Done) : '';
  const label = [p.Phase, counts].filter(Boolean).join(' · ');
  bar.setAttribute('aria-label', label || status || 'progress');
  return h('span', { class: 'progress' }, bar, h('span', { class: 'progress-label' }, label || ' '));
}

/** A <dl> of [term, value] pairs (value: text or node); kv(2, pairs) lays them in two columns on wide screens. */
export function kv(cols, pairs) {
  if (Array.isArray(cols)) [cols, pairs] = [1, cols];
  return h('dl', { class: cols === 2 ? 'kv kv-2' : 'kv' }, pairs.filter(Boolean).map(([k, v]) => h('div', { class: 'kv-pair' }, h('dt', {}, k), h('dd', {}, v ?? '—'))));
}

export const link = (href, text, props = {}) => h('a', { href, ...props }, text);
export const shortId = (id) => (id && id.length > 12 ? `${id.slice(0, 8)}…` : id || '');

// ---- flash and errors ----------------------------------------------------------------

let flashTimer = null;

/** Shows a message in #flash; errors stay until the next message or page. */
export function flash(message, { error = false, sticky = false } = {}) {
  const el = document.getElementById('flash');
  if (!el) return;
  clearTimeout(flashTimer);
  el.className = error ? 'error' : 'ok';
  fill(el, h('span', { class: 'flash-text' }, message),
    h('button', { type: 'button', class: 'flash-close', 'aria-label': 'Dismiss', onclick: clearFlash }, '×'));
  if (!error && !sticky) flashTimer = setTimeout(clearFlash, 12000);
}

export function clearFlash() {
  clearTimeout(flashTimer);
  const el = document.getElementById('flash');
  if (el) {
    el.className = '';
    el.replaceChildren();
  }
}

/** "detail (code)" of an error. */
export function errorText(err) {
  if (!err) return '';
  const detail = err.detail || err.message || String(err);
  return err.code ? `${detail} (${err.code})` : detail;
}

/** Flashes an error unless it was an abort or a 401 the app already handled. */
export function flashError(err, prefix = '') {
  if (isAbort(err) || err?.handled) return;
  flash(`${prefix ? `${prefix}: ` : ''}${errorText(err)}`, { error: true });
}

/** A visible error box with the problem's detail and code. */
export function problemBox(err, prefix = '') {
  return h('div', { class: 'problem', role: 'alert' },
    prefix ? h('strong', {}, `${prefix}: `) : null,
    err?.detail || err?.message || String(err),
    err?.code ? [' ', h('code', { class: 'problem-code' }, err.code)] : null,
    problemExtras(err));
}

const PROBLEM_STD = ['type', 'title', 'status', 'detail', 'code', 'instance'];

/** The members naming what is at fault (attribute, entity, operator, field…). */
function problemExtras(err) {
  const extra = Object.entries(err?.problem || {}).filter(([k]) => !PROBLEM_STD.includes(k));
  if (!extra.length) return null;
  return h('span', { class: 'problem-extra' }, extra.map(([k, v]) => `${k}: ${fmtValue(v)}`).join(' · '));
}

// ---- the confirm dialog ---------------------------------------------------------------

let closeOpenDialog = null;

/**
 * Opens dialog#confirm; resolves true on OK, false on Cancel or Escape. `prepare(preview, ctl)`
 * may fill #confirm-preview (ctl.signal aborts when the dialog closes). With `waitForPrepare`,
 * an OK clicked while prepare runs waits for it to settle before confirming.
 */
export function confirmDialog({ title, message, okText = 'OK', danger = false, prepare, waitForPrepare = false }) {
  closeOpenDialog?.(false);
  const dialog = document.getElementById('confirm');
  const preview = document.getElementById('confirm-preview');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  document.getElementById('confirm-title').textContent = title;
  fill(preview, message ? h('p', {}, message) : null);
  ok.textContent = okText;
  ok.className = danger ? 'btn-danger' : 'btn-primary';
  ok.disabled = false;
  const aborter = new AbortController();
  let preparing = null;
  return new Promise((resolve) => {
    let finished = false;
    const done = (answer) => {
      if (finished) return;
      finished = true;
      closeOpenDialog = null;
      aborter.abort();
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onEscape);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onOk = () => {
      if (ok.disabled) return;
      if (preparing && waitForPrepare) {
        ok.disabled = true;
        ok.textContent = 'Waiting for the preview…';
        preparing.then(() => done(true));
        return;
      }
      done(true);
    };
    const onCancel = () => done(false);
    const onEscape = (e) => { e.preventDefault(); done(false); };
    const onClose = () => done(false);
    dialog.addEventListener('close', onClose);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onEscape);
    closeOpenDialog = done;
    dialog.showModal();
    (danger ? cancel : ok).focus();
    if (prepare) {
      preparing = Promise.resolve()
        .then(() => prepare(preview, { signal: aborter.signal }))
        .catch((err) => { if (!isAbort(err) && !err?.handled) append(preview, [problemBox(err, 'Preview failed')]); })
        .finally(() => { preparing = null; });
    }
  });
}

/** Closes the dialog if one is open (on sign-out or a page change). */
export const closeDialog = () => closeOpenDialog?.(false);

// ---- tables --------------------------------------------------------------------------

/** A table inside a horizontally scrolling wrapper; gives {wrap, table, thead, tbody}. */
export function dataTable(props, headers) {
  const thead = h('thead', {}, h('tr', {}, headers.map((x) => (x instanceof Node ? x : h('th', { scope: 'col' }, x)))));
  const tbody = h('tbody');
  const table = h('table', { class: 'data', ...props }, thead, tbody);
  return { wrap: h('div', { class: 'table-wrap' }, table), table, thead, tbody };
}

/** Replaces a cell's content only when `key` changed (keeps focus and element identity). */
export function setCell(td, key, build) {
  const k = typeof key === 'string' ? key : JSON.stringify(key);
  if (td.__key === k) return;
  td.__key = k;
  fill(td, build());
}

const SUMMARY_ORDER = ['Uploaded', 'Created', 'Updated', 'Deleted', 'Skipped', 'Failed', 'Conflicts', 'Stuck',
  'LocalOnly', 'Matched', 'Ambiguous', 'PlannedDeletes', 'Server', 'Client', 'Missing', 'Extra', 'Stale',
  'Pending', 'OverQuota'];
const SUMMARY_LABEL = { LocalOnly: 'Local only', PlannedDeletes: 'Planned deletes', OverQuota: 'Over quota' };

/**
 * A job's summary as a table: rows the entities, columns the counters present (or `columns`),
 * a total row when there is more than one entity.
 */
export function summaryTable(summary, { id, columns, empty = 'Nothing to report yet.' } = {}) {
  const entities = Object.keys(summary || {}).sort();
  let cols = columns;
  if (!cols) {
    const present = new Set();
    for (const e of entities) {
      for (const [k, v] of Object.entries(summary[e] || {})) {
        if (v !== null && v !== undefined && (typeof v === 'number' || typeof v === 'boolean')) present.add(k);
      }
    }
    cols = [...SUMMARY_ORDER.filter((c) => present.has(c)), ...[...present].filter((c) => !SUMMARY_ORDER.includes(c))];
  }
  const table = h('table', { class: 'data summary', id },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Entity'),
      cols.map((c) => h('th', { scope: 'col', class: 'num' }, SUMMARY_LABEL[c] || c)))));
  const tbody = h('tbody');
  table.append(tbody);
  if (!entities.length) {
    tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: cols.length + 1 }, empty)));
    return table;
  }
  for (const e of entities) {
    tbody.append(h('tr', { 'data-entity': e }, h('th', { scope: 'row' }, e),
      cols.map((c) => summaryCell(summary[e]?.[c], c))));
  }
  if (entities.length > 1) {
    const total = (c) => entities.reduce((n, e) => (typeof summary[e]?.[c] === 'number' ? n + summary[e][c] : n), 0);
    table.append(h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'Total'),
      cols.map((c) => h('td', { class: 'num' }, c === 'OverQuota' ? '' : fmtNum(total(c)))))));
  }
  return table;
}

function summaryCell(v, col) {
  if (typeof v === 'boolean') return h('td', { class: v ? 'num warn-text' : 'num muted' }, v ? 'yes' : 'no');
  const hot = ['Failed', 'Conflicts', 'Stuck', 'Missing', 'Extra', 'Stale', 'PlannedDeletes', 'Ambiguous'].includes(col);
  return h('td', { class: `num${v === 0 || v == null ? ' muted' : hot ? ' warn-text' : ''}` }, fmtNum(v));
}

/** Each entity's FirstIds (DryRun, Compare) as a list, or null when there are none. */
export function firstIdsList(summary) {
  const items = [];
  for (const [e, s] of Object.entries(summary || {})) {
    for (const [kind, ids] of Object.entries(s?.FirstIds || {})) {
      if (Array.isArray(ids) && ids.length) items.push(h('li', {}, h('strong', {}, `${e} · ${kind}: `), ids.join(', ')));
    }
  }
  return items.length ? h('details', { class: 'first-ids' }, h('summary', {}, 'First ids'), h('ul', {}, items)) : null;
}

// ---- pollers and org pickers -----------------------------------------------------------

/**
 * Calls `fn` now (kick) and again every `ms` while it resolves true; stops when `signal`
 * aborts. Overlapping kicks are folded into one more call.
 */
export function poller(signal, fn, ms) {
  let timer = null;
  let running = false;
  let again = false;
  async function tick() {
    clearTimeout(timer);
    timer = null;
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    let more = false;
    try {
      more = await fn();
    } catch (err) {
      more = !isAbort(err) && !err?.handled; // keep trying through a passing error
    }
    running = false;
    if (signal.aborted) return;
    if (again) {
      again = false;
      tick();
    } else if (more) {
      timer = setTimeout(tick, ms);
    }
  }
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return { kick: tick };
}

/** A <select> of org names that calls onPick(name) when changed. */
export function orgSelect(names, current, onPick, props = {}) {
  const sel = h('select', { ...props, onchange: () => sel.value && onPick(sel.value) },
    current ? null : h('option', { value: '' }, 'Choose an organization…'),
    names.map((n) => h('option', { value: n, selected: n === current }, n)));
  if (current && !names.includes(current)) sel.prepend(h('option', { value: current, selected: true }, current));
  return sel;
}

/** The standard page header: h1, optional subtitle, optional tools on the right. */
export function pageHeader(title, { sub, tools } = {}) {
  return h('div', { class: 'page-head' },
    h('div', {}, h('h1', {}, title), sub ? h('p', { class: 'sub' }, sub) : null),
    tools ? h('div', { class: 'tools' }, tools) : null);
}
