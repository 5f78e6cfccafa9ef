// Contacts: a marketer tags a contact, sets DND, edits and deletes it from the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withApp } from './helpers.mjs';

test('a contact is tagged, set to DND, edited and deleted from its page', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const answer = await server.send('optimantra-cancellation', 'optimantra/cancellation.json');
    const run = await server.eventually(async () => {
      const r = await server.api(`/api/runs/${answer.items[0].run_id}`);
      return r.status === 'succeeded' && r;
    }, 'the run');
    const api = () => server.api(`/api/contacts/${run.contact_id}`);
    await page.goto(`${server.base}/#/contacts?q=marcus`);
    await page.click('main tr.clickable >> text=Marcus Reyes');
    await page.locator('main h1', { hasText: 'Marcus Reyes' }).waitFor();
    // The sequence's first email is listed on the contact.
    await page.locator('main tr', { hasText: 'your next step toward feeling your best' }).waitFor();

    await page.fill('input[aria-label="add tag"]', 'VIP');
    await page.press('input[aria-label="add tag"]', 'Enter');
    await page.locator('main dd .chip.tag', { hasText: 'VIP' }).waitFor();
    assert.deepEqual((await api()).tags, ['Cancelled', 'VIP']);

    await page.check('#dnd');
    await server.eventually(async () => (await api()).dnd === true, 'DND set');

    await page.fill('#f-first_name', 'Marc');
    await page.click('button:has-text("Save")');
    await page.locator('main h1', { hasText: 'Marc Reyes' }).waitFor();

    page.once('dialog', (d) => d.accept());
    await page.click('button:has-text("Delete")');
    await page.waitForURL(/#\/contacts$/);
    const resp = await fetch(`${server.base}/api/contacts/${run.contact_id}`);
    assert.equal(resp.status, 404);
  });
});

test('rotating a workflow URL asks first, then the old URL answers 404', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const before = await server.api('/api/workflows/optimantra-checkout');
    await page.goto(`${server.base}/#/workflows/optimantra-checkout`);
    await page.locator('code.url', { hasText: before.url }).first().waitFor();
    page.once('dialog', (d) => d.dismiss());
    await page.click('button:has-text("Rotate URL")');
    assert.equal((await server.api('/api/workflows/optimantra-checkout')).url, before.url);
    page.once('dialog', (d) => d.accept());
    await page.click('button:has-text("Rotate URL")');
    const after = await server.eventually(async () => {
      const w = await server.api('/api/workflows/optimantra-checkout');
      return w.url !== before.url && w;
    }, 'the new URL');
    await page.locator('code.url', { hasText: after.url }).first().waitFor();
    assert.equal((await fetch(before.url, { method: 'POST', body: '{}' })).status, 404);
  });
});
