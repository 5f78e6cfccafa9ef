// @ts-check
// The one door to hookflow's JSON API: adds the admin token (from sessionStorage) as a Bearer
// header to every request, the event stream included, and turns error answers into ApiError.

const KEY = 'hookflow.token';

/** An answer that was not 2xx: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The token kept for this tab, or null. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Keeps (or with null, forgets) the token for this tab. */
export function setToken(/** @type {string|null} */ t) {
  if (t === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, t);
}

/** Called with every 401, so the app can ask for the token again. */
let onUnauthorized = () => {};
export function whenUnauthorized(/** @type {() => void} */ f) {
  onUnauthorized = f;
}

function headers(extra = {}) {
  /** @type {Record<string, string>} */
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/**
 * A request to `/api/...`; resolves to the parsed JSON (or text for non-JSON answers).
 * @param {string} path
 * @param {{method?: string, body?: any, type?: string, raw?: boolean, signal?: AbortSignal}} [opts]
 */
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: headers(), signal: opts.signal };
  if (opts.body !== undefined) {
    const type = opts.type || 'application/json';
    init.headers['Content-Type'] = type;
    init.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) {
    onUnauthorized();
    throw new ApiError(401, 'unauthorized', 'the admin token is missing or wrong');
  }
  const ct = resp.headers.get('content-type') || '';
  if (opts.raw && resp.ok) return resp;
  const data = ct.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const e = data && data.error;
    throw new ApiError(resp.status, e ? e.code : 'http_' + resp.status, e ? e.message : `HTTP ${resp.status}`);
  }
  return data;
}

/** `path` with the non-empty entries of `params` as a query string. */
export function withQuery(/** @type {string} */ path, /** @type {Record<string, any>} */ params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => x && q.append(k, x));
    else if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Follows `/api/events` with fetch + a ReadableStream (EventSource cannot send the header).
 * Calls `onEvent(type, data)` per event and `onState('live'|'connecting'|'unsupported'|'down')`.
 * Reconnects with the last id seen. Returns a function that stops it.
 * @param {(type: string, data: any) => void} onEvent
 * @param {(state: string) => void} onState
 */
export function followEvents(onEvent, onState) {
  let stopped = false;
  let lastId = null;
  let ctrl = new AbortController();
  let retry = 2000;

  async function connect() {
    while (!stopped) {
      ctrl = new AbortController();
      onState('connecting');
      try {
        const h = headers({ Accept: 'text/event-stream' });
        if (lastId !== null) h['Last-Event-ID'] = String(lastId);
        const resp = await fetch('/api/events', { headers: h, signal: ctrl.signal, cache: 'no-store' });
        if (resp.status === 404) {
          onState('unsupported');
          return;
        }
        if (resp.status === 401) {
          onUnauthorized();
          onState('down');
          return;
        }
        if (!resp.ok || !resp.body) throw new Error('HTTP ' + resp.status);
        onState('live');
        await read(resp.body);
      } catch (e) {
        if (stopped) return;
      }
      onState('down');
      await new Promise((r) => setTimeout(r, retry));
    }
  }

  /** @param {ReadableStream<Uint8Array>} body */
  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end;
      while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
        dispatch(block);
      }
    }
  }

  function dispatch(/** @type {string} */ block) {
    let type = 'message';
    let data = '';
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') type = val;
      else if (field === 'data') data += (data ? '\n' : '') + val;
      else if (field === 'id') lastId = val;
      else if (field === 'retry' && /^\d+$/.test(val)) retry = Number(val);
    }
    if (!data) return;
    try {
      onEvent(type, JSON.parse(data));
    } catch {
      /* a malformed event is skipped, the stream goes on */
    }
  }

  connect();
  return () => {
    stopped = true;
    ctrl.abort();
  };
}
