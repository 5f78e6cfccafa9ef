// @ts-check
// One workflow: the reference field browser (copy a path or its `{{ trigger.… }}`), the check's
// warnings, the mapping against the reference, its requests and runs, a simulate pane (paste a
// payload → the dry-run trace), clearing the reference and rotating the URL.

import { api, withQuery } from '../api.js';
import { h, fill, card, chip, idLink, fmtTime, copyButton, errorBox, pagedTable, rowLink, jsonBlock, kv } from '../dom.js';
import { referenceCurl, errorText } from './workflows.js';
import { stepList } from './runs.js';

/** `$.a.b[0]` → `{{ trigger.a.b[0] }}`; bracketed keys stay bracketed. */
export function templateOf(/** @type {string} */ path) {
  return `{{ trigger${path.replace(/^\$/, '')} }}`;
}

/** @param {HTMLElement} el @param {string[]} params */
export async function workflowView(el, [id]) {
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let wf;
  try {
    wf = await api(`/api/workflows/${encodeURIComponent(id)}`);
  } catch (e) {
    return fill(el, errorBox(e));
  }
  const note = h('div', { class: 'notes' });
  const q = encodeURIComponent(id);

  const rotate = async () => {
    if (!confirm(`Rotate the URL of ${id}? The old URL will answer 404 at once: senders must be given the new one.`)) return;
    try {
      await api(`/api/workflows/${q}/rotate`, { method: 'POST' });
      workflowView(el, [id]);
    } catch (e) {
      fill(note, errorBox(e));
    }
  };
  const clearRef = async () => {
    if (!confirm(`Clear the reference of ${id}? The next request that parses becomes the new one.`)) return;
    try {
      await api(`/api/workflows/${q}/reference`, { method: 'DELETE' });
      workflowView(el, [id]);
    } catch (e) {
      fill(note, errorBox(e));
    }
  };
  const pick = async (/** @type {string} */ rid) => {
    try {
      await api(`/api/workflows/${q}/reference`, { method: 'PUT', body: { request_id: rid } });
      workflowView(el, [id]);
    } catch (e) {
      fill(note, errorBox(e));
    }
  };

  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', null, wf.name || wf.id, ' ', h('span', { class: 'muted mono small' }, wf.id)),
    h('div', { class: 'summary' }, wf.error ? chip('error') : chip(wf.status)),
  );
  if (wf.kind === 'sequence') {
    return fill(el, head, card('Sequence', [], h('p', null, 'Enrolments and due steps are on ', h('a', { href: '#/time' }, 'Time'), '.')), wf.error ? errorBox(new Error(errorText(wf.error))) : null);
  }

  fill(
    el,
    head,
    note,
    wf.error ? h('div', { class: 'error-box mono' }, errorText(wf.error)) : null,
    card(
      'Inbound URL',
      [h('button', { class: 'btn danger', type: 'button', onclick: rotate }, 'Rotate URL…')],
      h('div', { class: 'url-cell big' }, h('code', { class: 'url' }, wf.url), copyButton(wf.url, 'copy URL')),
      h('div', { class: 'url-cell' }, h('code', { class: 'url muted small' }, referenceCurl(wf)), copyButton(referenceCurl(wf), 'copy curl')),
      kv([['counts', Object.entries(wf.counts || {}).map(([k, v]) => `${v} ${k}`).join(' · ') || 'none']]),
    ),
    wf.warnings.length
      ? card(`Check: ${wf.warnings.length} warning${wf.warnings.length > 1 ? 's' : ''}`, [], h('ul', { class: 'warnings' }, wf.warnings.map((/** @type {any} */ w) => h('li', { class: 'mono small' }, errorText(w)))))
      : null,
    h('div', { class: 'grid2' }, referenceCard(wf, clearRef), mappingCard(wf)),
    simulateCard(wf),
    h(
      'div',
      { class: 'grid2' },
      card(
        'Requests',
        [h('a', { href: `#/live?workflow=${q}`, class: 'btn tiny' }, 'live')],
        pagedTable(
          ['received', 'status', 'items', 'id', ''],
          (c) => api(withQuery('/api/requests', { workflow: id, cursor: c, limit: 25 })),
          (r) =>
            rowLink(
              `#/requests/${r.id}`,
              h('span', { class: 'mono small' }, fmtTime(r.received_at)),
              chip(r.status),
              String(r.items.length),
              idLink('requests', r.id),
              wf.reference && wf.reference.request_id === r.id
                ? h('span', { class: 'badge ref' }, 'reference')
                : r.status !== 'rejected'
                  ? h('button', { class: 'btn tiny', type: 'button', onclick: () => pick(r.id) }, 'use as reference')
                  : null,
            ),
          'No requests yet: post to the URL above.',
        ),
      ),
      card(
        'Runs',
        [h('a', { href: `#/runs?workflow=${q}`, class: 'btn tiny' }, 'all')],
        pagedTable(
          ['created', 'status', 'contact', 'id'],
          (c) => api(withQuery('/api/runs', { workflow: id, cursor: c, limit: 25 })),
          (r) => rowLink(`#/runs/${r.id}`, h('span', { class: 'mono small' }, fmtTime(r.created_at)), chip(r.status), idLink('contacts', r.contact_id), idLink('runs', r.id)),
          'No runs yet.',
        ),
      ),
    ),
  );
}

