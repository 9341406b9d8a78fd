import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Actor } from "#core/actor.ts";
import { TOPICS } from "#core/events.ts";
import { TRACKED_FIELDS } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { OutboxEvent } from "#db/generated/client.ts";
import {
  createTask,
  completeTask,
  deleteTask,
  reopenTask,
  updateTask,
  type CommandContext,
} from "#tasks/commands.ts";
import {
  api,
  createTestUser,
  deliverAsDapr,
  deliverAsKnative,
  FROM_SIDECAR,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes, subscriptions } from "./handler.ts";

const PATH = "/events/task-events";

let db: Db;
let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  db = await workerDb();
  fn = await startFunction({ name: "audit-log", routes, subscriptions });
});
afterAll(async () => {
  await fn.close();
});

function commandCtx(user: TestUser, now: Date, actor: Actor = { type: "user", id: user.id }): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor,
    userId: user.id,
    userTimeZone: "UTC",
    defaultReminderMinutes: [15],
    now,
  };
}

/** The task-events outbox row a command wrote (the payload a real delivery carries). */
async function taskEvent(eventIds: string[]): Promise<OutboxEvent> {
  const rows = await db.outboxEvent.findMany({
    where: { eventId: { in: eventIds }, topic: TOPICS.taskEvents },
  });
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** The CloudEvent daprd would build from the published outbox row. */
function cloudEvent(row: OutboxEvent, data: unknown = row.data) {
  return {
    id: row.eventId,
    source: "create-task",
    type: row.type,
    subject: row.subject,
    topic: row.topic,
    time: row.createdAt.toISOString(),
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    data,
  };
}

/** Delivers as daprd does: structured mode, `pubsubname` header, status read from the 200 body. */
function deliver(row: OutboxEvent, data?: unknown, base = fn.url) {
  return deliverAsDapr(base, PATH, cloudEvent(row, data));
}

/** Delivers as Knative Eventing does: binary mode, `ce-*` headers, the data as the body. */
function deliverBinary(row: OutboxEvent) {
  return deliverAsKnative(fn.url, PATH, cloudEvent(row));
}

async function auditRows(taskId: string) {
  return db.auditLog.findMany({ where: { taskId }, orderBy: [{ occurredAt: "asc" }, { id: "asc" }] });
}

const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute));

test("declares its subscription to every task event with a dead-letter topic", async () => {
  const res = await api(fn.url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR });
  expect(res.status).toBe(200);
  expect(res.body).toEqual([
    {
      pubsubname: "pubsub",
      topic: "task-events",
      routes: { default: PATH },
      deadLetterTopic: "task-events-dlq",
    },
  ]);
});

