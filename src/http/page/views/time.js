// @ts-check
// Time: hookflow's clock, what is scheduled (timers with "due in"), each sequence's enrolments,
// and — under the manual clock — buttons that move time forward and list what fired, linked.

import { api } from '../api.js';
import { h, fill, card, chip, idLink, fmtTime, relTime, errorBox, pagedTable, rowLink } from '../dom.js';

/** @param {HTMLElement} el @param {string[]} _ @param {any} ctx */
export async function timeView(el, _, ctx) {
  await ctx.refreshClock();
  const fired = h('div', { id: 'fired' }, h('p', { class: 'muted' }, 'Nothing fired yet in this view.'));
  const firedRows = /** @type {HTMLElement[]} */ ([]);
  const note = h('div', { class: 'notes' });
  const nowText = h('span', { class: 'big mono' });
  const timers = h('div');
  const seqs = h('div');
  const custom = /** @type {HTMLInputElement} */ (h('input', { type: 'text', placeholder: 'e.g. 1h30m, 2w', size: 10, 'aria-label': 'custom duration', id: 'advance-by' }));

  const advance = async (/** @type {string} */ by) => {
    if (!by) return;
    el.querySelectorAll('.advance button').forEach((b) => b.setAttribute('disabled', ''));
    try {
      const r = await api('/api/clock/advance', { method: 'POST', body: { by } });
      fill(note, h('div', { class: 'ok-box' }, `Advanced ${by}: now ${fmtTime(r.now)} UTC, ${r.fired.length} fired.`));
      for (const f of r.fired) firedRows.unshift(firedRow(f));
      fill(fired, firedRows.length ? h('table', { class: 'list' }, h('thead', null, h('tr', null, ['fired at', 'kind', 'what', 'result', 'links'].map((c) => h('th', null, c)))), h('tbody', null, firedRows)) : h('p', { class: 'muted' }, 'Nothing was due.'));
      await refresh();
    } catch (e) {
      fill(note, errorBox(e));
    } finally {
      el.querySelectorAll('.advance button').forEach((b) => b.removeAttribute('disabled'));
    }
  };

  const manual = ctx.clock.mode === 'manual';
  const controls = manual
    ? h(
        'div',
        { class: 'advance' },
        ['1h', '1d', '3d', '7d'].map((d) => h('button', { class: 'btn', type: 'button', dataset: { by: d }, onclick: () => advance(d) }, `+${d}`)),
        h('form', { class: 'inline', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); advance(custom.value.trim()); } }, custom, h('button', { class: 'btn primary', type: 'submit' }, 'Advance')),
      )
    : h('p', { class: 'muted' }, 'hookflow runs on the real clock. Start it with --clock manual to fast-forward time from here.');

  async function refresh() {
    await ctx.refreshClock();
    fill(nowText, fmtTime(ctx.clock.now) + ' UTC');
    const now = ctx.clock.now;
    fill(
      timers,
      pagedTable(
        ['due', 'in', 'kind', 'what'],
        (c) => api(`/api/timers?limit=50${c ? `&cursor=${encodeURIComponent(c)}` : ''}`),
        (t) =>
          h(
            'tr',
            null,
            h('td', { class: 'mono small' }, fmtTime(t.due_at)),
            h('td', { class: Date.parse(t.due_at) <= Date.parse(now) ? 'strong warn-text' : 'strong' }, relTime(t.due_at, now)),
            h('td', null, t.kind === 'run_wait' ? 'run wait' : 'sequence step'),
            h('td', null, t.run_id ? ['run ', idLink('runs', t.run_id)] : [t.sequence, ' for ', idLink('contacts', t.contact_id)]),
          ),
        'Nothing is scheduled.',
      ),
    );
    try {
      const d = await api('/api/sequences');
      const parts = await Promise.all(d.items.map((/** @type {any} */ s) => api(`/api/sequences/${encodeURIComponent(s.id)}`).catch(() => null)));
      fill(seqs, d.items.length ? parts.map((s, i) => sequenceBlock(d.items[i], s, now)) : h('p', { class: 'muted' }, 'No sequences are loaded.'));
    } catch (e) {
      fill(seqs, errorBox(e));
    }
  }

  fill(
    el,
    h('div', { class: 'page-head' }, h('h1', null, 'Time')),
    card('Clock', [], h('div', { class: 'clock-card' }, h('div', null, nowText, ' ', manual ? h('span', { class: 'badge manual' }, 'MANUAL') : h('span', { class: 'badge' }, 'real')), controls), note),
    card('Fired', [], fired),
    h('div', { class: 'grid2' }, card('Scheduled (due time first)', [], timers), card('Sequences', [], seqs)),
  );
  await refresh();
}

function firedRow(/** @type {any} */ f) {
  const d = f.detail || {};
  const email = d.output && d.output.email_id;
  const what = f.kind === 'run_wait' ? ['run ', idLink('runs', f.run_id), ' resumed'] : [`${f.sequence} step ${d.step ?? ''} `, h('span', { class: 'mono' }, d.kind || ''), ' for ', idLink('contacts', f.contact_id)];
  return rowLink(
    email ? `#/outbox/${email}` : f.run_id ? `#/runs/${f.run_id}` : `#/contacts/${f.contact_id}`,
    h('span', { class: 'mono small' }, fmtTime(f.fired_at)),
    f.kind === 'run_wait' ? 'run wait' : 'sequence step',
    h('span', null, what),
    f.status ? chip(f.status) : d.status ? chip(d.status) : d.outcome ? chip(d.outcome) : '',
    email ? ['email ', idLink('outbox', email)] : d.next_due_at ? h('span', { class: 'muted small' }, `next ${fmtTime(d.next_due_at)}`) : '',
  );
}

function sequenceBlock(/** @type {any} */ s, /** @type {any} */ full, /** @type {string} */ now) {
  const en = full ? full.enrolments : [];
  return h(
    'div',
    { class: 'seq' },
    h('h3', null, s.name || s.id, ' ', h('span', { class: 'muted small' }, `${s.enrolments.active} active · ${s.enrolments.completed} completed · ${s.enrolments.cancelled} cancelled`)),
    full && full.steps ? h('div', { class: 'seq-steps small muted' }, full.steps.map((/** @type {string} */ k, /** @type {number} */ i) => `${i}:${k}`).join('  →  ')) : null,
    en.length
      ? h(
          'table',
          { class: 'list' },
          h('thead', null, h('tr', null, ['contact', 'state', 'next step', 'due', 'in'].map((c) => h('th', null, c)))),
          h(
            'tbody',
            null,
            en.slice(0, 200).map((/** @type {any} */ e) =>
              h(
                'tr',
                null,
                h('td', null, idLink('contacts', e.contact_id)),
                h('td', null, chip(e.state)),
                h('td', null, e.next_due_at ? `${e.next_step} ${e.next_step_kind || ''}` : '—', e.last_error ? h('div', { class: 'error-text small' }, e.last_error) : null),
                h('td', { class: 'mono small' }, fmtTime(e.next_due_at)),
                h('td', { class: 'strong' }, e.next_due_at ? relTime(e.next_due_at, now) : ''),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted small' }, 'No enrolments.'),
  );
}
