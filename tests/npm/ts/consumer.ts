// A TypeScript app using lifeline-sdk's declarations under `--strict`: every option, request,
// response, event and error below is typed by the package, so a drift fails this build.
import {
  LifelineClient,
  isLifelineError,
  type Appointment,
  type BreakerStatus,
  type ClientOptions,
  type EntryStatus,
  type Fetched,
  type Intent,
  type LifelineError,
  type LifelineEvent,
  type OutboxChange,
  type OutboxEntry,
  type SessionState,
  type Slot,
  type User,
} from "lifeline-sdk";

const options: ClientOptions = {
  baseUrl: process.env.LIFELINE_URL ?? "http://127.0.0.1:8080",
  groupBaseUrls: { payments: "http://127.0.0.1:8081" },
  attemptTimeoutMs: 5_000,
  callTimeoutMs: 20_000,
  retry: { maxRetries: 2, backoffBaseMs: 100, backoffCapMs: 2_000 },
  retryBudget: { maxTokens: 10, tokenRatio: 0.1 },
  breaker: { consecutiveFailures: 5, breakDurationMs: 10_000 },
  storage: { indexedDb: "lifeline" },
  recordsCaching: "memory_only",
  outbox: { lockName: "lifeline-outbox" },
};

function describe(f: Fetched<Appointment[]>): string {
  switch (f.freshness.state) {
    case "fresh":
      return `${f.value.length} appointments`;
    case "stale":
      return `${f.value.length} appointments, saved ${Math.round(f.freshness.ageMs / 60_000)} min ago`;
  }
}

function breakerLabel(s: BreakerStatus): string {
  return s.state === "open" ? `open for ${s.retryInMs} ms` : s.state;
}

function outcome(status: EntryStatus): string {
  switch (status.state) {
    case "queued":
    case "sending":
      return "pending";
    case "confirmed":
      return "done";
    case "rejected":
      return `${status.status} ${status.code}: ${status.message}`;
    case "conflict":
      return `conflict: ${JSON.stringify(status.details)}`;
  }
}

function onEvent(e: LifelineEvent): string {
  switch (e.type) {
    case "retry_scheduled":
      return `${e.group} ${e.path} retry ${e.attempt} in ${e.delayMs} ms`;
    case "breaker_changed":
      return `${e.group}: ${breakerLabel(e.status)}`;
    case "served_from_cache":
      return `${e.path} from cache (${e.ageMs} ms old)`;
    case "queued":
    case "synced":
      return `${e.type} ${e.id}`;
    case "session_changed":
      return `session ${e.state}`;
    case "reachability_probed":
      return `${e.reachable ? "reachable" : "unreachable"}, resumed: ${e.resumed.join(", ")}`;
  }
}

function explain(err: unknown): string {
  if (!isLifelineError(err)) return String(err);
  const e: LifelineError = err;
  if (e.isOffline()) return "offline";
  if (e.isCircuitOpen()) return `${e.group ?? "?"} paused for ${e.retryAfterMs ?? 0} ms`;
  if (e.isAuthExpired()) return "sign in again";
  if (e.isConflict()) return `taken (${e.code})`;
  if (e.isTimeout() || e.isRetryable()) return "try again";
  return `${e.kind} ${e.status ?? ""} ${e.message}`;
}

export async function main(slot: Slot): Promise<void> {
  const client: LifelineClient = await LifelineClient.create(options);
  const state: SessionState = await client.restore();
  const user: User = await client.auth.login("patient@demo.lifeline", "demo-patient-pass");
  console.log(state, user.role satisfies "patient" | "doctor" | "admin");

  const list = await client.appointments.list({ status: "confirmed", from: "2026-01-01" });
  console.log(describe(list));
  const one: Appointment | undefined = list.value[0];
  if (one) console.log(one.starts_at, one.fee_minor.toFixed(0), one.reason ?? "");

  const intent: Intent = { type: "book_appointment", data: { slot_id: slot.id } };
  const entry: OutboxEntry = await client.outbox.enqueue(intent);
  const report = await client.outbox.sync();
  console.log(report?.confirmed ?? "another drain holds the queue");
  console.log(outcome(await client.outbox.wait(entry.id)));

  const stop: () => void = client.onEvent((e) => console.log(onEvent(e)));
  for await (const change of client.outbox.changes()) {
    const c: OutboxChange = change;
    if (c.type === "changed") console.log(c.entry.status.state);
    else console.log("removed", c.id);
    break;
  }
  stop();

  for (const { group, status } of client.breakerStates()) console.log(group, breakerLabel(status));

  try {
    await client.appointments.book({ slot_id: slot.id, reason: "check-up" }, crypto.randomUUID());
  } catch (err) {
    console.log(explain(err));
  }
}

// Wrong uses the declarations must refuse (an unused @ts-expect-error fails the build, so
// these also prove the types are not `any`).
export async function refused(client: LifelineClient): Promise<void> {
  // @ts-expect-error baseUrl is required
  await LifelineClient.create({ attemptTimeoutMs: 1 });
  // @ts-expect-error unknown option
  await LifelineClient.create({ baseUrl: "http://x", retries: 3 });
  // @ts-expect-error no such group
  client.breakerState("billing");
  // @ts-expect-error slot_id is the wire spelling
  await client.outbox.enqueue({ type: "book_appointment", data: { slotId: "x" } });
  // @ts-expect-error appointment status is a closed set
  await client.appointments.list({ status: "maybe" });
  const f = await client.hospitals.list();
  // @ts-expect-error hospitals have no fee
  console.log(f.value[0]?.fee_minor);
  // @ts-expect-error stale values carry ageMs, fresh ones do not
  if (f.freshness.state === "fresh") console.log(f.freshness.ageMs);
}
