// Under overload the host sheds early and cheaply (host/admission.ts): requests beyond the pool's
// connections wait in a bounded queue, and one that cannot get a slot soon is a 503 with
// Retry-After at once, never a 500 and never a wait of seconds. And the token checks that share one
// statement per token (caller-gate.ts) still refuse a revoked token on its very next request.
import { expect, test } from "vitest";
import { api, createTestUser, startFunction } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { route, type FunctionDef } from "./host.ts";

const HOLD_MS = 1_000;

const slow: FunctionDef = {
  name: "shedding-probe",
  routes: [
    route({
      method: "GET",
      path: "/v1/slow",
      auth: "read",
      async handle(_request, ctx) {
        await ctx.db.$executeRaw`SELECT pg_sleep(${HOLD_MS / 1000}::float8)`;
        return { body: { ok: true } };
      },
    }),
    route({
      method: "GET",
      path: "/v1/fast",
      auth: "read",
      async handle(request) {
        return { body: { user_id: request.principal?.userId } };
      },
    }),
  ],
};

test("beyond the pool and its bounded queue, requests get a 503 with Retry-After at once, none a 500", async () => {
  const fn = await startFunction(slow, {
    DB_POOL_SIZE: "1",
    DB_QUEUE_LIMIT: "2",
    DB_QUEUE_TIMEOUT_MS: "5000",
  });
  try {
    const caller = await createTestUser(await workerDb());
    const results = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const started = Date.now();
        const res = await api(fn.url, "GET", "/v1/slow", { auth: caller.auth });
        return { res, ms: Date.now() - started };
      }),
    );
    const statuses = results.map((r) => r.res.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    // One working and two waiting get through; the rest are refused.
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    const shed = results.filter((r) => r.res.status === 503);
    expect(shed).toHaveLength(9);
    // The three admitted ones take turns on the one connection: the last is done after 3 holds.
    const lastServed = Math.max(...results.filter((r) => r.res.status === 200).map((r) => r.ms));
    expect(lastServed).toBeGreaterThanOrEqual(3 * HOLD_MS);
    for (const { res, ms } of shed) {
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, title: "Service unavailable" });
      // Refused without waiting for a connection: long before the queue it could not join is served.
      expect(ms).toBeLessThan(lastServed - HOLD_MS);
    }
  } finally {
    await fn.close();
  }
}, 30_000);

test("a request that waited its longest in the queue is a 503, and the queue moves on", async () => {
  const fn = await startFunction(slow, {
    DB_POOL_SIZE: "1",
    DB_QUEUE_LIMIT: "10",
    DB_QUEUE_TIMEOUT_MS: "300",
  });
  try {
    const caller = await createTestUser(await workerDb());
    const first = api(fn.url, "GET", "/v1/slow", { auth: caller.auth });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const waited = await api(fn.url, "GET", "/v1/fast", { auth: caller.auth });
    expect(waited.status).toBe(503);
    expect(waited.headers.get("retry-after")).toBe("1");
    expect((await first).status).toBe(200);
    expect((await api(fn.url, "GET", "/v1/fast", { auth: caller.auth })).status).toBe(200);
  } finally {
    await fn.close();
  }
}, 30_000);

test("a token in heavy concurrent use is refused by the very next request once revoked", async () => {
  const db = await workerDb();
  const fn = await startFunction(slow);
  try {
    const caller = await createTestUser(db);
    const burst = () =>
      Promise.all(
        Array.from({ length: 20 }, () =>
          api(fn.url, "GET", "/v1/fast", { auth: caller.auth }).then((res) => res.status),
        ),
      );
    expect(new Set(await burst())).toEqual(new Set([200]));
    await db.apiToken.update({ where: { id: caller.tokenId }, data: { revokedAt: new Date() } });
    const after = await api(fn.url, "GET", "/v1/fast", { auth: caller.auth });
    expect(after.status).toBe(401);
    expect(new Set(await burst())).toEqual(new Set([401]));
  } finally {
    await fn.close();
  }
}, 30_000);
