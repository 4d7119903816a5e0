// Get and Send snapshots from the connection page: the all-links one, and the per-link one with
// its Whole link / Filtered choice, the date filter form (saved as the link's SnapshotFilter or
// cleared) and a DryRun preview that re-runs when the choice or the form changes.

import * as api from '../api.js';
import { h, fill, append, flash, flashError, problemBox, confirmDialog } from '../ui.js';
import { jobStartedMessage, previewJob } from './jobs.js';

const DEBOUNCE_MS = 400;
const MODIFIED_ON = 'ModifiedOn';
// A saved From/To that is a whole UTC day: the date input shows it exactly.
const DAY_START = /T00:00:00(\.0+)?(Z|\+00:00)$/;
const DAY_END = /T23:59:59(\.\d+)?(Z|\+00:00)$/;

/** A saved snapshot filter as short text ("scheduledend from 2026-01-01 + undated"), or "—". */
export function snapshotFilterText(f) {
  if (!f) return '—';
  const range = [f.From ? `from ${f.From.slice(0, 10)}` : '', f.To ? `to ${f.To.slice(0, 10)}` : ''].filter(Boolean).join(' ');
  return [f.DateOption, range || 'any date', f.IncludeUndated ? '+ undated' : '', f.Recurrence ? `recurrence ${f.Recurrence.Include || 'Both'}` : '']
    .filter(Boolean).join(' ');
}

/**
 * Asks for and starts a snapshot. `linkOf(entity)` gives a link as last read, `links()` all of
 * them; `onLink(link)` is told of a link whose saved filter changed; `track(accepted)` follows the job.
 */
export async function runSnapshot({ org, direction, entity, linkOf, links, signal, onLink, track }) {
  const what = `${direction} snapshot of ${entity || 'every link'}`;
  const [from, to] = direction === 'Get' ? ['server', 'client'] : ['client', 'server'];
  const intro = `A ${direction} snapshot copies the ${from}’s records to the ${to} and overrides the ${to}’s changes; what it deletes or overwrites is kept in the job’s quarantine.`;
  const dialog = entity
    ? linkDialog({ org, direction, entity, link: linkOf(entity), signal, onLink, to })
    : allLinksDialog({ org, direction, links: links(), signal, to });
  const ok = await confirmDialog({ title: `${what}?`, okText: `${direction} snapshot`, danger: true, waitForPrepare: true,
    message: h('span', {}, intro, ' ', dialog.message), prepare: dialog.prepare });
  if (!ok || signal.aborted) return;
  try {
    const accepted = await api.startJob(api.paths.snapshots(org), dialog.body(), { signal });
    flash(jobStartedMessage(accepted, dialog.label ? `${what} (${dialog.label()})` : what));
    track(accepted);
  } catch (err) {
    flashError(err, `${what} could not start`);
  }
}

/** The all-links snapshot: as before, saying that each link's saved snapshot filter applies. */
function allLinksDialog({ org, direction, links, signal, to }) {
  const body = { Direction: direction };
  const on = (l) => (direction === 'Get' ? l.Inbound : l.Outbound);
  const filtered = links.filter((l) => on(l) && l.SnapshotFilter).sort((a, b) => a.Entity.localeCompare(b.Entity));
  return {
    body: () => body,
    message: h('span', { id: 'snapshot-saved-filters' },
      'Each link’s saved snapshot filter applies; a link without one is snapshotted whole.',
      filtered.length ? h('ul', { class: 'compact' }, filtered.map((l) => h('li', { 'data-entity': l.Entity },
        h('strong', {}, `${l.Entity}: `), snapshotFilterText(l.SnapshotFilter)))) : ' No link has a saved filter.',
      ` A dry run first counts what it would do on the ${to}:`),
    prepare: async (box, ctl) => {
      const holder = h('div');
      box.append(holder);
      await previewJob(holder, () => api.startJob(api.paths.snapshots(org), { ...body, DryRun: true }, { signal: ctl.signal }),
        { signal: ctl.signal });
    },
  };
}

/** A saved From/To as the date input's day, and the exact instant to send back while that day is kept. */
function savedDay(iso, whole) {
  if (!iso) return { day: '', exact: null };
  return { day: iso.slice(0, 10), exact: whole.test(iso) ? null : iso };
}

