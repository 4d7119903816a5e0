// Connections: every client org with its state, lag, queue and active job; Sync now, Update
// client, Open per row; Sync All (provider) after a dry-run preview of every connected org.

import * as api from '../api.js';
import {
  h, fill, badge, time, fmtLag, fmtNum, fmtDate, plural, progressBar, flash, flashError, problemBox,
  confirmDialog, dataTable, setCell, poller, pageHeader, shortId,
} from '../ui.js';
import { jobLink, jobStartedMessage, previewJob, totals } from './jobs.js';

const COLS = ['org', 'state', 'provider', 'lastsync', 'lag', 'pending', 'errors', 'held', 'active', 'actions'];

async function render(main, ctx) {
  const { signal } = ctx;
  const refreshed = h('span', { class: 'muted small', 'aria-live': 'off' }, '');
  const refreshBtn = h('button', { type: 'button', onclick: () => poll.kick() }, 'Refresh');
  const syncAll = ctx.isProvider
    ? h('button', { type: 'button', id: 'sync-all', class: 'btn-primary', onclick: onSyncAll }, 'Sync All…')
    : null;
  main.append(pageHeader('Connections', {
    sub: 'Client organizations and how they stand with their server organizations.',
    tools: [refreshed, refreshBtn, syncAll],
  }));

  const { wrap, tbody } = dataTable({ id: 'connections' }, ['Org', 'State', 'Provider', 'Last sync', 'Lag',
    h('th', { scope: 'col', class: 'num' }, 'Pending'), h('th', { scope: 'col', class: 'num' }, 'Errors'), 'Held jobs', 'Active job', h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))]);
  const empty = h('div', { id: 'connections-empty', class: 'empty-state', hidden: true },
    h('p', {}, h('strong', {}, 'No connections yet.')),
    h('p', {}, 'Connect a client organization to its server with ', h('code', {}, 'POST /rest/v1/sync/{org}/ConnectAsync'),
      '; it shows here as soon as its Connect job is queued.'));
  const problem = h('div');
  tbody.append(h('tr', { class: 'loading' }, h('td', { colspan: COLS.length }, 'Loading connections…')));
  main.append(problem, wrap, empty);

  const rows = new Map();
  let list = [];
  const poll = poller(signal, refresh, 3000);
  poll.kick();

  async function refresh() {
    let data;
    try {
      data = await api.get(api.paths.connections, undefined, { signal });
    } catch (err) {
      if (api.isAbort(err) || err.handled) throw err;
      fill(problem, problemBox(err, 'The connections could not be loaded'));
      if (!rows.size) fill(tbody);
      return false;
    }
    problem.replaceChildren();
    list = data.Connections || [];
    // The list names the active job; its progress comes from the job itself.
    await Promise.all(list.filter((c) => c.ActiveJob && !c.ActiveJob.Progress).map(async (c) => {
      try {
        const job = await api.get(api.paths.job(c.ActiveJob.JobId), undefined, { signal });
        c.ActiveJob = { ...c.ActiveJob, Status: job.Status, Progress: job.Progress };
      } catch (err) {
        if (api.isAbort(err)) throw err;
      }
    }));
    renderRows();
    refreshed.textContent = `Updated ${fmtDate(new Date().toISOString()).slice(11)}`;
    return list.some((c) => c.ActiveJob && api.ACTIVE.includes(c.ActiveJob.Status));
  }

  function renderRows() {
    tbody.querySelector('tr.loading')?.remove();
    const seen = new Set();
    for (const c of list) {
      seen.add(c.Org);
      let row = rows.get(c.Org);
      if (!row) {
        row = makeRow(c.Org);
        rows.set(c.Org, row);
      }
      updateRow(row, c);
      tbody.append(row.tr); // keeps the server's order; moving a row keeps its elements
    }
    for (const [org, row] of rows) {
      if (!seen.has(org)) {
        row.tr.remove();
        rows.delete(org);
      }
    }
    wrap.hidden = list.length === 0;
    empty.hidden = list.length > 0;
    if (syncAll) syncAll.disabled = !list.some((c) => c.State === 'Connected');
  }

  function makeRow(org) {
    const cells = Object.fromEntries(COLS.map((c) => [c, h('td', { 'data-col': c })]));
    const href = `#/connections/${encodeURIComponent(org)}`;
    cells.org.append(h('a', { href, class: 'strong' }, org));
    const sync = h('button', { type: 'button', class: 'btn-small', 'data-action': 'sync', onclick: () => start(org, 'sync', sync) }, 'Sync now');
    const update = h('button', { type: 'button', class: 'btn-small', 'data-action': 'update-client', onclick: () => start(org, 'update', update) },
      'Update client');
    cells.actions.className = 'actions';
    cells.actions.append(sync, update, h('a', { href, class: 'button btn-small', 'data-action': 'open' }, 'Open'));
    return { tr: h('tr', { 'data-org': org }, Object.values(cells)), cells };
  }

  function updateRow({ cells }, c) {
    const orgQ = encodeURIComponent(c.Org);
    setCell(cells.state, c.State, () => badge(c.State));
    setCell(cells.provider, [c.Provider, c.ProviderID, c.Url], () => h('span', { title: `${c.ProviderID} · ${c.Url}` }, c.Provider || c.ProviderID));
    setCell(cells.lastsync, c.LastSyncOn || '', () => time(c.LastSyncOn));
    setCell(cells.lag, String(c.LagSeconds), () => h('span', { class: c.LagSeconds > 86400 ? 'warn-text nowrap' : 'nowrap' }, fmtLag(c.LagSeconds)));
    cells.pending.className = 'num';
    setCell(cells.pending, String(c.Pending), () => (c.Pending
      ? h('a', { href: `#/transactions/${orgQ}?status=Pending`, title: 'Pending transactions' }, fmtNum(c.Pending))
      : fmtNum(c.Pending)));
    cells.errors.className = 'num';
    setCell(cells.errors, String(c.Errors), () => (c.Errors
      ? h('a', { href: `#/transactions/${orgQ}?status=Error`, class: 'bad-text', title: 'Transactions in error' }, fmtNum(c.Errors))
      : fmtNum(c.Errors)));
    setCell(cells.held, c.HeldJobs || [], () => (c.HeldJobs?.length
      ? h('span', { class: 'id-list' }, c.HeldJobs.map((id) => jobLink(id, shortId(id))))
      : h('span', { class: 'muted' }, '—')));
    const a = c.ActiveJob;
    setCell(cells.active, a ? [a.JobId, a.Status, a.Progress] : '', () => (a
      ? h('div', { class: 'active-job' }, h('div', {}, jobLink(a.JobId, `${a.Kind}`), ' ', badge(a.Status)), progressBar(a.Progress, a.Status))
      : h('span', { class: 'muted' }, '—')));
  }

  async function start(org, what, btn) {
    const label = what === 'sync' ? `Sync of ${org}` : `Update client of ${org}`;
    btn.disabled = true;
    try {
      const path = what === 'sync' ? api.paths.sync(org) : api.paths.updateMetadata(org);
      const accepted = await api.startJob(path, undefined, { signal });
      flash(jobStartedMessage(accepted, label));
      poll.kick();
    } catch (err) {
      flashError(err, `${label} could not start`);
    } finally {
      btn.disabled = false;
    }
  }

  async function onSyncAll() {
    const targets = list.filter((c) => c.State === 'Connected').map((c) => c.Org);
    if (!targets.length) {
      flash('No connected organization to sync.', { error: true });
      return;
    }
    const ok = await confirmDialog({
      title: 'Sync all organizations',
      okText: targets.length === 1 ? 'Sync the 1 organization' : `Sync all ${targets.length} organizations`,
      waitForPrepare: true,
      prepare: (box, ctl) => preview(box, ctl, targets),
    });
    if (!ok || signal.aborted) return;
    try {
      const res = await api.post(api.paths.syncAll, undefined, { signal });
      const n = res?.Jobs?.length ?? 0;
      flash(`Sync All: ${plural(n, 'sync job')} queued or already running for ${plural(n, 'organization')}.`);
      poll.kick();
    } catch (err) {
      flashError(err, 'Sync All could not start');
    }
  }

  async function preview(box, ctl, targets) {
    const status = h('p', { class: 'muted', role: 'status' }, `Dry runs of ${plural(targets.length, 'organization')}: nothing is written.`);
    const sections = targets.map((org) => h('section', { class: 'preview-org', 'data-preview-org': org }, h('h3', {}, org), h('div')));
    fill(box, h('p', {}, 'A dry run of each connected organization shows what its sync would create, update and delete on the client.'),
      status, h('div', { class: 'preview-list' }, sections));
    const results = await Promise.all(targets.map(async (org, i) => {
      const body = sections[i].lastChild;
      try {
        return await previewJob(body, () => api.startJob(api.paths.sync(org), { DryRun: true }, { signal: ctl.signal }), { signal: ctl.signal });
      } catch (err) {
        if (api.isAbort(err)) throw err;
        fill(body, problemBox(err));
        return null;
      }
    }));
    const done = results.filter((r) => r?.preview && !api.isActive(r.job));
    const t = totals(Object.assign({}, ...done.map((r) => prefixKeys(r.job.Summary, r.job.Org))));
    status.className = '';
    status.textContent = `In all, ${plural(done.length, 'dry run')}: ${fmtNum(t.Created)} to create, ${fmtNum(t.Updated)} to update, ${fmtNum(t.Deleted)} to delete.`;
    if (results.some((r) => r && api.isActive(r.job) && r.preview)) {
      status.textContent += ' Some dry runs are still running; Sync All would reuse those jobs, so wait for them.';
    }
  }
}

const prefixKeys = (summary, org) => Object.fromEntries(Object.entries(summary || {}).map(([k, v]) => [`${org}/${k}`, v]));

export default { title: 'Connections', render };
