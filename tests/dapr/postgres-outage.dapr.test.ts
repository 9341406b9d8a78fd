// Production's resiliency (dapr-components/resiliency.yaml) on real daprd and Kafka, with
// production's app health probe (knative/base/function-runtime.yaml: every 5 s, 2.5 s timeout,
// 3 failures): PostgreSQL stopped for 10 s under load must not put a single event into a
// dead-letter topic, must lose none, and the consumers must catch up soon after it is back.
// With a circuit breaker on pub/sub inbound (as resiliency.yaml had), daprd 1.18 treats the open
// breaker as a permanent error and tries the DLQ; the DLQ publish goes through the same breaker
// (one per component, inbound and outbound: pkg/resiliency/resiliency.go componentCBs), fails,
// and the message goes back to Kafka: every delivery and every publish of that app stops for the
// breaker's 60 s. This test saw exactly that before the breaker was removed.
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import { createDb, type Db } from "#db/client.ts";
import { bulkPublish, createdEvents } from "#testing/broker.ts";
import { startDedicatedPostgres, type DedicatedPostgres } from "#testing/dedicated-postgres.ts";
import { api, createTestUser, type TestUser } from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { Topology } from "#testing/topology.ts";

const OUTAGE_MS = 10_000;
/** After PostgreSQL is back, every event is audited within this (retries back off to ~8 s). */
const CATCH_UP_MS = 30_000;

let postgres: DedicatedPostgres;
let topology: Topology;
let db: Db;
let user: TestUser;

beforeAll(async () => {
  postgres = await startDedicatedPostgres("outage");
  db = createDb({ url: postgres.databaseUrl, poolSize: 2 });
  user = await createTestUser(db);
  topology = await Topology.start({
    databaseUrl: postgres.databaseUrl,
    apps: ["create-task", "audit-log", "on-task-completed"],
    replaceResources: { "resiliency.yaml": "dapr-components/resiliency.yaml" },
    appHealthProbe: { intervalSeconds: 5, timeoutMs: 2_500, threshold: 3 },
  });
}, 180_000);

afterAll(async () => {
  await topology?.stop();
  await db?.$disconnect();
  await postgres?.remove();
});

test("PostgreSQL down for 10 s under load: zero events in any dead-letter topic, every acknowledged create audited once", async () => {
  const acknowledged: string[] = [];
  let running = true;
  // Four clients creating tasks back to back (201 before and after the outage, 503 during it).
  const clients = Array.from({ length: 4 }, async (_, c) => {
    for (let i = 0; running; i++) {
      const res = await api(topology.app("create-task").url, "POST", "/v1/tasks", {
        auth: user.auth,
        body: { title: `Outage load ${c}-${i}` },
      }).catch(() => null);
      if (res?.status === 201) acknowledged.push(res.body.id as string);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await waitFor("creates flowing", async () => acknowledged.length >= 100, 60_000, 20);

  await postgres.stop();
  const down = Date.now();
  // Events that reach the consumers while the database is gone: published straight to Kafka
  // through a sidecar (which needs no database), 600 over six partitions.
  const events = createdEvents(user.id, 600, "During the outage");
  await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, events);
  const left = OUTAGE_MS - (Date.now() - down);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  await postgres.start();
  const up = Date.now();
  const upAfterMs = up - down;

  await waitFor("creates flowing again", async () => acknowledged.length >= 200, 60_000, 20);
  running = false;
  await Promise.all(clients);

  const eventIds = [
    ...events.map((e) => e.id),
    ...(
      await db.outboxEvent.findMany({
        where: { subject: { in: acknowledged }, type: "orbit.task.created" },
        select: { eventId: true },
      })
    ).map((r) => r.eventId),
  ];
  expect(eventIds).toHaveLength(600 + acknowledged.length);
  // The outage's own events (published while it lasted) first, against the catch-up bound.
  const during = events.map((e) => e.id);
  await waitFor(
    `the outage's events audited within ${CATCH_UP_MS} ms of PostgreSQL's return`,
    async () => {
      const n = await db.auditLog.count({ where: { eventId: { in: during } } });
      if (n !== during.length) throw new Error(`${n} of ${during.length} audited`);
      return true;
    },
    Math.max(1, CATCH_UP_MS - (Date.now() - up)),
    250,
  );
  await waitFor(
    "every event audited",
    async () => {
      const n = await db.auditLog.count({ where: { eventId: { in: eventIds } } });
      if (n !== eventIds.length) throw new Error(`${n} of ${eventIds.length} audited`);
      return true;
    },
    60_000,
    250,
  );
  const rows = await db.auditLog.findMany({
    where: { eventId: { in: eventIds } },
    select: { eventId: true },
  });
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(eventIds.length);

  const deadLetters = await topology.backing!.kafka.endOffsets(/-dlq$/);
  expect(Object.keys(deadLetters).sort()).toEqual(["reminders-dlq", "task-events-dlq", "task-updates-dlq"]);
  expect(deadLetters).toEqual({ "reminders-dlq": 0, "task-events-dlq": 0, "task-updates-dlq": 0 });
  expect(upAfterMs).toBeGreaterThanOrEqual(OUTAGE_MS);
}, 300_000);
