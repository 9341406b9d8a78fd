// The event pipeline over real processes, as `make dev` runs it: each function bundled and
// running as its own OS process beside its own Dapr sidecar process (the local one, or real
// daprd + Kafka under `make test-dapr`), real HTTP between all of them, one PostgreSQL.
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import {
  bulkPublish as publishEvents,
  createdEvents as createdEventsOf,
  type PublishableEvent,
} from "#testing/broker.ts";
import { api, createTestUser, type TestUser } from "#testing/fixtures.ts";
import { Topology } from "#testing/topology.ts";
import { waitFor } from "#testing/ports.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";

const ADMIN = "e2e-admin-token-0123456789abcdef";
let topology: Topology;
let db: Db;
let user: TestUser;

beforeAll(async () => {
  db = await workerDb();
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "complete-task", "query-tasks", "audit-log", "on-task-completed", "dead-letters"],
    env: { ADMIN_TOKEN: ADMIN },
  });
  user = await createTestUser(db, { timeZone: "Europe/Berlin" });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
});

const url = (app: string) => topology.app(app).url;

const bulkPublish = (events: PublishableEvent[]) =>
  publishEvents(topology.app("create-task").daprUrl, TOPICS.taskEvents, events);
const createdEvents = (n: number, title: string) => createdEventsOf(user.id, n, title);

