// PostgreSQL stopped and started again under load, on a dedicated embedded server (its own port and
// data folder, never the shared test server): requests fail fast with 503 while it is down and
// recover without restarting the function; no write is left half-done.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createDb, type Db } from "#db/client.ts";
import type { BaseEnv } from "#platform/env.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { startDedicatedPostgres, type DedicatedPostgres } from "#testing/dedicated-postgres.ts";
import { waitFor } from "#testing/ports.ts";
import { routes } from "../../functions/create-task/handler.ts";

const REQUEST_DEADLINE_MS = 8_000;

let postgres: DedicatedPostgres | null = null;
let db: Db;
let fn: StartedFunction<BaseEnv> | null = null;
let user: TestUser;

beforeAll(async () => {
  postgres = await startDedicatedPostgres("fault");
  const { databaseUrl } = postgres;
  db = createDb({ url: databaseUrl, poolSize: 2 });
  user = await createTestUser(db);
  fn = await startFunction(
    { name: "create-task", routes, outbox: true },
    { DATABASE_URL: databaseUrl, DB_POOL_SIZE: "4" },
  );
}, 120_000);

afterAll(async () => {
  await fn?.close();
  await db?.$disconnect();
  await postgres?.remove();
});

interface Outcome {
  status: number;
  ms: number;
  contentType: string | null;
  retryAfter: string | null;
  body: { type?: string; detail?: string; id?: string } | null;
}

async function create(i: number): Promise<Outcome> {
  const started = Date.now();
  try {
    const res = await api(fn!.url, "POST", "/v1/tasks", {
      auth: user.auth,
      body: { title: `Load ${i}`, tags: ["load"] },
    });
    return {
      status: res.status,
      ms: Date.now() - started,
      contentType: res.headers.get("content-type"),
      retryAfter: res.headers.get("retry-after"),
      body: res.body,
    };
  } catch (error) {
    return {
      status: -1,
      ms: Date.now() - started,
      contentType: null,
      retryAfter: null,
      body: { detail: String(error) },
    };
  }
}

test("PostgreSQL stopped under load: 503 with Retry-After fast, never 500, recovery without restarting the function, nothing half-written", async () => {
  const outcomes: { phase: "before" | "down" | "after"; outcome: Outcome }[] = [];
  let phase: "before" | "down" | "after" = "before";
  let running = true;
  let counter = 0;
  // Four clients creating tasks back to back for the whole test.
  const clients = Array.from({ length: 4 }, async () => {
    while (running) {
      const at = phase;
      const outcome = await Promise.race([
        create(counter++),
        new Promise<Outcome>((resolve) =>
          setTimeout(
            () =>
              resolve({
                status: -2,
                ms: REQUEST_DEADLINE_MS,
                contentType: null,
                retryAfter: null,
                body: null,
              }),
            REQUEST_DEADLINE_MS,
          ).unref(),
        ),
      ]);
      outcomes.push({ phase: at === phase ? at : "down", outcome });
    }
  });
  const count = (p: string, ok: (o: Outcome) => boolean) =>
    outcomes.filter((o) => o.phase === p && ok(o.outcome)).length;

  await waitFor("creates succeeding", async () => count("before", (o) => o.status === 201) >= 40, 20_000, 10);

  phase = "down";
  await postgres!.stop();
  await waitFor(
    "requests failing with 503",
    async () => count("down", (o) => o.status === 503) >= 20,
    30_000,
    10,
  );
  const downOutcomes = outcomes.filter((o) => o.phase === "down").map((o) => o.outcome);
  // Requests in flight at the stop may still have committed (201); every other answer is a 503 problem.
  for (const o of downOutcomes.filter((o) => o.status !== 201)) {
    expect(o.status, JSON.stringify(o.body)).toBe(503);
    expect(o.contentType).toMatch(/^application\/problem\+json/);
    expect(o.retryAfter).toMatch(/^\d+$/);
    expect(o.body?.type).toBe("https://orbit.invalid/problems/service-unavailable");
    expect(o.ms).toBeLessThan(REQUEST_DEADLINE_MS);
  }
  const readyWhileDown = await fetch(`${fn!.url}/readyz`);
  expect(readyWhileDown.status).toBe(503);

  // Same port, same data folder; the function keeps running.
  await postgres!.start();
  phase = "after";
  await waitFor(
    "creates succeeding again",
    async () => count("after", (o) => o.status === 201) >= 40,
    30_000,
    10,
  );
  running = false;
  await Promise.all(clients);

  const all = outcomes.map((o) => o.outcome);
  expect(all.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
  expect(all.filter((o) => o.status < 0)).toEqual([]);
  expect(all.every((o) => [201, 503].includes(o.status))).toBe(true);
  expect((await fetch(`${fn!.url}/readyz`)).status).toBe(200);

  // Every acknowledged create is there; every task has its created event and every event its task.
  const acknowledged = all.filter((o) => o.status === 201).map((o) => o.body!.id!);
  expect(await db.task.count({ where: { id: { in: acknowledged } } })).toBe(acknowledged.length);
  const [integrity] = await db.$queryRaw<
    { tasks: bigint; without_event: bigint; orphan_events: bigint; without_tags: bigint }[]
  >`
    SELECT (SELECT count(*) FROM tasks WHERE user_id = ${user.id}::uuid) AS tasks,
           (SELECT count(*) FROM tasks t WHERE t.user_id = ${user.id}::uuid AND NOT EXISTS (
              SELECT 1 FROM outbox o WHERE o.subject = t.id::text AND o.type = 'orbit.task.created')) AS without_event,
           (SELECT count(*) FROM outbox o WHERE o.type = 'orbit.task.created' AND NOT EXISTS (
              SELECT 1 FROM tasks t WHERE t.id::text = o.subject)) AS orphan_events,
           (SELECT count(*) FROM tasks t WHERE t.user_id = ${user.id}::uuid AND NOT EXISTS (
              SELECT 1 FROM task_tags g WHERE g.task_id = t.id)) AS without_tags`;
  expect(Number(integrity!.tasks)).toBeGreaterThanOrEqual(acknowledged.length);
  expect(Number(integrity!.without_event)).toBe(0);
  expect(Number(integrity!.orphan_events)).toBe(0);
  expect(Number(integrity!.without_tags)).toBe(0);
}, 120_000);
