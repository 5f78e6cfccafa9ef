// Shared by the browser tests: start the real `hookflow serve` (debug build) on a free loopback
// port with a fresh data dir and the manual clock, launch Debian's Chromium headless, and send
// payloads the way a practice system does.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { after } from 'node:test';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'target', 'debug', 'hookflow');
const CHROMIUM = process.env.HOOKFLOW_CHROMIUM || '/usr/bin/chromium';

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

/** Headless Chromium (one per test file), launched on first use with a fresh profile. */
let shared = null;
async function browser() {
  if (!shared) {
    shared = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }
  return shared;
}

after(async () => {
  if (shared) await (await shared).close();
});

/** A fresh browser context (its own storage, like a new profile) and page. */
export async function launch() {
  const context = await (await browser()).newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors, close: () => context.close() };
}

/** Saves a screenshot of `page` under tests/browser/failures/ when test `t` failed. */
export async function screenshotOnFailure(t, page, failed) {
  if (!failed || !page) return;
  const dir = join(REPO, 'tests', 'browser', 'failures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  console.error(`screenshot of the failure: ${file}`);
}

/**
 * Runs `body({server, page, ...})` with a fresh server and browser, screenshotting on failure.
 * @param {import('node:test').TestContext} t
 */
export async function withApp(t, opts, body) {
  const server = await startServer(opts);
  const browser = await launch();
  let failed = true;
  try {
    await body({ server, page: browser.page, browser });
    assert.deepEqual(browser.errors, [], 'no script errors on the page');
    failed = false;
  } finally {
    await screenshotOnFailure(t, browser.page, failed);
    await browser.close();
    await server.stop();
  }
}
