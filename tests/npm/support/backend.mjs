// Starts a real backend-mock (dev mode, its own SQLite file, a free loopback port) for the
// consumers' tests, and talks to it directly (chaos rules, independent checks) without the SDK.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../../..");

export const DEMO_PATIENT = { email: "patient@demo.lifeline", password: "demo-patient-pass" };

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Starts backend-mock; `staticDir` serves a built page on the same origin as the API. */
export async function startBackend({ staticDir } = {}) {
  const bin = process.env.BACKEND_MOCK ?? join(root, "target/debug/backend-mock");
  const dir = mkdtempSync(join(tmpdir(), "lifeline-npm-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["--dev", "--addr", `127.0.0.1:${port}`, "--database", join(dir, "lifeline.db")];
  if (staticDir) args.push("--static-dir", staticDir);
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`backend-mock exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`backend-mock did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Replaces backend-mock's chaos rules (`[]` clears them). */
export async function setChaos(url, rules) {
  const res = await fetch(`${url}/__chaos`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rules }),
  });
  if (!res.ok) throw new Error(`PUT /__chaos answered ${res.status}: ${await res.text()}`);
}

/** The demo patient's appointments, read straight from the server (no SDK, no cache). */
export async function serverAppointments(url) {
  const login = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(DEMO_PATIENT),
  });
  if (!login.ok) throw new Error(`login answered ${login.status}`);
  const { access_token } = await login.json();
  const res = await fetch(`${url}/api/appointments`, {
    headers: { authorization: `Bearer ${access_token}` },
  });
  if (!res.ok) throw new Error(`GET /api/appointments answered ${res.status}`);
  return res.json();
}
