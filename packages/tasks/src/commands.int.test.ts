import { afterAll, beforeAll, expect, test } from "vitest";
import { taskEventSchema, taskUpdateSchema } from "#core/events.ts";
import { createTaskSchema, updateTaskSchema, type TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { DaprClient } from "#platform/dapr-client.ts";
import { createLogger } from "#platform/logger.ts";
import { OutboxRelay } from "#platform/outbox.ts";
import { NotFound, RuleViolation, VersionConflict } from "#core/errors.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import {
  completeTask,
  createTask,
  deleteTask,
  reopenTask,
  taskEventMessages,
  updateTask,
  type CommandContext,
} from "./commands.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");

let db: Db;
let user: TestUser;
let sidecar: PublishRecorder;

beforeAll(async () => {
  db = await workerDb();
  user = await createTestUser(db);
  sidecar = await startPublishRecorder();
});
afterAll(async () => {
  await sidecar.close();
});

function ctxFor(who: TestUser, extra: Partial<CommandContext> = {}): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "api_token", id: who.tokenId },
    userId: who.id,
    userTimeZone: "Europe/Berlin",
    defaultReminderMinutes: [15],
    now: NOW,
    ...extra,
  };
}

const create = (input: Record<string, unknown>, ctx = ctxFor(user)) =>
  createTask(ctx, createTaskSchema.parse(input));
const update = (id: string, input: Record<string, unknown>, ctx = ctxFor(user)) =>
  updateTask(ctx, id, updateTaskSchema.parse(input));

interface OutboxRow {
  event_id: string;
  pubsub: string;
  topic: string;
  type: string;
  subject: string | null;
  partition_key: string;
  data: Record<string, unknown>;
  xmin: string;
}

/** The outbox rows about one user's tasks, oldest first. */
function outboxOf(userId: string): Promise<OutboxRow[]> {
  return db.$queryRaw<OutboxRow[]>`
    SELECT event_id::text AS event_id, pubsub, topic, type, subject, partition_key, data, xmin::text AS xmin
    FROM outbox WHERE data->>'user_id' = ${userId} ORDER BY seq`;
}

/** Everything a create writes, for "nothing was written" checks. */
async function footprint(userId: string) {
  const [tasks, tags, reminders, series, outbox] = await Promise.all([
    db.task.count({ where: { userId } }),
    db.taskTag.count({ where: { userId } }),
    db.taskReminder.count({ where: { userId } }),
    db.taskRecurrence.count({ where: { userId } }),
    outboxOf(userId).then((rows) => rows.length),
  ]);
  return { tasks, tags, reminders, series, outbox };
}

const injected = () => {
  throw new Error("fault injected after enqueue");
};

test("create writes the task and exactly its two events in one transaction", async () => {
  const who = await createTestUser(db);
  const { task, changed, eventIds } = await create({ title: "Write report", tags: ["work"] }, ctxFor(who));
  expect(changed).toBe(true);
  const rows = await outboxOf(who.id);
  expect(rows.map((r) => r.event_id)).toEqual(eventIds);
  expect(rows.map((r) => [r.topic, r.type, r.partition_key, r.subject, r.pubsub])).toEqual([
    ["task-events", "orbit.task.created", task.id, task.id, "pubsub"],
    ["task-updates", "orbit.task-update.task_created", who.id, task.id, "pubsub"],
  ]);
  // The payloads satisfy the published contracts.
  const event = taskEventSchema.parse(rows[0]!.data);
  expect(event).toMatchObject({
    event_type: "created",
    task_id: task.id,
    actor: { type: "api_token", id: who.tokenId },
  });
  expect(event.task_data).toEqual(task);
  expect(taskUpdateSchema.parse(rows[1]!.data)).toMatchObject({ event_type: "task_created", task });
  // Same transaction: the task row and both outbox rows were written by one transaction id.
  const [taskRow] = await db.$queryRaw<
    { xmin: string }[]
  >`SELECT xmin::text AS xmin FROM tasks WHERE id = ${task.id}::uuid`;
  expect(rows.map((r) => r.xmin)).toEqual([taskRow!.xmin, taskRow!.xmin]);
});

test("a failure after enqueueing rolls back the task, its tags, reminders, series and events", async () => {
  const who = await createTestUser(db);
  await expect(
    create(
      {
        title: "Doomed",
        tags: ["a", "b"],
        due_at: "2026-12-01T09:00:00Z",
        recurrence: { pattern: "daily" },
      },
      ctxFor(who, { afterEnqueue: async () => injected() }),
    ),
  ).rejects.toThrow("fault injected");
  expect(await footprint(who.id)).toEqual({ tasks: 0, tags: 0, reminders: 0, series: 0, outbox: 0 });
});

