// Jobs: the queue of every job (or one org's), filters, sorting, selection and group actions,
// live while a listed job is queued or running.

import * as api from '../api.js';
import {
  h, fill, append, badge, time, fmtNum, plural, flash, flashError, problemBox, errorText, confirmDialog, dataTable,
  setCell, poller, pageHeader, progressBar, summaryTable, firstIdsList, link, shortId,
} from '../ui.js';

// ---- job helpers shared by the pages ------------------------------------------------------------------------------

const KIND_LABEL = { Connect: 'Connect', UpdateMetadata: 'Update client', Sync: 'Sync',
  GetSnapshot: 'Get snapshot', SendSnapshot: 'Send snapshot', Compare: 'Compare' };

/** "Sync contoso: account, contact (dry run)", "Get snapshot fabrikam: task", "Compare & repair x". */
export function jobCommand(job) {
  const r = job.Request && typeof job.Request === 'object' ? job.Request : {};
  let text = job.Kind === 'Compare' && r.Repair ? 'Compare & repair' : KIND_LABEL[job.Kind] || job.Kind;
  text += ` ${job.Org}`;
  if (!['Connect', 'UpdateMetadata'].includes(job.Kind)) {
    const ents = Array.isArray(r.Entities) && r.Entities.length ? r.Entities : Object.keys(job.Summary || {});
    if (ents.length) text += `: ${ents.length > 5 ? `${ents.slice(0, 5).join(', ')} +${ents.length - 5}` : ents.join(', ')}`;
  }
  const flags = [];
  if (r.DryRun) flags.push('dry run');
  if (r.Full) flags.push('full');
  if (r.Direction && r.Direction !== 'Both' && job.Kind === 'Sync') flags.push(String(r.Direction).toLowerCase());
  if (Array.isArray(r.RecordIds)) flags.push(plural(r.RecordIds.length, 'record'));
  if (r.Filters && Object.keys(r.Filters).length) flags.push('filtered');
  return flags.length ? `${text} (${flags.join(', ')})` : text;
}

const deletedCount = (job) => Object.values(job.Summary || {}).reduce((n, s) => n + (s?.Deleted || 0), 0);

/** The job actions that apply to a job, in display order. */
export function jobActions(job) {
  const s = job.Status;
  const out = [];
  if (['Queued', 'Failed', 'Cancelled'].includes(s)) out.push('run');
  if (job.Tries > 0 && !['Completed', 'CompletedWithErrors', 'InProcess'].includes(s)) out.push('reset');
  if (s === 'Held') out.push('approve');
  if (['Queued', 'InProcess', 'Held'].includes(s) && !job.CancelRequested) out.push('cancel');
  if (!['Queued', 'InProcess'].includes(s) && !job.Request?.DryRun && deletedCount(job) > 0) out.push('undo');
  return out;
}

export const JOB_ACTION = {
  run: { label: 'Run', call: 'Run', done: 'set to run' },
  reset: { label: 'Reset tries', call: 'ResetTries', done: 'had its tries reset' },
  cancel: { label: 'Cancel', call: 'Cancel', done: 'cancelled' },
  approve: { label: 'Approve', call: 'Approve', done: 'approved' },
  undo: { label: 'Undo deletes', call: 'UndoDeletes', done: 'had its deletes undone' },
};

/** A link to a job page. */
export const jobLink = (id, text = `job ${shortId(id)}`) => link(`#/jobs/${encodeURIComponent(id)}`, text);

/** "Sync of contoso queued: job 0190ab…" (or "was already queued or running"). */
export function jobStartedMessage(accepted, what) {
  return h('span', {}, accepted.Existing ? `${what} was already queued or running: ` : `${what} queued: `,
    jobLink(accepted.JobId), '.');
}

/** A job's error ({Code, Message}) as an error box. */
export const jobErrorBox = (e, prefix) => problemBox({ detail: e?.Message || 'unknown error', code: e?.Code }, prefix);

