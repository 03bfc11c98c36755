// Shared pieces of the browser end-to-end tests: a real backend-mock on a free loopback
// port serving the built app from dist/, a fresh headless Chromium, chaos control and
// direct API calls for checking what the server really holds.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { before, after, beforeEach, afterEach } from 'node:test';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DEMO = { email: 'patient@demo.lifeline', password: 'demo-patient-pass' };
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BACKEND = process.env.BACKEND_MOCK || join(ROOT, 'target', 'debug', 'backend-mock');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A backend-mock process in dev mode with its own database; `stop()` and `start()` again
 * on the same port and database simulate an outage. */
export class Backend {
  static async start() {
    if (!existsSync(BACKEND)) throw new Error(`backend-mock not built at ${BACKEND}`);
    if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new Error('dist/ missing: run scripts/build-web');
    const b = new Backend();
    b.dir = mkdtempSync(join(tmpdir(), 'lifeline-e2e-'));
    b.port = await freePort();
    b.url = `http://127.0.0.1:${b.port}`;
    await b.start();
    return b;
  }

  async start() {
    this.proc = spawn(BACKEND, [
      '--dev', '--addr', `127.0.0.1:${this.port}`, '--database', join(this.dir, 'lifeline.db'),
      '--static-dir', join(ROOT, 'dist'),
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } });
    this.log = '';
    this.proc.stderr.on('data', (d) => { this.log += d; });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`backend-mock exited: ${this.log}`);
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch (_) { /* not up yet */ }
      await sleep(100);
    }
    throw new Error(`backend-mock did not start: ${this.log}`);
  }

  /** Whether the process runs and answers `/health`. */
  async healthy() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return false;
    try {
      return (await fetch(`${this.url}/health`)).ok;
    } catch (_) {
      return false;
    }
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const proc = this.proc;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    // Graceful shutdown waits for the browser's open connections: do not wait for them.
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Replaces the chaos rules (`[]` clears them). */
  async chaos(rules) {
    const r = await fetch(`${this.url}/__chaos`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }),
    });
    if (!r.ok) throw new Error(`chaos: ${r.status} ${await r.text()}`);
  }

  /** Signs in over HTTP and answers GET `path` as JSON. */
  async apiGet(path, who = DEMO) {
    const r = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${await this.token(who)}` } });
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.json();
  }

  /** Signs `who` in over HTTP and answers the access token. */
  async token(who = DEMO) {
    const login = await fetch(`${this.url}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: who.email, password: who.password }),
    });
    if (!login.ok) throw new Error(`login: ${login.status}`);
    return (await login.json()).access_token;
  }

  /** Registers a new patient over HTTP and answers their credentials. */
  async registerPatient() {
    const who = { email: `other-${randomUUID()}@example.org`, password: 'other-patient-pass', name: 'Other Patient' };
    const r = await fetch(`${this.url}/api/auth/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who),
    });
    if (!r.ok) throw new Error(`register: ${r.status} ${await r.text()}`);
    return who;
  }

  /** Books `slotId` over HTTP as `who`, with a fresh idempotency key; throws unless booked. */
  async bookOverHttp(slotId, who = DEMO) {
    const r = await fetch(`${this.url}/api/appointments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', authorization: `Bearer ${await this.token(who)}`,
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ slot_id: slotId }),
    });
    if (!r.ok) throw new Error(`booking over HTTP: ${r.status} ${await r.text()}`);
  }
}

/** A fresh headless Chromium with its own profile directory. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'lifeline-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    serviceWorkers: 'allow',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context, page, errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the login form and waits for the home page. */
export async function signIn(page, base, who = DEMO) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
}

/** Waits until a service worker controls the page. The predicate is synchronous on purpose:
 * waitForFunction takes a returned promise as truthy, so an async one would not wait at all. */
export async function waitForServiceWorker(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
}

/** Books the first free slot of the first hospital, department and doctor within the next
 * week through the booking pages, with `reason`, and answers the booking draft the app kept
 * (with its slot and idempotency key). Leaves the page on the booking's outcome.
 * `beforeConfirm` runs on the confirmation step, before "Confirm booking" is pressed. */
