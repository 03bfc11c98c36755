// The payments API failing while appointments work, in a real browser against a real
// backend-mock: chaos answers 503 on /api/payments only. The patient still books and cancels
// appointments, the pay page says the payment could not be started and offers "Try again" and
// "Pay later" (nothing is marked paid), and the status page shows the payments breaker open
// while the appointments breaker stays closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn, bookFirstFreeSlot } from './support.mjs';

const s = suite({ chaos: [{ prefix: '/api/payments', status: 503 }] });

async function appointmentsList() {
  const body = await s.backend.apiGet('/api/appointments');
  return Array.isArray(body) ? body : body.items || body.appointments;
}

/** How many requests the /api/payments rule answered with an injected error so far. */
async function paymentsFaults() {
  const doc = await (await fetch(`${s.backend.url}/__chaos`)).json();
  const rule = doc.rules.find((r) => r.prefix === '/api/payments');
  return rule.stats.errors;
}

test('payments down: booking and cancelling still work, paying says so and offers a way on', async () => {
  const { page, errors } = s.browser;
  await signIn(page, s.backend.url);

  // Booking goes through the appointments API, which is healthy.
  const booked = await bookFirstFreeSlot(page, 'booked while payments are down');
  await page.getByTestId('booking-state').getByText('Booked.').waitFor({ timeout: 30_000 });
  const afterBooking = await appointmentsList();
  const mine = afterBooking.filter((a) => a.slot_id === booked.slot.id && a.status !== 'cancelled');
  assert.equal(mine.length, 1, 'the booking reached the server once');
  assert.equal(mine[0].reason, 'booked while payments are down');

  // Paying for an appointment waiting for payment: the payments API answers 503.
  const pending = afterBooking.find((a) => a.status === 'pending_payment');
  assert.ok(pending, 'the demo patient has an appointment waiting for payment');
  const faultsBefore = await paymentsFaults();
  await page.getByRole('link', { name: 'Appointments', exact: true }).click();
  await page.locator(`a[href="/pay/${pending.id}"]`).click();
  await page.getByRole('heading', { level: 1, name: 'Pay for your appointment' }).waitFor();
  await page.getByTestId('pay-appointment').waitFor();
  await page.getByRole('button', { name: 'Pay now' }).click();
  const state = page.getByTestId('pay-state');
  await state.getByText(/^The payment could not be started:/).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('iframe[title="LifelinePay checkout"]').count(), 0, 'no checkout opened');
  await page.getByRole('button', { name: 'Try again' }).waitFor();
  await page.getByRole('button', { name: 'Pay later' }).click();
  await state.getByText(/You can pay later from your appointments/).waitFor();
  await page.getByRole('link', { name: 'See your appointments' }).waitFor();
  assert.ok(await paymentsFaults() > faultsBefore, 'the app really asked the payments API');
  const stillPending = (await appointmentsList()).find((a) => a.id === pending.id);
  assert.equal(stillPending.status, 'pending_payment', 'nothing was marked paid');

  // Cancelling goes through the appointments API: the unpaid appointment can still be cancelled.
  await page.getByRole('link', { name: 'Appointments', exact: true }).click();
  const card = page.getByTestId('appointments').locator('li', { has: page.locator(`a[href="/pay/${pending.id}"]`) });
  await card.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('status').getByText('Appointment cancelled.').waitFor({ timeout: 30_000 });
  await page.locator(`a[href="/pay/${pending.id}"]`).waitFor({ state: 'detached' });
  const cancelled = (await appointmentsList()).find((a) => a.id === pending.id);
  assert.equal(cancelled.status, 'cancelled');

  // The status page: payments paused, appointments working.
  await page.getByRole('link', { name: 'Status' }).click();
  await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();
  await page.getByRole('row', { name: /^payments paused after failures/ }).waitFor();
  await page.getByRole('row', { name: /^appointments working$/ }).waitFor();
  assert.deepEqual(errors, []);
});