/**
 * Runs a dry-run job inside `box` and shows its summary when it is done: `start()` gives the
 * JobAccepted. Gives {job, preview}: preview false when the server gave back a real job that was
 * already queued or running instead of a dry run.
 */
export async function previewJob(box, start, { signal, columns = ['Created', 'Updated', 'Deleted'], timeoutMs = 120000 } = {}) {
  const state = h('div', { class: 'preview-state' }, h('span', { class: 'muted' }, 'Starting the dry run…'));
  fill(box, state);
  const accepted = await start();
  const show = (j) => fill(state, badge(j.Status), ' ', jobLink(j.JobId), ' ', progressBar(j.Progress, j.Status));
  let job = accepted.Existing ? await api.get(api.paths.job(accepted.JobId), undefined, { signal }) : null;
  // A real job already queued or running came back instead of a dry run: nothing to wait for.
  if (!job || job.Request?.DryRun) job = await api.watchJob(accepted.JobId, { signal, onUpdate: show, interval: 800, timeoutMs });
  else show(job);
  const preview = Boolean(job.Request?.DryRun);
  if (!preview) {
    append(box, [h('p', { class: 'note' }, `A ${jobCommand(job)} job was already queued or running, so there is no dry run to show; it will be used instead.`)]);
    return { job, preview };
  }
  if (['Queued', 'InProcess'].includes(job.Status)) {
    append(box, [h('p', { class: 'note' }, 'The dry run is still running; its job page will show the result.')]);
  } else if (job.Error) {
    append(box, [jobErrorBox(job.Error, 'The dry run failed')]);
  } else {
    const cols = Object.values(job.Summary || {}).some((e) => e?.Uploaded) ? ['Uploaded', ...columns] : columns;
    append(box, [summaryTable(job.Summary, { columns: cols, empty: 'No changes.' }), firstIdsList(job.Summary)]);
  }
  return { job, preview };
}

/** The sum of counters over a summary's entities. */
export function totals(summary, cols = ['Created', 'Updated', 'Deleted']) {
  const t = Object.fromEntries(cols.map((c) => [c, 0]));
  for (const e of Object.values(summary || {})) for (const c of cols) t[c] += Number(e?.[c] || 0);
  return t;
}

export const STATUSES = ['Queued', 'InProcess', 'Held', 'Completed', 'CompletedWithErrors', 'Failed', 'Cancelled'];
export const KINDS = ['Connect', 'UpdateMetadata', 'Sync', 'GetSnapshot', 'SendSnapshot', 'Compare'];
const PAGE = 50;
const CONFIRM = {
  cancel: 'A queued job is cancelled at once; a running one stops at its next batch boundary.',
  approve: 'The delete guard held these jobs. Approving lets each make the deletes it planned (every deleted record is kept in its quarantine) and go on.',
  undo: 'Every record these jobs deleted is written back, on the side where it was deleted, and the next sync carries it on.',
};

/**
 * Runs one job action on the jobs it applies to, after a confirmation for Cancel, Approve and
 * Undo deletes; flashes what happened. Gives true when it called the server.
 */