test("events are invisible to the relay until the command commits, then published", async () => {
  const who = await createTestUser(db);
  const relay = new OutboxRelay({
    db,
    dapr: new DaprClient({ port: sidecar.port }),
    log: createLogger("commands-test", "silent"),
    source: "create-task",
  });
  let seenInside = -1;
  const { task, eventIds } = await create(
    { title: "Watched" },
    ctxFor(who, {
      afterEnqueue: async (tx) => {
        // The transaction sees its own events; a relay on another connection sees none of them.
        const inside = await tx.outboxEvent.count({ where: { partitionKey: { in: [who.id] } } });
        expect(inside).toBe(1);
        await relay.drainOnce();
        seenInside = sidecar.published.filter((p) => p.body.data?.user_id === who.id).length;
      },
    }),
  );
  expect(seenInside).toBe(0);
  await relay.drainOnce();
  const published = sidecar.published.filter((p) => p.body.data?.user_id === who.id);
  expect(published.map((p) => p.body.id)).toEqual(eventIds);
  expect(published[0]!.body).toMatchObject({ type: "orbit.task.created", subject: task.id });
});

test("a failed update leaves the task and the outbox as they were", async () => {
  const { task } = await create({ title: "Stable", tags: ["keep"] });
  const before = await outboxOf(user.id);
  await expect(
    update(
      task.id,
      { title: "Changed", tags: ["other"] },
      ctxFor(user, { afterEnqueue: async () => injected() }),
    ),
  ).rejects.toThrow("fault injected");
  const row = await db.task.findUnique({ where: { id: task.id }, include: { tags: true } });
  expect(row).toMatchObject({ title: "Stable", version: 1 });
  expect(row!.tags.map((t) => t.tag)).toEqual(["keep"]);
  expect(await outboxOf(user.id)).toEqual(before);
});

test("a failed complete or delete leaves the task as it was", async () => {
  const { task } = await create({ title: "Still here" });
  const failing = ctxFor(user, { afterEnqueue: async () => injected() });
  const before = (await outboxOf(user.id)).length;
  await expect(completeTask(failing, task.id)).rejects.toThrow("fault injected");
  await expect(deleteTask(failing, task.id)).rejects.toThrow("fault injected");
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    status: "pending",
    version: 1,
  });
  expect(await outboxOf(user.id)).toHaveLength(before);
});

test("update records each changed field before and after, and the live update names them", async () => {
  const { task } = await create({ title: "Old title", priority: "low" });
  const later = new Date(NOW.getTime() + 60_000);
  const { task: after, eventIds } = await update(
    task.id,
    { title: "New title", priority: "high" },
    ctxFor(user, { now: later }),
  );
  expect(after).toMatchObject({
    title: "New title",
    priority: "high",
    version: 2,
    updated_at: later.toISOString(),
  });
  const rows = (await outboxOf(user.id)).filter((r) => eventIds.includes(r.event_id));
  expect(rows.map((r) => r.type)).toEqual(["orbit.task.updated", "orbit.task-update.task_updated"]);
  expect(rows[0]!.data.changes).toEqual({
    title: { before: "Old title", after: "New title" },
    priority: { before: "low", after: "high" },
  });
  expect(rows[1]!.data.changed_fields).toEqual(["title", "priority"]);
  // The stored row agrees with what the command returned.
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    version: 2,
    updatedAt: later,
  });
});

test("an update that changes nothing writes no event and keeps the version", async () => {
  const { task } = await create({
    title: "Same",
    tags: ["Home", "errands"],
    due_at: "2026-12-01T09:00:00Z",
    reminders: [{ offset_minutes: 30 }, { offset_minutes: 5 }],
  });
  const before = (await outboxOf(user.id)).length;
  const result = await update(task.id, {
    title: "Same",
    priority: "none",
    tags: ["home", "Errands"],
    due_at: "2026-12-01T10:00:00+01:00",
    reminders: [{ offset_minutes: 5 }, { offset_minutes: 30 }],
  });
  expect(result.changed).toBe(false);
  expect(result.eventIds).toEqual([]);
  expect(result.task).toEqual(task);
  expect(await outboxOf(user.id)).toHaveLength(before);
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({ version: 1 });
});

