// A booking queued offline whose slot another patient takes before it is sent: when the
// network returns, the draft turns into "slot taken" with the server's alternatives, and
// picking one books it. The patient ends with exactly one appointment, on the alternative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn, waitForServiceWorker, bookFirstFreeSlot } from './support.mjs';

const s = suite();

test('a queued booking whose slot is taken meanwhile offers alternatives, and one of them books', async () => {
  const { page, context, errors } = s.browser;
  await signIn(page, s.backend.url);
  await waitForServiceWorker(page);

  const draft = await bookFirstFreeSlot(page, 'slot taken while queued', {
    beforeConfirm: () => context.setOffline(true),
  });
  await page.getByTestId('booking-state').getByText('Waiting to sync.').waitFor({ timeout: 60_000 });
  const taken = draft.slot.id;
  await s.backend.bookOverHttp(taken, await s.backend.registerPatient());

  await context.setOffline(false);
  await page.getByRole('alert').getByText('That slot was just taken. Pick another time.')
    .waitFor({ timeout: 60_000 });
  const alternatives = page.locator('h2:has-text("Other free times") + ul.choices button');
  await alternatives.first().waitFor();
  assert.ok(await alternatives.count() > 0, 'the server offered alternatives');
  await alternatives.first().click();
  const chosen = await page.evaluate(() => JSON.parse(localStorage.getItem('lifeline.booking-draft')).slot.id);
  assert.notEqual(chosen, taken);

  // The reason typed before is kept; the patient confirms again.
  await page.getByLabel(/What is the visit about/).waitFor();
  assert.equal(await page.getByLabel(/What is the visit about/).inputValue(), 'slot taken while queued');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await page.getByTestId('booking-state').getByText('Booked.').waitFor({ timeout: 60_000 });

  const list = await s.backend.apiGet('/api/appointments');
  const items = (Array.isArray(list) ? list : list.items || list.appointments)
    .filter((a) => a.status !== 'cancelled');
  assert.equal(items.filter((a) => a.slot_id === taken).length, 0, 'nothing booked on the taken slot');
  const mine = items.filter((a) => a.slot_id === chosen);
  assert.equal(mine.length, 1, 'exactly one appointment, on the alternative');
  assert.equal(mine[0].reason, 'slot taken while queued');
  assert.deepEqual(errors, []);
});
