// A first visit (nothing cached, no service worker yet): the static shell is on screen before
// the app module has loaded, and when the module fails to load (a network or CDN failure) the
// shell says so and offers "Try again" instead of "starting" forever; the retry works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite } from './support.mjs';

const s = suite();

test('the app module failing to load is explained, and "Try again" starts the app', async () => {
  const { page, context } = s.browser;
  let blocked = 0;
  await context.route(/_bg\.wasm$/, (route) => { blocked += 1; return route.abort('connectionfailed'); });
  await page.goto(`${s.backend.url}/login`);
  const alert = page.getByRole('alert').filter({ hasText: 'Lifeline could not start' });
  await alert.waitFor();
  assert.equal(await page.getByText(/^Lifeline is starting/).isVisible(), false, 'no longer "starting"');
  assert.ok(blocked > 0, 'the module request was refused');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0);

  await context.unroute(/_bg\.wasm$/);
  await alert.getByRole('button', { name: 'Try again' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.locator('#shell').count(), 0, 'the shell is gone once the app is up');
  assert.equal(await page.getByRole('main').count(), 1, 'one main landmark');
});
