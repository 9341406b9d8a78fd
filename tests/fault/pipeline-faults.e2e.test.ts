// Faults in the event pipeline, over real processes as `make dev` runs them: create-task and
// audit-log each as their own OS process beside their own Dapr sidecar process (the local one, or
// real daprd + Kafka under `make test-dapr`), one PostgreSQL. Processes are SIGKILLed for real. (A consumer SIGKILLed mid-stream and a poison
// message are covered in tests/e2e/pipeline.e2e.test.ts.)
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { bulkPublish, createdEvents, topicMessages } from "#testing/broker.ts";
import { api, createTestUser, startFunction, type TestUser } from "#testing/fixtures.ts";
import { Topology } from "#testing/topology.ts";
import { waitFor } from "#testing/ports.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
import { routes as createTaskRoutes } from "../../functions/create-task/handler.ts";

let topology: Topology;
let db: Db;
let user: TestUser;

beforeAll(async () => {
  db = await workerDb();
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "audit-log"],
  });
  user = await createTestUser(db);
}, 120_000);

afterAll(async () => {
  await topology?.stop();
});

const createUrl = () => topology.app("create-task").url;

interface Created {
  taskId: string;
  returnedAt: number;
}

async function createTask(title: string): Promise<Created> {
  const res = await api(createUrl(), "POST", "/v1/tasks", { auth: user.auth, body: { title } });
  const returnedAt = Date.now();
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { taskId: res.body.id as string, returnedAt };
}

/** The `orbit.task.created` event id of each task, from the outbox the create wrote it to. */
async function createdEventIds(taskIds: string[]): Promise<Map<string, string>> {
  const rows = await db.outboxEvent.findMany({
    where: { subject: { in: taskIds }, type: "orbit.task.created" },
    select: { subject: true, eventId: true },
  });
  return new Map(rows.map((r) => [r.subject!, r.eventId]));
}

/** Copies of each event id on the task-events topic (what the broker stored). */
async function topicCopies(eventIds: Set<string>): Promise<Map<string, Date[]>> {
  const copies = new Map<string, Date[]>();
  for (const message of await topicMessages(topology, TOPICS.taskEvents)) {
    const id = message.id;
    if (id && eventIds.has(id)) copies.set(id, [...(copies.get(id) ?? []), message.publishedAt]);
  }
  return copies;
}

const auditRows = (eventIds: string[]) =>
  db.auditLog.findMany({ where: { eventId: { in: eventIds } }, select: { eventId: true } });

test("create-task's sidecar down for 10 s during 500 creates: every create succeeds, every event arrives once, after its create returned", async () => {
  await topology.kill("create-task", "sidecar", "SIGKILL");
  const downSince = Date.now();
  // 500 creates spread over the 10 s outage: 50 a second, 5 at a time.
  const created: Created[] = [];
  for (let second = 0; second < 10; second++) {
    for (let i = 0; i < 50; i += 5) {
      created.push(
        ...(await Promise.all(Array.from({ length: 5 }, (_, k) => createTask(`Outage ${second}-${i + k}`)))),
      );
    }
    const next = downSince + (second + 1) * 1_000;
    if (Date.now() < next) await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
  }
  expect(created).toHaveLength(500);
  expect(Date.now() - downSince).toBeGreaterThanOrEqual(10_000);

  const eventOf = await createdEventIds(created.map((c) => c.taskId));
  expect(eventOf.size).toBe(500);
  const ids = [...eventOf.values()];
  // Nothing left the outbox while the sidecar was down.
  expect(await db.outboxEvent.count({ where: { eventId: { in: ids }, status: "published" } })).toBe(0);

  await topology.restart("create-task", "sidecar");
  await waitFor("500 audit rows", async () => (await auditRows(ids)).length === 500, 60_000, 100);

  const rows = await auditRows(ids);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(500);
  expect(await db.outboxEvent.count({ where: { eventId: { in: ids }, status: "pending" } })).toBe(0);
  const copies = await topicCopies(new Set(ids));
  for (const c of created) {
    const published = copies.get(eventOf.get(c.taskId)!);
    expect(published, `event of task ${c.taskId}`).toHaveLength(1);
    expect(published![0]!.getTime()).toBeGreaterThanOrEqual(c.returnedAt);
  }
}, 120_000);

