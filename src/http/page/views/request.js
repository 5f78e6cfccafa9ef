// @ts-check
// One logged request: the answer hookflow gave, the body (pretty and raw), masked headers, query,
// items → runs, and the difference from the workflow's reference. Actions: copy as curl,
// replay, use as reference.

import { api } from '../api.js';
import { h, fill, card, kv, chip, idLink, link, fmtTime, jsonBlock, copyButton, errorBox, shq, tabs } from '../dom.js';
import { diff, firstItem } from '../diff.js';

/** The full page `#/requests/ID`. */
export async function requestView(/** @type {HTMLElement} */ el, /** @type {string[]} */ [id]) {
  await renderRequest(el, id);
}

/** Draws request `id` into `el` (also used by Live's side pane). */
export async function renderRequest(/** @type {HTMLElement} */ el, /** @type {string} */ id) {
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let r;
  try {
    r = await api(`/api/requests/${encodeURIComponent(id)}`);
  } catch (e) {
    return fill(el, errorBox(e));
  }
  /** @type {any} */
  let wf = null;
  try {
    wf = await api(`/api/workflows/${encodeURIComponent(r.workflow)}`);
  } catch {
    /* the workflow file may be gone; the request is still shown */
  }
  const note = h('div', { class: 'notes' });
  const actions = [
    copyButton(() => curlOf(r, wf), 'Copy as curl', 'a curl command that sends this request again (masked secrets stay masked)'),
    h('button', { class: 'btn', type: 'button', onclick: () => replay(r, note) }, 'Replay'),
    r.payload !== null && wf && wf.kind === 'workflow'
      ? h('button', { class: 'btn', type: 'button', onclick: () => useAsReference(r, note) }, 'Use as reference')
      : null,
  ];
  const isRef = wf && wf.reference && wf.reference.request_id === r.id;
  fill(
    el,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Request ', h('span', { class: 'mono' }, r.id)),
      h('div', { class: 'actions' }, actions),
    ),
    h(
      'div',
      { class: 'summary' },
      chip(r.status),
      h('span', { class: 'mono strong' }, `${r.method} ${r.http_status}`),
      link(`#/workflows/${encodeURIComponent(r.workflow)}`, r.workflow, 'strong'),
      h('span', { class: 'muted' }, fmtTime(r.received_at)),
      isRef ? h('span', { class: 'badge ref' }, 'reference') : null,
      r.replay_of ? h('span', null, 'replay of ', idLink('requests', r.replay_of)) : null,
    ),
    note,
    h(
      'div',
      { class: 'grid2' },
      card('Answer given', [], kv([
        ['status', h('span', { class: 'mono' }, String(r.http_status))],
        ['reason', r.reason ? h('span', { class: 'error-text' }, r.reason) : h('span', { class: 'muted' }, '—')],
      ]), jsonBlock(r.answer, 'small')),
      card('Items → runs', [], itemsTable(r)),
    ),
    card('Difference from the reference', [], diffBlock(r, wf)),
    card('Body', [copyButton(r.body, 'copy raw')], bodyTabs(r)),
    h(
      'div',
      { class: 'grid2' },
      card('Headers', [h('span', { class: 'muted small' }, 'secrets masked')], pairs(r.headers)),
      card('Query', [], pairs([...new URLSearchParams(r.query || '')])),
    ),
    card('Received', [], kv([
      ['from', r.remote_addr || '—'],
      ['content type', r.content_type || '—'],
      ['size', `${r.body_size} bytes${r.body_truncated ? ' (cut at 64 KiB)' : ''}`],
    ])),
  );
}

function itemsTable(/** @type {any} */ r) {
  if (!r.items.length) return h('p', { class: 'muted' }, r.status === 'rejected' ? 'Rejected: nothing ran.' : 'No items.');
  return h(
    'table',
    { class: 'list' },
    h('thead', null, h('tr', null, h('th', null, 'item'), h('th', null, 'status'), h('th', null, 'run'), h('th', null, ''))),
    h(
      'tbody',
      null,
      r.items.map((/** @type {any} */ it) => {
        const run = h('td', null, idLink('runs', it.run_id));
        // The run's own status (succeeded, failed, waiting…) next to its link.
        if (it.run_id) api(`/api/runs/${encodeURIComponent(it.run_id)}`).then((x) => run.append(' ', chip(x.status, 'small'))).catch(() => {});
        return h('tr', null, h('td', null, `#${it.index}`), h('td', null, chip(it.status)), run, h('td', { class: 'muted small' }, it.error || it.dedupe_key || ''));
      }),
    ),
  );
}

