// The npm package in a real browser: a Vite build of ./page served by backend-mock
// (--static-dir, same origin as the API), driven in headless Chromium through playwright-core.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";
import { build } from "vite";

import { DEMO_PATIENT, serverAppointments, setChaos, startBackend } from "../support/backend.mjs";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

let outDir, backend, browser, page;
before(async () => {
  outDir = mkdtempSync(join(tmpdir(), "lifeline-vite-"));
  await build({
    root: join(import.meta.dirname, "page"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
  backend = await startBackend({ staticDir: outDir });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
  page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(`${backend.url}/`);
  await page.waitForSelector("#status[data-ready]");
  assert.match(await page.textContent("#status"), /^ready \(anonymous\)$/);
});
after(async () => {
  await browser?.close();
  await backend?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

test("the page loads the wasm and signs in", async () => {
  const user = await page.evaluate(
    ({ email, password }) => window.lifeline.client.auth.login(email, password),
    DEMO_PATIENT,
  );
  assert.equal(user.email, DEMO_PATIENT.email);
  assert.equal(await page.evaluate(() => window.lifeline.client.sessionState()), "active");
});

test("a read during an outage answers the cached copy with its age", async () => {
  const fresh = await page.evaluate(() => window.lifeline.client.appointments.list());
  assert.equal(fresh.freshness.state, "fresh");
  await setChaos(backend.url, [{ prefix: "/api/appointments", status: 503 }]);
  try {
    const stale = await page.evaluate(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return window.lifeline.client.appointments.list();
    });
    assert.equal(stale.freshness.state, "stale");
    assert.ok(stale.freshness.ageMs >= 20, `age ${stale.freshness.ageMs}`);
    assert.deepEqual(stale.value, fresh.value);
    const error = await page.evaluate(async () => {
      try {
        await window.lifeline.client.appointments.list({ status: "cancelled" });
        return null;
      } catch (e) {
        return {
          isError: e instanceof Error,
          lifeline: window.lifeline.isLifelineError(e),
          status: e.status,
          retryable: e.isRetryable(),
        };
      }
    });
    assert.deepEqual(error, { isError: true, lifeline: true, status: 503, retryable: true });
    // Callbacks run on the next turn of the event loop, after the read has resolved.
    await page.waitForFunction(
      () => window.lifeline.events.some((e) => e.type === "served_from_cache"),
      null,
      { timeout: 5000 },
    );
  } finally {
    await setChaos(backend.url, []);
  }
});

test("a booking queued during an outage syncs exactly once", async () => {
  const slot = await page.evaluate(async () => {
    const c = window.lifeline.client;
    const date = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    for (const h of (await c.hospitals.list()).value) {
      for (const d of (await c.appointments.departments(h.id)).value.filter((d) => d.fee_minor === 0)) {
        for (const doc of (await c.appointments.doctors(d.id)).value) {
          const free = (await c.appointments.availability(doc.id, date)).value.slots.find((s) => s.free);
          if (free) return free;
        }
      }
    }
    return null;
  });
  assert.ok(slot, "a free slot");

  await setChaos(backend.url, [{ prefix: "/api/appointments", methods: ["POST"], status: 503 }]);
  let queued;
  try {
    queued = await page.evaluate(async (slotId) => {
      const outbox = window.lifeline.client.outbox;
      const entry = await outbox.enqueue({ type: "book_appointment", data: { slot_id: slotId } });
      const report = await outbox.sync();
      return { entry, report, after: await outbox.entry(entry.id) };
    }, slot.id);
  } finally {
    await setChaos(backend.url, []);
  }
  assert.equal(queued.report.pending, 1);
  assert.equal(queued.after.status.state, "queued");
  assert.equal(queued.after.attempts, 1);

  const synced = await page.evaluate(async (id) => {
    const outbox = window.lifeline.client.outbox;
    await new Promise((r) => setTimeout(r, 60));
    const waited = outbox.wait(id);
    const report = await outbox.sync();
    const status = await waited;
    const again = await outbox.sync();
    return { report, status, again, unsynced: await outbox.unsyncedCount() };
  }, queued.entry.id);
  assert.equal(synced.report.confirmed, 1);
  assert.equal(synced.status.state, "confirmed");
  assert.equal(synced.status.response.slot_id, slot.id);
  assert.equal(synced.again.attempts, 0);
  assert.equal(synced.unsynced, 0);

  const onServer = (await serverAppointments(backend.url)).filter((a) => a.slot_id === slot.id);
  assert.equal(onServer.length, 1, "exactly one appointment for the slot");
});

test("the browser's drain triggers deliver a queued write without a manual sync", async () => {
  const slot = await page.evaluate(async () => {
    const c = window.lifeline.client;
    const date = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    for (const h of (await c.hospitals.list()).value) {
      for (const d of (await c.appointments.departments(h.id)).value.filter((d) => d.fee_minor === 0)) {
        for (const doc of (await c.appointments.doctors(d.id)).value) {
          const free = (await c.appointments.availability(doc.id, date)).value.slots.find((s) => s.free);
          if (free) return free;
        }
      }
    }
    return null;
  });
  assert.ok(slot, "a free slot");
  const status = await page.evaluate(async (slotId) => {
    const { client } = window.lifeline;
    const entry = await client.outbox.enqueue({ type: "book_appointment", data: { slot_id: slotId } });
    window.lifeline.triggers = client.installSyncTriggers(100);
    try {
      const late = new Promise((_, fail) =>
        setTimeout(() => fail(new Error("not delivered within 10 s")), 10_000),
      );
      return await Promise.race([client.outbox.wait(entry.id), late]);
    } finally {
      window.lifeline.triggers.stop();
    }
  }, slot.id);
  assert.equal(status.state, "confirmed");
  const onServer = (await serverAppointments(backend.url)).filter((a) => a.slot_id === slot.id);
  assert.equal(onServer.length, 1);
});
