// @ts-check
// The shell: asks for the admin token when the API wants one (before showing anything), then
// draws the header (navigation, id box, hookflow's clock, live indicator) and routes hash URLs
// (`#/requests/ID`) to views. Deep links survive a reload because the route is in the hash.

import { api, token, setToken, whenUnauthorized, followEvents } from './api.js';
import { h, fill, errorBox, fmtTime } from './dom.js';
import { liveView } from './views/live.js';
import { workflowsView } from './views/workflows.js';
import { workflowView } from './views/workflow.js';
import { requestView } from './views/request.js';
import { runsView, runView } from './views/runs.js';
import { contactsView, contactView } from './views/contacts.js';
import { outboxView, emailView } from './views/outbox.js';
import { timeView } from './views/time.js';

const root = /** @type {HTMLElement} */ (document.getElementById('app'));

/** What every view gets: the clock, the event bus, and a way to refresh the clock. */
const ctx = {
  clock: { mode: 'real', now: new Date().toISOString() },
  /** Events from /api/events, as `hf` CustomEvents with `detail = {type, data}`. */
  bus: new EventTarget(),
  /** 'live' | 'connecting' | 'down' | 'unsupported' (then views poll). */
  stream: 'connecting',
  refreshClock: async () => {},
};

const ROUTES = [
  [/^\/?$/, () => liveView],
  [/^\/live$/, () => liveView],
  [/^\/workflows$/, () => workflowsView],
  [/^\/workflows\/([^/]+)$/, () => workflowView],
  [/^\/requests\/([^/]+)$/, () => requestView],
  [/^\/runs$/, () => runsView],
  [/^\/runs\/([^/]+)$/, () => runView],
  [/^\/contacts$/, () => contactsView],
  [/^\/contacts\/([^/]+)$/, () => contactView],
  [/^\/outbox$/, () => outboxView],
  [/^\/outbox\/([^/]+)$/, () => emailView],
  [/^\/time$/, () => timeView],
];

const NAV = [
  ['live', 'Live'],
  ['workflows', 'Workflows'],
  ['runs', 'Runs'],
  ['contacts', 'Contacts'],
  ['outbox', 'Outbox'],
  ['time', 'Time'],
];

let main = h('main');
let cleanup = () => {};
let started = false;

/** Asks for the token; resolves once the API accepts it. Nothing else is on screen meanwhile. */
function askToken(/** @type {string} */ why) {
  return new Promise((resolve) => {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true })
    );
    const msg = h('p', { class: why ? 'error-text' : 'muted', role: why ? 'alert' : null }, why || 'This hookflow needs its admin token (HOOKFLOW_ADMIN_TOKEN).');
    const form = h(
      'form',
      { class: 'login' },
      h('h1', null, h('img', { src: '/assets/icon.svg', alt: '', width: 28, height: 28 }), 'hookflow'),
      msg,
      h('label', { for: 'token' }, 'Admin token'),
      input,
      h('button', { class: 'btn primary', type: 'submit' }, 'Unlock'),
      h('p', { class: 'muted small' }, 'Kept in this tab only (sessionStorage) and sent as a Bearer header.'),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      setToken(input.value);
      if (await accepted()) resolve(undefined);
      else {
        setToken(null);
        fill(msg, 'That token was refused. Try again.');
        msg.className = 'error-text';
        msg.setAttribute('role', 'alert');
        input.value = '';
        input.focus();
      }
    });
    fill(root, form);
    input.focus();
  });
}

/** True when the API answers with the current token (or needs none). */
async function accepted() {
  const resp = await fetch('/api/clock', { headers: token() ? { Authorization: `Bearer ${token()}` } : {} });
  if (resp.ok) ctx.clock = await resp.json();
  return resp.ok;
}

async function boot() {
  if (!(await accepted())) await askToken(token() ? 'The saved token was refused. Enter it again.' : '');
  whenUnauthorized(() => {
    setToken(null);
    location.reload();
  });
  start();
}

