// The npm package in Node 20, against a real backend-mock: sign-in, a cached read through an
// outage, typed errors and breakers, and an outbox booking that reaches the server once.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { LifelineClient, isLifelineError } from "lifeline-sdk";

import {
  DEMO_PATIENT,
  freePort,
  serverAppointments,
  setChaos,
  startBackend,
} from "../support/backend.mjs";

let backend;
before(async () => {
  backend = await startBackend();
});
after(async () => {
  await backend?.stop();
});

async function until(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${check}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dbCounter = 0;
async function newClient(extra = {}) {
  return LifelineClient.create({
    baseUrl: backend.url,
    storage: { indexedDb: `lifeline-node-${process.pid}-${dbCounter++}` },
    attemptTimeoutMs: 3000,
    callTimeoutMs: 8000,
    retry: { maxRetries: 1, backoffBaseMs: 10, backoffCapMs: 50 },
    breaker: { consecutiveFailures: 100, minThroughput: 1000 },
    outbox: { backoffBaseMs: 10, backoffCapMs: 20 },
    ...extra,
  });
}

/** A free slot tomorrow in a department without a fee. */
async function freeSlot(client) {
  const date = new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10);
  const hospitals = await client.hospitals.list();
  for (const hospital of hospitals.value) {
    const departments = await client.appointments.departments(hospital.id);
    for (const department of departments.value.filter((d) => d.fee_minor === 0)) {
      const doctors = await client.appointments.doctors(department.id);
      for (const doctor of doctors.value) {
        const availability = await client.appointments.availability(doctor.id, date);
        const slot = availability.value.slots.find((s) => s.free);
        if (slot) return slot;
      }
    }
  }
  throw new Error("no free slot tomorrow");
}

test("signs in as the demo patient", async () => {
  const client = await newClient();
  assert.equal(await client.restore(), "anonymous");
  const user = await client.auth.login(DEMO_PATIENT.email, DEMO_PATIENT.password);
  assert.equal(user.email, DEMO_PATIENT.email);
  assert.equal(user.role, "patient");
  assert.equal(client.sessionState(), "active");
  assert.equal(client.currentUser()?.id, user.id);

  const wrong = await client.auth.login(DEMO_PATIENT.email, "not-the-password").catch((e) => e);
  assert.ok(wrong instanceof Error && isLifelineError(wrong), `${wrong}`);
  assert.equal(wrong.status, 401);
  assert.equal(wrong.code, "invalid_credentials");
  assert.equal(wrong.isRetryable(), false);
  assert.equal(wrong.isOffline(), false);
});

test("events arrive through for await, and break unsubscribes", async () => {
  const client = await newClient();
  const events = client.events();
  assert.equal(events[Symbol.asyncIterator](), events);
  await client.auth.login(DEMO_PATIENT.email, DEMO_PATIENT.password);
  let state;
  for await (const e of events) {
    if (e.type === "session_changed") {
      state = e.state;
      break;
    }
  }
  assert.equal(state, "active");
  assert.deepEqual(await events.next(), { done: true, value: undefined });
});

test("a read during an outage answers the cached copy with its age", async () => {
  const client = await newClient();
  await client.auth.login(DEMO_PATIENT.email, DEMO_PATIENT.password);
  const events = [];
  const stop = client.onEvent((e) => events.push(e));

  const fresh = await client.appointments.list();
  assert.deepEqual(fresh.freshness, { state: "fresh" });
  assert.equal(fresh.stale, false);
  assert.ok(fresh.value.length > 0, "the demo patient has appointments");

  await setChaos(backend.url, [{ prefix: "/api/appointments", status: 503 }]);
  try {
    await new Promise((r) => setTimeout(r, 20));
    const stale = await client.appointments.list();
    assert.equal(stale.stale, true);
    assert.equal(stale.freshness.state, "stale");
    assert.ok(stale.freshness.ageMs >= 20, `age ${stale.freshness.ageMs}`);
    assert.deepEqual(stale.value, fresh.value);
    // Callbacks run on a later turn of the event loop than the read's answer.
    await until(() => events.some((e) => e.type === "served_from_cache" && e.path === "/api/appointments"));
    assert.ok(events.some((e) => e.type === "retry_scheduled" && e.group === "appointments"));

    // A read with no cached copy has nothing to fall back on: the 503 arrives as an error.
    const err = await client.appointments.list({ status: "cancelled" }).catch((e) => e);
    assert.ok(isLifelineError(err), `${err}`);
    assert.equal(err.kind, "http");
    assert.equal(err.status, 503);
    assert.equal(err.isRetryable(), true);
    assert.equal(err.isCircuitOpen(), false);
  } finally {
    await setChaos(backend.url, []);
    stop();
  }
});

