// @ts-check
// Small DOM helpers. Every value goes in as text (textContent / text nodes), never as HTML:
// payloads carry whatever senders put in them, `<script>` included.

/**
 * Makes an element. `attrs`: `class`, `on*` handlers, `dataset`, other attributes; children:
 * nodes, strings (as text), numbers, null/false (skipped) or arrays of these.
 * @param {string} tag
 * @param {Record<string, any>|null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') /** @type {any} */ (el).value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(/** @type {Node} */ el, /** @type {any[]} */ children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(/** @type {Element} */ el, /** @type {any[]} */ ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link to a hash route, e.g. `link('#/runs/ID', 'ID')`. */
export function link(/** @type {string} */ href, /** @type {any} */ text, cls = '') {
  return h('a', { href, class: cls || null }, text);
}

/** An id as a monospace link to its route; '—' when absent. */
export function idLink(/** @type {string} */ kind, /** @type {string|null|undefined} */ id) {
  if (!id) return h('span', { class: 'muted' }, '—');
  return h('a', { href: `#/${kind}/${encodeURIComponent(id)}`, class: 'id', title: id }, shortId(id));
}

/** ULIDs are long: the page shows their last 10 characters (the random, distinguishing part). */
export function shortId(/** @type {string} */ id) {
  return /^[0-9A-Z]{26}$/.test(id) ? '…' + id.slice(-10) : id;
}

/** A status chip; its colour comes from `st-STATUS` in the CSS. */
export function chip(/** @type {string|null|undefined} */ status, extra = '') {
  const s = status || 'unknown';
  return h('span', { class: `chip st-${s.replace(/[^a-z_]/g, '')} ${extra}`.trim() }, s);
}

/** An RFC 3339 time as `2026-12-01 14:09:34` (UTC, as hookflow's clock speaks). */
export function fmtTime(/** @type {string|null|undefined} */ t) {
  if (!t) return '—';
  return t.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** `t` relative to `now` in words: `in 3d 2h`, `5m ago`. */
export function relTime(/** @type {string} */ t, /** @type {string|number} */ now) {
  const ms = Date.parse(t) - (typeof now === 'number' ? now : Date.parse(now));
  if (Number.isNaN(ms)) return '';
  const past = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    const n = Math.floor(s / /** @type {number} */ (size));
    if (n > 0) parts.push(n + unit);
    s -= n * /** @type {number} */ (size);
    if (parts.length === 2) break;
  }
  const words = parts.join(' ') || '0s';
  return past ? `${words} ago` : `in ${words}`;
}

/** Pretty JSON as text in a `<pre>`. */
export function jsonBlock(/** @type {any} */ value, cls = '') {
  return h('pre', { class: `code ${cls}`.trim() }, JSON.stringify(value, null, 2));
}

/** Copies `text` to the clipboard and flashes the button. */
export async function copy(/** @type {string} */ text, /** @type {HTMLElement|null} */ btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h('textarea', { class: 'offscreen' }, text);
    document.body.appendChild(ta);
    /** @type {HTMLTextAreaElement} */ (ta).select();
    document.execCommand('copy');
    ta.remove();
  }
  if (btn) {
    const old = btn.textContent;
    btn.textContent = 'copied';
    setTimeout(() => (btn.textContent = old), 900);
  }
}

/** A small button that copies `text()` (or `text`). */
export function copyButton(/** @type {string|(() => string)} */ text, label = 'copy', title = '') {
  const b = h('button', { class: 'btn tiny', type: 'button', title: title || null }, label);
  b.addEventListener('click', (e) => {
    e.stopPropagation();
    copy(typeof text === 'function' ? text() : text, b);
  });
  return b;
}

/** A `<section>` with a heading and optional actions at the right. */
export function card(/** @type {any} */ title, /** @type {any[]} */ actions, /** @type {any[]} */ ...body) {
  return h('section', { class: 'card' }, h('header', null, h('h2', null, title), h('div', { class: 'actions' }, actions)), ...body);
}

/** Key/value rows. */
export function kv(/** @type {[string, any][]} */ rows) {
  return h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** An error message box. */
export function errorBox(/** @type {any} */ e) {
  return h('div', { class: 'error-box', role: 'alert' }, e && e.message ? e.message : String(e));
}

/** A shell-quoted word for curl lines. */
export function shq(/** @type {string} */ s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/**
 * A table whose rows come page by page (cursor pagination): `load(cursor)` resolves to
 * `{items, next_cursor}`, `row(item)` makes a `<tr>`. New pages are appended, never reloaded.
 * @param {string[]} head
 * @param {(cursor: string|null) => Promise<{items: any[], next_cursor: string|null}>} load
 * @param {(item: any) => HTMLElement} row
 * @param {string} empty what to say when there is nothing (and why)
 */
export function pagedTable(head, load, row, empty) {
  const tbody = h('tbody');
  const more = h('button', { class: 'btn', type: 'button' }, 'Load more');
  const foot = h('div', { class: 'pager' }, more);
  const table = h('table', { class: 'list' }, h('thead', null, h('tr', null, head.map((c) => h('th', null, c)))), tbody);
  const wrap = h('div', { class: 'table-wrap' }, table, foot);
  let cursor = null;
  let count = 0;
  async function page() {
    more.setAttribute('disabled', '');
    try {
      const data = await load(cursor);
      for (const it of data.items) tbody.appendChild(row(it));
      count += data.items.length;
      cursor = data.next_cursor;
      if (count === 0) tbody.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: head.length }, empty)));
      foot.hidden = !cursor;
    } catch (e) {
      wrap.appendChild(errorBox(e));
    } finally {
      more.removeAttribute('disabled');
    }
  }
  more.addEventListener('click', page);
  page();
  return wrap;
}

/** A row that opens `href` when clicked anywhere (links inside keep their own target). */
export function rowLink(/** @type {string} */ href, /** @type {any[]} */ ...cells) {
  const tr = h('tr', { class: 'clickable', dataset: { href } }, cells.map((c) => h('td', null, c)));
  tr.addEventListener('click', (e) => {
    if (/** @type {HTMLElement} */ (e.target).closest('a,button,input,select')) return;
    location.hash = href;
  });
  return tr;
}

/**
 * Tabs: `[[label, () => content]]`; the first is shown; content is made when first opened.
 * Arrow keys move between tabs.
 * @param {[string, () => any][]} tabs
 */
export function tabs(tabs, first = 0) {
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const body = h('div', { class: 'tab-body' });
  const buttons = tabs.map(([label, make], i) => {
    const b = h('button', { type: 'button', role: 'tab', class: 'tab', dataset: { tab: label } }, label);
    b.addEventListener('click', () => open(i));
    b.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        const j = (i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length;
        open(j);
        buttons[j].focus();
      }
    });
    return b;
  });
  function open(/** @type {number} */ i) {
    buttons.forEach((b, j) => b.setAttribute('aria-selected', String(i === j)));
    fill(body, tabs[i][1]());
  }
  bar.append(...buttons);
  open(first);
  return h('div', { class: 'tabbed' }, bar, body);
}
