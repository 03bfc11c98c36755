// Rescheduling in a real browser against a real backend-mock: the chosen slot is taken
// meanwhile, the app says so and offers the server's alternatives, and one of them works.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Backend, DEMO, launchBrowser, signIn } from './support.mjs';

let backend;
let browser;

before(async () => { backend = await Backend.start(); });
after(async () => { await backend?.close(); });
beforeEach(async () => { browser = await launchBrowser(); });
afterEach(async () => { await browser?.close(); });

async function bookOverHttp(slotId) {
  const login = await fetch(`${backend.url}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DEMO),
  });
  const { access_token } = await login.json();
  const r = await fetch(`${backend.url}/api/appointments`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', authorization: `Bearer ${access_token}`,
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ slot_id: slotId }),
  });
  assert.ok(r.ok, `booking over HTTP: ${r.status} ${await r.text()}`);
}

test('reschedule: a slot taken meanwhile offers alternatives, and one of them works', async () => {
  const { page, errors } = browser;
  await signIn(page, backend.url);
  await page.getByRole('link', { name: 'Appointments' }).click();
  const card = page.getByTestId('appointments').locator('li', { hasText: 'confirmed' }).first();
  await card.getByRole('button', { name: 'Reschedule' }).click();
  const panel = page.getByTestId('reschedule');
  const first = panel.getByTestId('free-slots').locator('button').first();
  await first.waitFor();
  const taken = await first.getAttribute('data-slot');
  await bookOverHttp(taken);

  await first.click();
  await panel.getByRole('alert').getByText(/^slot taken — pick another/).waitFor();
  const alternative = panel.getByTestId('alternatives').locator('button').first();
  await alternative.waitFor();
  const chosen = await alternative.getAttribute('data-slot');
  assert.notEqual(chosen, taken);
  await alternative.click();
  await page.getByRole('status').getByText(/^Rescheduled to/).waitFor();

  const list = await backend.apiGet('/api/appointments');
  const items = Array.isArray(list) ? list : list.items || list.appointments;
  assert.ok(items.some((a) => a.slot_id === chosen && a.status !== 'cancelled'), 'moved to the alternative');
  assert.deepEqual(errors, []);
});
