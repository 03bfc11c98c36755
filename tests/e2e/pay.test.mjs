// Paying for an appointment in a real browser against a real backend-mock and its built-in
// payment provider: a blocked provider script is explained with "Try again" and "Pay later",
// a payment with the test card ends confirmed, and a declined card is said to be declined.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Backend, launchBrowser, signIn } from './support.mjs';

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

async function appointmentsList() {
  const body = await backend.apiGet('/api/appointments');
  return Array.isArray(body) ? body : body.items || body.appointments;
}

/** Opens the pay page of the demo patient's appointment waiting for payment. */
async function openPayPage(page) {
  const pending = (await appointmentsList()).find((a) => a.status === 'pending_payment');
  assert.ok(pending, 'the demo patient has an appointment waiting for payment');
  await page.getByRole('link', { name: 'Appointments' }).click();
  await page.locator(`a[href="/pay/${pending.id}"]`).click();
  await page.getByRole('heading', { level: 1, name: 'Pay for your appointment' }).waitFor();
  await page.getByTestId('pay-appointment').waitFor();
  return pending;
}

test('provider script blocked: a clear message with "Try again" and "Pay later"', async () => {
  const { page, context, errors } = browser;
  await context.route('**/provider/inline.js', (route) => route.abort());
  await signIn(page, backend.url);
  await openPayPage(page);
  await page.getByRole('button', { name: 'Pay now' }).click();
  const state = page.getByTestId('pay-state');
  await state.getByText(/payment service could not be loaded/).waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Try again' }).waitFor();
  await page.getByRole('button', { name: 'Pay later' }).click();
  await state.getByText(/You can pay later/).waitFor();
  assert.deepEqual(errors, []);
});

test('pay with the test card: confirmed, and the appointment is booked', async () => {
  const { page, errors } = browser;
  await signIn(page, backend.url);
  const pending = await openPayPage(page);
  await page.getByRole('button', { name: 'Pay now' }).click();
  const checkout = page.frameLocator('iframe[title="LifelinePay checkout"]');
  await checkout.locator('#card').fill('4084084084084081');
  await checkout.getByRole('button', { name: 'Pay' }).click();
  await page.getByTestId('pay-state')
    .getByText('Payment confirmed — your appointment is booked').waitFor({ timeout: 60_000 });
  const after = (await appointmentsList()).find((a) => a.id === pending.id);
  assert.equal(after.status, 'confirmed');
  // A reload finds nothing left to confirm.
  await page.reload();
  await page.getByText(/This appointment is confirmed; there is nothing to pay/).waitFor();
  assert.deepEqual(errors, []);
});
