// Offline transactions of one org: status tabs with counts, a selectable table, Set to Pending,
// Set to Archived and Set all to Pending.

import * as api from '../api.js';
import { h, fill, badge, time, fmtNum, plural, flash, flashError, problemBox, dataTable, pageHeader } from '../ui.js';

const TABS = ['All', 'Pending', 'Processed', 'Error', 'Archived'];
const PAGE = 100;

async function render(main, ctx) {
  const { signal } = ctx;
  const org = ctx.params.org;
  if (!org) {
    main.append(pageHeader('Offline transactions', { sub: 'Client writes waiting for, or done with, delivery to the server.' }),
      h('div', { class: 'card picker' }, h('p', {}, 'Choose the organization whose transactions to show.'), ctx.orgSwitcher()));
    return;
  }
  const orgQ = encodeURIComponent(org);
  let tab = TABS.includes(ctx.query.status) ? ctx.query.status : 'All';
  main.append(pageHeader(`Offline transactions of ${org}`, {
    sub: h('span', {}, 'Client writes and what became of them on the server. ', h('a', { href: `#/connections/${orgQ}` }, `Connection ${org}`)),
    tools: ctx.orgSwitcher(),
  }));

  const counts = {};
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Transaction status' }, TABS.map((t) => {
    counts[t] = h('span', { class: 'count', 'data-count': '' }, '…');
    return h('a', { href: `#/transactions/${orgQ}?status=${t}`, 'data-tab': t, onclick: (e) => { e.preventDefault(); select(t); } }, t, ' ', counts[t]);
  }));
  const entity = h('select', { id: 'tx-entity', 'aria-label': 'Entity' }, h('option', { value: '' }, 'Every entity'));
  api.get(api.paths.links(org), undefined, { signal }).then((d) => {
    for (const l of d.Links || []) entity.append(h('option', { value: l.Entity }, l.Entity));
    if (ctx.query.entity) entity.value = ctx.query.entity;
  }).catch(() => {});
  if (ctx.query.entity) entity.append(h('option', { value: ctx.query.entity, selected: true }, ctx.query.entity));
  entity.addEventListener('change', () => load(true));

  const setPending = h('button', { type: 'button', id: 'tx-set-pending', disabled: true, onclick: () => act('SetToPending') }, 'Set to Pending');
  const setArchived = h('button', { type: 'button', id: 'tx-set-archived', disabled: true, onclick: () => act('SetToArchived') }, 'Set to Archived');
  const setAll = h('button', { type: 'button', id: 'tx-set-all-pending', onclick: setAllPending }, 'Set all to Pending');
  const selCount = h('span', { class: 'sel-count' }, 'None selected');
  main.append(tabs, h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Transaction actions' },
    h('label', { class: 'inline' }, h('span', {}, 'Entity'), entity), h('span', { class: 'sep' }),
    selCount, setPending, setArchived, h('span', { class: 'sep' }), setAll));

  const selectAll = h('input', { type: 'checkbox', 'data-select-all': '', 'aria-label': 'Select every listed transaction',
    onchange: () => {
      for (const b of tbody.querySelectorAll('input[data-select]')) b.checked = selectAll.checked;
      updateSelection();
    } });
  const { wrap, tbody } = dataTable({ id: 'transactions' }, [h('th', { scope: 'col', class: 'check' }, selectAll),
    'Entity', 'Record', 'Operation', 'Status', 'Tries', 'Error', 'Entered', 'Processed']);
  const empty = h('p', { id: 'tx-empty', class: 'empty-state', hidden: true });
  const problem = h('div');
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(false) }, 'Load more');
  main.append(problem, wrap, empty, h('div', { class: 'more' }, more));

  let next = null;
  let gen = 0;
  markTab();
  await Promise.all([loadCounts(), load(true)]);

  function markTab() {
    for (const a of tabs.querySelectorAll('a[data-tab]')) {
      if (a.dataset.tab === tab) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  function select(t) {
    tab = t;
    markTab();
    load(true);
  }

  async function loadCounts() {
    try {
      const c = await api.get(api.paths.txCounts(org), undefined, { signal });
      for (const t of TABS) counts[t].textContent = fmtNum(c[t] ?? 0);
    } catch (err) {
      if (api.isAbort(err) || err.handled) return;
      for (const t of TABS) counts[t].textContent = '?';
      flashError(err, 'The counts could not be read');
    }
  }

  async function load(reset) {
    const mine = reset ? ++gen : gen;
    if (reset) {
      ctx.setQuery({ status: tab === 'All' ? '' : tab, entity: entity.value });
      tbody.replaceChildren(h('tr', { class: 'loading' }, h('td', { colspan: 9 }, 'Loading transactions…')));
    }
    more.disabled = true;
    try {
      const data = await api.get(api.paths.transactions(org), {
        Status: tab === 'All' ? '' : tab, Entity: entity.value, Limit: PAGE, Cursor: reset ? undefined : next,
      }, { signal });
      if (mine !== gen) return;
      problem.replaceChildren();
      if (reset) tbody.replaceChildren();
      for (const tx of data.Transactions || []) tbody.append(row(tx));
      next = data.Next || null;
      const n = tbody.children.length;
      empty.textContent = tab === 'All' ? 'No transactions: the client has written nothing yet.' : `No ${tab} transactions.`;
      empty.hidden = n > 0;
      wrap.hidden = n === 0;
      more.hidden = !next;
      updateSelection();
    } catch (err) {
      if (api.isAbort(err) || err.handled || mine !== gen) return;
      tbody.querySelector('tr.loading')?.remove();
      fill(problem, problemBox(err, 'The transactions could not be read'));
    } finally {
      more.disabled = false;
    }
  }

  function row(tx) {
    const err = tx.Error;
    const timeline = `#/timeline/${orgQ}?entity=${encodeURIComponent(tx.Entity)}&id=${encodeURIComponent(tx.RecordId)}`;
    return h('tr', { 'data-tx': tx.TransactionId },
      h('td', { class: 'check' }, h('input', { type: 'checkbox', 'data-select': '', value: tx.TransactionId,
        'aria-label': `Select transaction ${tx.TransactionId}`, onchange: updateSelection })),
      h('td', {}, tx.Entity),
      h('td', { class: 'mono' }, h('a', { href: timeline, title: 'Timeline of this record' }, tx.RecordId)),
      h('td', {}, tx.Operation),
      h('td', { 'data-col': 'status' }, badge(tx.Status)),
      h('td', { class: 'num' }, String(tx.Tries), tx.InFlight ? h('span', { class: 'note', title: 'Sent; its answer is not known yet' }, ' in flight') : null),
      h('td', { class: 'msg' },
        err ? [h('code', { class: 'bad-text' }, err.Code), ' ', err.Message] : null,
        tx.Resolution ? h('div', { class: 'small muted' }, `Resolution: ${tx.Resolution}`) : null,
        !err && !tx.Resolution ? h('span', { class: 'muted' }, '—') : null),
      h('td', { class: 'nowrap' }, time(tx.CreatedOn)),
      h('td', { class: 'nowrap' }, time(tx.ProcessedOn)));
  }

  function selectedIds() {
    return [...tbody.querySelectorAll('input[data-select]:checked')].map((b) => b.value);
  }

  function updateSelection() {
    const boxes = tbody.querySelectorAll('input[data-select]');
    const ids = selectedIds();
    for (const b of boxes) b.closest('tr').classList.toggle('selected', b.checked);
    selCount.textContent = ids.length ? `${plural(ids.length, 'transaction')} selected` : 'None selected';
    setPending.disabled = ids.length === 0;
    setArchived.disabled = ids.length === 0;
    selectAll.checked = boxes.length > 0 && ids.length === boxes.length;
    selectAll.indeterminate = ids.length > 0 && ids.length < boxes.length;
  }

  async function act(action) {
    const ids = selectedIds();
    if (!ids.length) return;
    const target = action === 'SetToPending' ? 'Pending' : 'Archived';
    const buttons = [setPending, setArchived, setAll];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const res = await api.post(api.paths.txAction(org, action), { Ids: ids }, { signal });
      const n = res?.Transactions?.length ?? ids.length;
      flash(`${plural(n, 'transaction')} set to ${target}.`);
      await Promise.all([loadCounts(), load(true)]);
    } catch (err) {
      flashError(err, `Not set to ${target}`);
    } finally {
      setAll.disabled = false;
      updateSelection();
    }
  }

  async function setAllPending() {
    setAll.disabled = true;
    try {
      const res = await api.post(api.paths.txAction(org, 'SetAllToPending'), undefined, { signal });
      const n = res?.Updated ?? 0;
      flash(n ? `${plural(n, 'transaction')} set to Pending.` : 'No transaction in Error: nothing to set to Pending.');
      await Promise.all([loadCounts(), load(true)]);
    } catch (err) {
      flashError(err, 'Not set to Pending');
    } finally {
      setAll.disabled = false;
    }
  }
}

export default { title: 'Offline transactions', render };
