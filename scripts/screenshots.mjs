#!/usr/bin/env node
// Seeds a fresh hookflow (manual clock, shipped workflows) with the samples, then writes a
// screenshot of every admin page view to docs/screenshots/*.png.
//   cargo build && (cd tests/browser && npm ci) && node scripts/screenshots.mjs
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, REPO } from '../tests/browser/server.mjs';
import { chromium } from '../tests/browser/node_modules/playwright-core/index.mjs';

const OUT = join(REPO, 'docs', 'screenshots');
const sample = (p) => JSON.parse(readFileSync(join(REPO, 'samples', p), 'utf8'));

const server = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.HOOKFLOW_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  mkdirSync(OUT, { recursive: true });
  const done = (id) => server.eventually(async () => ['succeeded', 'failed', 'waiting'].includes((await server.api(`/api/runs/${id}`)).status), `run ${id}`);

  // A day at the clinic: bookings, a cancellation (enters the warming sequence), a check-out,
  // Embodia's array, a draft capture, a broken body and a booking whose sender renamed `email`.
  const booking = sample('optimantra/booking.json');
  const b1 = await server.send('optimantra-booking', booking);
  await done(b1.items[0].run_id);
  const cancel = await server.send('optimantra-cancellation', 'optimantra/cancellation.json');
  await done(cancel.items[0].run_id);
  await server.send('optimantra-checkout', 'optimantra/checkout.json');
  await server.send('embodia-consults', 'embodia/consult-mixed.json');
  await server.send('kivicare-appointments', 'kivicare/appointment-booked.json');
  await server.send('telehealth-visits', 'telehealth/visit-ended-v2.json');
  await server.send('optimantra-superbill', 'optimantra/superbill.json');
  const wf = await server.api('/api/workflows/optimantra-booking');
  await fetch(wf.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"email": "a@example.com",, }' });
  const { email, ...rest } = booking;
  const renamed = await server.send('optimantra-booking', { ...rest, firstName: 'Ana', lastName: 'Silva', emailAddress: 'ana.silva@example.com', phone: '(415) 555-0199' });
  await server.eventually(async () => (await server.api('/api/runs?status=queued')).items.length === 0, 'the queue to drain');
  const run = await server.api(`/api/runs/${cancel.items[0].run_id}`);
  const outbox = await server.api('/api/outbox');
  const confirmation = outbox.items.find((m) => m.html) || outbox.items[0];

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const shot = async (name, hash, ready, full = false) => {
    await page.goto(`${server.base}/${hash}`);
    await page.locator(ready).first().waitFor();
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: full });
    console.log(`docs/screenshots/${name}.png`);
  };

  await shot('live', '#/live', '#pane h1');
  await shot('workflows', '#/workflows', 'main td .chip');
  await shot('workflow', '#/workflows/optimantra-booking', 'table.fields', true);
  await shot('request-diff', `#/requests/${renamed.request_id}`, '.diff .mapped-missing');
  await shot('runs', '#/runs', 'main tbody tr.clickable');
  await page.goto(`${server.base}/#/runs/${run.id}`);
  await shot('run', `#/runs/${run.id}`, 'details.step');
  await shot('contacts', '#/contacts', 'main tbody tr.clickable');
  await shot('contact', `#/contacts/${run.contact_id}`, 'ol.timeline');
  await shot('outbox', '#/outbox', 'main tbody tr.clickable');
  await shot('email', `#/outbox/${confirmation.id}`, '.tab-body > *');
  await page.goto(`${server.base}/#/time`);
  await page.locator('button[data-by="3d"]').click();
  await page.locator('#fired tr').nth(1).waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'time.png') });
  console.log('docs/screenshots/time.png');
  await context.close();

  // The token prompt, from a server that wants one.
  const locked = await startServer({ token: 'demo-token' });
  const c2 = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const p2 = await c2.newPage();
  await p2.goto(locked.base + '/');
  await p2.locator('input[type=password]').waitFor();
  await p2.screenshot({ path: join(OUT, 'token.png') });
  console.log('docs/screenshots/token.png');
  await c2.close();
  await locked.stop();
} finally {
  await browser.close();
  await server.stop();
}
