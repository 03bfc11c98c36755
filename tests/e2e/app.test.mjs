// The web app in a real browser against a real backend-mock: sign-in, outages at start,
// offline reloads through the service worker, and an offline booking that ends up booked
// exactly once.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { Backend, ROOT, launchBrowser, signIn, waitForServiceWorker, bookFirstFreeSlot } from './support.mjs';

let backend;
let browser;

before(async () => { backend = await Backend.start(); });
after(async () => { await backend?.close(); });
beforeEach(async () => {
  if (!(await backend.healthy())) {
    await backend.stop();
    await backend.start();
  }
  await backend.chaos([]);
  browser = await launchBrowser();
});
afterEach(async () => { await browser?.close(); });

test('the app loads and the demo patient signs in', async () => {
  const { page, errors } = browser;
  await signIn(page, backend.url);
  await page.getByRole('heading', { name: 'Next appointments' }).waitFor();
  await page.getByText(/prescription\(s\) ready to order/).waitFor();
  assert.equal(await page.getByTestId('banner').count(), 0, 'no banner when all is well');
  const axe = await new AxeBuilder({ page }).analyze();
  const serious = axe.violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help}`), []);
  assert.deepEqual(errors, []);
});

test('a wrong password is refused with a clear message', async () => {
  const { page } = browser;
  await page.goto(`${backend.url}/login`);
  await page.getByLabel('Email').fill('patient@demo.lifeline');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').getByText(/wrong email or password/i).waitFor();
});

test('backend down at app start: still signed in, saved data, a banner', async () => {
  const { page } = browser;
  await signIn(page, backend.url);
  await page.getByRole('heading', { name: 'Next appointments' }).waitFor();
  await page.getByText(/prescription\(s\) ready to order/).waitFor();
  await waitForServiceWorker(page);

  await backend.stop();
  await page.reload();
  await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
  await page.getByTestId('banner').getByText(/cannot be reached|offline/).waitFor();
  await page.getByTestId('stale').first().waitFor();
  // Each section falls back to its saved copy on its own; wait for the prescriptions' too.
  await page.getByText(/prescription\(s\) ready to order/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0, 'not sent to sign-in');
});

test('a reload with the network off is answered by the service worker', async () => {
  const { page, context } = browser;
  await signIn(page, backend.url);
  await page.getByText(/prescription\(s\) ready to order/).waitFor();
  await waitForServiceWorker(page);

  await context.setOffline(true);
  await page.reload();
  await page.getByRole('link', { name: 'Lifeline' }).waitFor();
  await page.getByTestId('banner').getByText('You are offline').waitFor();
  await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
  await context.setOffline(false);
});

test('a booking made offline survives a reload and is booked exactly once', async () => {
  const { page, context } = browser;
  await signIn(page, backend.url);
  await waitForServiceWorker(page);
  await bookFirstFreeSlot(page, 'follow-up, booked offline', { beforeConfirm: () => context.setOffline(true) });
  await page.getByTestId('booking-state').getByText('Waiting to sync.').waitFor({ timeout: 60_000 });
  const draft = await page.evaluate(() => JSON.parse(localStorage.getItem('lifeline.booking-draft')));
  assert.equal(draft.submission.state, 'queued');
  assert.ok(draft.submission.entry_id, 'the booking is an entry of the outbox');

  await page.reload();
  await page.getByTestId('booking-state').getByText('Waiting to sync.').waitFor();
  await page.getByTestId('banner').getByText(/1 change will be sent/).waitFor();

  await context.setOffline(false);
  await page.getByTestId('booking-state').getByText('Booked.').waitFor({ timeout: 60_000 });

  const appointments = await backend.apiGet('/api/appointments');
  const list = Array.isArray(appointments) ? appointments : appointments.items || appointments.appointments;
  const mine = list.filter((a) => a.slot_id === draft.slot.id && a.status !== 'cancelled');
  assert.equal(mine.length, 1, 'exactly one appointment for the slot');
  assert.equal(mine[0].reason, 'follow-up, booked offline');
});

test('a booking draft survives a reload', async () => {
  const { page } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Book' }).click();
  await page.getByRole('heading', { level: 2, name: 'Hospital', exact: true }).waitFor();
  await page.locator('ul.choices button').first().click();
  await page.getByRole('heading', { level: 2, name: 'Department', exact: true }).waitFor();
  const summary = await page.getByTestId('draft-summary').innerText();
  assert.ok(summary.length > 0);
  await page.reload();
  await page.getByRole('heading', { level: 2, name: 'Department', exact: true }).waitFor();
  assert.equal(await page.getByTestId('draft-summary').innerText(), summary);
});

test('the status page shows the network, the session, each service and the queue', async () => {
  const { page } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Status' }).click();
  await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();
  assert.equal(await page.getByTestId('network').innerText(), 'online');
  await page.getByTestId('session').getByText('active').waitFor();
  await page.getByRole('row', { name: /appointments working/ }).waitFor();
  await page.getByTestId('outbox').getByText('Nothing is waiting.').waitFor();
  await page.getByTestId('sdk-outbox').waitFor({ state: 'attached' });
  await page.getByText(/Using .* MB of .* available|does not report storage/).waitFor();
});

test('a licence number is verified against the registry', async () => {
  const { page } = browser;
  const entries = await backend.apiGet('/api/registry/search?q=a');
  const list = Array.isArray(entries) ? entries : entries.items || entries.results;
  assert.ok(list.length > 0, 'the demo registry has entries');
  await page.goto(`${backend.url}/registry`);
  await page.getByLabel('Licence number').fill(list[0].license_number);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verification').getByText(list[0].full_name, { exact: false }).waitFor();
  await page.getByLabel('Licence number').fill('NO-SUCH-LICENCE');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verification').getByText('No licence with this number is registered.').waitFor();
});

test('a pharmacy is found and nominated', async () => {
  const { page } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Pharmacies' }).click();
  const first = page.getByTestId('pharmacies').locator('li').first();
  await first.waitFor();
  const name = await first.locator('strong').innerText();
  await first.getByRole('button', { name: 'Nominate' }).click();
  await page.getByRole('status').getByText(`${name} is now your pharmacy.`).waitFor();
  await page.getByTestId('nominated').getByText(name).waitFor();
});

test('medical records open with the emailed one-time code, and a wrong code is explained', async () => {
  const { page } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Records' }).click();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await page.getByLabel('The 6-digit code from the email').waitFor();
  const mail = await (await fetch(`${backend.url}/__dev/mailbox?email=patient%40demo.lifeline`)).json();
  const code = mail[0].body.match(/\b(\d{6})\b/)[1];
  const wrong = code === '000000' ? '111111' : '000000';
  await page.getByLabel('The 6-digit code from the email').fill(wrong);
  await page.getByRole('button', { name: 'Open my records' }).click();
  await page.getByRole('alert').getByText(/That code is not right/).waitFor();
  await page.getByLabel('The 6-digit code from the email').fill(code);
  await page.getByRole('button', { name: 'Open my records' }).click();
  await page.getByRole('heading', { level: 2, name: 'Conditions' }).waitFor();
  await page.getByTestId('conditions').waitFor({ state: 'attached' });
});

test('a new service worker waits for the user, and "Update now" activates it', async () => {
  const { page } = browser;
  const swPath = join(ROOT, 'dist', 'sw.js');
  const original = readFileSync(swPath, 'utf8');
  try {
    await signIn(page, backend.url);
    await waitForServiceWorker(page);
    const firstWorker = await page.evaluate(() => navigator.serviceWorker.controller.scriptURL);
    // A new build: any change to sw.js is an update for the browser.
    writeFileSync(swPath, `${original}\n// next build\n`);
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.getByRole('alert').getByText('A new version of Lifeline is ready.').waitFor();
    await Promise.all([
      page.waitForEvent('load'),
      page.getByRole('button', { name: 'Update now' }).click(),
    ]);
    await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
    assert.equal(await page.getByText('A new version of Lifeline is ready.').count(), 0);
    const waiting = await page.evaluate(async () => Boolean((await navigator.serviceWorker.getRegistration()).waiting));
    assert.equal(waiting, false, 'the new worker took over');
    assert.ok(firstWorker.endsWith('/sw.js'));
  } finally {
    writeFileSync(swPath, original);
  }
});
