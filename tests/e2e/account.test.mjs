// The account page in a real browser against backend-mock: profile edits are checked before
// anything is sent and saved only when valid, the primary hospital is chosen, and signing out
// warns first when a queued change would be deleted, and takes the patient's health-tracking
// history off the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn, bookFirstFreeSlot } from './support.mjs';

const s = suite();

async function openAccount(page) {
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
  await page.getByLabel('Full name').waitFor();
}

test('a profile edit is checked first, then saved; the primary hospital is chosen', async () => {
  const { page, errors } = s.browser;
  await signIn(page, s.backend.url);
  await openAccount(page);
  const before = await s.backend.apiGet('/api/profile');

  await page.getByLabel('Phone (optional)').fill('12');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Enter a phone number of 7 to 15 digits').waitFor();
  assert.equal((await s.backend.apiGet('/api/profile')).phone, before.phone, 'nothing was sent');

  await page.getByLabel('Phone (optional)').fill('+234 800 000 0001');
  await page.getByLabel('Gender (optional)').selectOption('unspecified');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByTestId('profile-outcome').getByText('Saved.').waitFor();
  const after = await s.backend.apiGet('/api/profile');
  assert.equal(after.phone, '+234 800 000 0001');
  assert.equal(after.gender, 'unspecified');
  assert.equal(after.name, before.name, 'untouched fields are not changed');

  const choice = page.getByRole('button', { name: /^Make .* my primary hospital$/ }).first();
  const label = await choice.innerText();
  const chosen = label.replace(/^Make /, '').replace(/ \(.*$/, '');
  await choice.click();
  await page.getByTestId('primary-hospital').getByText(`Your primary hospital is ${chosen}.`).waitFor();
  const primary = await s.backend.apiGet('/api/user/primary-hospital');
  assert.equal(primary.hospital.name, chosen);
  assert.deepEqual(errors, []);
});

test('signing out warns about a queued booking, and "Stay signed in" keeps it', async () => {
  const { page } = s.browser;
  await signIn(page, s.backend.url);
  // Booking requests fail (503) while everything else works: the booking stays queued.
  await s.backend.chaos([{ prefix: '/api/appointments', methods: ['POST'], status: 503 }]);
  const draft = await bookFirstFreeSlot(page, 'queued, then signed out');
  await page.getByTestId('booking-state').getByText('Waiting to sync.').waitFor({ timeout: 60_000 });

  await openAccount(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  const warning = page.getByTestId('signout-warning');
  await warning.getByText('1 change has not been sent yet.').waitFor();
  await page.getByRole('button', { name: 'Stay signed in' }).click();
  await warning.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Status' }).click();
  await page.getByTestId('outbox').getByText('1 change waiting to be sent.').waitFor();

  await openAccount(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign out and delete them' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();

  // Signed in again after the outage: the deleted booking is not sent.
  await s.backend.chaos([]);
  await signIn(page, s.backend.url);
  await page.getByRole('link', { name: 'Status' }).click();
  await page.getByTestId('outbox').getByText('Nothing is waiting.').waitFor();
  const appointments = await s.backend.apiGet('/api/appointments');
  const list = Array.isArray(appointments) ? appointments : appointments.items || appointments.appointments;
  assert.equal(list.filter((a) => a.slot_id === draft.slot.id).length, 0, 'the deleted booking never reached the server');
});

const trackingKeys = (page) => page.evaluate(
  () => Object.keys(localStorage).filter((k) => k.startsWith('lifeline.tracking.')));

/** Records a kick session of two kicks and waits until it is synced. */
async function recordKicks(page) {
  await page.getByRole('link', { name: 'Tracking' }).click();
  await page.getByRole('button', { name: 'Start counting' }).click();
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Kick', exact: true }).click();
  await page.getByRole('button', { name: 'Finish session' }).click();
  await page.getByTestId('tracking-kick-sessions').getByText(/2 kicks · Synced/).waitFor({ timeout: 60_000 });
  assert.notDeepEqual(await trackingKeys(page), [], 'kept on the device while signed in');
}

test('signing out takes the tracking history off the device; the server gives it back', async () => {
  const { page, errors } = s.browser;
  const list = page.getByTestId('tracking-kick-sessions');
  await signIn(page, s.backend.url);
  await recordKicks(page);

  await openAccount(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  assert.deepEqual(await trackingKeys(page), [], 'nothing left for the next person on this device');
  assert.equal(await page.evaluate(() => localStorage.getItem('lifeline.booking-draft')), null,
    'no booking draft either, not even an empty one');

  await signIn(page, s.backend.url);
  await page.getByRole('link', { name: 'Tracking' }).click();
  await list.getByText(/2 kicks · Synced/).waitFor({ timeout: 30_000 });
  assert.deepEqual(errors, []);
});

test('another patient signing in after a session ended without sign-out finds none of its data', async () => {
  const { page, context } = s.browser;
  await signIn(page, s.backend.url);
  await recordKicks(page);

  // The session ends without signing out (the refresh cookie is gone): the app asks to sign in.
  await context.clearCookies();
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: 30_000 });
  assert.notDeepEqual(await trackingKeys(page), [], 'still there for its owner');

  const other = await s.backend.registerPatient();
  await signIn(page, s.backend.url, other);
  assert.deepEqual(await trackingKeys(page), [], 'the first patient\'s history is gone');
  await page.getByRole('link', { name: 'Tracking' }).click();
  await page.getByRole('heading', { level: 1, name: 'Health tracking' }).waitFor();
  assert.equal(await page.getByTestId('tracking-kick-sessions').getByText(/kicks ·/).count(), 0);
});