test("create, update, complete, reopen and delete each leave one row with action, actor and before/after", async () => {
  const user = await createTestUser(db);
  const token: Actor = { type: "api_token", id: user.tokenId };
  const agent: Actor = { type: "agent", id: "planner-bot" };

  const created = await createTask(commandCtx(user, at(0), token), {
    title: "Write report",
    description: "",
    priority: "low",
    due_at: new Date("2026-12-01T09:00:00Z"),
    tags: ["work"],
    reminders: [{ offset_minutes: 30 }],
    recurrence: null,
  });
  const taskId = created.task.id;
  const updated = await updateTask(commandCtx(user, at(1), agent), taskId, {
    title: "Write the annual report",
    priority: "high",
  });
  const completed = await completeTask(commandCtx(user, at(2)), taskId);
  const reopened = await reopenTask(commandCtx(user, at(3)), taskId);
  const deleted = await deleteTask(commandCtx(user, at(4)), taskId);

  for (const result of [created, updated, completed, reopened, deleted]) {
    const res = await deliver(await taskEvent(result.eventIds));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "SUCCESS" });
  }

  const rows = await auditRows(taskId);
  expect(rows.map((r) => r.action)).toEqual(["created", "updated", "completed", "reopened", "deleted"]);
  expect(rows.map((r) => [r.actorType, r.actorId])).toEqual([
    ["api_token", user.tokenId],
    ["agent", "planner-bot"],
    ["user", user.id],
    ["user", user.id],
    ["user", user.id],
  ]);
  expect(rows.map((r) => r.occurredAt.toISOString())).toEqual(
    [0, 1, 2, 3, 4].map((m) => at(m).toISOString()),
  );
  expect(rows.every((r) => r.userId === user.id)).toBe(true);
  expect(rows.map((r) => r.eventId)).toEqual(
    [created, updated, completed, reopened, deleted].map((r) => r.eventIds[0]),
  );

  const [c, u, done, reopen, gone] = rows.map((r) => r.changes as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(Object.keys(c!).sort()).toEqual([...TRACKED_FIELDS].sort());
  expect(c!.title).toEqual({ before: null, after: "Write report" });
  expect(c!.priority).toEqual({ before: null, after: "low" });
  expect(c!.tags).toEqual({ before: null, after: ["work"] });
  expect(c!.reminders.after).toEqual([expect.objectContaining({ offset_minutes: 30, remind_at: null })]);
  expect(c!.completed_at).toEqual({ before: null, after: null });
  expect(u).toEqual({
    title: { before: "Write report", after: "Write the annual report" },
    priority: { before: "low", after: "high" },
  });
  expect(done!.status).toEqual({ before: "pending", after: "completed" });
  expect(done!.completed_at).toEqual({ before: null, after: at(2).toISOString() });
  expect(reopen!.status).toEqual({ before: "completed", after: "pending" });
  expect(reopen!.completed_at).toEqual({ before: at(2).toISOString(), after: null });
  expect(gone!.title).toEqual({ before: "Write the annual report", after: null });
  expect(gone!.status).toEqual({ before: "pending", after: null });
  expect(gone!.reason).toBeUndefined();

  // The history stays readable after the task is gone, with the title as of each event.
  const history = await api(fn.url, "GET", `/v1/tasks/${taskId}/activity`, { auth: user.auth });
  expect(history.status).toBe(200);
  expect(history.body.next_cursor).toBeNull();
  expect(history.body.items.map((i: { title: string }) => i.title)).toEqual([
    "Write report",
    "Write the annual report",
    "Write the annual report",
    "Write the annual report",
    "Write the annual report",
  ]);
  expect(history.body.items[1]).toEqual({
    id: rows[1]!.id.toString(),
    event_id: updated.eventIds[0],
    task_id: taskId,
    action: "updated",
    actor: { type: "agent", id: "planner-bot" },
    changes: u,
    occurred_at: at(1).toISOString(),
    title: "Write the annual report",
    reason: null,
  });
});

