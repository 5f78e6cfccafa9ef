// @ts-check
// A request's difference from its workflow's reference: which field paths were added, removed
// or changed type, and which mapped paths (the workflow's `mapping`) the request no longer has.
// Paths are written as hookflow's reference fields are (`$.a.b`, `$['@type']`, `$.list[0]`),
// and compared item to item: the request's first item against the reference's first item.

/** Every leaf of `value` as `[{path, value}]`, like the server's reference fields. */
export function flatten(/** @type {any} */ value) {
  /** @type {{path: string, value: any}[]} */
  const out = [];
  const walk = (/** @type {any} */ v, /** @type {string} */ p) => {
    if (out.length >= 2000) return;
    if (Array.isArray(v) && v.length) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length)
      for (const [k, x] of Object.entries(v)) walk(x, p + key(k));
    else out.push({ path: p, value: v });
  };
  walk(value, '$');
  return out;
}

function key(/** @type {string} */ k) {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return '.' + k;
  const esc = k.replace(/[\\']/g, (c) => '\\' + c).replace(/[\u0000-\u001f]/g, (c) => {
    const named = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }[c];
    return named || '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
  });
  return `['${esc}']`;
}

/** The JSON type of a leaf, for "changed" (a value that changes is normal; a type is not). */
export function typeOf(/** @type {any} */ v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/**
 * The first item of a request's payload, as the workflow's mapping sees it: a top-level array
 * is split by default; a `split` of the form `$.a.b[*]` (or `$[*]`) is followed.
 * @param {any} payload @param {string|null|undefined} split
 */
export function firstItem(payload, split) {
  if (split) {
    const m = split.match(/^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\[\*\]$/);
    if (m) {
      let v = payload;
      for (const k of m[1].split('.').filter(Boolean)) v = v && typeof v === 'object' ? v[k] : undefined;
      return Array.isArray(v) ? v[0] ?? null : null;
    }
    return payload;
  }
  return Array.isArray(payload) ? payload[0] ?? null : payload;
}

/**
 * @param {{path: string, value: any}[]} refFields the reference's fields (server-made)
 * @param {any} item the request's first item
 * @param {{name: string, path: string}[]} mapping the workflow's mapping
 */
export function diff(refFields, item, mapping) {
  const ref = new Map(refFields.map((f) => [f.path, f.value]));
  const got = new Map(flatten(item).map((f) => [f.path, f.value]));
  const added = [...got.keys()].filter((p) => !ref.has(p)).map((p) => ({ path: p, value: got.get(p) }));
  const removed = [...ref.keys()].filter((p) => !got.has(p)).map((p) => ({ path: p, value: ref.get(p) }));
  const changed = [...got.keys()]
    .filter((p) => ref.has(p) && typeOf(ref.get(p)) !== typeOf(got.get(p)))
    .map((p) => ({ path: p, from: ref.get(p), to: got.get(p) }));
  const has = (/** @type {Map<string, any>} */ fields, /** @type {string} */ p) =>
    [...fields.keys()].some((f) => f === p || f.startsWith(p + '.') || f.startsWith(p + '[') || f.startsWith(p + "['"));
  const mapped = mapping.map((m) => {
    const path = normalize(m.path);
    if (path === null) return { ...m, state: 'unchecked' };
    const inRef = has(ref, path);
    const inReq = has(got, path);
    return { ...m, state: inReq ? 'present' : inRef ? 'missing' : 'absent' };
  });
  const same = [...got.keys()].filter((p) => ref.has(p)).length;
  return { added, removed, changed, mapped, same };
}

/** A mapping path in the fields' own notation, or null when it has wildcards or filters. */
function normalize(/** @type {string} */ p) {
  if (/\*|\.\.|\?|:|,/.test(p)) return null;
  return p.replace(/\["([A-Za-z_][A-Za-z0-9_]*)"\]|\['([A-Za-z_][A-Za-z0-9_]*)'\]/g, (_, a, b) => '.' + (a || b)).replace(/\["([^"]*)"\]/g, (_, k) => key(k));
}
