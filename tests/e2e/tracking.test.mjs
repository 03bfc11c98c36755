// Health tracking in a real browser against a real backend-mock: an entry made offline is
// kept on the device, queued, and reaches the server once the browser is online again.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Backend, launchBrowser, signIn } from './support.mjs';

let backend;
let browser;

before(async () => { backend = await Backend.start(); });
after(async () => { await backend?.close(); });
beforeEach(async () => { browser = await launchBrowser(); });
afterEach(async () => { await browser?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a kick session recorded offline syncs after going online', async () => {
  const { page, context, errors } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Tracking' }).click();
  await page.getByRole('heading', { level: 1, name: 'Health tracking' }).waitFor();

  await context.setOffline(true);
  await page.getByRole('button', { name: 'Start counting' }).click();
  for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Kick', exact: true }).click();
  await page.getByTestId('kick-count').getByText('3 kicks').waitFor();
  await page.getByRole('button', { name: 'Finish session' }).click();
  const list = page.getByTestId('tracking-kick-sessions');
  await list.getByText(/3 kicks · Saved on this device, waiting to sync/).waitFor();
  await page.locator('svg[aria-label="Kicks per session"] polyline[points]').waitFor({ state: 'attached' });

  const before = await backend.apiGet('/api/health-tracking/kick-sessions');
  assert.equal(before.items.length, 0, 'nothing reached the server while offline');

  await context.setOffline(false);
  await list.getByText(/3 kicks · Synced/).waitFor({ timeout: 60_000 });
  let items = [];
  for (let i = 0; i < 50 && items.length === 0; i++) {
    items = (await backend.apiGet('/api/health-tracking/kick-sessions')).items;
    if (items.length === 0) await sleep(200);
  }
  assert.equal(items.length, 1, 'exactly one session on the server');
  assert.equal(items[0].data.kicks, 3);

  // Kept on the device: a reload shows it without asking the server first.
  await page.reload();
  await page.getByTestId('tracking-kick-sessions').getByText(/3 kicks · Synced/).waitFor();
  assert.deepEqual(errors, []);
});
