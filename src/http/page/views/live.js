// @ts-check
// Live: requests newest first as they arrive, with their items → run chips, plus runs finishing
// and emails queued. Pause (counting what arrives), follow the newest (shown in the side pane),
// filter by workflow, status and text. Fed by /api/events; polls the lists when the server has no
// event stream.

import { api, withQuery } from '../api.js';
import { h, fill, chip, idLink, link, fmtTime, errorBox } from '../dom.js';
import { renderRequest } from './request.js';

const MAX_ROWS = 1000;
const wfLink = (/** @type {string} */ w) => link(`#/workflows/${encodeURIComponent(w)}`, w, 'plain');
const REQ_STATUSES = ['accepted', 'captured', 'filtered', 'duplicate', 'rejected'];

/** @param {HTMLElement} el @param {string[]} _ @param {any} ctx */
export async function liveView(el, _, ctx) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const state = {
    paused: false,
    follow: true,
    buffer: /** @type {any[]} */ ([]),
    workflow: params.get('workflow') || '',
    status: params.get('status') || '',
    text: '',
    selected: '',
    cursor: /** @type {string|null} */ (null),
    seenRuns: new Set(),
    seenEmails: new Set(),
  };
  /** run id → run status, to colour chips whose request row came before the run finished */
  const runStatus = new Map();

  const wfSelect = h('select', { 'aria-label': 'workflow', onchange: () => { state.workflow = wfSelect.value; reload(); } }, h('option', { value: '' }, 'all workflows'));
  const stSelect = h('select', { 'aria-label': 'status', onchange: () => { state.status = stSelect.value; reload(); } }, h('option', { value: '' }, 'any status'), REQ_STATUSES.map((s) => h('option', { value: s }, s)));
  const text = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'Filter rows…  (/)', 'data-filter': '', 'aria-label': 'filter text', oninput: () => { state.text = text.value.toLowerCase(); applyText(); } }));
  const pause = h('button', { class: 'btn', type: 'button', id: 'pause', onclick: togglePause }, 'Pause');
  const follow = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'follow', checked: true, onchange: () => { state.follow = follow.checked; } }));
  const tbody = h('tbody', { id: 'feed' });
  const older = h('button', { class: 'btn', type: 'button', onclick: () => loadPage() }, 'Load older');
  const olderBox = h('div', { class: 'pager' }, older);
  const pane = h('div', { class: 'pane', id: 'pane' }, h('p', { class: 'muted' }, 'Select a request to see it here.'));
  const status = h('div', { class: 'feed-note muted small' });

  fill(
    el,
    h(
      'div',
      { class: 'toolbar' },
      h('h1', null, 'Live'),
      wfSelect,
      stSelect,
      text,
      h('label', { class: 'check' }, follow, 'follow newest'),
      pause,
      status,
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        { class: 'feed table-wrap' },
        h('table', { class: 'list live' }, h('thead', null, h('tr', null, ['time', 'what', 'workflow', 'status', 'items → runs', 'id'].map((c) => h('th', null, c)))), tbody),
        olderBox,
      ),
      pane,
    ),
  );
  if (state.status) /** @type {HTMLSelectElement} */ (stSelect).value = state.status;

  api('/api/workflows').then((d) => {
    for (const w of d.items) if (w.kind === 'workflow') wfSelect.appendChild(h('option', { value: w.id }, w.id));
    /** @type {HTMLSelectElement} */ (wfSelect).value = state.workflow;
  }).catch(() => {});

  function matches(/** @type {any} */ e) {
    if (state.workflow && e.workflow !== state.workflow) return false;
    if (state.status && e.kind === 'request' && e.status !== state.status) return false;
    if (state.status && e.kind !== 'request') return false;
    return true;
  }

  function runChips(/** @type {any[]} */ items) {
    return h('span', { class: 'chips' }, items.map((it) => {
      if (!it.run_id) return h('span', { class: `chip small st-${it.status}` }, `#${it.index} ${it.status}`);
      const st = runStatus.get(it.run_id) || it.status;
      return h('a', { href: `#/runs/${it.run_id}`, class: `chip small st-${st}`, dataset: { run: it.run_id }, title: `run ${it.run_id}` }, `#${it.index} ${st}`);
    }));
  }

  /** A feed row for a request, run or email entry `e` (`kind` says which). */
  function row(/** @type {any} */ e) {
    let tr;
    if (e.kind === 'request') {
      tr = h(
        'tr',
        { class: 'clickable', dataset: { href: `#/requests/${e.id}`, requestId: e.id } },
        h('td', { class: 'mono muted' }, fmtTime(e.at).slice(11)),
        h('td', null, h('span', { class: 'kind k-req' }, e.method)),
        h('td', null, wfLink(e.workflow)),
        h('td', null, chip(e.status), e.http_status !== 200 ? h('span', { class: 'mono small muted' }, ` ${e.http_status}`) : null),
        h('td', null, runChips(e.items || [])),
        h('td', null, idLink('requests', e.id)),
      );
      tr.addEventListener('click', (ev) => {
        if (/** @type {HTMLElement} */ (ev.target).closest('a,button')) return;
        state.follow = follow.checked = false;
        select(e.id);
      });
    } else if (e.kind === 'run') {
      tr = h(
        'tr',
        { class: 'clickable sub', dataset: { href: `#/runs/${e.id}` } },
        h('td', { class: 'mono muted' }, fmtTime(e.at).slice(11)),
        h('td', null, h('span', { class: 'kind k-run' }, 'run')),
        h('td', null, wfLink(e.workflow)),
        h('td', null, chip(e.status)),
        h('td', { class: 'small muted' }, e.step ? `${e.step.kind} ${e.step.status}${e.step.error ? ': ' + e.step.error : ''}` : ''),
        h('td', null, idLink('runs', e.id)),
      );
      tr.addEventListener('click', (ev) => { if (!(/** @type {HTMLElement} */ (ev.target).closest('a'))) location.hash = `#/runs/${e.id}`; });
    } else {
      tr = h(
        'tr',
        { class: 'clickable sub', dataset: { href: `#/outbox/${e.id}` } },
        h('td', { class: 'mono muted' }, fmtTime(e.at).slice(11)),
        h('td', null, h('span', { class: 'kind k-mail' }, 'email')),
        h('td', null, e.workflow ? wfLink(e.workflow) : ''),
        h('td', null, chip(e.status)),
        h('td', null, e.contact_id ? ['to ', idLink('contacts', e.contact_id)] : ''),
        h('td', null, idLink('outbox', e.id)),
      );
      tr.addEventListener('click', (ev) => { if (!(/** @type {HTMLElement} */ (ev.target).closest('a'))) location.hash = `#/outbox/${e.id}`; });
    }
    tr.dataset.text = [e.id, e.workflow, e.method, e.status, e.http_status, e.kind].join(' ').toLowerCase();
    tr.hidden = !!state.text && !tr.dataset.text.includes(state.text);
    return tr;
  }

  /** Request ids already shown or buffered; true when `id` was seen (and marks it seen). */
  const seenIds = new Set();
  const seen = (/** @type {string} */ id) => {
    if (seenIds.has(id)) return true;
    seenIds.add(id);
    return false;
  };

  function applyText() {
    for (const tr of /** @type {NodeListOf<HTMLElement>} */ (tbody.querySelectorAll('tr[data-text]'))) {
      tr.hidden = !!state.text && !(tr.dataset.text || '').includes(state.text);
    }
  }

  /** Puts new entries (newest last in `list`) at the top, or counts them while paused. */
  function arrive(/** @type {any[]} */ list) {
    list = list.filter(matches);
    if (!list.length) return;
    if (state.paused) {
      state.buffer.push(...list);
      fill(pause, `Resume (${state.buffer.length} new)`);
      return;
    }
    tbody.querySelector('tr.empty')?.remove();
    for (const e of list) tbody.prepend(row(e));
    while (tbody.children.length > MAX_ROWS) {
      tbody.lastElementChild?.remove();
      olderBox.hidden = true;
    }
    const req = [...list].reverse().find((e) => e.kind === 'request');
    if (req && (state.follow || !state.selected)) select(req.id);
  }

  function togglePause() {
    state.paused = !state.paused;
    if (state.paused) fill(pause, 'Resume (0 new)');
    else {
      fill(pause, 'Pause');
      const b = state.buffer;
      state.buffer = [];
      arrive(b);
    }
  }

  let paneTimer = 0;
  function select(/** @type {string} */ id) {
    state.selected = id;
    for (const tr of tbody.querySelectorAll('tr.selected')) tr.classList.remove('selected');
    tbody.querySelector(`tr[data-request-id="${id}"]`)?.classList.add('selected');
    // A flood of requests redraws the pane at most a few times a second, with the newest.
    if (paneTimer) return;
    paneTimer = window.setTimeout(() => {
      paneTimer = 0;
      renderRequest(pane, state.selected);
    }, 150);
  }

  const fromRequest = (/** @type {any} */ r) => ({ kind: 'request', id: r.id, at: r.received_at, workflow: r.workflow, method: r.method, status: r.status, http_status: r.http_status, items: r.items });

  async function loadPage() {
    older.setAttribute('disabled', '');
    try {
      const d = await api(withQuery('/api/requests', { workflow: state.workflow, status: state.status, cursor: state.cursor, limit: 50 }));
      const first = !state.cursor;
      if (first) {
        // Colour the run chips of the rows already there with their runs' current status.
        const runs = await api('/api/runs?limit=200').catch(() => ({ items: [] }));
        for (const r of runs.items) runStatus.set(r.id, r.status);
      }
      for (const r of d.items) {
        if (!seen(r.id)) tbody.appendChild(row(fromRequest(r)));
      }
      state.cursor = d.next_cursor;
      olderBox.hidden = !state.cursor;
      if (first && !d.items.length) tbody.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: 6 }, emptyText())));
      if (first && d.items.length && !state.selected) select(d.items[0].id);
    } catch (e) {
      el.appendChild(errorBox(e));
    } finally {
      older.removeAttribute('disabled');
    }
  }

  function emptyText() {
    const f = [state.workflow && `workflow ${state.workflow}`, state.status && `status ${state.status}`].filter(Boolean).join(', ');
    return f ? `No requests match ${f}. New ones appear here as they arrive.` : 'No requests yet. Send one to a workflow URL (see Workflows); it appears here at once.';
  }

  function reload() {
    const q = new URLSearchParams();
    if (state.workflow) q.set('workflow', state.workflow);
    if (state.status) q.set('status', state.status);
    history.replaceState(null, '', '#/live' + (q.toString() ? '?' + q : ''));
    tbody.replaceChildren();
    state.cursor = null;
    seenIds.clear();
    loadPage();
  }

  // Events from the stream.
  const onEvent = (/** @type {any} */ ev) => {
    const { type, data } = ev.detail;
    if (type === 'request') {
      // Events come in commit order, not id order (concurrent senders): dedupe by id.
      if (seen(data.request_id)) return;
      arrive([{ kind: 'request', id: data.request_id, at: data.at, workflow: data.workflow, method: data.method, status: data.status, http_status: data.http_status, items: data.items }]);
    } else if (type === 'run') {
      runStatus.set(data.run_id, data.status);
      for (const a of tbody.querySelectorAll(`a[data-run="${data.run_id}"]`)) {
        a.className = `chip small st-${data.status}`;
        a.textContent = a.textContent.replace(/ \S+$/, ' ' + data.status);
      }
      if (['succeeded', 'failed', 'waiting'].includes(data.status)) arrive([{ kind: 'run', id: data.run_id, at: data.at, workflow: data.workflow, status: data.status, step: data.step }]);
    } else if (type === 'email' && data.state === 'queued' && !state.seenEmails.has(data.email_id)) {
      state.seenEmails.add(data.email_id);
      arrive([{ kind: 'email', id: data.email_id, at: data.at, workflow: data.workflow, status: data.state, contact_id: data.contact_id }]);
    }
  };
  ctx.bus.addEventListener('hf', onEvent);

  // Without an event stream: poll the lists (newest first) for what is new.
  let polling = 0;
  async function poll() {
    try {
      const d = await api(withQuery('/api/requests', { workflow: state.workflow, status: state.status, limit: 50 }));
      const fresh = d.items.filter((/** @type {any} */ r) => !seen(r.id)).reverse();
      arrive(fresh.map(fromRequest));
      const runs = await api(withQuery('/api/runs', { workflow: state.workflow, limit: 50 }));
      const done = [];
      for (const r of runs.items.reverse()) {
        runStatus.set(r.id, r.status);
        if (['succeeded', 'failed', 'waiting'].includes(r.status) && !state.seenRuns.has(r.id)) {
          state.seenRuns.add(r.id);
          if (polling > 0) done.push({ kind: 'run', id: r.id, at: r.finished_at || r.created_at, workflow: r.workflow, status: r.status });
        }
      }
      arrive(done);
      for (const a of /** @type {NodeListOf<HTMLElement>} */ (tbody.querySelectorAll('a[data-run]'))) {
        const st = runStatus.get(a.dataset.run);
        if (st) { a.className = `chip small st-${st}`; a.textContent = (a.textContent || '').replace(/ \S+$/, ' ' + st); }
      }
    } catch {
      /* the header's live dot shows the server is away */
    }
    polling += 1;
  }
  let timer = 0;
  const onStream = () => {
    clearInterval(timer);
    fill(status, ctx.stream === 'unsupported' ? 'polling (no event stream)' : '');
    if (ctx.stream === 'unsupported') {
      poll();
      timer = window.setInterval(poll, 300);
    }
  };
  ctx.bus.addEventListener('stream', onStream);
  onStream();
  await loadPage();

  return () => {
    ctx.bus.removeEventListener('hf', onEvent);
    ctx.bus.removeEventListener('stream', onStream);
    clearInterval(timer);
    clearTimeout(paneTimer);
  };
}
