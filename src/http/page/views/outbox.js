// @ts-check
// Outbox (filter by state) and one email: the HTML part by default in a sandboxed iframe (no
// scripts, no same-origin, remote images blocked by the page's policy), then text, headers and
// the raw source; state, attempts and links to the run and the contact.

import { api, withQuery } from '../api.js';
import { h, fill, card, chip, idLink, fmtTime, errorBox, pagedTable, rowLink, kv, tabs, copyButton } from '../dom.js';

const STATES = ['queued', 'sending', 'sent', 'failed', 'skipped'];

/** @param {HTMLElement} el */
export async function outboxView(el) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const state = params.get('state') || '';
  const sel = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'state' }, h('option', { value: '' }, 'any state'), STATES.map((s) => h('option', { value: s }, s))));
  sel.value = state;
  sel.addEventListener('change', () => (location.hash = '#/outbox' + (sel.value ? `?state=${sel.value}` : '')));
  fill(
    el,
    h('div', { class: 'toolbar' }, h('h1', null, 'Outbox'), sel),
    pagedTable(
      ['created', 'to', 'subject', 'state', 'attempts', 'run', 'contact', 'email'],
      (c) => api(withQuery('/api/outbox', { state, cursor: c, limit: 50 })),
      (m) =>
        rowLink(
          `#/outbox/${m.id}`,
          h('span', { class: 'mono small' }, fmtTime(m.created_at)),
          m.to,
          h('span', { class: 'strong subject' }, m.subject),
          chip(m.state),
          String(m.attempts),
          idLink('runs', m.run_id),
          idLink('contacts', m.contact_id),
          idLink('outbox', m.id),
        ),
      state ? `No ${state} emails.` : 'No emails yet: send_email steps and sequences put them here.',
    ),
  );
}

/** Splits a raw message into its header lines (unfolded) and body. */
function headersOf(/** @type {string} */ source) {
  const end = source.search(/\r?\n\r?\n/);
  const head = (end < 0 ? source : source.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return head.split(/\r?\n/).filter(Boolean).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
}

/** @param {HTMLElement} el @param {string[]} params */
export async function emailView(el, [id]) {
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let m;
  try {
    m = await api(`/api/outbox/${encodeURIComponent(id)}`);
  } catch (e) {
    return fill(el, errorBox(e));
  }
  const source = typeof m.message === 'string' ? m.message : '';
  const views = /** @type {[string, () => any][]} */ ([]);
  if (m.html) {
    views.push([
      'HTML',
      () => {
        // sandbox="" : no scripts, no forms, no same-origin access; srcdoc keeps it off the network.
        const frame = /** @type {HTMLIFrameElement} */ (h('iframe', { class: 'email-frame', sandbox: '', referrerpolicy: 'no-referrer', title: 'email HTML' }));
        frame.srcdoc = m.html;
        return frame;
      },
    ]);
  }
  views.push(['Text', () => h('pre', { class: 'code email-text' }, m.text || '(no text part)')]);
  views.push(['Headers', () => h('table', { class: 'pairs' }, h('tbody', null, headersOf(source).map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: 'mono' }, v)))))]);
  views.push(['Source', () => h('div', null, copyButton(source, 'copy source'), h('pre', { class: 'code' }, source))]);
  fill(
    el,
    h('div', { class: 'page-head' }, h('h1', { class: 'subject' }, m.subject), h('div', { class: 'summary' }, chip(m.state))),
    h(
      'div',
      { class: 'grid-email' },
      card('Message', [], tabs(views)),
      card('Delivery', [], kv([
        ['to', m.to],
        ['from', m.from || '—'],
        m.cc && m.cc.length ? ['cc', m.cc.join(', ')] : null,
        ['state', chip(m.state)],
        ['attempts', String(m.attempts)],
        ['last error', m.last_error ? h('span', { class: 'error-text' }, m.last_error) : '—'],
        m.skip_reason ? ['skipped because', m.skip_reason] : null,
        ['created', fmtTime(m.created_at)],
        ['sent', fmtTime(m.sent_at)],
        ['message id', h('span', { class: 'mono small' }, m.message_id || '—')],
        ['run', idLink('runs', m.run_id)],
        ['contact', idLink('contacts', m.contact_id)],
        ['id', h('span', { class: 'mono small' }, m.id)],
      ].filter(Boolean))),
    ),
  );
}
