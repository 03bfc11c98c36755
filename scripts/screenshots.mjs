// Screenshots of the main pages for the README: `node scripts/screenshots.mjs` after
// scripts/build-web and `cargo build -p backend-mock`. Writes docs/screenshots/*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Backend, ROOT, launchBrowser, signIn } from '../tests/e2e/support.mjs';

const out = join(ROOT, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const backend = await Backend.start();
const browser = await launchBrowser();
const { page } = browser;
try {
  await page.setViewportSize({ width: 1100, height: 800 });
  await signIn(page, backend.url);
  await page.getByRole('heading', { name: 'Next appointments' }).waitFor();
  await page.screenshot({ path: join(out, 'home.png') });
  for (const [path, file] of [['/book', 'book.png'], ['/appointments', 'appointments.png'], ['/tracking', 'tracking.png'], ['/status', 'status.png'], ['/prescriptions', 'prescriptions.png'], ['/account', 'account.png']]) {
    await page.goto(`${backend.url}${path}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(out, file) });
  }
  // The same app with the appointments API down: cached data with its age, and the banner.
  await backend.chaos([{ prefix: '/api', error_rate: 1.0, status: 503 }]);
  await page.goto(`${backend.url}/appointments`);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: join(out, 'outage.png') });
  await backend.chaos([]);
} finally {
  await browser.close();
}
// A first visit whose app module does not load: the static shell says so and offers a retry.
const fresh = await launchBrowser();
try {
  await fresh.page.setViewportSize({ width: 1100, height: 500 });
  await fresh.context.route(/_bg\.wasm$/, (route) => route.abort('connectionfailed'));
  await fresh.page.goto(`${backend.url}/login`);
  await fresh.page.getByRole('button', { name: 'Try again' }).waitFor();
  await fresh.page.screenshot({ path: join(out, 'first-visit-failed.png') });
} finally {
  await fresh.close();
  await backend.stop();
}
