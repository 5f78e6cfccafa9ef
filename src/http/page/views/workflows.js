// @ts-check
// Workflows: each one's status (a load error with file:line:col), URL with copy, a copy-paste
// curl of its reference, counts and its last request; then the sequences.

import { api, withQuery } from '../api.js';
import { h, fill, chip, idLink, link, fmtTime, copyButton, errorBox, shq, rowLink } from '../dom.js';

/** A curl line that posts the reference payload to the workflow's URL. */
export function referenceCurl(/** @type {any} */ wf) {
  const body = wf.reference ? JSON.stringify(wf.reference.payload) : '{"email": "jane@example.com"}';
  return `curl -X POST ${shq(wf.url)} -H 'Content-Type: application/json' --data-binary ${shq(body)}`;
}

/** `file:line:col: message` of a load error. */
export function errorText(/** @type {any} */ d) {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

/** @param {HTMLElement} el */
export async function workflowsView(el) {
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let d;
  try {
    d = await api('/api/workflows');
  } catch (e) {
    return fill(el, errorBox(e));
  }
  const wfs = d.items.filter((/** @type {any} */ w) => w.kind === 'workflow');
  const seqs = d.items.filter((/** @type {any} */ w) => w.kind === 'sequence');
  const tbody = h('tbody');
  for (const w of wfs) {
    const last = h('div', { class: 'muted' }, '…');
    const status = w.error
      ? h('div', { class: 'wf-error' }, chip('error'), h('div', { class: 'error-text mono small' }, errorText(w.error)))
      : h('div', null, chip(w.status), w.warnings.length ? h('span', { class: 'chip small st-warning', title: w.warnings.map(errorText).join('\n') }, `${w.warnings.length} warning${w.warnings.length > 1 ? 's' : ''}`) : null);
    const counts = Object.entries(w.counts || {}).filter(([k]) => k !== 'requests');
    tbody.appendChild(
      rowLink(
        `#/workflows/${encodeURIComponent(w.id)}`,
        h('div', { class: 'nowrap' }, link(`#/workflows/${encodeURIComponent(w.id)}`, w.id, 'strong'), h('div', { class: 'muted small' }, w.name || '')),
        status,
        h('div', { class: 'url-cell' }, h('code', { class: 'url', title: w.url }, w.url), copyButton(w.url, 'copy')),
        h('div', { class: 'nowrap' }, copyButton(referenceCurl(w), 'curl', w.reference ? 'curl posting the reference payload' : 'curl with a placeholder body (no reference yet)'), w.reference ? null : h('span', { class: 'muted small' }, ' no reference')),
        h('div', { class: 'counts' }, h('strong', null, String((w.counts || {}).requests || 0)), ' req', counts.map(([k, v]) => h('span', { class: `small st-text-${k}` }, ` · ${v} ${k}`))),
        last,
      ),
    );
    api(withQuery('/api/requests', { workflow: w.id, limit: 1 }))
      .then((r) => fill(last, r.items[0] ? [idLink('requests', r.items[0].id), ' ', chip(r.items[0].status, 'small'), h('div', { class: 'muted small' }, fmtTime(r.items[0].received_at))] : h('span', { class: 'muted' }, 'none yet')))
      .catch(() => fill(last, '?'));
  }
  fill(
    el,
    h('div', { class: 'page-head' }, h('h1', null, 'Workflows'), h('span', { class: 'muted' }, `${wfs.length} workflows, ${seqs.length} sequences`)),
    h(
      'div',
      { class: 'table-wrap' },
      h('table', { class: 'list' }, h('thead', null, h('tr', null, ['workflow', 'status', 'inbound URL', 'reference', 'counts', 'last request'].map((c) => h('th', null, c)))), tbody),
    ),
    h('h2', { class: 'section' }, 'Sequences'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'list' },
        h('thead', null, h('tr', null, ['sequence', 'status', ''].map((c) => h('th', null, c)))),
        h('tbody', null, seqs.map((/** @type {any} */ s) => rowLink('#/time', h('div', null, h('strong', null, s.id), h('div', { class: 'muted small' }, s.name || '')), s.error ? h('div', null, chip('error'), h('div', { class: 'error-text mono small' }, errorText(s.error))) : chip('published'), link('#/time', 'enrolments on Time')))),
      ),
    ),
  );
}
