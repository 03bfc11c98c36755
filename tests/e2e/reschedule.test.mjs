// Rescheduling in a real browser against a real backend-mock: the chosen slot is taken
// meanwhile, the app says so and offers the server's alternatives, and one of them works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn } from './support.mjs';

const s = suite();

test('reschedule: a slot taken meanwhile offers alternatives, and one of them works', async () => {
  const { page, errors } = s.browser;
  await signIn(page, s.backend.url);
  await page.getByRole('link', { name: 'Appointments' }).click();
  const card = page.getByTestId('appointments').locator('li', { hasText: 'confirmed' }).first();
  await card.getByRole('button', { name: 'Reschedule' }).click();
  const panel = page.getByTestId('reschedule');
  const first = panel.getByTestId('free-slots').locator('button').first();
  await first.waitFor();
  const taken = await first.getAttribute('data-slot');
  await s.backend.bookOverHttp(taken);

  await first.click();
  await panel.getByRole('alert').getByText(/^slot taken — pick another/).waitFor();
  const alternative = panel.getByTestId('alternatives').locator('button').first();
  await alternative.waitFor();
  const chosen = await alternative.getAttribute('data-slot');
  assert.notEqual(chosen, taken);
  await alternative.click();
  await page.getByRole('status').getByText(/^Rescheduled to/).waitFor();

  const list = await s.backend.apiGet('/api/appointments');
  const items = Array.isArray(list) ? list : list.items || list.appointments;
  assert.ok(items.some((a) => a.slot_id === chosen && a.status !== 'cancelled'), 'moved to the alternative');
  assert.deepEqual(errors, []);
});
