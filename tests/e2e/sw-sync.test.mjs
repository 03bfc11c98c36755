// Background Sync in a real browser against a real backend-mock: the service worker sends the
// SDK's queued writes itself, with no page of the app open, restoring the session from the
// refresh cookie; and a page and the worker refreshing at the same moment never present the
// same rotating refresh token (which would revoke the session).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Backend, launchBrowser, signIn, waitForServiceWorker } from './support.mjs';

let backend;
let browser;

before(async () => { backend = await Backend.start(); });
after(async () => { await backend?.close(); });
beforeEach(async () => {
  await backend.chaos([]);
  browser = await launchBrowser();
});
afterEach(async () => { await browser?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SYNC_TAG = 'lifeline-outbox';
const KICKS = '/api/health-tracking/kick-sessions';
const WRITES_FAIL = { prefix: '/api/health-tracking', methods: ['POST'], status: 503 };

/** Rule counters of the chaos layer, by prefix: how many requests each rule matched. */
async function chaosMatched() {
  const doc = await (await fetch(`${backend.url}/__chaos`)).json();
  return Object.fromEntries(doc.rules.map((r) => [r.prefix, r.stats.matched]));
}

async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(200);
  }
}

/** Dispatches a Background Sync event to the app's worker through the DevTools protocol,
 * from a blank page of another origin: no page of the app is open meanwhile. */
async function syncDispatcher(context) {
  const blank = await context.newPage();
  const cdp = await context.newCDPSession(blank);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  const scope = `${backend.url}/`;
  const registrationId = await waitFor(
    () => `the worker registration (seen: ${[...registrations.keys()].join(', ') || 'none'})`,
    () => registrations.get(scope),
  );
  return {
    blank,
    async dispatch() {
      await cdp.send('ServiceWorker.dispatchSyncEvent', {
        origin: backend.url, registrationId, tag: SYNC_TAG, lastChance: false,
      });
    },
  };
}

/** The states of the SDK outbox's entries, read from the page's IndexedDB store. */
async function outboxStates(page) {
  return page.evaluate(() => new Promise((ok, fail) => {
    const open = indexedDB.open('lifeline');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const all = open.result.transaction('outbox').objectStore('outbox').getAll();
      all.onerror = () => fail(all.error);
      all.onsuccess = () => {
        const entries = all.result.map((bytes) => JSON.parse(new TextDecoder().decode(bytes)));
        open.result.close();
        ok(entries.map((e) => e.status.state));
      };
    };
  }));
}

/** Signs in and records a session of `kicks` kicks on the tracking page while the server
 * fails every tracking write: the page's own attempt fails and the entry stays queued. Each
 * test records its own number, as the server keeps the sessions of earlier tests. Answers
 * how many sessions the server held before. */
async function queueKicks(page, kicks) {
  const already = (await serverKicks()).length;
  await signIn(page, backend.url);
  await waitForServiceWorker(page);
  await backend.chaos([WRITES_FAIL]);
  await page.getByRole('link', { name: 'Tracking' }).click();
  await page.getByRole('heading', { level: 1, name: 'Health tracking' }).waitFor();
  await page.getByRole('button', { name: 'Start counting' }).click();
  for (let i = 0; i < kicks; i++) await page.getByRole('button', { name: 'Kick', exact: true }).click();
  await page.getByTestId('kick-count').getByText(`${kicks} kicks`).waitFor();
  await page.getByRole('button', { name: 'Finish session' }).click();
  await page.getByTestId('tracking-kick-sessions')
    .getByText(`${kicks} kicks · Saved on this device, waiting to sync`).waitFor();
  await waitFor('the page attempt', async () => (await chaosMatched())[WRITES_FAIL.prefix] >= 1);
  return already;
}

/** The demo patient's kick sessions on the server (the backend is shared by the tests). */
async function serverKicks() {
  return (await backend.apiGet(KICKS)).items;
}

test('the worker sends a queued write with every page closed, once the session and server allow', async () => {
  const { page, context } = browser;
  const already = await queueKicks(page, 3);
  const sync = await syncDispatcher(context);
  await page.close();
  assert.deepEqual(context.pages(), [sync.blank], 'no page of the app is open');

  // No session can be confirmed (refresh answers 503): the worker sends nothing.
  const REFRESH_FAILS = { prefix: '/api/auth/refresh', status: 503 };
  await backend.chaos([REFRESH_FAILS, WRITES_FAIL]);
  await sync.dispatch();
  await waitFor('the worker refresh', async () => (await chaosMatched())[REFRESH_FAILS.prefix] >= 1);
  await sleep(2_000);
  assert.equal((await chaosMatched())[WRITES_FAIL.prefix], 0, 'no write without a confirmed session');
  assert.equal((await serverKicks()).length, already);

  // The server is back: the worker restores the session from the cookie and sends the write.
  await backend.chaos([]);
  await sync.dispatch();
  await waitFor('the write on the server', async () => (await serverKicks()).length > already);
  await sleep(1_000);
  const items = await serverKicks();
  assert.equal(items.length, already + 1, 'exactly one new session on the server');
  assert.equal(items.at(-1).data.kicks, 3);

  // Opening the app shows it confirmed, from the outbox the worker updated.
  const reopened = await context.newPage();
  await reopened.goto(`${backend.url}/tracking`);
  assert.deepEqual(await outboxStates(reopened), ['confirmed']);
  await reopened.getByTestId('tracking-kick-sessions').getByText('3 kicks · Synced').waitFor();
  await reopened.goto(`${backend.url}/status`);
  await reopened.getByTestId('session').getByText('active').waitFor();
});

test('an open page hears the worker confirm its queued write', async () => {
  const { page, context } = browser;
  const already = await queueKicks(page, 4);

  const sync = await syncDispatcher(context);
  await backend.chaos([]);
  await sync.dispatch();
  // The page did not send it (its breaker is open, its timer far off): the worker did, and
  // the page learnt it over the outbox's broadcast channel.
  await page.getByTestId('tracking-kick-sessions').getByText('4 kicks · Synced').waitFor({ timeout: 20_000 });
  const items = await serverKicks();
  assert.equal(items.length, already + 1);
  assert.equal(items.at(-1).data.kicks, 4);
});

test('a page and the worker refreshing at once never revoke the session', async () => {
  const { page, context } = browser;
  const already = await queueKicks(page, 5);
  const sync = await syncDispatcher(context);

  // Every refresh takes 1.5 s: the page's (on reload) and the worker's (on sync) overlap.
  // Sent together with the same cookie, the second would be taken as token theft.
  const SLOW_REFRESH = { prefix: '/api/auth/refresh', latency_ms: 1_500 };
  await backend.chaos([SLOW_REFRESH]);
  await Promise.all([page.goto(`${backend.url}/status`), sync.dispatch()]);
  await waitFor('both refreshes', async () => (await chaosMatched())[SLOW_REFRESH.prefix] >= 2);
  await page.getByTestId('session').getByText('active').waitFor();
  await waitFor('the write on the server', async () => (await serverKicks()).length > already);

  // The session is still good for the next refresh.
  await backend.chaos([]);
  await page.reload();
  await page.getByTestId('session').getByText('active').waitFor();
  assert.equal((await serverKicks()).length, already + 1);
});
