// Live: what a tester sees while posting to a workflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withApp } from './helpers.mjs';

test('a POST appears in Live within a second, with its run chip', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    await page.goto(server.base + '/');
    await page.locator('#feed tr.empty').waitFor();
    let sent = 0;
    const answer = await server.send('optimantra-booking', 'optimantra/booking.json', () => (sent = Date.now()));
    const row = page.locator(`#feed tr[data-request-id="${answer.request_id}"]`);
    await row.waitFor({ timeout: 1000 });
    assert.ok(Date.now() - sent < 1000, `shown after ${Date.now() - sent} ms`);
    assert.match(await row.innerText(), /optimantra-booking/);
    // The run chip links to the run the item started.
    const runId = answer.items[0].run_id;
    await row.locator(`a[href="#/runs/${runId}"]`).waitFor();
    // Follow-newest shows the request in the side pane.
    await page.locator('#pane h1', { hasText: answer.request_id }).waitFor();
  });
});

test('pause counts what arrives and resume shows it', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    await page.goto(server.base + '/#/live');
    await page.locator('#feed tr.empty').waitFor();
    await page.click('#pause');
    const a = await server.send('optimantra-booking', 'optimantra/booking.json');
    await page.locator('#pause', { hasText: /Resume \([1-9]\d* new\)/ }).waitFor();
    assert.equal(await page.locator(`#feed tr[data-request-id="${a.request_id}"]`).count(), 0);
    await page.click('#pause');
    await page.locator(`#feed tr[data-request-id="${a.request_id}"]`).waitFor();
  });
});

test('a script or an onerror image in a payload is shown as text and runs nothing', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    const answer = await server.send('optimantra-cancellation', { email: 'x@example.com', firstName: evil, lastName: 'Doe', [evil]: evil });
    await page.goto(`${server.base}/#/requests/${answer.request_id}`);
    await page.locator('h1', { hasText: answer.request_id }).waitFor();
    // The payload's text is on the page, as text.
    await page.locator('pre.code', { hasText: '<script>window.__xss=2</script>' }).first().waitFor();
    // Visit the other places payload values reach: the run (step input) and the contact.
    const run = await server.eventually(async () => {
      const r = await server.api(`/api/runs/${answer.items[0].run_id}`);
      return ['succeeded', 'failed'].includes(r.status) && r;
    }, 'the run to finish');
    await page.goto(`${server.base}/#/runs/${run.id}`);
    await page.locator('details.step').first().waitFor();
    await page.locator('details.step summary').first().click();
    await page.goto(`${server.base}/#/contacts/${run.contact_id}`);
    await page.locator('h1', { hasText: '<img src=x' }).waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('main img, main script').count(), 0);
  });
});

test('requests posted at once by several senders all appear in Live', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    await page.goto(server.base + '/#/live');
    await page.locator('#feed tr.empty').waitFor();
    const wf = await server.api('/api/workflows/telehealth-visits');
    // 60 requests from 6 senders at once: their events come in commit order, not id order.
    let n = 0;
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (n < 60) {
        n += 1;
        await fetch(wf.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ visit: n }) });
      }
    }));
    await page.waitForFunction(() => document.querySelectorAll('#feed tr[data-request-id]').length === 60, null, { timeout: 5000 });
  });
});
