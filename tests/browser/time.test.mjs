// Time: advancing the manual clock fires the sequence's day-3 email, which shows in the Outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withApp } from './helpers.mjs';

test('advancing the clock 3 days on Time puts the day-3 email in the Outbox', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const answer = await server.send('optimantra-cancellation', 'optimantra/cancellation.json');
    await server.eventually(async () => (await server.api(`/api/runs/${answer.items[0].run_id}`)).status === 'succeeded', 'the run');
    await page.goto(`${server.base}/#/time`);
    await page.locator('main td', { hasText: 'in 3d' }).first().waitFor();
    await page.click('button[data-by="3d"]');
    await page.locator('#fired tr', { hasText: 'send_email' }).waitFor();
    // The header's clock moved with it.
    await page.locator('.clock', { hasText: '2026-12-0' }).waitFor();
    await page.click('nav a[data-route="outbox"]');
    const row = page.locator('main tr', { hasText: 'Still thinking about it, Marcus?' });
    await row.waitFor();
    await row.click();
    await page.locator('main h1', { hasText: 'Still thinking about it, Marcus?' }).waitFor();
    assert.match(await page.locator('main pre.email-text').innerText(), /short follow-up visit/);
  });
});