function referenceCard(/** @type {any} */ wf, /** @type {() => void} */ clearRef) {
  const ref = wf.reference;
  if (!ref) return card('Reference', [], h('p', { class: 'muted' }, 'No reference yet. The first request that parses becomes it; or pick one below (“use as reference”).'));
  const filter = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'Filter fields…  (/)', 'data-filter': '', 'aria-label': 'filter fields' }));
  const rows = ref.fields.map((/** @type {any} */ f) =>
    h(
      'tr',
      { dataset: { text: (f.path + ' ' + JSON.stringify(f.value)).toLowerCase() } },
      h('td', { class: 'mono' }, f.path),
      h('td', { class: 'mono value' }, JSON.stringify(f.value)),
      h('td', { class: 'nowrap' }, copyButton(f.path, 'path', `copy ${f.path}`), ' ', copyButton(templateOf(f.path), '{{ }}', `copy ${templateOf(f.path)}`)),
    ),
  );
  filter.addEventListener('input', () => {
    const t = filter.value.toLowerCase();
    for (const r of rows) r.hidden = !!t && !(r.dataset.text || '').includes(t);
  });
  return card(
    'Reference fields',
    [h('button', { class: 'btn tiny', type: 'button', onclick: clearRef }, 'Clear…')],
    h('p', { class: 'small' }, 'From request ', idLink('requests', ref.request_id), ` captured ${fmtTime(ref.captured_at)}. Paths are per item (what mapping sees).`),
    filter,
    h('div', { class: 'scroll' }, h('table', { class: 'list fields' }, h('thead', null, h('tr', null, h('th', null, 'path'), h('th', null, 'example value'), h('th', null, 'copy'))), h('tbody', null, rows))),
  );
}

function mappingCard(/** @type {any} */ wf) {
  const paths = new Set((wf.reference ? wf.reference.fields : []).map((/** @type {any} */ f) => f.path));
  const has = (/** @type {string} */ p) => [...paths].some((f) => f === p || f.startsWith(p + '.') || f.startsWith(p + '['));
  if (!wf.mapping || !wf.mapping.length) return card('Mapping', [], h('p', { class: 'muted' }, 'This workflow maps no fields.'));
  return card(
    'Mapping',
    [],
    h(
      'table',
      { class: 'list' },
      h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'path'), h('th', null, 'in reference'))),
      h(
        'tbody',
        null,
        wf.mapping.map((/** @type {any} */ m) =>
          h('tr', null, h('td', { class: 'mono' }, m.name), h('td', { class: 'mono' }, m.path), h('td', null, !wf.reference ? h('span', { class: 'muted' }, '—') : /[*?]|\.\./.test(m.path) ? h('span', { class: 'muted' }, 'not checked') : has(m.path) ? h('span', { class: 'ok-text' }, 'yes') : h('span', { class: 'error-text' }, 'missing'))),
        ),
      ),
    ),
  );
}

function simulateCard(/** @type {any} */ wf) {
  const area = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { class: 'code', rows: 10, spellcheck: 'false', 'aria-label': 'payload to simulate' }, wf.reference ? JSON.stringify(wf.reference.payload, null, 2) : '{\n  "email": "jane@example.com"\n}')
  );
  const out = h('div', { class: 'sim-out' }, h('p', { class: 'muted' }, 'Edit the payload and press Simulate (Ctrl+Enter): the mapping results and each step’s outcome appear here, run against the current contacts without changing them.'));
  const run = async () => {
    fill(out, h('p', { class: 'muted' }, 'Running…'));
    try {
      const d = await api(`/api/workflows/${encodeURIComponent(wf.id)}/simulate`, { method: 'POST', body: area.value, type: 'application/json' });
      fill(out, d.items.length ? d.items.map(simItem) : h('p', { class: 'muted' }, 'No items after the split.'));
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run();
  });
  return card(
    'Simulate (dry run: writes and sends nothing)',
    [h('button', { class: 'btn primary', type: 'button', onclick: run, title: 'Ctrl+Enter' }, 'Simulate')],
    h('div', { class: 'grid2 sim' }, area, out),
  );
}

function simItem(/** @type {any} */ it) {
  return h(
    'div',
    { class: 'sim-item' },
    h('div', { class: 'summary' }, h('strong', null, `item #${it.index}`), chip(it.status), it.run ? chip(it.run.status) : null),
    it.filter_error ? h('p', { class: 'error-text' }, `filter error: ${it.filter_error}`) : null,
    h('table', { class: 'pairs' }, h('tbody', null, Object.entries(it.mapping || {}).map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: v === null ? 'mono error-text' : 'mono' }, JSON.stringify(v)))))),
    it.run ? stepList(it.run.steps, null) : null,
    it.run && it.run.error ? h('p', { class: 'error-text' }, it.run.error) : null,
    it.run ? null : jsonBlock(it, 'small'),
  );
}
