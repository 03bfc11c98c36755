// The one-time code of the medical records locks after 5 wrong codes, in a real browser against
// a real backend-mock: each wrong code says how many tries are left, the records page then says
// they are locked and when to try again, and the right code typed during the lock is refused
// (no records shown, the server still locked), never a fake success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, signIn, DEMO } from './support.mjs';

const s = suite();

/** The codes mailed to the demo patient so far, newest first. */
async function mailedCodes() {
  const mail = await (await fetch(`${s.backend.url}/__dev/mailbox?email=${encodeURIComponent(DEMO.email)}`)).json();
  return mail.map((m) => m.body.match(/\b(\d{6})\b/)[1]);
}

/** Asks for a new code over HTTP as the demo patient: the status, error code and Retry-After. */
async function requestCodeOverHttp() {
  const r = await fetch(`${s.backend.url}/api/medical-records/request-otp`, {
    method: 'POST', headers: { authorization: `Bearer ${await s.backend.token()}` },
  });
  const body = await r.json();
  return { status: r.status, code: body.error?.code, retryAfter: Number(r.headers.get('retry-after')) };
}

/** Opens the records page, asks for a code and answers the mailed code, the code field and
 * the page's alert. */
async function codeForm(page) {
  await page.getByRole('link', { name: 'Records' }).click();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const input = page.getByLabel('The 6-digit code from the email');
  await input.waitFor();
  const [code] = await mailedCodes();
  return { code, input, alert: page.getByRole('alert') };
}

/** Submits `value` and answers the text of the alert the page shows for it: a new alert
 * element, not the one of an earlier answer (the page removes its alert while checking). */
async function submitCode(page, input, value) {
  await page.evaluate(() => document.querySelectorAll('[role="alert"]').forEach((a) => { a.dataset.seen = '1'; }));
  await input.fill(value);
  await page.getByRole('button', { name: 'Open my records' }).click();
  const fresh = page.locator('[role="alert"]:not([data-seen])');
  await fresh.waitFor();
  return fresh.innerText();
}

const TRIES_LEFT = /That code is not right\. Check the latest email: (\d+) tr(?:y is|ies are) left before records are locked\./;

test('5 wrong codes lock the records: the page says until when, and the right code is refused', async () => {
  const { page, errors } = s.browser;
  await signIn(page, s.backend.url);
  const { code, input, alert } = await codeForm(page);
  const wrong = code === '000000' ? '111111' : '000000';

  // Each wrong code costs one try and says how many are left; the 5th locks.
  const LOCK = /^Too many wrong codes\. To protect your records, codes are locked: try again in 15 minutes \(at (\d\d:\d\d)\)\. No code is accepted until then\.$/;
  for (let left = 4; left >= 1; left--) {
    const text = await submitCode(page, input, wrong);
    assert.match(text, TRIES_LEFT);
    assert.equal(Number(text.match(TRIES_LEFT)[1]), left, text);
  }
  const shown = await submitCode(page, input, wrong);
  assert.match(shown, LOCK);
  // The clock time is the browser's local time 15 minutes from now.
  const expected = await page.evaluate(() => {
    const at = new Date(Date.now() + 15 * 60_000);
    return [at, new Date(at.getTime() - 60_000)]
      .map((d) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`);
  });
  assert.ok(expected.includes(shown.match(LOCK)[1]), `${shown} names ${expected.join(' or ')}`);

  // The right code during the lock: the server refuses it, the page explains, no records.
  const refused = page.waitForResponse((r) => r.url().endsWith('/api/medical-records/verify-otp'));
  assert.match(await submitCode(page, input, code), /^Too many wrong codes\. .*try again in 1[45] minutes/);
  assert.equal((await refused).status(), 429);
  assert.equal(await page.getByRole('heading', { level: 2, name: 'Conditions' }).count(), 0, 'no records shown');
  assert.equal(await page.getByTestId('conditions').count(), 0);
  // Once more: whatever refuses it (the server, or the records breaker opened by its answers),
  // the page still says when to try again rather than blaming the network.
  assert.match(await submitCode(page, input, code), /^Too many wrong codes\. .*try again in 1[45] minutes/);
  assert.equal(await page.getByTestId('conditions').count(), 0, 'still no records');
  assert.equal(await alert.count(), 1, 'one message');

  // The server agrees: verification is locked for about 15 minutes.
  const locked = await requestCodeOverHttp();
  assert.equal(locked.status, 429);
  assert.equal(locked.code, 'otp_locked');
  assert.ok(locked.retryAfter > 14 * 60 && locked.retryAfter <= 15 * 60, `Retry-After ${locked.retryAfter}`);
  assert.deepEqual(errors, []);
});
