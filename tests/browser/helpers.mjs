// Shared by the browser tests: a server per test (server.mjs), Debian's Chromium headless (one
// per test file, a fresh context per test), and a screenshot when a test fails.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer, REPO } from './server.mjs';

export { startServer, REPO };
export const CHROMIUM = process.env.HOOKFLOW_CHROMIUM || '/usr/bin/chromium';

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
