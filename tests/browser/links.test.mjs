// Deep links survive a reload, and every link from request → run → contact → email resolves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withApp, REPO } from './helpers.mjs';

async function cancellation(server) {
  const answer = await server.send('optimantra-cancellation', 'optimantra/cancellation.json');
  const run = await server.eventually(async () => {
    const r = await server.api(`/api/runs/${answer.items[0].run_id}`);
    return r.status === 'succeeded' && r;
  }, 'the run');
  const email = await server.eventually(async () => (await server.api('/api/outbox')).items[0], 'the first email');
  return { answer, run, email };
}

test('deep links to a request, a run, a contact and an email survive a reload', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const { answer, run, email } = await cancellation(server);
    const pages = [
      [`/#/requests/${answer.request_id}`, answer.request_id],
      [`/#/runs/${run.id}`, run.id],
      [`/#/contacts/${run.contact_id}`, 'Marcus Reyes'],
      [`/#/outbox/${email.id}`, email.subject],
    ];
    for (const [path, heading] of pages) {
      await page.goto(server.base + path);
      await page.locator('main h1', { hasText: heading }).waitFor();
      await page.reload();
      await page.locator('main h1', { hasText: heading }).waitFor();
      assert.equal(new URL(page.url()).hash, path.slice(1));
    }
  });
});

test('request → run → contact → email: every link resolves', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const { answer, run } = await cancellation(server);
    // Send a booking too, whose run queues a confirmation email: the run links to it.
    const sample = JSON.parse(readFileSync(join(REPO, 'samples/optimantra/booking.json'), 'utf8'));
    const booking = await server.send('optimantra-booking', { ...sample, firstName: 'Marcus', lastName: 'Reyes', email: 'marcus.reyes@example.org' });
    await server.eventually(async () => (await server.api(`/api/runs/${booking.items[0].run_id}`)).status === 'succeeded', 'the booking run');
    await page.goto(`${server.base}/#/requests/${answer.request_id}`);
    await page.click(`main a[href="#/runs/${run.id}"]`);
    await page.locator('main h1', { hasText: run.id }).waitFor();
    await page.click(`main a[href="#/contacts/${run.contact_id}"] >> nth=0`);
    await page.locator('main h1', { hasText: 'Marcus Reyes' }).waitFor();
    // The contact lists its runs; the booking run links to its email.
    const bookingRun = page.locator(`main a.id[href="#/runs/${booking.items[0].run_id}"]`).first();
    await bookingRun.waitFor();
    await bookingRun.click();
    await page.locator('main h1', { hasText: booking.items[0].run_id }).waitFor();
    const emailLink = page.locator('main a[href^="#/outbox/"]').first();
    await emailLink.click();
    await page.locator('main .tabs').waitFor();
    await page.locator('main a', { hasText: /…/ }).first().waitFor();
    // The email links back to its run and its contact.
    await page.locator(`main dd a[href="#/runs/${booking.items[0].run_id}"]`).waitFor();
    await page.click(`main dd a[href="#/contacts/${run.contact_id}"]`);
    await page.locator('main h1', { hasText: 'Marcus Reyes' }).waitFor();
    // The id box jumps to any id.
    await page.fill('#jump', run.id);
    await page.press('#jump', 'Enter');
    await page.locator('main h1', { hasText: run.id }).waitFor();
  });
});
