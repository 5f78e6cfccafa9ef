// The admin token: asked for before anything is shown, kept per tab, sent with every fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withApp } from './helpers.mjs';

const TOKEN = 's3cret-admin-token';

test('without a token the page asks for it and shows no data', async (t) => {
  await withApp(t, { token: TOKEN }, async ({ server, page }) => {
    const answer = await server.send('optimantra-booking', 'optimantra/booking.json');
    const shell = await fetch(server.base + '/');
    const csp = shell.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(await shell.text(), /optimantra|hooks\//);
    await page.goto(`${server.base}/#/requests/${answer.request_id}`);
    await page.locator('input[type=password]').waitFor();
    const text = await page.locator('body').innerText();
    assert.doesNotMatch(text, /optimantra|jane|01M/i);
    assert.equal(await page.locator('header.top').count(), 0);
  });
});

test('a wrong token is refused and asked for again; the right one opens the deep link', async (t) => {
  await withApp(t, { token: TOKEN }, async ({ server, page }) => {
    const answer = await server.send('optimantra-booking', 'optimantra/booking.json');
    const sent = [];
    page.on('request', (r) => r.url().includes('/api/') && sent.push(r.headers().authorization || ''));
    await page.goto(`${server.base}/#/requests/${answer.request_id}`);
    await page.fill('input[type=password]', 'wrong');
    await page.press('input[type=password]', 'Enter');
    await page.locator('[role=alert]', { hasText: 'refused' }).waitFor();
    assert.equal(await page.locator('input[type=password]').inputValue(), '');
    assert.doesNotMatch(await page.locator('body').innerText(), /optimantra/);
    await page.fill('input[type=password]', TOKEN);
    await page.press('input[type=password]', 'Enter');
    await page.locator('h1', { hasText: answer.request_id }).waitFor();
    // Kept for the tab: a reload goes straight back to the data.
    await page.reload();
    await page.locator('h1', { hasText: answer.request_id }).waitFor();
    assert.ok(sent.length > 3);
    assert.ok(sent.slice(2).every((h) => h === `Bearer ${TOKEN}`), `authorization headers: ${sent.join(', ')}`);
  });
});

test('a saved token that became wrong asks again instead of showing a blank page', async (t) => {
  await withApp(t, { token: TOKEN }, async ({ server, page }) => {
    await page.goto(server.base + '/');
    await page.evaluate(() => sessionStorage.setItem('hookflow.token', 'stale'));
    await page.reload();
    await page.locator('[role=alert]', { hasText: 'refused' }).waitFor();
    await page.locator('input[type=password]').waitFor();
  });
});