test("create, then complete a weekly task: next week's task exists and the audit trail has every step", async () => {
  const created = await api(url("create-task"), "POST", "/v1/tasks", {
    auth: user.auth,
    body: {
      title: "Water the plants",
      due_at: "2026-12-07T09:00:00+01:00",
      tags: ["home"],
      recurrence: { pattern: "weekly" },
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect(
    (await api(url("complete-task"), "POST", `/v1/tasks/${id}/complete`, { auth: user.auth })).status,
  ).toBe(200);

  const next = await waitFor("next occurrence", async () => {
    const list = await api(url("query-tasks"), "GET", "/v1/tasks?status=pending&q=plants", {
      auth: user.auth,
    });
    return list.body.items.find(
      (t: TaskDto) => t.series_id === created.body.series_id && t.occurrence_index === 2,
    );
  });
  // 9:00 in Berlin, one week later.
  expect(next.due_at).toBe("2026-12-14T08:00:00.000Z");
  expect(next.tags).toEqual(["home"]);

  const trail = await waitFor("audit trail", async () => {
    const res = await api(url("audit-log"), "GET", `/v1/tasks/${id}/activity`, { auth: user.auth });
    return res.body.items.length >= 2 ? res.body.items : null;
  });
  expect(trail.map((i: { action: string }) => i.action)).toEqual(["created", "completed"]);
  expect(trail.every((i: { actor: { type: string } }) => i.actor.type === "api_token")).toBe(true);
  const nextTrail = await waitFor("next occurrence's audit row", async () => {
    const res = await api(url("audit-log"), "GET", `/v1/tasks/${next.id}/activity`, { auth: user.auth });
    return res.body.items.length ? res.body.items : null;
  });
  expect(nextTrail[0]).toMatchObject({ action: "created", reason: "recurrence", actor: { type: "system" } });
});

test("a duplicate delivery of a completion changes nothing", async () => {
  const created = await api(url("create-task"), "POST", "/v1/tasks", {
    auth: user.auth,
    body: { title: "Duplicate me", due_at: "2026-12-08T10:00:00+01:00", recurrence: { pattern: "daily" } },
  });
  const id = created.body.id as string;
  await api(url("complete-task"), "POST", `/v1/tasks/${id}/complete`, { auth: user.auth });
  const completion = await db.outboxEvent.findFirstOrThrow({
    where: { subject: id, type: "orbit.task.completed" },
  });
  await waitFor(
    "the first delivery's effects",
    async () => (await db.auditLog.count({ where: { taskId: id } })) === 2,
  );
  const seriesTasks = () => db.task.count({ where: { seriesId: created.body.series_id } });
  // on-task-completed consumes the completion independently of audit-log.
  await waitFor("the next occurrence", async () => (await seriesTasks()) === 2);

  // The same CloudEvent (same id) again, then a sentinel event on the same partition key: per-key
  // order means the duplicate has been handled once the sentinel's effect is visible.
  const sentinel = createdEvents(1, "Sentinel")[0]!;
  await bulkPublish([{ id: completion.eventId, type: completion.type, subject: id, data: completion.data }]);
  await bulkPublish([{ ...sentinel, subject: id }]);
  await waitFor(
    "the sentinel",
    async () => (await db.auditLog.count({ where: { eventId: sentinel.id } })) === 1,
  );
  expect(await db.auditLog.count({ where: { taskId: id } })).toBe(2);
  expect(await seriesTasks()).toBe(2);
});

test("a consumer SIGKILLed in the middle of 1,000 events loses none and duplicates none after restart", async () => {
  const events = createdEvents(1000, "Bulk");
  const ids = events.map((e) => e.id);
  for (let i = 0; i < events.length; i += 250) await bulkPublish(events.slice(i, i + 250));
  const recorded = () => db.auditLog.count({ where: { eventId: { in: ids } } });

  await waitFor("some events consumed", async () => (await recorded()) >= 150, 30_000, 5);
  await topology.kill("audit-log", "app", "SIGKILL");
  const atKill = await recorded();
  expect(atKill).toBeLessThan(1000);
  await topology.restart("audit-log", "app");

  await waitFor(
    "all 1,000 recorded",
    async () => {
      const count = await recorded();
      // Thrown, not returned: a timeout then says how far it got (slow machine vs a lost event).
      if (count !== 1000) throw new Error(`${count} of 1,000 recorded`);
      return true;
    },
    90_000,
    100,
  );
  const rows = await db.auditLog.findMany({ where: { eventId: { in: ids } }, select: { eventId: true } });
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(1000);
  expect(rows).toHaveLength(1000);
}, 120_000);

test("a consumer that keeps failing is retried with backoff, then dead-lettered and inspectable; the stream behind it flows", async () => {
  const [poison, behind] = createdEvents(2, "Poison");
  const poisonTask = (poison!.data as { task_id: string }).task_id;
  // A real fault inside audit-log's transaction for this one task (no mock): every attempt fails.
  await db.$executeRawUnsafe(`
    CREATE OR REPLACE FUNCTION e2e_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.task_id = '${poisonTask}'::uuid THEN RAISE EXCEPTION 'poisoned by the e2e test'; END IF; RETURN NEW; END $$`);
  await db.$executeRawUnsafe(
    `CREATE TRIGGER e2e_poison BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION e2e_poison()`,
  );
  try {
    const started = Date.now();
    await bulkPublish([poison!, behind!]);
    // An unrelated event is not held up by the failing one.
    await waitFor(
      "the event behind it",
      async () => (await db.auditLog.count({ where: { eventId: behind!.id } })) === 1,
    );
    const deadLetter = await waitFor(
      "the dead letter",
      async () => {
        const res = await api(url("dead-letters"), "GET", "/v1/dead-letters?topic=task-events", {
          auth: `Bearer ${ADMIN}`,
        });
        return res.body.items.find((i: { event_id: string }) => i.event_id === poison!.id);
      },
      40_000,
      100,
    );
    // dapr-components/local/resiliency.yaml: 5 retries, exponential from 200 ms. Dapr's step is
    // previous × 1.5 × rand(0.5–1.5), so the fastest possible give-up is ~0.7 s, typically ~2.6 s;
    // the sidecar's conformance suite measures the growing gaps themselves.
    expect(Date.now() - started).toBeGreaterThan(700);
    expect(deadLetter).toMatchObject({ topic: "task-events", type: "orbit.task.created", resolved_at: null });
    const metrics = await (await fetch(`${url("audit-log")}/metrics`)).text();
    const retries = Number(
      /orbit_events_consumed_total\{topic="task-events",status="RETRY"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(retries).toBeGreaterThanOrEqual(6);
    expect(await db.auditLog.count({ where: { eventId: poison!.id } })).toBe(0);
  } finally {
    await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS e2e_poison ON audit_log`);
    await db.$executeRawUnsafe(`DROP FUNCTION IF EXISTS e2e_poison()`);
  }
}, 90_000);