function start() {
  started = true;
  const clockText = h('span', { class: 'clock-now' });
  const badge = h('span', { class: 'badge manual', title: 'hookflow runs on a manual clock: advance it on Time' }, 'MANUAL');
  const live = h('span', { class: 'live-dot', title: 'event stream' }, h('i'), h('span', { class: 'live-text' }, '…'));
  const idBox = /** @type {HTMLInputElement} */ (
    h('input', { type: 'search', id: 'jump', placeholder: 'Jump to id…  (i)', 'aria-label': 'Jump to an id', spellcheck: 'false' })
  );
  const nav = h(
    'nav',
    null,
    NAV.map(([r, label]) => h('a', { href: `#/${r}`, dataset: { route: r } }, label)),
  );
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/live' }, h('img', { src: '/assets/icon.svg', alt: '', width: 22, height: 22 }), 'hookflow'),
    nav,
    h('form', { class: 'jump', onsubmit: (e) => { e.preventDefault(); jump(idBox.value.trim()); } }, idBox),
    h('div', { class: 'clock', title: "hookflow's clock (UTC)" }, badge, clockText),
    live,
  );
  main = h('main');
  fill(root, header, main);

  ctx.refreshClock = async () => {
    try {
      ctx.clock = await api('/api/clock');
    } catch {
      /* the live dot says the server is away */
    }
    fill(clockText, fmtTime(ctx.clock.now) + ' UTC');
    badge.hidden = ctx.clock.mode !== 'manual';
  };
  ctx.refreshClock();
  setInterval(ctx.refreshClock, 5000);

  followEvents(
    (type, data) => {
      ctx.bus.dispatchEvent(new CustomEvent('hf', { detail: { type, data } }));
      if (data && data.at && data.at > ctx.clock.now) fill(clockText, fmtTime(data.at) + ' UTC');
    },
    (state) => {
      ctx.stream = state;
      live.className = `live-dot ${state}`;
      const words = { live: 'live', connecting: 'connecting', down: 'reconnecting', unsupported: 'polling' };
      fill(/** @type {Element} */ (live.querySelector('.live-text')), words[state] || state);
      ctx.bus.dispatchEvent(new CustomEvent('stream', { detail: state }));
    },
  );

  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', keys);
  route();
}

/** Opens whatever `id` names: a workflow id, or a request, run, contact or email ULID. */
async function jump(/** @type {string} */ id) {
  if (!id) return;
  const kinds = /^[0-9A-Za-z]{26}$/.test(id) ? ['requests', 'runs', 'contacts', 'outbox'] : ['workflows'];
  for (const kind of kinds) {
    try {
      await api(`/api/${kind}/${encodeURIComponent(kind === 'outbox' ? id : id)}`);
      location.hash = `#/${kind}/${encodeURIComponent(id)}`;
      return;
    } catch {
      /* try the next kind */
    }
  }
  fill(main, errorBox(new Error(`No request, run, contact, email or workflow has the id “${id}”.`)));
}

function route() {
  // `#/runs?status=failed`: the query part is the view's filters, not part of the route.
  const path = decodeURIComponent(location.hash.replace(/^#/, '').split('?')[0]) || '/live';
  cleanup();
  cleanup = () => {};
  for (const a of document.querySelectorAll('nav a')) {
    const r = /** @type {HTMLElement} */ (a).dataset.route || '';
    a.classList.toggle('active', path.slice(1).split('/')[0] === r || (r === 'live' && path.startsWith('/requests')));
  }
  for (const [re, view] of ROUTES) {
    const m = path.match(/** @type {RegExp} */ (re));
    if (!m) continue;
    const el = h('div', { class: 'view' });
    fill(main, el);
    window.scrollTo(0, 0);
    try {
      const done = /** @type {any} */ (view)()(el, m.slice(1), ctx);
      Promise.resolve(done).then((f) => {
        if (typeof f === 'function') cleanup = f;
      }).catch((e) => el.appendChild(errorBox(e)));
    } catch (e) {
      el.appendChild(errorBox(e));
    }
    return;
  }
  fill(main, errorBox(new Error(`No page at ${path}.`)));
}

let pendingG = false;
/** Keyboard: `/` filter, `i` id box, `j`/`k` + Enter in lists, `g` then l w r c o t. */
function keys(/** @type {KeyboardEvent} */ e) {
  const t = /** @type {HTMLElement} */ (e.target);
  if (e.key === 'Escape') return t.blur && t.blur();
  if (t.closest('input,textarea,select') || e.ctrlKey || e.metaKey || e.altKey) return;
  if (pendingG) {
    pendingG = false;
    const r = { l: 'live', w: 'workflows', r: 'runs', c: 'contacts', o: 'outbox', t: 'time' }[e.key];
    if (r) location.hash = `#/${r}`;
    return;
  }
  if (e.key === 'g') pendingG = true;
  else if (e.key === '/') {
    const f = /** @type {HTMLElement|null} */ (main.querySelector('[data-filter]'));
    if (f) { e.preventDefault(); f.focus(); }
  } else if (e.key === 'i') {
    e.preventDefault();
    /** @type {HTMLElement} */ (document.getElementById('jump')).focus();
  } else if (e.key === 'j' || e.key === 'k') {
    const rows = [...main.querySelectorAll('tr.clickable')].filter((r) => !(/** @type {HTMLElement} */ (r)).hidden);
    if (!rows.length) return;
    const cur = rows.findIndex((r) => r.classList.contains('kbd'));
    const next = Math.max(0, Math.min(rows.length - 1, cur + (e.key === 'j' ? 1 : -1)));
    rows.forEach((r) => r.classList.remove('kbd'));
    rows[next].classList.add('kbd');
    rows[next].scrollIntoView({ block: 'nearest' });
  } else if (e.key === 'Enter') {
    const r = /** @type {HTMLElement|null} */ (main.querySelector('tr.clickable.kbd'));
    if (r && r.dataset.href) location.hash = r.dataset.href;
  }
}

boot().catch((e) => {
  if (!started) fill(root, errorBox(e));
});
