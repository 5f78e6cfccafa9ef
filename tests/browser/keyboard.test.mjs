// The keyboard: g + letter moves between views, j/k pick a row, Enter opens it, i jumps to an id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withApp } from './helpers.mjs';

test('the keyboard moves between views and opens rows', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const a = await server.send('optimantra-cancellation', 'optimantra/cancellation.json');
    const b = await server.send('optimantra-checkout', 'optimantra/checkout.json');
    await server.eventually(async () => (await server.api('/api/runs?status=succeeded')).items.length === 2, 'both runs');
    await page.goto(server.base + '/#/live');
    await page.locator(`#feed tr[data-request-id="${a.request_id}"]`).waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('r');
    await page.waitForURL(/#\/runs$/);
    // The URL changes before the hashchange handler draws the view, and Live's rows are
    // clickable too: wait for the Runs heading so j/j below move through the runs.
    await page.locator('main h1', { hasText: /^Runs$/ }).waitFor();
    await page.locator('main tr.clickable').nth(1).waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    // Newest first: the second row is the cancellation's run.
    await page.locator('main h1', { hasText: a.items[0].run_id }).waitFor();
    await page.keyboard.press('i');
    await page.keyboard.type(b.request_id);
    await page.keyboard.press('Enter');
    await page.locator('main h1', { hasText: b.request_id }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/requests/${b.request_id}`);
  });
});