export async function performJobAction(action, jobs, signal) {
  const spec = JOB_ACTION[action];
  const targets = jobs.filter((j) => jobActions(j).includes(action));
  if (!targets.length) {
    flash(`${spec.label}: it applies to none of the selected jobs.`, { error: true });
    return false;
  }
  if (CONFIRM[action]) {
    const planned = action === 'approve'
      ? targets.reduce((n, j) => n + totals(j.Summary, ['PlannedDeletes']).PlannedDeletes, 0) : 0;
    const ok = await confirmDialog({
      title: `${spec.label}: ${plural(targets.length, 'job')}?`,
      okText: `${spec.label} ${plural(targets.length, 'job')}`,
      danger: action !== 'approve',
      message: h('span', {}, CONFIRM[action], planned ? ` ${plural(planned, 'planned delete')} in all.` : '',
        h('ul', { class: 'compact' }, targets.slice(0, 12).map((j) => h('li', {}, jobCommand(j), ' ', h('span', { class: 'muted' }, shortId(j.JobId)))),
          targets.length > 12 ? h('li', {}, `and ${targets.length - 12} more`) : null)),
    });
    if (!ok || signal?.aborted) return false;
  }
  let done = 0;
  let restored = 0;
  let skipped = 0;
  const failures = [];
  for (const j of targets) {
    try {
      const res = await api.post(api.paths.jobAction(j.JobId, spec.call), action === 'undo' ? {} : undefined, { signal });
      done += 1;
      if (action === 'undo') {
        restored += res?.Restored || 0;
        skipped += res?.Skipped || 0;
      }
    } catch (err) {
      if (api.isAbort(err) || err.handled) return true;
      failures.push(`${shortId(j.JobId)}: ${errorText(err)}`);
    }
  }
  let text = targets.length === 1 && done === 1 ? `Job ${shortId(targets[0].JobId)} ${spec.done}` : `${plural(done, 'job')} ${spec.done}`;
  if (action === 'undo') text += ` (${fmtNum(restored)} restored, ${fmtNum(skipped)} skipped)`;
  if (jobs.length > targets.length) text += `; ${plural(jobs.length - targets.length, 'job')} left out (not applicable)`;
  if (failures.length) flash(`${text}. Failed: ${failures.join('; ')}`, { error: true });
  else flash(`${text}.`);
  return true;
}

const SORTS = {
  status: (j) => j.Status,
  command: (j) => jobCommand(j),
  org: (j) => j.Org,
  entered: (j) => j.EnteredOn,
  tries: (j) => j.Tries,
  lasttried: (j) => j.LastTriedOn || '',
  addedby: (j) => j.AddedBy,
  progress: (j) => (j.Progress?.Total ? j.Progress.Done / j.Progress.Total : 0),
};
const HEADERS = [['status', 'Status'], ['command', 'Command'], ['org', 'Org'], ['entered', 'Entered'], ['tries', 'Tries'],
  ['lasttried', 'Last tried'], ['addedby', 'Added by'], ['progress', 'Progress']];

