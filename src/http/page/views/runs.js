// @ts-check
// Runs (filter by workflow, status, contact) and one run: the step timeline with each step's
// input, output, error and warnings one click away, the due time of a waiting step, and links to
// the request, the contact and the emails the run queued.

import { api, withQuery } from '../api.js';
import { h, fill, card, chip, idLink, link, fmtTime, relTime, errorBox, pagedTable, rowLink, jsonBlock, kv } from '../dom.js';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed'];

/** @param {HTMLElement} el @param {string[]} _ */
export async function runsView(el, _) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const f = { workflow: params.get('workflow') || '', status: params.get('status') || '', contact: params.get('contact') || '' };
  const wfSel = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'workflow' }, h('option', { value: '' }, 'all workflows')));
  const stSel = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'status' }, h('option', { value: '' }, 'any status'), STATUSES.map((s) => h('option', { value: s }, s))));
  const contact = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'contact id', 'data-filter': '', value: f.contact, 'aria-label': 'contact id' }));
  stSel.value = f.status;
  const go = () => {
    const q = new URLSearchParams();
    if (wfSel.value) q.set('workflow', wfSel.value);
    if (stSel.value) q.set('status', stSel.value);
    if (contact.value.trim()) q.set('contact', contact.value.trim());
    location.hash = '#/runs' + (q.toString() ? '?' + q : '');
  };
  wfSel.addEventListener('change', go);
  stSel.addEventListener('change', go);
  contact.addEventListener('change', go);
  api('/api/workflows').then((d) => {
    for (const w of d.items) if (w.kind === 'workflow') wfSel.appendChild(h('option', { value: w.id }, w.id));
    wfSel.value = f.workflow;
  }).catch(() => {});
  const filters = [f.workflow && `workflow ${f.workflow}`, f.status && `status ${f.status}`, f.contact && `contact ${f.contact}`].filter(Boolean).join(', ');
  fill(
    el,
    h('div', { class: 'toolbar' }, h('h1', null, 'Runs'), wfSel, stSel, contact),
    pagedTable(
      ['created', 'workflow', 'status', 'steps', 'contact', 'request', 'run'],
      (c) => api(withQuery('/api/runs', { ...f, cursor: c, limit: 50 })),
      (r) =>
        rowLink(
          `#/runs/${r.id}`,
          h('span', { class: 'mono small' }, fmtTime(r.created_at)),
          link(`#/workflows/${encodeURIComponent(r.workflow)}`, r.workflow, 'plain'),
          chip(r.status),
          stepDots(r.steps),
          idLink('contacts', r.contact_id),
          idLink('requests', r.request_id),
          idLink('runs', r.id),
        ),
      filters ? `No runs with ${filters}.` : 'No runs yet: a request to a published workflow starts one per item.',
    ),
  );
}

/** One coloured dot per step: the path taken at a glance. */
function stepDots(/** @type {any[]} */ steps) {
  return h('span', { class: 'dots' }, (steps || []).map((s) => h('i', { class: `dot st-${s.status}`, title: `${s.kind}: ${s.status}` })));
}

/** @param {HTMLElement} el @param {string[]} params @param {any} ctx */
export async function runView(el, [id], ctx) {
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let r;
  try {
    r = await api(`/api/runs/${encodeURIComponent(id)}`);
  } catch (e) {
    return fill(el, errorBox(e));
  }
  /** @type {string|null} */
  let due = null;
  if (r.status === 'waiting') {
    try {
      const t = await api('/api/timers?limit=1000');
      const timer = t.items.find((/** @type {any} */ x) => x.run_id === r.id);
      due = timer ? timer.due_at : null;
    } catch {
      /* shown without its due time */
    }
  }
  const emails = (r.steps || []).map((/** @type {any} */ s) => s.output && s.output.email_id).filter(Boolean);
  fill(
    el,
    h('div', { class: 'page-head' }, h('h1', null, 'Run ', h('span', { class: 'mono' }, r.id))),
    h(
      'div',
      { class: 'summary' },
      chip(r.status),
      link(`#/workflows/${encodeURIComponent(r.workflow)}`, r.workflow, 'strong'),
      h('span', { class: 'muted' }, `item #${r.index}`),
      h('span', { class: 'muted' }, fmtTime(r.created_at)),
      r.finished_at ? h('span', { class: 'muted' }, `→ ${fmtTime(r.finished_at)}`) : null,
    ),
    r.error ? h('div', { class: 'error-box' }, r.error) : null,
    h(
      'div',
      { class: 'grid2' },
      card('Links', [], kv([
        ['request', idLink('requests', r.request_id)],
        ['contact', idLink('contacts', r.contact_id)],
        ['emails', emails.length ? h('span', { class: 'chips' }, emails.map((/** @type {string} */ e) => idLink('outbox', e))) : h('span', { class: 'muted' }, 'none')],
        ['version', h('span', { class: 'mono small' }, r.version || '—')],
      ])),
      card('Item', [], jsonBlock(r.item, 'small scroll')),
    ),
    card('Steps', [], r.steps.length ? stepList(r.steps, due, ctx.clock.now) : h('p', { class: 'muted' }, r.status === 'queued' ? 'Queued: no step has run yet.' : 'No steps.')),
  );
}

/**
 * The step timeline: one line per step; a click opens its input, output, error and warnings.
 * @param {any[]} steps @param {string|null} due the waiting step's due time @param {string} [now]
 */
export function stepList(steps, due, now) {
  return h(
    'ol',
    { class: 'steps' },
    steps.map((s, i) => {
      const warnings = (s.output && s.output.warnings) || [];
      const body = h(
        'div',
        { class: 'step-body' },
        h('div', { class: 'io' }, h('h4', null, 'input'), jsonBlock(s.input, 'small')),
        h('div', { class: 'io' }, h('h4', null, 'output'), jsonBlock(s.output, 'small')),
        s.error ? h('div', { class: 'io wide' }, h('h4', null, 'error'), h('pre', { class: 'code small error-text' }, s.error)) : null,
        warnings.length ? h('div', { class: 'io wide' }, h('h4', null, 'warnings'), h('ul', { class: 'warnings' }, warnings.map((/** @type {any} */ w) => h('li', null, typeof w === 'string' ? w : JSON.stringify(w))))) : null,
      );
      const details = h(
        'details',
        { class: `step st-border-${s.status}`, open: s.status === 'failed' || null },
        h(
          'summary',
          null,
          h('span', { class: 'mono muted path' }, JSON.stringify(s.path)),
          h('span', { class: 'kind-name' }, s.kind),
          chip(s.status),
          s.status === 'waiting' && due ? h('span', { class: 'due' }, `due ${fmtTime(due)}`, now ? ` (${relTime(due, now)})` : '') : null,
          warnings.length ? h('span', { class: 'chip small st-warning' }, `${warnings.length} warning${warnings.length > 1 ? 's' : ''}`) : null,
          s.error ? h('span', { class: 'error-text small ellipsis' }, s.error) : null,
          s.output && s.output.email_id ? idLink('outbox', s.output.email_id) : null,
          s.output && s.output.contact_id ? idLink('contacts', s.output.contact_id) : null,
          h('span', { class: 'muted small right' }, fmtTime(s.finished_at).slice(11)),
        ),
        body,
      );
      return h('li', { dataset: { step: String(i) } }, details);
    }),
  );
}
