// One job: its fields, progress, error, summary, log (filtered on the server, paged) and
// quarantine (restore one record, or undo all).

import * as api from '../api.js';
import {
  h, fill, badge, time, kv, fmtNum, fmtValue, plural, flash, flashError, problemBox, confirmDialog, dataTable,
  poller, progressBar, summaryTable, firstIdsList,
} from '../ui.js';
import { performJobAction, jobCommand, jobActions, JOB_ACTION, jobErrorBox } from './jobs.js';

const LOG_PAGE = 100;

function requestText(r) {
  if (!r || typeof r !== 'object' || !Object.keys(r).length) return null;
  const parts = [];
  if (Array.isArray(r.Entities)) parts.push(`entities ${r.Entities.join(', ')}`);
  if (r.Direction) parts.push(`direction ${r.Direction}`);
  if (r.Full) parts.push('full read');
  if (r.DryRun) parts.push('dry run: writes nothing');
  if (r.Repair) parts.push('repair');
  if (Array.isArray(r.RecordIds)) parts.push(`${plural(r.RecordIds.length, 'record')}: ${r.RecordIds.slice(0, 10).join(', ')}`);
  const known = ['Entities', 'Direction', 'Full', 'DryRun', 'Repair', 'RecordIds'];
  const rest = Object.fromEntries(Object.entries(r).filter(([k, v]) => !known.includes(k) && v !== null));
  return h('span', {}, parts.join('; ') || '', Object.keys(rest).length ? h('pre', { class: 'json' }, JSON.stringify(rest, null, 2)) : null);
}