test("audit-log's sidecar SIGKILLed mid-delivery of 600 events: after a restart none is lost and none recorded twice", async () => {
  const events = createdEvents(user.id, 600, "Delivery");
  const ids = events.map((e) => e.id);
  // Published through create-task's sidecar (Dapr's bulk publish API); audit-log's sidecar delivers.
  await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, events, 200);
  const recorded = () => db.auditLog.count({ where: { eventId: { in: ids } } });
  await waitFor("some events delivered", async () => (await recorded()) >= 60, 30_000, 5);
  await topology.kill("audit-log", "sidecar", "SIGKILL");
  const atKill = await recorded();
  expect(atKill).toBeLessThan(600);
  await topology.restart("audit-log", "sidecar");

  await waitFor("all 600 recorded", async () => (await recorded()) === 600, 60_000, 100);
  const rows = await auditRows(ids);
  expect(rows).toHaveLength(600);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(600);
  // Each event is still on the topic once: redeliveries come from the broker, not republishing.
  const copies = await topicCopies(new Set(ids));
  expect([...copies.values()].every((c) => c.length === 1)).toBe(true);
  expect(copies.size).toBe(600);
}, 120_000);

test("a relay SIGKILLed mid-publish with pending outbox rows: another instance publishes every event, each effect once", async () => {
  // Pile up 300 pending events: the sidecar is down while they are written.
  await topology.kill("create-task", "sidecar", "SIGKILL");
  const created: Created[] = [];
  for (let i = 0; i < 300; i += 10) {
    created.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => createTask(`Relay ${i + k}`)))));
  }
  const eventOf = await createdEventIds(created.map((c) => c.taskId));
  const ids = [...eventOf.values()];
  expect(ids).toHaveLength(300);
  const idSet = new Set(ids);

  // The sidecar comes back; the moment the relay has published the first of them, SIGKILL it.
  await topology.restart("create-task", "sidecar");
  // (The relay marks a row published once the sidecar acknowledged it, on either runtime.)
  await waitFor(
    "the relay publishing",
    async () => (await db.outboxEvent.count({ where: { eventId: { in: ids }, status: "published" } })) > 0,
    30_000,
    1,
  );
  await topology.kill("create-task", "app", "SIGKILL");
  // The killed relay's claim (its open transaction) is gone with its connection.
  const pendingAfterKill = new Set(
    (
      await db.outboxEvent.findMany({
        where: { eventId: { in: ids }, status: "pending" },
        select: { eventId: true },
      })
    ).map((r) => r.eventId),
  );
  expect(pendingAfterKill.size).toBeGreaterThan(0);

  // Another instance of create-task (same app-id, in this process) beside the same sidecar rescues them.
  const rescuer = await startFunction(
    { name: "create-task", routes: createTaskRoutes, outbox: true },
    { DAPR_HTTP_PORT: String(topology.app("create-task").daprPort) },
  );
  try {
    await waitFor(
      "the outbox drained",
      async () => (await db.outboxEvent.count({ where: { eventId: { in: ids }, status: "pending" } })) === 0,
      30_000,
      50,
    );
    await waitFor("300 audit rows", async () => (await auditRows(ids)).length === 300, 30_000, 50);
  } finally {
    await rescuer.close();
  }
  const rows = await auditRows(ids);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(300);
  // At-least-once publishing: an event the killed relay had handed to the sidecar but not yet marked
  // published is published again by the rescuer; the consumers' idempotency keeps the effect single.
  const copies = await topicCopies(idSet);
  expect(copies.size).toBe(300);
  for (const [id, published] of copies) {
    expect(published.length, `copies of ${id}`).toBeLessThanOrEqual(pendingAfterKill.has(id) ? 2 : 1);
  }
  await topology.restart("create-task", "app");
}, 120_000);
