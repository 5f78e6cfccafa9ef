// @ts-check
// Contacts (search, tag filter, CSV import and export) and one contact: fields, tag chips, DND,
// enrolments with the next due step, the timeline linked to runs, its runs and their emails;
// edit, tag, DND and delete.

import { api, withQuery } from '../api.js';
import { h, fill, card, chip, idLink, link, fmtTime, relTime, errorBox, pagedTable, rowLink, kv } from '../dom.js';

/** @param {HTMLElement} el */
export async function contactsView(el) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const q = params.get('q') || '';
  const tags = params.getAll('tag');
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'Name, email or phone…  (/)', 'data-filter': '', value: q, 'aria-label': 'search contacts' }));
  const go = (/** @type {string} */ qq, /** @type {string[]} */ tt) => {
    const p = new URLSearchParams();
    if (qq) p.set('q', qq);
    tt.forEach((t) => p.append('tag', t));
    location.hash = '#/contacts' + (p.toString() ? '?' + p : '');
  };
  search.addEventListener('change', () => go(search.value.trim(), tags));
  const note = h('div', { class: 'notes' });
  const list = h('div');
  const showList = () =>
    fill(
      list,
      pagedTable(
        ['name', 'email', 'phone', 'tags', 'sequences', 'updated', 'id'],
        (c) => api(withQuery('/api/contacts', { q, tag: tags, cursor: c, limit: 50 })),
        (ct) =>
          rowLink(
            `#/contacts/${ct.id}`,
            h('span', { class: 'strong' }, fullName(ct) || h('span', { class: 'muted' }, '(no name)'), ct.dnd ? h('span', { class: 'badge dnd' }, 'DND') : null),
            ct.email || '—',
            h('span', { class: 'mono' }, ct.phone || '—'),
            h('span', { class: 'chips' }, ct.tags.map((/** @type {string} */ t) => h('a', { class: 'chip tag', href: '#/contacts?' + new URLSearchParams([...tags.map((x) => ['tag', x]), ['tag', t]]) }, t))),
            h('span', { class: 'chips' }, (ct.sequences || []).map((/** @type {any} */ s) => h('span', { class: `chip small st-${s.state}` }, s.sequence))),
            h('span', { class: 'mono small muted' }, fmtTime(ct.updated_at)),
            idLink('contacts', ct.id),
          ),
        q || tags.length ? 'No contact matches this search.' : 'No contacts yet: a workflow’s find_contact (create: true) makes them, or import a CSV.',
      ),
    );
  const file = /** @type {HTMLInputElement} */ (h('input', { type: 'file', accept: '.csv,text/csv', class: 'offscreen', id: 'csv-file', tabindex: -1 }));
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    fill(note, h('p', { class: 'muted' }, `Importing ${f.name}…`));
    try {
      const r = await api('/api/contacts/import', { method: 'POST', body: await f.text(), type: 'text/csv' });
      fill(note, importReport(f.name, r));
      // The list shows what the file created or changed.
      showList();
    } catch (e) {
      fill(note, errorBox(e));
    }
    file.value = '';
  });
  // A fetch, not a link: the admin token goes as a Bearer header, which a plain link cannot send.
  const exportCsv = async () => {
    try {
      const resp = await api(withQuery('/api/contacts/export', { q, tag: tags }), { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const a = h('a', { href: url, download: 'contacts.csv', hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      fill(note, errorBox(e));
    }
  };
  // The label opens the file picker on click; Enter and Space do it from the keyboard too.
  const pick = (/** @type {KeyboardEvent} */ e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    file.click();
  };
  fill(
    el,
    h(
      'div',
      { class: 'toolbar' },
      h('h1', null, 'Contacts'),
      h('form', { onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); go(search.value.trim(), tags); } }, search),
      tags.length ? h('span', { class: 'chips' }, 'tags: ', tags.map((t) => h('button', { class: 'chip tag', type: 'button', title: 'remove this filter', onclick: () => go(q, tags.filter((x) => x !== t)) }, t, ' ×'))) : null,
      h('span', { class: 'spacer' }),
      file,
      h('label', { class: 'btn', for: 'csv-file', tabindex: 0, role: 'button', onkeydown: pick }, 'Import CSV…'),
      h('button', { class: 'btn', type: 'button', onclick: exportCsv }, 'Export CSV'),
    ),
    note,
    list,
  );
  showList();
}

/** What an import did: the counts, then each skipped row and each warning with its line. */
function importReport(/** @type {string} */ name, /** @type {any} */ r) {
  const skipped = r.skipped || [];
  const warnings = r.warnings || [];
  const notes = (/** @type {string} */ cls, /** @type {string} */ title, /** @type {any[]} */ list) =>
    list.length ? [h('p', null, title), h('ul', { class: cls }, list.map((n) => h('li', null, `line ${n.line}: ${n.reason}`)))] : null;
  return h(
    'div',
    { class: skipped.length || warnings.length ? 'warn-box' : 'ok-box', role: 'status' },
    h('p', { class: 'strong import-counts' }, `Imported ${name}: ${r.created} created, ${r.updated} updated, ${skipped.length} skipped.`),
    notes('import-skipped', 'Skipped (these rows changed nothing):', skipped),
    notes('import-warnings', 'Applied with a warning:', warnings),
  );
}

function fullName(/** @type {any} */ c) {
  return [c.first_name, c.last_name].filter(Boolean).join(' ');
}

/** Draws of the contact view started so far (see `contactView`). */
let drawn = 0;

/**
 * @param {HTMLElement} el @param {string[]} params @param {any} ctx
 * @param {() => Record<string, string>} [unsavedBefore] on a redraw after a change was saved
 *   (DND, a tag): what the user has typed in the edit form and not saved. The page stays as it
 *   is while the contact loads, then this is read and kept in the new form, which takes the
 *   focus where it was: typing during a redraw is neither lost nor overwritten.
 */
export async function contactView(el, [id], ctx, unsavedBefore) {
  const mine = ++drawn;
  if (!unsavedBefore) fill(el, h('p', { class: 'muted' }, 'Loading…'));
  let c;
  try {
    c = await api(`/api/contacts/${encodeURIComponent(id)}`);
  } catch (e) {
    return mine === drawn ? fill(el, errorBox(e)) : undefined;
  }
  // A later draw (the next change saved, another contact opened) started while this one
  // loaded: its contact is newer, so this one must not overwrite it.
  if (mine !== drawn) return;
  const note = h('div', { class: 'notes' });
  const path = `/api/contacts/${encodeURIComponent(id)}`;
  const patch = async (/** @type {any} */ body) => {
    try {
      await api(path, { method: 'PATCH', body });
      contactView(el, [id], ctx, () => unsaved(body));
    } catch (e) {
      fill(note, errorBox(e));
    }
  };
  const del = async () => {
    if (!confirm(`Delete contact ${fullName(c) || c.email || c.id}? This cannot be undone.`)) return;
    try {
      await api(path, { method: 'DELETE' });
      location.hash = '#/contacts';
    } catch (e) {
      fill(note, errorBox(e));
    }
  };
  const tagInput = /** @type {HTMLInputElement} */ (h('input', { type: 'text', placeholder: 'add tag', 'aria-label': 'add tag', size: 12 }));
  const addTag = (/** @type {Event} */ e) => {
    e.preventDefault();
    const t = tagInput.value.trim();
    if (t) patch({ tags: [...c.tags, t] });
  };
  const fields = ['first_name', 'last_name', 'email', 'phone', 'timezone', 'source'];
  const edits = unsavedBefore ? unsavedBefore() : {};
  const focused = unsavedBefore && el.contains(document.activeElement) ? document.activeElement?.id : null;
  /** @type {Record<string, HTMLInputElement>} */
  const inputs = {};
  // The form's fields the user changed and `body` (the change just saved) does not cover.
  const unsaved = (/** @type {any} */ body) => {
    /** @type {Record<string, string>} */
    const out = {};
    for (const f of fields) if (!(f in body) && inputs[f].value !== (c[f] || '')) out[f] = inputs[f].value;
    return out;
  };
  const form = h(
    'form',
    { class: 'edit', onsubmit: (/** @type {Event} */ e) => {
      e.preventDefault();
      /** @type {Record<string, any>} */
      const body = {};
      for (const f of fields) if ((inputs[f].value || null) !== (c[f] || null)) body[f] = inputs[f].value || null;
      patch(body);
    } },
    fields.map((f) => {
      inputs[f] = /** @type {HTMLInputElement} */ (h('input', { name: f, id: `f-${f}`, value: f in edits ? edits[f] : c[f] || '' }));
      return h('div', { class: 'field' }, h('label', { for: `f-${f}` }, f.replace('_', ' ')), inputs[f]);
    }),
    h('button', { class: 'btn primary', type: 'submit' }, 'Save'),
  );
  const runs = h('div');
  const emails = h('div');
  fill(
    el,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, fullName(c) || c.email || 'Contact', ' ', h('span', { class: 'muted mono small' }, c.id)),
      h(
        'div',
        { class: 'actions' },
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'dnd', checked: c.dnd || null, onchange: (/** @type {Event} */ e) => patch({ dnd: /** @type {HTMLInputElement} */ (e.target).checked }) }), 'DND (no marketing email)'),
        h('button', { class: 'btn danger', type: 'button', onclick: del }, 'Delete…'),
      ),
    ),
    note,
    h(
      'div',
      { class: 'grid2' },
      card('Contact', [], kv([
        ['email', c.email || '—'],
        ['phone', h('span', { class: 'mono' }, c.phone || '—')],
        ['tags', h('span', { class: 'chips' }, c.tags.map((/** @type {string} */ t) => h('span', { class: 'chip tag' }, t, h('button', { class: 'x', type: 'button', title: `remove ${t}`, 'aria-label': `remove tag ${t}`, onclick: () => patch({ tags: c.tags.filter((/** @type {string} */ x) => x !== t) }) }, '×'))), h('form', { class: 'inline', onsubmit: addTag }, tagInput))],
        ['custom', Object.keys(c.custom || {}).length ? h('table', { class: 'pairs' }, h('tbody', null, Object.entries(c.custom).map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)))))) : h('span', { class: 'muted' }, 'none')],
        ['created', fmtTime(c.created_at)],
        ['updated', fmtTime(c.updated_at)],
      ])),
      card('Edit', [], form),
    ),
    card(
      'Enrolments',
      [link('#/time', 'Time →', 'btn tiny')],
      (c.sequences || []).length
        ? h('table', { class: 'list' }, h('thead', null, h('tr', null, ['sequence', 'state', 'next step', 'next due'].map((x) => h('th', null, x)))), h('tbody', null, c.sequences.map((/** @type {any} */ s) => h('tr', null, h('td', null, s.sequence), h('td', null, chip(s.state)), h('td', null, s.next_due_at ? `step ${s.step}` : '—'), h('td', null, s.next_due_at ? [fmtTime(s.next_due_at), h('span', { class: 'muted' }, ` (${relTime(s.next_due_at, ctx.clock.now)})`)] : '—')))))
        : h('p', { class: 'muted' }, 'In no sequence.'),
    ),
    h('div', { class: 'grid2' }, card('Timeline', [], timeline(c.timeline || [])), h('div', { class: 'stack' }, card('Emails', [], emails), card('Runs', [], runs))),
  );
  if (focused) document.getElementById(focused)?.focus();
  fill(
    emails,
    pagedTable(
      ['created', 'subject', 'state', 'run', 'email'],
      (cur) => api(withQuery('/api/outbox', { contact: id, cursor: cur, limit: 25 })),
      (m) => rowLink(`#/outbox/${m.id}`, h('span', { class: 'mono small' }, fmtTime(m.created_at)), h('span', { class: 'strong' }, m.subject), chip(m.state), idLink('runs', m.run_id), idLink('outbox', m.id)),
      'No emails to this contact.',
    ),
  );
  fill(
    runs,
    pagedTable(
      ['created', 'workflow', 'status', 'emails queued', 'run'],
      (cur) => api(withQuery('/api/runs', { contact: id, cursor: cur, limit: 25 })),
      (r) => rowLink(`#/runs/${r.id}`, h('span', { class: 'mono small' }, fmtTime(r.created_at)), r.workflow, chip(r.status), h('span', { class: 'chips' }, (r.steps || []).map((/** @type {any} */ s) => s.output && s.output.email_id).filter(Boolean).map((/** @type {string} */ e) => idLink('outbox', e))), idLink('runs', r.id)),
      'No runs touched this contact.',
    ),
  );
}