test("an open breaker refuses calls without sending them", async () => {
  const client = await newClient({
    retry: { maxRetries: 0 },
    breaker: { consecutiveFailures: 1, breakDurationMs: 60_000 },
  });
  await setChaos(backend.url, [{ prefix: "/api/hospitals", status: 503 }]);
  try {
    const first = await client.hospitals.list().catch((e) => e);
    assert.equal(first.status, 503);
    const second = await client.hospitals.list().catch((e) => e);
    assert.ok(isLifelineError(second), `${second}`);
    assert.equal(second.isCircuitOpen(), true);
    assert.equal(second.group, "auth");
    assert.ok(second.retryAfterMs > 0);
    assert.equal(client.breakerState("auth").state, "open");
    const states = client.breakerStates();
    assert.equal(states.length, 8);
    assert.equal(states.find((s) => s.group === "appointments").status.state, "closed");
  } finally {
    await setChaos(backend.url, []);
  }
});

test("a booking queued during an outage syncs exactly once", async () => {
  const client = await newClient();
  await client.auth.login(DEMO_PATIENT.email, DEMO_PATIENT.password);
  const slot = await freeSlot(client);
  const changes = client.outbox.changes();

  await setChaos(backend.url, [{ prefix: "/api/appointments", methods: ["POST"], status: 503 }]);
  let entry;
  try {
    entry = await client.outbox.enqueue({ type: "book_appointment", data: { slot_id: slot.id } });
    assert.equal(entry.status.state, "queued");
    assert.equal(entry.intent.data.slot_id, slot.id);
    const report = await client.outbox.sync();
    assert.equal(report.confirmed, 0);
    assert.equal(report.pending, 1);
    const after = await client.outbox.entry(entry.id);
    assert.equal(after.status.state, "queued");
    assert.equal(after.attempts, 1);
    assert.match(after.lastError ?? "", /503/);
  } finally {
    await setChaos(backend.url, []);
  }

  await new Promise((r) => setTimeout(r, 60));
  const waited = client.outbox.wait(entry.id);
  const report = await client.outbox.sync();
  assert.equal(report.confirmed, 1);
  const status = await waited;
  assert.equal(status.state, "confirmed");
  assert.equal(status.response.slot_id, slot.id);
  assert.equal(await client.outbox.unsyncedCount(), 0);
  const again = await client.outbox.sync();
  assert.equal(again.attempts, 0, "a confirmed entry is never sent again");

  // The async iterator saw the entry's whole life.
  const seen = [];
  for (;;) {
    const { value } = await changes.next();
    if (value.type === "changed" && value.entry.id === entry.id) seen.push(value.entry.status.state);
    if (seen.at(-1) === "confirmed") break;
  }
  await changes.return();
  assert.deepEqual(seen, ["queued", "sending", "queued", "sending", "confirmed"]);

  const onServer = (await serverAppointments(backend.url)).filter((a) => a.slot_id === slot.id);
  assert.equal(onServer.length, 1, "exactly one appointment for the slot");
  assert.equal(onServer[0].status, "confirmed");
});

test("an unreachable server is offline and a hung one times out", async () => {
  const nowhere = await LifelineClient.create({
    baseUrl: `http://127.0.0.1:${await freePort()}`,
    retry: { maxRetries: 0 },
  });
  const offline = await nowhere.hospitals.list().catch((e) => e);
  assert.ok(isLifelineError(offline), `${offline}`);
  assert.equal(offline.kind, "offline");
  assert.equal(offline.isOffline(), true);
  assert.equal(offline.isRetryable(), true);
  assert.equal(offline.status, undefined);
  assert.equal(await nowhere.probe(), false);

  const client = await newClient({ attemptTimeoutMs: 200, callTimeoutMs: 500, retry: { maxRetries: 0 } });
  await setChaos(backend.url, [{ prefix: "/api/hospitals", hang: true }]);
  try {
    const started = Date.now();
    const hung = await client.hospitals.list().catch((e) => e);
    assert.ok(isLifelineError(hung), `${hung}`);
    assert.equal(hung.isTimeout(), true);
    assert.equal(hung.kind, "timeout");
    assert.ok(Date.now() - started < 2000, "the attempt timeout cut the hung request");
  } finally {
    await setChaos(backend.url, []);
  }
  assert.equal(await client.probe(), true);
});

test("invalid input is refused as a LifelineError", async () => {
  const bad = await LifelineClient.create({ baseUrl: "ftp://nowhere" }).catch((e) => e);
  assert.ok(isLifelineError(bad), `${bad}`);
  assert.equal(bad.kind, "invalid_config");
  const client = await newClient();
  const err = await client.appointments.get("not-a-uuid").catch((e) => e);
  assert.equal(err.kind, "invalid_config");
  const notSignedIn = await client.outbox.enqueue({ type: "nominate_pharmacy", data: { id: crypto.randomUUID() } }).catch((e) => e);
  assert.equal(notSignedIn.isAuthExpired(), true);
});
