// Starts the real `hookflow serve` (debug build) on a free loopback port with a fresh data dir
// and the manual clock, and sends payloads the way a practice system does. Used by the browser
// tests and by scripts/screenshots.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'target', 'debug', 'hookflow');

/** Starts `hookflow serve`; resolves once it printed `listening on http://ADDR`. */
export async function startServer({ token, env = {} } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'hookflow-browser-'));
  const childEnv = { ...process.env, ...env };
  delete childEnv.HOOKFLOW_ADMIN_TOKEN;
  if (token) childEnv.HOOKFLOW_ADMIN_TOKEN = token;
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--clock', 'manual', '--data', data, '--workflows', join(REPO, 'workflows')], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hookflow did not start in 20 s:\n${out}\n${log}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`hookflow exited with ${code}:\n${out}\n${log}`)));
  });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return {
    base,
    data,
    /** GET/POST the admin API as JSON. */
    async api(path, init = {}) {
      const resp = await fetch(base + path, { ...init, headers: { ...headers, 'Content-Type': 'application/json', ...(init.headers || {}) } });
      if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status} ${await resp.text()}`);
      return resp.json();
    },
    /** Posts `body` (an object or a sample file under samples/) to a workflow's URL. */
    async send(workflow, body, onSend = () => {}) {
      const wf = await this.api(`/api/workflows/${workflow}`);
      const text = typeof body === 'string' ? readFileSync(join(REPO, 'samples', body), 'utf8') : JSON.stringify(body);
      onSend();
      const resp = await fetch(wf.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
      const answer = await resp.json();
      if (!resp.ok) throw new Error(`send ${workflow}: HTTP ${resp.status} ${JSON.stringify(answer)}`);
      return answer;
    },
    /** Polls `f` until it returns a truthy value (10 s at most). */
    async eventually(f, what = 'condition') {
      const end = Date.now() + 10000;
      for (;;) {
        const v = await f().catch(() => null);
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

