// The request's difference from the reference: a sender renamed a field the workflow maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withApp, REPO } from './helpers.mjs';

test('the difference from the reference lists a renamed field and the mapped path it broke', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const booking = JSON.parse(readFileSync(join(REPO, 'samples/optimantra/booking.json'), 'utf8'));
    await server.send('optimantra-booking', booking); // the first one becomes the reference
    const { email, ...rest } = booking;
    const renamed = await server.send('optimantra-booking', { ...rest, emailAddress: email });
    await page.goto(`${server.base}/#/requests/${renamed.request_id}`);
    const diff = page.locator('.diff');
    await diff.locator('tr.d-removed', { hasText: '$.email' }).waitFor();
    await diff.locator('tr.d-added', { hasText: '$.emailAddress' }).waitFor();
    // $.email is mapped (`email: $.email`): it is called out as missing, in red.
    const missing = diff.locator('.mapped-missing');
    assert.match(await missing.innerText(), /\$\.email \(email\)/);
    assert.equal(await diff.locator('tr.d-removed.d-mapped').count(), 1);
    const colour = await missing.evaluate((e) => getComputedStyle(e).color);
    assert.equal(colour, 'rgb(194, 42, 42)');
  });
});

test('the workflow page browses the reference and simulates a payload', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    await server.send('optimantra-booking', 'optimantra/booking.json');
    await page.goto(`${server.base}/#/workflows/optimantra-booking`);
    const row = page.locator('table.fields tr', { hasText: '$.practitioner' });
    await row.waitFor();
    assert.match(await row.innerText(), /Dr\. Maya Chen, ND/);
    await page.fill('input[aria-label="filter fields"]', 'appointmentT');
    assert.equal(await page.locator('table.fields tbody tr:visible').count(), 2);
    await page.click('button:has-text("Simulate")');
    await page.locator('.sim-out details.step', { hasText: 'find_contact' }).waitFor();
    // A dry run writes nothing.
    assert.equal((await server.api('/api/contacts')).items.length, 1);
  });
});