async function render(main, ctx) {
  const { signal } = ctx;
  const live = h('span', { class: 'muted small live' });
  main.append(pageHeader('Jobs', {
    sub: 'Every background job, newest first: syncs, snapshots, compares, connects and client updates.',
    tools: [live, h('button', { type: 'button', onclick: () => reload() }, 'Refresh')],
  }));

  const q = ctx.query;
  const status = h('select', { id: 'job-status', value: q.status || '' }, h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  const kind = h('select', { id: 'job-kind', value: q.kind || '' }, h('option', { value: '' }, 'Any kind'),
    KINDS.map((k) => h('option', { value: k }, k)));
  const org = h('input', { id: 'job-org', type: 'search', value: q.org || '', placeholder: 'any org', list: 'job-org-list',
    spellcheck: 'false', autocapitalize: 'off' });
  const orgList = h('datalist', { id: 'job-org-list' });
  ctx.orgs().then((names) => fill(orgList, names.map((n) => h('option', { value: n }))));
  let debounce = null;
  status.addEventListener('change', () => reload());
  kind.addEventListener('change', () => reload());
  org.addEventListener('change', () => reload());
  org.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => reload(), 500);
  });
  main.append(h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); reload(); } },
    h('label', {}, h('span', {}, 'Status'), status),
    h('label', {}, h('span', {}, 'Kind'), kind),
    h('label', {}, h('span', {}, 'Org'), org, orgList),
    h('button', { type: 'button', class: 'btn-quiet', onclick: () => { status.value = ''; kind.value = ''; org.value = ''; reload(); } }, 'Clear filters')));

  const selected = new Set();
  const selCount = h('span', { class: 'sel-count' }, 'No job selected');
  const bulk = Object.keys(JOB_ACTION).map((a) => h('button', { type: 'button', 'data-bulk': a, disabled: true,
    onclick: async () => {
      const picked = jobs.filter((j) => selected.has(j.JobId));
      if (await performJobAction(a, picked, signal)) poll.kick();
    } }, `${JOB_ACTION[a].label}${a === 'cancel' || a === 'approve' || a === 'undo' ? '…' : ''}`));
  main.append(h('div', { class: 'toolbar selection', role: 'toolbar', 'aria-label': 'Selected jobs' }, selCount, bulk));

  const selectAll = h('input', { type: 'checkbox', 'data-select-all': '', 'aria-label': 'Select every listed job',
    onchange: () => {
      for (const j of jobs) if (selectAll.checked) selected.add(j.JobId); else selected.delete(j.JobId);
      renderRows();
    } });
  const sort = { key: null, dir: 1 };
  const ths = HEADERS.map(([key, label]) => h('th', { scope: 'col', 'data-sort': key },
    h('button', { type: 'button', class: 'sort', onclick: () => {
      sort.dir = sort.key === key ? -sort.dir : 1;
      sort.key = key;
      renderRows();
    } }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }))));
  const { wrap, tbody } = dataTable({ id: 'jobs' }, [h('th', { scope: 'col', class: 'check' }, selectAll), ...ths,
    h('th', { scope: 'col' }, 'Actions')]);
  tbody.append(h('tr', { class: 'loading' }, h('td', { colspan: 10 }, 'Loading jobs…')));
  const problem = h('div');
  const empty = h('p', { id: 'jobs-empty', class: 'empty-state', hidden: true }, 'No jobs match these filters.');
  const more = h('button', { type: 'button', id: 'jobs-more', hidden: true, onclick: loadMore }, 'Load more');
  main.append(problem, wrap, empty, h('div', { class: 'more' }, more));

  let jobs = [];
  let next = null;
  let gen = 0;
  const rows = new Map();
  const poll = poller(signal, refresh, 2000);
  reload();

  function filters() {
    return { Org: org.value.trim(), Status: status.value, Kind: kind.value };
  }

  function reload() {
    clearTimeout(debounce);
    const f = filters();
    ctx.setQuery({ org: f.Org, status: f.Status, kind: f.Kind });
    gen += 1;
    jobs = [];
    selected.clear();
    poll.kick();
  }

  async function refresh() {
    const mine = gen;
    let data;
    try {
      data = await api.get(api.paths.jobs, { ...filters(), Limit: Math.min(1000, Math.max(PAGE, jobs.length)) }, { signal });
    } catch (err) {
      if (api.isAbort(err) || err.handled) throw err;
      if (mine === gen) {
        fill(problem, problemBox(err, 'The jobs could not be loaded'));
        tbody.querySelector('tr.loading')?.remove();
      }
      return false;
    }
    if (mine !== gen) return true; // the filters changed meanwhile: the next call reads them
    problem.replaceChildren();
    jobs = data.Jobs || [];
    next = data.Next || null;
    renderRows();
    const active = jobs.some(api.isActive);
    live.textContent = active ? 'Live: updating every 2 s' : '';
    return active;
  }

  async function loadMore() {
    if (!next) return;
    more.disabled = true;
    const mine = gen;
    try {
      const data = await api.get(api.paths.jobs, { ...filters(), Limit: PAGE, Cursor: next }, { signal });
      if (mine !== gen) return;
      const known = new Set(jobs.map((j) => j.JobId));
      jobs = jobs.concat((data.Jobs || []).filter((j) => !known.has(j.JobId)));
      next = data.Next || null;
      renderRows();
    } catch (err) {
      flashError(err, 'More jobs could not be loaded');
    } finally {
      more.disabled = false;
    }
  }

  function renderRows() {
    tbody.querySelector('tr.loading')?.remove();
    const list = [...jobs];
    if (sort.key) {
      const key = SORTS[sort.key];
      list.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
      });
    }
    for (const th of ths) {
      const on = th.dataset.sort === sort.key;
      th.setAttribute('aria-sort', on ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
      th.querySelector('.sort-mark').textContent = on ? (sort.dir > 0 ? '▲' : '▼') : '';
    }
    const ids = new Set(list.map((j) => j.JobId));
    for (const [id, row] of rows) {
      if (!ids.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
    for (const job of list) {
      let row = rows.get(job.JobId);
      if (!row) {
        row = makeRow(job.JobId);
        rows.set(job.JobId, row);
      }
      updateRow(row, job);
      tbody.append(row.tr);
    }
    wrap.hidden = list.length === 0;
    empty.hidden = list.length > 0;
    more.hidden = !next;
    updateSelection();
  }

  function makeRow(id) {
    const box = h('input', { type: 'checkbox', 'data-select': '', 'aria-label': `Select job ${id}`,
      onchange: () => {
        if (box.checked) selected.add(id); else selected.delete(id);
        updateSelection();
      } });
    const cells = Object.fromEntries(['status', 'command', 'org', 'entered', 'tries', 'lasttried', 'addedby', 'progress', 'actions']
      .map((c) => [c, h('td', { 'data-col': c })]));
    cells.tries.className = 'num';
    cells.actions.className = 'actions';
    return { tr: h('tr', { 'data-job': id }, h('td', { class: 'check' }, box), Object.values(cells)), cells, box };
  }

  function updateRow({ tr, cells, box }, j) {
    box.checked = selected.has(j.JobId);
    tr.classList.toggle('selected', box.checked);
    const href = `#/jobs/${encodeURIComponent(j.JobId)}`;
    setCell(cells.status, j.Status, () => badge(j.Status));
    setCell(cells.command, [jobCommand(j), j.CancelRequested, j.Error], () => [h('a', { href }, jobCommand(j)),
      j.CancelRequested && api.isActive(j) ? h('span', { class: 'note' }, ' cancelling…') : null,
      j.Error ? h('div', { class: 'job-error bad-text', title: `${j.Error.Code}: ${j.Error.Message}` }, `${j.Error.Code}: ${j.Error.Message}`) : null]);
    setCell(cells.org, j.Org, () => h('a', { href: `#/connections/${encodeURIComponent(j.Org)}` }, j.Org));
    setCell(cells.entered, j.EnteredOn, () => time(j.EnteredOn));
    setCell(cells.tries, `${j.Tries}/${j.MaxTries}`, () => `${j.Tries}/${j.MaxTries}`);
    setCell(cells.lasttried, j.LastTriedOn || '', () => time(j.LastTriedOn));
    setCell(cells.addedby, j.AddedBy, () => j.AddedBy);
    setCell(cells.progress, [j.Progress, j.Status], () => progressBar(j.Progress, j.Status));
    setCell(cells.actions, jobActions(j).join(), () => jobActions(j).map((a) => h('button', { type: 'button', 'data-action': a,
      class: a === 'cancel' ? 'btn-small btn-danger-quiet' : 'btn-small',
      onclick: async () => {
        const current = jobs.find((x) => x.JobId === j.JobId) || j;
        if (await performJobAction(a, [current], signal)) poll.kick();
      } }, JOB_ACTION[a].label)));
  }

  function updateSelection() {
    const picked = jobs.filter((j) => selected.has(j.JobId));
    for (const [id, row] of rows) {
      row.box.checked = selected.has(id);
      row.tr.classList.toggle('selected', row.box.checked);
    }
    selCount.textContent = picked.length ? `${plural(picked.length, 'job')} selected` : 'No job selected';
    for (const b of bulk) b.disabled = !picked.some((j) => jobActions(j).includes(b.dataset.bulk));
    selectAll.checked = jobs.length > 0 && picked.length === jobs.length;
    selectAll.indeterminate = picked.length > 0 && picked.length < jobs.length;
  }
}

export default { title: 'Jobs', render };
