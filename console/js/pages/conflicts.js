// Conflicts of one org: each open one as a card comparing server and client values field by
// field, with Take server, Take client and Take chosen (per field); resolved ones collapsed.

import * as api from '../api.js';
import { h, fill, badge, time, fmtValue, plural, flash, flashError, problemBox, dataTable, pageHeader } from '../ui.js';

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

async function render(main, ctx) {
  const { signal } = ctx;
  const org = ctx.params.org;
  if (!org) {
    main.append(pageHeader('Conflicts', { sub: 'Client writes that met a server change under the Manual policy.' }),
      h('div', { class: 'card picker' }, h('p', {}, 'Choose the organization whose conflicts to show.'), ctx.orgSwitcher()));
    return;
  }
  const orgQ = encodeURIComponent(org);
  main.append(pageHeader(`Conflicts of ${org}`, {
    sub: h('span', {}, 'Client writes that met a server change, parked by the Manual conflict policy. ',
      h('a', { href: `#/connections/${orgQ}` }, `Connection ${org}`)),
    tools: [ctx.orgSwitcher(), h('button', { type: 'button', onclick: () => load() }, 'Refresh')],
  }));
  const openBox = h('div', { class: 'conflict-list' }, h('p', { class: 'muted' }, 'Loading conflicts…'));
  const resolvedBox = h('div');
  main.append(openBox, resolvedBox);
  await load();

  async function load() {
    let list;
    try {
      const data = await api.get(api.paths.conflicts(org), { All: true, Limit: 1000 }, { signal });
      list = data.Conflicts || [];
    } catch (err) {
      if (api.isAbort(err) || err.handled) return;
      fill(openBox, problemBox(err, 'The conflicts could not be read'));
      return;
    }
    const open = list.filter((c) => c.Status === 'Open');
    const resolved = list.filter((c) => c.Status !== 'Open');
    fill(openBox, open.length
      ? [h('p', { class: 'muted' }, `${plural(open.length, 'open conflict')}. For each field, choose whose value to keep: the client’s is kept unless you pick the server’s.`),
        open.map(card)]
      : h('div', { id: 'conflicts-empty', class: 'empty-state' }, h('p', {}, h('strong', {}, 'No open conflicts.')),
        h('p', {}, 'A conflict shows here when a client write meets a server change under the Manual conflict policy.')));
    fill(resolvedBox, resolved.length ? resolvedList(resolved) : null);
  }

  function card(c) {
    const serverAttrs = c.ServerRecord?.Attributes || {};
    const deleted = !c.ServerRecord;
    const client = c.ClientAttributes || {};
    const names = Object.keys(client).sort();
    const radios = new Map();
    const chosenBtn = h('button', { type: 'button', 'data-action': 'take-chosen', disabled: deleted,
      title: deleted ? 'The server deleted this record: there are no server values to choose' : undefined,
      onclick: () => {
        const attrs = {};
        for (const [name, r] of radios) if (r.server.checked) attrs[name] = name in serverAttrs ? serverAttrs[name] : null;
        resolve(c, 'Client', attrs, article);
      } }, 'Take chosen');
    const updateChosen = () => {
      const n = [...radios.values()].filter((r) => r.server.checked).length;
      chosenBtn.textContent = n ? `Take chosen (${plural(n, 'field')} from the server)` : 'Take chosen';
      for (const r of radios.values()) r.tr.classList.toggle('chose-server', r.server.checked);
    };
    const rows = names.map((name) => {
      const sv = serverAttrs[name];
      const cv = client[name];
      const group = `take-${c.ConflictId}-${name}`;
      const server = h('input', { type: 'radio', name: group, value: 'Server', disabled: deleted, onchange: updateChosen });
      const clientR = h('input', { type: 'radio', name: group, value: 'Client', checked: true, onchange: updateChosen });
      const tr = h('tr', { 'data-attribute': name, class: same(sv, cv) ? '' : 'diff' },
        h('th', { scope: 'row' }, name),
        h('td', { class: 'val' }, deleted ? h('span', { class: 'muted' }, '(deleted)') : fmtValue(name in serverAttrs ? sv : null)),
        h('td', { class: 'val' }, fmtValue(cv)),
        h('td', { class: 'choice' }, h('label', {}, server, ' Server'), h('label', {}, clientR, ' Client')));
      radios.set(name, { server, tr });
      return tr;
    });
    const others = Object.keys(serverAttrs).filter((k) => !(k in client)).sort();
    const timeline = `#/timeline/${orgQ}?entity=${encodeURIComponent(c.Entity)}&id=${encodeURIComponent(c.RecordId)}`;
    const { wrap, tbody } = dataTable({ class: 'data fields' }, ['Field', 'Server value', 'Client value', 'Keep']);
    tbody.append(...rows);
    if (!rows.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'The client’s write names no attribute (a delete).')));
    const article = h('article', { class: 'card conflict', 'data-conflict': c.ConflictId },
      h('header', { class: 'conflict-head' },
        h('h2', {}, `${c.Entity} `, h('a', { href: timeline, class: 'mono', title: 'Timeline of this record' }, c.RecordId)),
        h('p', { class: 'muted small' }, 'Found ', time(c.CreatedOn), ' · transaction ', h('code', {}, c.TransactionId),
          c.ServerRecord?.Version !== undefined ? ` · server version ${c.ServerRecord.Version}` : '',
          c.ServerRecord?.ModifiedOn ? [' modified ', time(c.ServerRecord.ModifiedOn)] : null)),
      deleted ? h('p', { class: 'note' }, 'The server deleted this record. Take server accepts the delete; Take client sends the client’s record again.') : null,
      wrap,
      others.length ? h('details', { class: 'others' }, h('summary', {}, `Other server fields (${others.length}), not changed by the client`),
        h('dl', { class: 'kv small' }, others.map((k) => h('div', { class: 'kv-pair' }, h('dt', {}, k), h('dd', {}, fmtValue(serverAttrs[k])))))) : null,
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', 'data-action': 'take-server', onclick: () => resolve(c, 'Server', null, article) }, 'Take server'),
        h('button', { type: 'button', 'data-action': 'take-client', onclick: () => resolve(c, 'Client', null, article) }, 'Take client'),
        chosenBtn));
    return article;
  }

  async function resolve(c, take, attributes, article) {
    const buttons = article.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    const body = { Take: take };
    if (attributes && Object.keys(attributes).length) body.Attributes = attributes;
    try {
      await api.post(api.paths.resolve(org, c.ConflictId), body, { signal });
      const how = body.Attributes ? `took the client’s record with ${plural(Object.keys(body.Attributes).length, 'field')} from the server`
        : `took the ${take.toLowerCase()}’s record`;
      flash(`Conflict on ${c.Entity} ${c.RecordId} resolved: ${how}.`);
      await load();
    } catch (err) {
      flashError(err, `Conflict on ${c.Entity} ${c.RecordId} not resolved`);
      buttons.forEach((b) => { b.disabled = b.dataset.action === 'take-chosen' && !c.ServerRecord; });
    }
  }

  function resolvedList(resolved) {
    const { wrap, tbody } = dataTable({ id: 'conflicts-resolved' }, ['Entity', 'Record', 'Taken', 'Found', 'Resolved']);
    for (const c of resolved) {
      tbody.append(h('tr', { 'data-resolved': c.ConflictId },
        h('td', {}, c.Entity),
        h('td', { class: 'mono' }, h('a', { href: `#/timeline/${orgQ}?entity=${encodeURIComponent(c.Entity)}&id=${encodeURIComponent(c.RecordId)}` }, c.RecordId)),
        h('td', {}, c.Resolution ? badge(c.Resolution, 'neutral') : '—'),
        h('td', { class: 'nowrap' }, time(c.CreatedOn)),
        h('td', { class: 'nowrap' }, time(c.ResolvedOn))));
    }
    return h('details', { class: 'card resolved' }, h('summary', {}, `Resolved conflicts (${resolved.length})`), wrap);
  }
}

export default { title: 'Conflicts', render };