test("complete and reopen emit status changes; repeating either is a no-op", async () => {
  const { task } = await create({ title: "Toggle" });
  const done = await completeTask(ctxFor(user), task.id, 1);
  expect(done.task).toMatchObject({ status: "completed", completed_at: NOW.toISOString(), version: 2 });
  const rows = (await outboxOf(user.id)).filter((r) => done.eventIds.includes(r.event_id));
  expect(rows.map((r) => r.type)).toEqual(["orbit.task.completed", "orbit.task-update.status_changed"]);
  expect(rows[1]!.data).toMatchObject({ old_status: "pending", new_status: "completed" });
  expect(Object.keys(rows[0]!.data.changes as object).sort()).toEqual(["completed_at", "status"]);

  const again = await completeTask(ctxFor(user), task.id);
  expect(again).toMatchObject({ changed: false, eventIds: [] });
  expect(again.task.version).toBe(2);

  const reopened = await reopenTask(ctxFor(user), task.id, 2);
  expect(reopened.task).toMatchObject({ status: "pending", completed_at: null, version: 3 });
  const reopenRows = (await outboxOf(user.id)).filter((r) => reopened.eventIds.includes(r.event_id));
  expect(reopenRows.map((r) => r.type)).toEqual(["orbit.task.updated", "orbit.task-update.status_changed"]);
  expect((await reopenTask(ctxFor(user), task.id)).changed).toBe(false);
});

test("commands on another user's task are 'not found', and change nothing", async () => {
  const { task } = await create({ title: "Mine" });
  const stranger = await createTestUser(db);
  const attempts = [
    () => update(task.id, { title: "Theirs" }, ctxFor(stranger)),
    () => completeTask(ctxFor(stranger), task.id),
    () => reopenTask(ctxFor(stranger), task.id),
    () => deleteTask(ctxFor(stranger), task.id),
  ];
  for (const attempt of attempts) {
    const error = await attempt().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFound);
  }
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({ title: "Mine", version: 1 });
  expect(await footprint(stranger.id)).toMatchObject({ outbox: 0 });
});

test("a stale version is a version conflict naming the current one", async () => {
  const { task } = await create({ title: "Versioned" });
  await update(task.id, { title: "v2" });
  const error = await update(task.id, { title: "v3", version: 1 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VersionConflict);
  expect(error).toMatchObject({ current: 2, given: 1 });
});

test("reminders or a recurrence without a due date break a rule naming the field; nothing is written", async () => {
  const { task } = await create({ title: "Undated" });
  const attempts = [
    () => create({ title: "Reminded", reminders: [{ offset_minutes: 10 }] }),
    () => update(task.id, { reminders: [{ offset_minutes: 10 }] }),
    () => update(task.id, { recurrence: { pattern: "daily" } }),
  ];
  const fields: string[] = [];
  for (const attempt of attempts) {
    const error = await attempt().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuleViolation);
    fields.push((error as RuleViolation).field);
  }
  expect(fields).toEqual(["reminders", "reminders", "recurrence"]);
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    title: "Undated",
    version: 1,
  });
});

test("update, complete, reopen and delete each write their events in their own transaction", async () => {
  const { task } = await create({ title: "Traced" });
  const xminOf = async (id: string) =>
    (await db.$queryRaw<{ xmin: string }[]>`SELECT xmin::text AS xmin FROM tasks WHERE id = ${id}::uuid`)[0]
      ?.xmin;
  const steps = [
    () => update(task.id, { title: "Traced again" }),
    () => completeTask(ctxFor(user), task.id),
    () => reopenTask(ctxFor(user), task.id),
  ];
  for (const step of steps) {
    const { eventIds } = await step();
    const rows = (await outboxOf(user.id)).filter((r) => eventIds.includes(r.event_id));
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.xmin)).toEqual([await xminOf(task.id), await xminOf(task.id)]);
  }
  const { eventIds } = await deleteTask(ctxFor(user), task.id);
  const rows = (await outboxOf(user.id)).filter((r) => eventIds.includes(r.event_id));
  expect(rows.map((r) => r.type)).toEqual(["orbit.task.deleted", "orbit.task-update.task_deleted"]);
  expect(rows[0]!.xmin).toBe(rows[1]!.xmin);
  expect(await xminOf(task.id)).toBeUndefined();
});

test("taskEventMessages: a delete's live update carries no task; a reopen only a status change", () => {
  const task = { id: "t-1", user_id: "u-1" } as TaskDto;
  const ctx = { actor: { type: "user" as const, id: "u-1" }, now: NOW };
  const deleted = taskEventMessages("deleted", task, ctx, {}, "series_deleted");
  expect(deleted.map((m) => [m.topic, m.type, m.partitionKey])).toEqual([
    ["task-events", "orbit.task.deleted", "t-1"],
    ["task-updates", "orbit.task-update.task_deleted", "u-1"],
  ]);
  expect(deleted[0]!.data).toMatchObject({ reason: "series_deleted" });
  expect(deleted[1]!.data).toMatchObject({ task: null });
  const reopened = taskEventMessages("updated", task, ctx, {
    status: { before: "completed", after: "pending" },
    completed_at: { before: NOW.toISOString(), after: null },
  });
  expect(reopened.map((m) => m.type)).toEqual(["orbit.task.updated", "orbit.task-update.status_changed"]);
});
