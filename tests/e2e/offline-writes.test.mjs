// Writes made offline go through the SDK outbox: a refill order and a cancellation made with
// the network off are saved on the device, counted in the banner, and sent exactly once when
// the network returns, in a real browser against backend-mock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn } from './support.mjs';

const s = suite();

async function list(path) {
  const body = await s.backend.apiGet(path);
  return Array.isArray(body) ? body : body.items || body.appointments || body.prescriptions;
}

test('a refill and a cancellation made offline are sent once when the network returns', async () => {
  const { page, context, errors } = s.browser;
  await signIn(page, s.backend.url);
  // A refill goes to the nominated pharmacy: nominate one first.
  await page.getByRole('link', { name: 'Pharmacies' }).click();
  const pharmacy = page.getByTestId('pharmacies').locator('li').first();
  await pharmacy.getByRole('button', { name: 'Nominate' }).click();
  await page.getByRole('status').getByText(/is now your pharmacy/).waitFor();

  const prescription = (await list('/api/prescriptions')).find((p) => !p.order);
  assert.ok(prescription, 'the demo patient has a prescription to refill');
  assert.ok((await list('/api/appointments')).some((a) => a.status === 'confirmed'),
    'the demo patient has a confirmed appointment');
  const orderedBefore = (await list('/api/prescriptions')).filter((p) => p.order).length;
  const cancelledBefore = (await list('/api/appointments')).filter((a) => a.status === 'cancelled').length;

  // Visit both pages online so they are cached, then lose the network.
  await page.getByRole('link', { name: 'Appointments', exact: true }).click();
  await page.getByTestId('appointments').waitFor();
  await page.getByRole('link', { name: 'Prescriptions' }).click();
  const refill = page.getByRole('button', { name: 'Order refill' }).first();
  await refill.waitFor();
  await context.setOffline(true);

  await refill.click();
  await page.getByRole('status').getByText(/Refill order saved on this device/).waitFor();
  await page.getByRole('link', { name: 'Appointments', exact: true }).click();
  const card = page.getByTestId('appointments').locator('li', { hasText: /confirmed/ }).first();
  await card.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('status').getByText(/Cancellation saved on this device/).waitFor();
  await page.getByTestId('banner').getByText(/2 changes will be sent/).waitFor();
  assert.equal((await list('/api/prescriptions')).filter((p) => p.order).length, orderedBefore,
    'nothing was sent while offline');

  await context.setOffline(false);
  await page.getByRole('status').getByText('Appointment cancelled.').waitFor({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Prescriptions' }).click();
  await page.getByRole('link', { name: 'Status' }).click();
  await page.getByTestId('outbox').getByText('Nothing is waiting.').waitFor({ timeout: 60_000 });

  const ordered = (await list('/api/prescriptions')).filter((p) => p.order).length;
  assert.equal(ordered, orderedBefore + 1, 'the refill reached the server once');
  const cancelled = (await list('/api/appointments')).filter((a) => a.status === 'cancelled').length;
  assert.equal(cancelled, cancelledBefore + 1, 'the cancellation reached the server once');
  assert.deepEqual(errors, []);
});