export async function bookFirstFreeSlot(page, reason, { beforeConfirm } = {}) {
  const pickFirst = async (heading) => {
    await page.getByRole('heading', { level: 2, name: heading, exact: true }).waitFor();
    await page.locator('ul.choices button').first().click();
  };
  await page.getByRole('link', { name: 'Book' }).click();
  await pickFirst('Hospital');
  await pickFirst('Department');
  await pickFirst('Doctor');
  let found = false;
  for (let day = 0; day < 7 && !found; day++) {
    await page.getByRole('heading', { level: 2, name: 'Day' }).waitFor();
    await page.locator('ul.choices button').nth(day).click();
    await page.getByRole('heading', { level: 2, name: 'Time' }).waitFor();
    await page.locator('ul.choices button, p:has-text("Nothing available here.")').first().waitFor();
    if (await page.locator('ul.choices button').count() > 0) {
      found = true;
    } else {
      await page.getByRole('button', { name: 'Back' }).click();
    }
  }
  if (!found) throw new Error('no free slot in the next week');
  await page.locator('ul.choices button').first().click();
  await page.getByLabel(/What is the visit about/).fill(reason);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).waitFor();
  if (beforeConfirm) await beforeConfirm();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await page.getByTestId('booking-state').first().waitFor();
  return page.evaluate(() => JSON.parse(localStorage.getItem('lifeline.booking-draft')));
}

/** Registers the usual hooks of a test file: one backend for the file (started again when a
 * test stopped it), `chaos` rules set before each test and cleared after it, a fresh browser
 * per test. Answers an object whose `backend` and `browser` are the current ones in a test. */
export function suite({ chaos = [] } = {}) {
  const s = { backend: null, browser: null };
  before(async () => { s.backend = await Backend.start(); });
  after(async () => { await s.backend?.close(); });
  beforeEach(async () => {
    if (!(await s.backend.healthy())) {
      await s.backend.stop();
      await s.backend.start();
    }
    await s.backend.chaos(chaos);
    s.browser = await launchBrowser();
  });
  afterEach(async () => {
    await s.browser?.close();
    s.browser = null;
    if (await s.backend.healthy()) await s.backend.chaos([]);
  });
  return s;
}

/** Every page of the app, by name: its path (`pay` needs an appointment waiting for payment)
 * and whether it needs a signed-in patient. */
export const PAGES = [
  { name: 'login', path: '/login', signedIn: false },
  { name: 'register', path: '/register', signedIn: false },
  { name: 'home', path: '/', signedIn: true },
  { name: 'book', path: '/book', signedIn: true },
  { name: 'appointments', path: '/appointments', signedIn: true },
  { name: 'pay', path: '/pay/:id', signedIn: true },
  { name: 'prescriptions', path: '/prescriptions', signedIn: true },
  { name: 'records', path: '/records', signedIn: true },
  { name: 'pharmacies', path: '/pharmacies', signedIn: true },
  { name: 'registry', path: '/registry', signedIn: true },
  { name: 'tracking', path: '/tracking', signedIn: true },
  { name: 'status', path: '/status', signedIn: true },
  { name: 'account', path: '/account', signedIn: true },
];

/** Opens `path` and waits until the page has rendered its data: a level-1 heading, no
 * request in flight and no "Loading …" placeholder. */
export async function openSettled(page, url) {
  await page.goto(url);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !/Loading[^\n]*…/.test(document.body.innerText));
}

/** Runs axe-core (every rule axe enables by default: WCAG 2.x A/AA and best practices) on every
 * page of `PAGES`, signing the demo patient in for the pages that need it. Answers
 * `{ page name: [{ id, impact, help, nodes: [selector, ...] }] }`. */
export async function axeEveryPage(page, backend) {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  const body = await backend.apiGet('/api/appointments');
  const list = Array.isArray(body) ? body : body.items || body.appointments;
  const pending = list.find((a) => a.status === 'pending_payment');
  if (!pending) throw new Error('the demo patient has no appointment waiting for payment');
  const found = {};
  const check = async (name) => {
    const result = await new AxeBuilder({ page }).analyze();
    found[name] = result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  };
  for (const p of PAGES.filter((p) => !p.signedIn)) {
    await openSettled(page, `${backend.url}${p.path}`);
    await check(p.name);
  }
  await signIn(page, backend.url);
  for (const p of PAGES.filter((p) => p.signedIn)) {
    await openSettled(page, `${backend.url}${p.path.replace(':id', pending.id)}`);
    await check(p.name);
  }
  return found;
}