async function render(main, ctx) {
  const { signal } = ctx;
  const id = ctx.params.id;
  const title = h('h1', {}, `Job ${id}`);
  const statusEl = h('span', { id: 'job-status' });
  const actions = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Job actions' });
  const fields = h('div');
  const errorBox = h('div');
  const summaryBox = h('div');
  main.append(h('div', { class: 'page-head' }, h('div', {}, title, h('p', { class: 'sub' }, 'Status: ', statusEl)), actions),
    h('section', { class: 'card' }, h('h2', {}, 'Details'), fields),
    h('section', { class: 'card' }, h('h2', {}, 'Summary'), errorBox, summaryBox));

  let job = null;
  const poll = poller(signal, refreshJob, 2000);
  await poll.kick();
  if (!job) return;

  async function refreshJob() {
    try {
      const j = await api.get(api.paths.job(id), undefined, { signal });
      const wasActive = api.isActive(job);
      job = j;
      showJob();
      if (wasActive && !api.isActive(j)) {
        logs.reload();
        loadQuarantine(true);
      }
      return api.isActive(j);
    } catch (err) {
      if (api.isAbort(err) || err.handled) throw err;
      if (!job) {
        fill(title, `Job ${id}`);
        main.append(problemBox(err, 'This job could not be loaded'));
      } else flashError(err, 'The job could not be refreshed');
      return false;
    }
  }

  function showJob() {
    const j = job;
    fill(title, jobCommand(j));
    fill(statusEl, badge(j.Status), j.CancelRequested && api.isActive(j) ? h('span', { class: 'note' }, ' cancelling…') : null);
    fill(actions, jobActions(j).map((a) => h('button', { type: 'button', 'data-action': a,
      class: a === 'cancel' ? 'btn-danger-quiet' : '',
      onclick: async () => { if (await performJobAction(a, [job], signal)) poll.kick(); } }, JOB_ACTION[a].label)));
    fill(fields, kv(2, [
      ['Job id', h('code', {}, j.JobId)],
      ['Kind', j.Kind],
      ['Org', h('a', { href: `#/connections/${encodeURIComponent(j.Org)}` }, j.Org)],
      ['Status', badge(j.Status)],
      ['Progress', progressBar(j.Progress, j.Status)],
      ['Tries', `${j.Tries} of ${j.MaxTries}`],
      ['Entered', time(j.EnteredOn, true)],
      ['Last tried', time(j.LastTriedOn, true)],
      j.NextTryOn ? ['Next try', time(j.NextTryOn, true)] : null,
      ['Finished', time(j.FinishedOn, true)],
      ['Added by', j.AddedBy],
      requestText(j.Request) ? ['Request', requestText(j.Request)] : null,
    ]));
    fill(errorBox, j.Error ? jobErrorBox(j.Error, 'Error') : null);
    fill(summaryBox, h('div', { class: 'summary-wrap' },
      summaryTable(j.Summary, { id: 'job-summary', empty: api.isActive(j) ? 'Nothing yet.' : 'Nothing to report.' })),
    firstIdsList(j.Summary));
  }

  // ---- log ------------------------------------------------------------------------------
  const level = h('select', { id: 'log-level', value: ctx.query.level || '' }, h('option', { value: '' }, 'Every level'),
    ['Info', 'Warning', 'Error'].map((l) => h('option', { value: l }, l)));
  const entity = h('input', { id: 'log-entity', type: 'search', value: ctx.query.entity || '', placeholder: 'any entity',
    list: 'log-entity-list', spellcheck: 'false', autocapitalize: 'off' });
  const recordId = h('input', { id: 'log-record', type: 'search', value: ctx.query.record || '', placeholder: 'any record', spellcheck: 'false' });
  const entityList = h('datalist', { id: 'log-entity-list' }, Object.keys(job.Summary || {}).map((e) => h('option', { value: e })));
  const { wrap: logWrap, tbody: logBody } = dataTable({ id: 'job-log' }, ['Time', 'Level', 'Entity', 'Record', 'Action', 'Message']);
  const logEmpty = h('p', { id: 'job-log-empty', class: 'empty-state', hidden: true }, 'No log entries match.');
  const logMore = h('button', { type: 'button', hidden: true, onclick: () => logs.more() }, 'Load more');
  const logProblem = h('div');
  let debounce = null;
  const onFilter = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => logs.reload(), 400);
  };
  level.addEventListener('change', () => logs.reload());
  entity.addEventListener('input', onFilter);
  recordId.addEventListener('input', onFilter);
  const logSection = h('section', { class: 'card', id: 'log' }, h('h2', {}, 'Log'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); logs.reload(); } },
      h('label', {}, h('span', {}, 'Level'), level),
      h('label', {}, h('span', {}, 'Entity'), entity, entityList),
      h('label', {}, h('span', {}, 'Record id'), recordId)),
    logProblem, logWrap, logEmpty, h('div', { class: 'more' }, logMore));

  const logs = (() => {
    let next = null;
    let gen = 0;
    async function page(reset) {
      const mine = reset ? ++gen : gen;
      const query = { Level: level.value, Entity: entity.value.trim(), RecordId: recordId.value.trim(), Limit: LOG_PAGE,
        Cursor: reset ? undefined : next };
      if (reset) ctx.setQuery({ level: query.Level, entity: query.Entity, record: query.RecordId });
      logMore.disabled = true;
      try {
        const data = await api.get(api.paths.jobLog(id), query, { signal });
        if (mine !== gen) return;
        logProblem.replaceChildren();
        if (reset) logBody.replaceChildren();
        for (const e of data.Entries || []) logBody.append(logRow(e));
        next = data.Next || null;
        logEmpty.hidden = logBody.children.length > 0;
        logWrap.hidden = !logEmpty.hidden;
        logMore.hidden = !next;
      } catch (err) {
        if (api.isAbort(err) || err.handled) return;
        fill(logProblem, problemBox(err, 'The log could not be read'));
      } finally {
        logMore.disabled = false;
      }
    }
    return { reload: () => page(true), more: () => page(false) };
  })();

  function logRow(e) {
    const rec = e.RecordId && e.Entity
      ? h('a', { href: `#/timeline/${encodeURIComponent(job.Org)}?entity=${encodeURIComponent(e.Entity)}&id=${encodeURIComponent(e.RecordId)}`,
        title: 'Timeline of this record' }, e.RecordId)
      : e.RecordId || '';
    return h('tr', { 'data-level': e.Level, class: `level-${e.Level}` },
      h('td', { class: 'nowrap' }, time(e.At)), h('td', {}, badge(e.Level)), h('td', {}, e.Entity || ''),
      h('td', { class: 'mono' }, rec), h('td', {}, e.Action), h('td', { class: 'msg' }, e.Message));
  }

  // ---- quarantine ------------------------------------------------------------------------
  const quarantineBox = h('div');
  const undoAll = h('button', { type: 'button', 'data-action': 'undo-all', onclick: onUndoAll }, 'Undo all deletes…');
  const qMore = h('button', { type: 'button', hidden: true, onclick: () => loadQuarantine(false) }, 'Load more');
  main.append(h('section', { class: 'card', id: 'quarantine' },
    h('div', { class: 'section-head' }, h('h2', {}, 'Quarantine'), undoAll),
    h('p', { class: 'muted small' }, 'What this job deleted or overwrote, on either side, as it was before. A deleted record can be restored once; the next sync carries it on.'),
    quarantineBox, h('div', { class: 'more' }, qMore)), logSection);
  let qItems = [];
  let qNext = null;

  async function loadQuarantine(reset) {
    try {
      const data = await api.get(api.paths.quarantine(id), { Limit: 100, Cursor: reset ? undefined : qNext }, { signal });
      qItems = reset ? data.Items || [] : qItems.concat(data.Items || []);
      qNext = data.Next || null;
      showQuarantine();
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) fill(quarantineBox, problemBox(err, 'The quarantine could not be read'));
    }
  }

  function showQuarantine() {
    qMore.hidden = !qNext;
    const restorable = qItems.filter((i) => i.Action === 'Deleted' && !i.RestoredOn);
    undoAll.disabled = api.isActive(job) || (!restorable.length && !qNext);
    if (!qItems.length) {
      fill(quarantineBox, h('p', { class: 'empty-state', id: 'quarantine-empty' }, 'Nothing in quarantine: this job deleted or overwrote nothing.'));
      return;
    }
    const { wrap, tbody } = dataTable({ id: 'quarantine-items' }, ['Entity', 'Record', 'Side', 'Action', 'Attributes before', 'Version', 'Restored', '']);
    for (const item of qItems) {
      const attrs = Object.entries(item.Attributes || {});
      const canRestore = item.Action === 'Deleted' && !item.RestoredOn && !api.isActive(job);
      tbody.append(h('tr', { 'data-quarantine': item.Id },
        h('td', {}, item.Entity), h('td', { class: 'mono' }, item.Id), h('td', {}, item.Side), h('td', {}, item.Action),
        h('td', { class: 'attrs' }, attrs.length
          ? h('details', {}, h('summary', {}, attrs.slice(0, 2).map(([k, v]) => `${k}: ${fmtValue(v)}`).join(', ') + (attrs.length > 2 ? ` +${attrs.length - 2}` : '')),
            h('dl', { class: 'kv small' }, attrs.map(([k, v]) => h('div', { class: 'kv-pair' }, h('dt', {}, k), h('dd', {}, fmtValue(v))))))
          : '—'),
        h('td', { class: 'num' }, fmtNum(item.Version)), h('td', {}, time(item.RestoredOn)),
        h('td', { class: 'actions' }, canRestore
          ? h('button', { type: 'button', class: 'btn-small', 'data-action': 'restore', 'data-id': item.Id,
            onclick: (e) => restore([item.Id], e.currentTarget) }, 'Restore')
          : null)));
    }
    fill(quarantineBox, wrap);
  }

  async function restore(ids, button) {
    if (button) button.disabled = true;
    try {
      const r = await api.post(api.paths.undo(id), ids ? { Ids: ids } : {}, { signal });
      flash(`${plural(r.Restored, 'record')} restored${r.Skipped ? `, ${fmtNum(r.Skipped)} skipped (the log says why)` : ''}.`);
      await loadQuarantine(true);
      logs.reload();
    } catch (err) {
      flashError(err, 'Not restored');
      if (button) button.disabled = false;
    }
  }

  async function onUndoAll() {
    const ok = await confirmDialog({ title: 'Undo all deletes of this job?', okText: 'Restore every deleted record', danger: true,
      message: 'Every record this job deleted and that is not restored yet is written back on the side where it was deleted.' });
    if (ok && !signal.aborted) restore(null, undoAll);
  }

  logs.reload();
  loadQuarantine(true);
}

export default { title: 'Job', render };