function linkDialog({ org, direction, entity, link, signal, onLink, to }) {
  let saved = link?.SnapshotFilter || null;
  const id = (n) => `snapshot-${n}`;
  const scopeRadio = (value, text) => h('label', {}, h('input', { type: 'radio', name: 'scope', value, checked: (value === 'filtered') === Boolean(saved) }), ` ${text}`);
  const dateOption = h('select', { id: id('dateoption'), name: 'DateOption' }, h('option', { value: MODIFIED_ON }, `${MODIFIED_ON} (when the record last changed on its side)`));
  const fromIn = h('input', { type: 'date', id: id('from'), name: 'From' });
  const toIn = h('input', { type: 'date', id: id('to'), name: 'To' });
  const undated = h('input', { type: 'checkbox', id: id('undated'), name: 'IncludeUndated' });
  const keepRec = h('input', { type: 'checkbox', name: 'KeepRecurrence' });
  const recRow = h('label', { class: 'inline', hidden: true }, keepRec, h('span'));
  const metaNote = h('p', { class: 'muted small', 'data-meta-note': '' });
  const exactNote = h('p', { class: 'muted small' });
  const fields = h('fieldset', { class: 'snapshot-fields' },
    h('legend', { class: 'visually-hidden' }, `Snapshot filter of ${entity}`),
    h('div', { class: 'form-grid' },
      h('label', { for: id('dateoption') }, 'Date'), dateOption,
      h('label', { for: id('from') }, 'From (UTC day)'), fromIn,
      h('label', { for: id('to') }, 'To (UTC day)'), toIn),
    h('label', { class: 'inline' }, undated, ' Also the records with no date (IncludeUndated)'),
    recRow, exactNote, metaNote);
  const saveBtn = h('button', { type: 'button', class: 'btn-small', 'data-action': 'save-snapshot-filter', 'data-entity': entity }, 'Save as the link’s filter');
  const clearBtn = h('button', { type: 'button', class: 'btn-small', 'data-action': 'clear-snapshot-filter', 'data-entity': entity }, 'Clear saved filter');
  const savedNote = h('p', { class: 'small', 'data-saved-filter': '' });
  const msg = h('div', { class: 'form-msg', role: 'status' });
  const form = h('form', { id: 'snapshot-filter', class: 'snapshot-form', 'data-entity': entity, novalidate: true, onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'radio-row', role: 'radiogroup', 'aria-label': 'Scope' }, scopeRadio('whole', 'Whole link'), scopeRadio('filtered', 'Filtered')),
    savedNote, fields, h('div', { class: 'filter-actions' }, saveBtn, clearBtn), msg);
  const holder = h('div', { class: 'snapshot-preview' });
  let exact = { From: null, To: null };

  const scope = () => (form.querySelector('input[name="scope"]:checked')?.value === 'filtered' ? 'filtered' : 'whole');
  const addOption = (value) => {
    if (value && ![...dateOption.options].some((o) => o.value === value)) dateOption.append(h('option', { value }, value));
  };

  /** Fills the form from a saved filter (or the defaults). */
  function load(f) {
    addOption(f?.DateOption);
    dateOption.value = f?.DateOption || MODIFIED_ON;
    const [a, b] = [savedDay(f?.From, DAY_START), savedDay(f?.To, DAY_END)];
    [fromIn.value, toIn.value, exact] = [a.day, b.day, { From: a.exact, To: b.exact }];
    fill(exactNote, [['From', a.exact], ['To', b.exact]].filter(([, x]) => x)
      .map(([k, x]) => `The saved ${k} is ${x}; it is kept while its day is unchanged. `));
    undated.checked = Boolean(f?.IncludeUndated);
    keepRec.checked = Boolean(f?.Recurrence);
    recRow.hidden = !f?.Recurrence;
    if (f?.Recurrence) fill(recRow.lastChild, ` Keep its Recurrence (${f.Recurrence.Include || 'Both'}; ${f.Recurrence.RecurringAttribute || 'isrecurring'} / ${f.Recurrence.RecurrenceEndAttribute || 'recurrenceend'})`);
  }

  /** The form as a SnapshotFilter; From and To as YYYY-MM-DD (or the exact saved instant). */
  function filter() {
    const f = { DateOption: dateOption.value };
    const day = (input, k) => (exact[k] && exact[k].slice(0, 10) === input.value ? exact[k] : input.value);
    if (fromIn.value) f.From = day(fromIn, 'From');
    if (toIn.value) f.To = day(toIn, 'To');
    f.IncludeUndated = undated.checked;
    if (saved?.Recurrence && keepRec.checked && !recRow.hidden) f.Recurrence = saved.Recurrence;
    return f;
  }

  /** What is wrong with the form before the server sees it, or ''. */
  function formError() {
    if (!dateOption.value) return 'Choose a date.';
    if (fromIn.validity.badInput || toIn.validity.badInput) return 'From and To are days (YYYY-MM-DD).';
    if (fromIn.value && toIn.value && toIn.value < fromIn.value) return 'To is before From.';
    return '';
  }

  function body() {
    const b = { Direction: direction, Entities: [entity] };
    if (scope() === 'filtered') b.Filters = { [entity]: filter() };
    return b;
  }

  function showScope() {
    const filtered = scope() === 'filtered';
    fields.hidden = !filtered;
    fields.disabled = !filtered;
    saveBtn.hidden = !filtered;
    clearBtn.hidden = !saved;
    fill(savedNote, filtered
      ? (saved ? ['Starts from the link’s saved filter (', h('strong', {}, snapshotFilterText(saved)), '); this run uses the form below.'] : 'This run uses the form below; the link has no saved filter.')
      : (saved ? [h('strong', {}, 'The link’s saved filter applies: '), snapshotFilterText(saved),
        '. A run can only replace it with another filter: the API has no way to ask for an unfiltered run while the link has one. Clear it for a whole snapshot.']
        : 'The whole link: every record in the link’s sync scope.'));
    savedNote.className = `small${!filtered && saved ? ' note' : ''}`;
  }

  // ---- the preview: re-run, debounced, on every change -----------------------------------
  let dlg = null; // {signal, ok}: the open dialog
  let timer = null;
  let runCtl = null;
  let prepared = false;
  let idle = Promise.resolve();
  let settle = null; // resolves `idle` once the latest preview has settled
  const started = new Map(); // dry-run job id → its request, for the ones this dialog started

  function setOk() {
    if (!dlg || dlg.signal.aborted) return;
    dlg.ok.disabled = Boolean(formError() && scope() === 'filtered') || (prepared && Boolean(settle));
  }
  function busy() {
    if (!settle) idle = new Promise((r) => { settle = r; });
    setOk();
  }
  function quiet() {
    settle?.();
    settle = null;
    setOk();
  }

  function schedule(delay = DEBOUNCE_MS) {
    if (!dlg || dlg.signal.aborted) return;
    clearTimeout(timer);
    runCtl?.abort();
    busy();
    timer = setTimeout(preview, delay);
  }

  async function preview() {
    timer = null;
    const problem = scope() === 'filtered' ? formError() : '';
    if (problem) {
      fill(holder, problemBox({ detail: problem, code: 'invalid_form' }, 'No preview'));
      quiet();
      return;
    }
    const mine = new AbortController();
    runCtl = mine;
    dlg.signal.addEventListener('abort', () => mine.abort(), { once: true });
    const req = body();
    try {
      await previewJob(holder, () => startDryRun(req, mine.signal), { signal: mine.signal });
    } catch (err) {
      if (!mine.signal.aborted && !api.isAbort(err) && !err?.handled) append(holder, [problemBox(err, 'Preview failed')]);
    }
    if (runCtl === mine && !timer) quiet();
  }

  /**
   * Starts the dry run of `req`. The org has one snapshot job queued or running at a time and a
   * dry run counts: an earlier dry run of other options (this dialog's is cancelled) is waited for.
   */
  async function startDryRun(req, sig) {
    const key = JSON.stringify(req);
    for (let tries = 0; ; tries += 1) {
      const accepted = await api.startJob(api.paths.snapshots(org), { ...req, DryRun: true }, { signal: sig });
      if (!accepted.Existing) started.set(accepted.JobId, key);
      if (!accepted.Existing || started.get(accepted.JobId) === key) return accepted;
      const job = await api.get(api.paths.job(accepted.JobId), undefined, { signal: sig });
      if (!job.Request?.DryRun) return accepted; // a real snapshot: previewJob says so
      if (tries >= 3) throw new Error(`an earlier dry run (job ${job.JobId}) is still running; change the form again once it ends`);
      if (api.isActive(job)) {
        const state = holder.querySelector('.preview-state');
        if (state) fill(state, h('span', { class: 'muted' }, 'Waiting for an earlier dry run of this org to end…'));
        if (started.has(job.JobId)) api.post(api.paths.jobAction(job.JobId, 'Cancel'), undefined, { signal: sig }).catch(() => {});
        await api.watchJob(job.JobId, { signal: sig, interval: 800, timeoutMs: 120000 });
      }
    }
  }

  // ---- save / clear the link's filter ------------------------------------------------------
  async function saveLinkFilter(clear) {
    const problem = clear ? '' : formError();
    if (problem) {
      fill(msg, problemBox({ detail: problem, code: 'invalid_form' }, 'Not saved'));
      return;
    }
    saveBtn.disabled = true;
    clearBtn.disabled = true;
    fill(msg, h('span', { class: 'muted' }, clear ? 'Clearing…' : 'Saving…'));
    try {
      const l = await api.patch(api.paths.link(org, entity), { SnapshotFilter: clear ? null : filter() }, { signal });
      saved = l.SnapshotFilter || null;
      onLink(l);
      if (saved) load(saved);
      else recRow.hidden = true;
      showScope();
      fill(msg, h('span', { class: 'ok-text' }, saved ? `Saved as the snapshot filter of ${entity}.` : `Saved filter of ${entity} cleared: a whole-link run is a full snapshot.`));
      if (scope() === 'whole') schedule(0); // the saved filter is what a whole-link run uses
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) fill(msg, problemBox(err, clear ? 'Not cleared' : 'Not saved'));
    } finally {
      saveBtn.disabled = false;
      clearBtn.disabled = false;
    }
  }
  saveBtn.addEventListener('click', () => saveLinkFilter(false));
  clearBtn.addEventListener('click', () => saveLinkFilter(true));

  form.addEventListener('change', (e) => {
    if (e.target.name === 'scope') showScope();
    schedule(e.target.name === 'scope' ? 0 : DEBOUNCE_MS);
  });
  form.addEventListener('input', (e) => { if (e.target.type !== 'radio' && e.target.type !== 'checkbox') schedule(); });

  async function loadMetadata(sig) {
    try {
      const meta = await api.get(api.paths.metadata(org), undefined, { signal: sig });
      const ents = meta?.Entities || [];
      const def = ents.find((d) => d.Name === entity) || ents.find((d) => d.Name?.toLowerCase() === entity.toLowerCase());
      const dates = (def?.Attributes || []).filter((a) => a.Type === 'DateTime' || a.Type === 'Date')
        .sort((a, b) => a.Name.localeCompare(b.Name));
      const current = dateOption.value;
      dateOption.append(...dates.filter((a) => ![...dateOption.options].some((o) => o.value === a.Name))
        .map((a) => h('option', { value: a.Name }, `${a.Name} (${a.Type})`)));
      dateOption.value = current;
      fill(metaNote, def ? (dates.length ? '' : `${entity} has no DateTime or Date attribute: only ${MODIFIED_ON}.`) : `${entity} is not in the org’s metadata: only ${MODIFIED_ON}.`);
    } catch (err) {
      if (!api.isAbort(err) && !err?.handled) fill(metaNote, problemBox(err, `The attributes of ${entity} could not be read; only ${MODIFIED_ON} and the saved date are offered`));
    }
  }

  load(saved);
  showScope();
  return {
    body,
    label: () => (scope() === 'filtered' ? 'filtered' : saved ? 'its saved filter' : 'whole'),
    message: `A dry run first counts what it would do on the ${to}:`,
    prepare: async (box, ctl) => {
      dlg = { signal: ctl.signal, ok: document.getElementById('confirm-ok') };
      // OK commits: the form no longer changes what is started.
      const freeze = () => { form.inert = true; };
      dlg.ok.addEventListener('click', freeze);
      ctl.signal.addEventListener('abort', () => { clearTimeout(timer); dlg.ok.removeEventListener('click', freeze); }, { once: true });
      box.append(form, holder);
      loadMetadata(ctl.signal);
      schedule(0);
      await idle;
      prepared = true;
      setOk();
    },
  };
}