test("a redelivered event adds nothing, sequentially or concurrently", async () => {
  const user = await createTestUser(db);
  const { task, eventIds } = await createTask(commandCtx(user, at(0)), {
    title: "Once",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  const row = await taskEvent(eventIds);

  const sequential = [await deliver(row), await deliver(row), await deliver(row)];
  const concurrent = await Promise.all([deliver(row), deliver(row), deliver(row)]);

  for (const res of [...sequential, ...concurrent]) expect(res.body).toEqual({ status: "SUCCESS" });
  expect(await db.auditLog.count({ where: { taskId: task.id } })).toBe(1);
});

test("skipping one occurrence of a series is recorded as deleted with its reason", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(commandCtx(user, at(0)), {
    title: "Water plants",
    description: "",
    priority: "none",
    due_at: new Date("2026-12-01T09:00:00Z"),
    tags: [],
    reminders: [],
    recurrence: {
      pattern: "weekly",
      interval: 1,
      weekdays: [],
      month_day: null,
      last_day_of_month: false,
      month_week: null,
      anchor: "schedule",
      ends_at: null,
      max_count: null,
    },
  });
  const skipped = await deleteTask(commandCtx(user, at(1)), task.id, { scope: "occurrence" });

  expect((await deliver(await taskEvent(skipped.eventIds))).body).toEqual({ status: "SUCCESS" });

  const [row] = await auditRows(task.id);
  expect(row!.action).toBe("deleted");
  expect(row!.reason).toBe("occurrence_skipped");
  expect(row!.title).toBe("Water plants");
  expect((row!.changes as Record<string, unknown>).reason).toBeUndefined();
  expect((row!.changes as Record<string, unknown>).recurrence).toEqual({
    before: expect.objectContaining({ pattern: "weekly", active: true }),
    after: null,
  });
});

test("a binary-mode (Knative) delivery is recorded and answered with 204", async () => {
  const user = await createTestUser(db);
  const { task, eventIds } = await createTask(commandCtx(user, at(0)), {
    title: "From Knative",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });

  const res = await deliverBinary(await taskEvent(eventIds));

  expect(res.status).toBe(204);
  const rows = await auditRows(task.id);
  expect(rows.map((r) => [r.action, r.eventId])).toEqual([["created", eventIds[0]]]);
});

test("an event whose data is not a task event is dropped and stores nothing", async () => {
  const user = await createTestUser(db);
  const { task, eventIds } = await createTask(commandCtx(user, at(0)), {
    title: "Malformed",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  const row = await taskEvent(eventIds);
  const data = row.data as Record<string, unknown>;

  const missingActor = await deliver(row, { ...data, actor: undefined });
  const badTaskId = await deliver(row, { ...data, task_id: "not-a-uuid" });
  const badTimestamp = await deliver(row, { ...data, timestamp: "yesterday" });

  for (const res of [missingActor, badTaskId, badTimestamp]) {
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "DROP" });
  }
  expect(await db.auditLog.count({ where: { taskId: task.id } })).toBe(0);
});

test("an event carrying text or an instant PostgreSQL refuses is dropped, not retried for ever", async () => {
  const user = await createTestUser(db);
  const { task, eventIds } = await createTask(commandCtx(user, at(0)), {
    title: "Poisoned",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  const row = await taskEvent(eventIds);
  const data = row.data as Record<string, unknown> & { task_data: Record<string, unknown> };

  const replies = [];
  for (const poisoned of [
    { ...data, timestamp: "0000-01-01T00:00:00Z" },
    { ...data, task_data: { ...data.task_data, title: "a\u0000b" } },
    { ...data, task_data: { ...data.task_data, title: "\ud800" } },
    { ...data, reason: "x\u0000" },
    { ...data, changes: { title: { before: null, after: "\udc00" } } },
  ])
    replies.push((await deliver(row, poisoned)).body);

  expect(replies).toEqual(Array(5).fill({ status: "DROP" }));
  expect(await db.auditLog.count({ where: { taskId: task.id } })).toBe(0);
});

test("a forged activity cursor at year 0 is a 400 naming the cursor, not a 500", async () => {
  const user = await createTestUser(db);
  const forged = Buffer.from(JSON.stringify({ v: 1, k: "user", t: "0000-01-01T00:00:00Z", i: "1" })).toString(
    "base64url",
  );
  const res = await api(fn.url, "GET", `/v1/activity?cursor=${forged}`, { auth: user.auth });
  expect(res.status).toBe(400);
  expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["cursor"]);
});

test("when the database is unreachable the delivery is retried, never acknowledged", async () => {
  const user = await createTestUser(db);
  const { eventIds } = await createTask(commandCtx(user, at(0)), {
    title: "Outage",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  const row = await taskEvent(eventIds);
  // Port 1 on loopback: connection refused, as when PostgreSQL is down.
  const down = await startFunction(
    { name: "audit-log", routes, subscriptions },
    { DATABASE_URL: "postgresql://orbit@127.0.0.1:1/orbit" },
  );
  try {
    const res = await deliver(row, undefined, down.url);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "RETRY" });
  } finally {
    await down.close();
  }
  expect(await db.auditLog.count({ where: { eventId: row.eventId } })).toBe(0);
});

/** Creates a task and `updates` title changes, delivering every event; returns the task id. */
async function taskWithHistory(user: TestUser, updates: number, startMinute: number): Promise<string> {
  const created = await createTask(commandCtx(user, at(startMinute)), {
    title: "v0",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  await deliver(await taskEvent(created.eventIds));
  for (let i = 1; i <= updates; i++) {
    const updated = await updateTask(commandCtx(user, at(startMinute + i)), created.task.id, {
      title: `v${i}`,
    });
    await deliver(await taskEvent(updated.eventIds));
  }
  return created.task.id;
}

async function allPages(user: TestUser, path: string, limit: number) {
  const pages: { action: string; title: string; occurred_at: string; id: string }[][] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await api(fn.url, "GET", path + query, { auth: user.auth });
    expect(res.status).toBe(200);
    pages.push(res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor && pages.length < 10);
  return pages;
}

test("a task's history pages oldest first and the user's activity newest first", async () => {
  const user = await createTestUser(db);
  const first = await taskWithHistory(user, 4, 0);
  const second = await taskWithHistory(user, 1, 10);

  const history = await allPages(user, `/v1/tasks/${first}/activity`, 2);
  expect(history.map((p) => p.length)).toEqual([2, 2, 1]);
  expect(history.flat().map((i) => i.title)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
  expect(history.flat().map((i) => i.action)).toEqual([
    "created",
    "updated",
    "updated",
    "updated",
    "updated",
  ]);

  const feed = await allPages(user, "/v1/activity", 3);
  expect(feed.map((p) => p.length)).toEqual([3, 3, 1]);
  const items = feed.flat() as unknown as { task_id: string; title: string; occurred_at: string }[];
  expect(items.map((i) => [i.task_id, i.title])).toEqual([
    [second, "v1"],
    [second, "v0"],
    [first, "v4"],
    [first, "v3"],
    [first, "v2"],
    [first, "v1"],
    [first, "v0"],
  ]);
  expect(items.map((i) => i.occurred_at)).toEqual([...items.map((i) => i.occurred_at)].sort().reverse());
});

test("events in the same millisecond keep their order across page boundaries", async () => {
  const user = await createTestUser(db);
  const created = await createTask(commandCtx(user, at(0)), {
    title: "same instant",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  await deliver(await taskEvent(created.eventIds));
  for (const priority of ["low", "medium", "high"] as const) {
    const updated = await updateTask(commandCtx(user, at(0)), created.task.id, { priority });
    await deliver(await taskEvent(updated.eventIds));
  }

  const pages = await allPages(user, `/v1/tasks/${created.task.id}/activity`, 1);
  const ids = pages.flat().map((i) => i.id);
  expect(ids).toHaveLength(4);
  expect(new Set(ids).size).toBe(4);
  expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((a, b) => (a < b ? -1 : 1)));
});

test("activity is private: another user's task history is a 404 and their feed shows nothing of it", async () => {
  const owner = await createTestUser(db);
  const other = await createTestUser(db, { scope: "read" });
  const taskId = await taskWithHistory(owner, 1, 0);

  const foreign = await api(fn.url, "GET", `/v1/tasks/${taskId}/activity`, { auth: other.auth });
  const unknown = await api(fn.url, "GET", `/v1/tasks/${randomUUID()}/activity`, { auth: other.auth });
  const feed = await api(fn.url, "GET", "/v1/activity", { auth: other.auth });
  const anonymous = await api(fn.url, "GET", `/v1/tasks/${taskId}/activity`);

  expect(foreign.status).toBe(404);
  expect(foreign.body.type).toBe("https://orbit.invalid/problems/not-found");
  expect(unknown.status).toBe(404);
  expect(feed.status).toBe(200);
  expect(feed.body).toEqual({ items: [], next_cursor: null });
  expect(anonymous.status).toBe(401);
});

test("a task of the caller's own with no recorded events yet has an empty history, not a 404", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(commandCtx(user, at(0)), {
    title: "Not yet consumed",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });

  const res = await api(fn.url, "GET", `/v1/tasks/${task.id}/activity`, { auth: user.auth });

  expect(res.status).toBe(200);
  expect(res.body).toEqual({ items: [], next_cursor: null });
});

test("bad query parameters get a 400 naming the parameter", async () => {
  const user = await createTestUser(db);
  const taskId = await taskWithHistory(user, 2, 0);
  const taskCursor = (await api(fn.url, "GET", `/v1/tasks/${taskId}/activity?limit=1`, { auth: user.auth }))
    .body.next_cursor as string;
  expect(taskCursor).toEqual(expect.any(String));

  const forgedCursor = Buffer.from(
    JSON.stringify({ v: 1, k: "user", t: "2026-11-23T10:00:00.000Z", i: "9999999999999999999" }),
  ).toString("base64url");

  const cases: [string, string][] = [
    ["/v1/activity?limit=0", "limit"],
    ["/v1/activity?limit=101", "limit"],
    ["/v1/activity?limit=ten", "limit"],
    ["/v1/activity?limit=1&limit=2", "limit"],
    ["/v1/activity?cursor=%25%25%25", "cursor"],
    ["/v1/activity?cursor=eyJ2IjoxfQ", "cursor"],
    [`/v1/activity?cursor=${taskCursor}`, "cursor"],
    [`/v1/activity?cursor=${forgedCursor}`, "cursor"],
    ["/v1/activity?sort=asc", "sort"],
    ["/v1/tasks/not-a-uuid/activity", "id"],
  ];
  for (const [path, field] of cases) {
    const res = await api(fn.url, "GET", path, { auth: user.auth });
    expect({ path, status: res.status }).toEqual({ path, status: 400 });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  }
});
