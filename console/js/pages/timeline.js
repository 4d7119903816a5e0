// The timeline of one record of a client org: its client writes, the job log entries naming it,
// its conflicts and its quarantine, oldest first.

import * as api from '../api.js';
import {
  h, fill, badge, time, problemBox, pageHeader, plural,
} from '../ui.js';
import { jobLink } from './jobs.js';

const KIND_TONE = { Job: 'info', ClientWrite: 'neutral', ConflictOpened: 'bad', ConflictResolved: 'ok', Quarantined: 'warn', Restored: 'ok' };
const KIND_LABEL = { Job: 'Job', ClientWrite: 'Client write', ConflictOpened: 'Conflict opened', ConflictResolved: 'Conflict resolved',
  Quarantined: 'Quarantined', Restored: 'Restored' };

async function render(main, ctx) {
  const { signal } = ctx;
  const org = ctx.params.org;
  if (!org) {
    main.append(pageHeader('Timeline', { sub: 'Everything that happened to one record of a client organization.' }),
      h('div', { class: 'card picker' }, h('p', {}, 'Choose the organization of the record.'), ctx.orgSwitcher()));
    return;
  }
  const orgQ = encodeURIComponent(org);
  main.append(pageHeader(`Timeline in ${org}`, {
    sub: h('span', {}, 'Everything that happened to one record: client writes, syncs, conflicts, quarantine. ',
      h('a', { href: `#/connections/${orgQ}` }, `Connection ${org}`)),
    tools: ctx.orgSwitcher(),
  }));

  const entity = h('select', { id: 'timeline-entity', required: true }, h('option', { value: '' }, 'Choose…'));
  if (ctx.query.entity) entity.append(h('option', { value: ctx.query.entity, selected: true }, ctx.query.entity));
  const recordId = h('input', { id: 'timeline-id', required: true, value: ctx.query.id || '', placeholder: 'e.g. a-17',
    spellcheck: 'false', autocapitalize: 'off' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', id: 'timeline-show' }, 'Show timeline');
  const out = h('section', { id: 'timeline', 'aria-live': 'polite' });
  main.append(h('form', { class: 'filters card', onsubmit: (e) => { e.preventDefault(); show(); } },
    h('label', {}, h('span', {}, 'Entity'), entity),
    h('label', { class: 'grow' }, h('span', {}, 'Record id'), recordId),
    submit), out);

  api.get(api.paths.links(org), undefined, { signal }).then((d) => {
    const want = entity.value;
    fill(entity, h('option', { value: '' }, 'Choose…'));
    const names = (d.Links || []).map((l) => l.Entity).sort();
    if (want && !names.includes(want)) names.unshift(want);
    for (const n of names) entity.append(h('option', { value: n }, n));
    entity.value = want || (names.length === 1 ? names[0] : '');
  }).catch((err) => {
    if (!api.isAbort(err) && !err.handled) out.prepend(problemBox(err, 'The links could not be read'));
  });

  if (ctx.query.entity && ctx.query.id) show();
  else fill(out, h('p', { class: 'empty-state' }, 'Choose an entity and enter a record id to see its timeline.'));

  async function show() {
    const e = entity.value;
    const id = recordId.value.trim();
    if (!e || !id) {
      fill(out, problemBox({ detail: 'Choose an entity and enter a record id.' }));
      return;
    }
    ctx.setQuery({ entity: e, id });
    submit.disabled = true;
    fill(out, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const t = await api.get(api.paths.timeline(org, e, id), undefined, { signal });
      const at = (ev) => new Date(ev.At).getTime() || 0;
      const events = (t.Events || []).map((ev, i) => [ev, i]).sort((a, b) => at(a[0]) - at(b[0]) || a[1] - b[1]).map(([ev]) => ev);
      fill(out, h('h2', {}, `${t.Entity || e} `, h('span', { class: 'mono' }, t.Id || id), h('span', { class: 'muted small' }, ` · ${plural(events.length, 'event')}`)),
        events.length
          ? h('ol', { class: 'timeline', id: 'timeline-events' }, events.map(eventItem))
          : h('p', { id: 'timeline-empty', class: 'empty-state' }, 'No events for this record.'));
    } catch (err) {
      if (!api.isAbort(err) && !err.handled) fill(out, problemBox(err, 'The timeline could not be read'));
    } finally {
      submit.disabled = false;
    }
  }

  function eventItem(ev) {
    const facts = [
      ev.Status ? ['Status', badge(ev.Status)] : null,
      ev.Tries !== null && ev.Tries !== undefined ? ['Tries', String(ev.Tries)] : null,
      ev.Error && ev.Kind === 'Job' ? ['Level', badge(ev.Error)] : null,
      ev.Error && ev.Kind !== 'Job' ? ['Error', h('code', { class: 'bad-text' }, ev.Error)] : null,
      ev.Resolution ? ['Resolution', ev.Resolution] : null,
      ev.Side ? ['Side', ev.Side] : null,
    ].filter(Boolean);
    const refs = [
      ev.JobId ? jobLink(ev.JobId, `${ev.JobKind || 'Job'} ${ev.JobId.slice(0, 8)}…`) : null,
      ev.TransactionId ? h('a', { href: `#/transactions/${orgQ}`, title: ev.TransactionId }, `transaction ${ev.TransactionId.slice(0, 8)}…`) : null,
      ev.ConflictId ? h('a', { href: `#/conflicts/${orgQ}`, title: ev.ConflictId }, 'conflict') : null,
    ].filter(Boolean);
    return h('li', { class: `event event-${ev.Kind}`, 'data-kind': ev.Kind },
      h('div', { class: 'event-time' }, time(ev.At, true)),
      h('div', { class: 'event-body' },
        h('div', { class: 'event-head' }, badge(KIND_LABEL[ev.Kind] || ev.Kind, KIND_TONE[ev.Kind] || 'neutral'),
          ev.Action ? h('strong', {}, ` ${ev.Action}`) : null,
          refs.length ? h('span', { class: 'event-refs' }, refs.flatMap((r, i) => (i ? [' · ', r] : [r]))) : null),
        ev.Message ? h('p', { class: 'event-msg' }, ev.Message) : null,
        facts.length ? h('p', { class: 'event-facts small' }, facts.flatMap(([k, v], i) => [i ? ' · ' : '', `${k}: `, v])) : null));
  }
}

export default { title: 'Timeline', render };
