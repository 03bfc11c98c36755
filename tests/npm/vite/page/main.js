// A Vite page importing the npm package as any app would. It signs in and shows the demo
// patient's appointments with their freshness; the test drives the rest through
// `window.lifeline`.
import { LifelineClient, isLifelineError } from "lifeline-sdk";

const status = document.querySelector("#status");

async function start() {
  const client = await LifelineClient.create({
    baseUrl: location.origin,
    storage: { indexedDb: "lifeline-vite" },
    retry: { maxRetries: 1, backoffBaseMs: 10, backoffCapMs: 50 },
    breaker: { consecutiveFailures: 100, minThroughput: 1000 },
    outbox: { backoffBaseMs: 10, backoffCapMs: 20 },
  });
  const session = await client.restore();
  const events = [];
  client.onEvent((e) => events.push(e));
  window.lifeline = { client, events, isLifelineError, session };
  status.textContent = `ready (${session})`;
  status.dataset.ready = "1";
}

start().catch((e) => {
  status.textContent = `failed: ${e}`;
  status.dataset.ready = "error";
});