function bodyTabs(/** @type {any} */ r) {
  const pretty = () => (r.payload === null ? h('p', { class: 'muted' }, 'The body did not parse; see Raw.') : jsonBlock(r.payload));
  return tabs([
    ['Pretty', pretty],
    ['Raw', () => h('pre', { class: 'code' }, r.body || '(empty body)')],
  ]);
}

function pairs(/** @type {[string, string][]} */ list) {
  if (!list.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'pairs' }, h('tbody', null, list.map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: 'mono' }, v)))));
}

/** The diff card's content. */
function diffBlock(/** @type {any} */ r, /** @type {any} */ wf) {
  if (!wf || wf.kind !== 'workflow') return h('p', { class: 'muted' }, 'The workflow is not loaded.');
  if (!wf.reference) return h('p', { class: 'muted' }, 'This workflow has no reference yet: the first request that parses becomes it. Use “Use as reference” to pick this one.');
  if (r.payload === null) return h('p', { class: 'muted' }, 'The body did not parse, so there is nothing to compare.');
  if (wf.reference.request_id === r.id) return h('p', { class: 'muted' }, 'This request is the reference.');
  const d = diff(wf.reference.fields, firstItem(r.payload, wf.split), wf.mapping || []);
  const missing = d.mapped.filter((m) => m.state === 'missing' || m.state === 'absent');
  const rows = [
    ...d.removed.map((f) => ['removed', f.path, h('span', null, show(f.value))]),
    ...d.added.map((f) => ['added', f.path, h('span', null, show(f.value))]),
    ...d.changed.map((f) => ['changed', f.path, h('span', null, show(f.from), ' → ', show(f.to))]),
  ];
  const mappedPaths = new Set(missing.map((m) => m.path));
  return h(
    'div',
    { class: 'diff' },
    h(
      'p',
      { class: 'small' },
      `Against reference `,
      idLink('requests', wf.reference.request_id),
      ` — ${d.removed.length} removed, ${d.added.length} added, ${d.changed.length} changed type, ${d.same} fields in common.`,
    ),
    missing.length
      ? h(
          'div',
          { class: 'mapped-missing', role: 'alert' },
          h('strong', null, 'Mapped paths that are missing: '),
          missing.map((m) => h('span', { class: 'miss' }, h('code', null, m.path), ` (${m.name})`)),
        )
      : h('p', { class: 'ok-text small' }, 'Every mapped path is present.'),
    rows.length
      ? h(
          'table',
          { class: 'list diff-table' },
          h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'path'), h('th', null, 'value'))),
          h(
            'tbody',
            null,
            rows.map(([kind, path, val]) =>
              h('tr', { class: `d-${kind}${mappedPaths.has(path) ? ' d-mapped' : ''}` }, h('td', null, h('span', { class: `chip d-${kind}` }, kind)), h('td', { class: 'mono' }, path), h('td', { class: 'mono' }, val)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Same fields as the reference.'),
  );
}

function show(/** @type {any} */ v) {
  return JSON.stringify(v) ?? 'undefined';
}

/** A curl command that posts the same body (and the sender's own headers) to the workflow. */
export function curlOf(/** @type {any} */ r, /** @type {any} */ wf) {
  const url = (wf && wf.url ? wf.url : `${location.origin}/hooks/HOOK_ID`) + (r.query ? `?${r.query}` : '');
  const skip = new Set(['host', 'content-length', 'user-agent', 'accept', 'connection', 'accept-encoding', 'transfer-encoding']);
  const parts = [`curl -X ${r.method} ${shq(url)}`];
  for (const [k, v] of r.headers) if (!skip.has(k.toLowerCase())) parts.push(`-H ${shq(`${k}: ${v}`)}`);
  if (r.body) parts.push(`--data-binary ${shq(r.body)}`);
  return parts.join(' \\\n  ');
}

async function replay(/** @type {any} */ r, /** @type {HTMLElement} */ note) {
  try {
    const a = await api(`/api/requests/${encodeURIComponent(r.id)}/replay`, { method: 'POST' });
    location.hash = `#/requests/${encodeURIComponent(a.request_id)}`;
  } catch (e) {
    fill(note, errorBox(e));
  }
}

async function useAsReference(/** @type {any} */ r, /** @type {HTMLElement} */ note) {
  try {
    await api(`/api/workflows/${encodeURIComponent(r.workflow)}/reference`, { method: 'PUT', body: { request_id: r.id } });
    fill(note, h('div', { class: 'ok-box' }, 'This request is now the reference of ', link(`#/workflows/${encodeURIComponent(r.workflow)}`, r.workflow), '.'));
  } catch (e) {
    fill(note, errorBox(e));
  }
}
