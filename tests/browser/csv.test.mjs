// Contacts CSV from the page: import a file through the file input (counts, skipped lines,
// warnings, the list refreshed) and export what is listed, with the admin token set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withApp } from './helpers.mjs';

const TOKEN = 'csv-admin-token';

// Line 3 has no email or phone; line 5 reuses Alan's phone under another email; line 6 updates
// the contact line 2 created.
const FILE = {
  name: 'clinic.csv',
  mimeType: 'text/csv',
  buffer: Buffer.from(
    [
      'First Name,Last Name,Email,Phone,Tags',
      'Ada,Lovelace,ada@example.com,,vip',
      'No,Contact,,,x',
      'Alan,Turing,alan@example.com,+14155550100,vip;math',
      'Grace,Hopper,grace@example.com,+14155550100,',
      ',,ada@example.com,,math',
      '',
    ].join('\n'),
  ),
};

/** Rows of a CSV as objects keyed by the header (quoted cells with commas and "" handled). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\n') row.push(cell.replace(/\r$/, '')), rows.push(row), (row = []), (cell = '');
    else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((k, i) => [k, r[i]])));
}

/** Clicks Export CSV and returns the downloaded file's rows. */
async function exportRows(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export CSV")')]);
  assert.equal(download.suggestedFilename(), 'contacts.csv');
  return parseCsv(readFileSync(await download.path(), 'utf8'));
}

const summary = (c) => ({ id: c.id, first_name: c.first_name, last_name: c.last_name, email: c.email, phone: c.phone, tags: c.tags });
const fromCsv = (r) => ({ id: r['Contact Id'], first_name: r['First Name'], last_name: r['Last Name'], email: r.Email, phone: r.Phone || null, tags: r.Tags ? r.Tags.split(',') : [] });
const byEmail = (a, b) => a.email.localeCompare(b.email);

test('a CSV imported from the page shows its counts and skipped line, lists the contacts and exports them with the token', async (t) => {
  await withApp(t, { token: TOKEN }, async ({ server, page }) => {
    const sent = [];
    page.on('request', (r) => r.url().includes('/api/contacts/') && sent.push(`${r.method()} ${new URL(r.url()).pathname} ${r.headers().authorization || 'no token'}`));
    await page.goto(`${server.base}/#/contacts`);
    await page.fill('input[type=password]', TOKEN);
    await page.press('input[type=password]', 'Enter');
    await page.locator('main tr.empty', { hasText: 'No contacts yet' }).waitFor();

    await page.setInputFiles('#csv-file', FILE);
    const report = page.locator('main .notes [role=status]');
    await report.locator('.import-counts').waitFor();
    assert.equal(await report.locator('.import-counts').textContent(), 'Imported clinic.csv: 3 created, 1 updated, 1 skipped.');
    assert.deepEqual(await report.locator('.import-skipped li').allTextContents(), ['line 3: no email or phone: a row needs one to be matched or created']);
    assert.match((await report.locator('.import-warnings li').allTextContents()).join('|'), /^line 5: phone \+14155550100 was not copied/);

    // The list shows the new contacts without a reload.
    for (const name of ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']) await page.locator('main tr.clickable', { hasText: name }).waitFor();
    assert.equal(await page.locator('main tr.clickable').count(), 3);

    const stored = (await server.api('/api/contacts?limit=50')).items.map(summary).sort(byEmail);
    assert.deepEqual(stored.map((c) => [c.email, c.tags]), [
      ['ada@example.com', ['vip', 'math']],
      ['alan@example.com', ['vip', 'math']],
      ['grace@example.com', []],
    ]);
    assert.deepEqual((await exportRows(page)).map(fromCsv).sort(byEmail), stored);

    // The export honours the list's filter.
    await page.goto(`${server.base}/#/contacts?q=alan`);
    await page.locator('main tr.clickable', { hasText: 'Alan Turing' }).waitFor();
    assert.deepEqual((await exportRows(page)).map(fromCsv), stored.filter((c) => c.email === 'alan@example.com'));

    assert.deepEqual(sent, [
      `POST /api/contacts/import Bearer ${TOKEN}`,
      `GET /api/contacts/export Bearer ${TOKEN}`,
      `GET /api/contacts/export Bearer ${TOKEN}`,
    ]);
  });
});

test('a CSV the server refuses shows why, and the import button opens the picker from the keyboard', async (t) => {
  await withApp(t, {}, async ({ server, page }) => {
    await page.goto(`${server.base}/#/contacts`);
    await page.locator('main tr.empty').waitFor();
    await page.setInputFiles('#csv-file', { name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from('Name,Age\nAda,36\n') });
    await page.locator('main .notes [role=alert]', { hasText: 'neither an `Email` nor a `Phone` column' }).waitFor();
    assert.equal((await server.api('/api/contacts')).items.length, 0);

    await page.focus('label[for=csv-file]');
    const choosing = page.waitForEvent('filechooser');
    // Playwright turns on file chooser interception asynchronously; a round trip lets it land.
    await page.evaluate(() => true);
    await page.keyboard.press('Enter');
    const chooser = await choosing;
    await chooser.setFiles({ name: 'one.csv', mimeType: 'text/csv', buffer: Buffer.from('Email\nada@example.com\n') });
    await page.locator('main .notes .import-counts', { hasText: '1 created, 0 updated, 0 skipped' }).waitFor();
    await page.locator('main tr.clickable', { hasText: 'ada@example.com' }).waitFor();
  });
});