/** The contact's changes, newest first, each linked to the run that made it. */
function timeline(/** @type {any[]} */ entries) {
  if (!entries.length) return h('p', { class: 'muted' }, 'No changes recorded.');
  return h(
    'ol',
    { class: 'timeline' },
    [...entries].reverse().map((e) =>
      h(
        'li',
        null,
        h('div', { class: 'tl-head' }, h('span', { class: 'mono small muted' }, fmtTime(e.at)), h('span', { class: 'chip small' }, e.actor), e.run_id ? ['run ', idLink('runs', e.run_id)] : null, e.step ? h('span', { class: 'mono small muted' }, ` step ${e.step}`) : null),
        h('ul', { class: 'changes' }, describe(e.changes)),
      ),
    ),
  );
}

function describe(/** @type {any} */ changes) {
  const out = [];
  for (const [k, v] of Object.entries(changes || {})) {
    if (k === 'tags_added') out.push(h('li', null, '+ tags ', v.map((/** @type {string} */ t) => h('span', { class: 'chip tag small' }, t))));
    else if (k === 'tags_removed') out.push(h('li', null, '− tags ', v.map((/** @type {string} */ t) => h('span', { class: 'chip tag small' }, t))));
    else if (k === 'sequences') out.push(h('li', null, 'sequences: ', (v.to || []).map((/** @type {any} */ s) => `${s.sequence} ${s.state}${s.next_due_at ? ` step ${s.step} due ${fmtTime(s.next_due_at)}` : ''}`).join(', ') || 'none'));
    else if (v && typeof v === 'object' && 'to' in v) out.push(h('li', null, h('span', { class: 'mono' }, k), ': ', h('span', { class: 'muted' }, JSON.stringify(v.from)), ' → ', JSON.stringify(v.to)));
    else out.push(h('li', null, h('span', { class: 'mono' }, k), ': ', JSON.stringify(v)));
  }
  return out;
}
