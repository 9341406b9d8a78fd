import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTaskSchema, type TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { createTask } from "#tasks/commands.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes } from "./handler.ts";

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let user: TestUser;
let db: Db;

beforeAll(async () => {
  db = await workerDb();
  // No sidecar: events stay in the outbox exactly as the commands wrote them.
  fn = await startFunction({ name: "delete-task", routes, outbox: true });
  user = await createTestUser(db);
});
afterAll(async () => {
  await fn.close();
});

/** A task made by the real create command (create-task's own tests cover its HTTP route). */
async function seed(input: Record<string, unknown> = {}, who: TestUser = user): Promise<TaskDto> {
  const { task } = await createTask(
    {
      db,
      pubsub: "pubsub",
      actor: { type: "api_token", id: who.tokenId },
      userId: who.id,
      userTimeZone: "UTC",
      defaultReminderMinutes: [15],
      now: new Date(),
    },
    createTaskSchema.parse({ title: "Seeded", ...input }),
  );
  return task;
}

const remove = (
  id: string,
  options: { who?: TestUser; query?: string; headers?: Record<string, string> } = {},
) =>
  api(fn.url, "DELETE", `/v1/tasks/${id}${options.query ?? ""}`, {
    auth: (options.who ?? user).auth,
    headers: options.headers,
  });

interface EventRow {
  type: string;
  partition_key: string;
  data: Record<string, unknown>;
}

function eventsOf(taskId: string): Promise<EventRow[]> {
  return db.$queryRaw<
    EventRow[]
  >`SELECT type, partition_key, data FROM outbox WHERE subject = ${taskId} ORDER BY seq`;
}

const weekly = { due_at: "2026-12-07T09:00:00Z", recurrence: { pattern: "weekly", weekdays: [1] } };

test("delete answers 204, removes the task with its tags and reminders, and emits deleted events", async () => {
  const task = await seed({ tags: ["gone"], due_at: "2026-12-01T09:00:00Z" });
  expect(task.reminders).toHaveLength(1);
  const res = await remove(task.id);
  expect(res.status).toBe(204);
  expect(res.body).toBeNull();
  expect(await db.task.findUnique({ where: { id: task.id } })).toBeNull();
  expect(await db.taskTag.count({ where: { taskId: task.id } })).toBe(0);
  expect(await db.taskReminder.count({ where: { taskId: task.id } })).toBe(0);
  const events = (await eventsOf(task.id)).slice(2);
  expect(events.map((e) => [e.type, e.partition_key])).toEqual([
    ["orbit.task.deleted", task.id],
    ["orbit.task-update.task_deleted", user.id],
  ]);
  expect(events[0]!.data).toMatchObject({
    event_type: "deleted",
    reason: null,
    task_data: { id: task.id, title: "Seeded" },
  });
  expect(events[1]!.data).toMatchObject({ task: null });
});

test("deleting again is a 404 and writes nothing", async () => {
  const task = await seed();
  expect((await remove(task.id)).status).toBe(204);
  const outbox = await db.outboxEvent.count();
  const again = await remove(task.id);
  expect(again.status).toBe(404);
  expect(again.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(await db.outboxEvent.count()).toBe(outbox);
});

test("deleting one occurrence of a recurring task keeps the series going", async () => {
  const task = await seed(weekly);
  const res = await remove(task.id, { query: "?scope=occurrence" });
  expect(res.status).toBe(204);
  expect(await db.taskRecurrence.findUnique({ where: { id: task.series_id! } })).toMatchObject({
    active: true,
  });
  const [deleted] = (await eventsOf(task.id)).slice(2);
  expect(deleted!.data).toMatchObject({
    reason: "occurrence_skipped",
    task_data: { recurrence: { active: true } },
  });
});

test("deleting the series (explicitly or by default) ends it", async () => {
  for (const query of ["?scope=series", ""]) {
    const task = await seed(weekly);
    expect((await remove(task.id, { query })).status).toBe(204);
    expect(await db.taskRecurrence.findUnique({ where: { id: task.series_id! } })).toMatchObject({
      active: false,
    });
    const [deleted] = (await eventsOf(task.id)).slice(2);
    expect(deleted!.data).toMatchObject({
      reason: "series_deleted",
      task_data: { recurrence: { active: false } },
    });
  }
});

test("a bad scope, an unknown query parameter or a non-UUID id is a 400 naming it; nothing is deleted", async () => {
  const task = await seed(weekly);
  const scope = await remove(task.id, { query: "?scope=everything" });
  expect(scope.status).toBe(400);
  expect(scope.body.errors).toEqual([expect.objectContaining({ field: "scope", pointer: "/query/scope" })]);
  const extra = await remove(task.id, { query: "?force=true" });
  expect(extra.status).toBe(400);
  expect(extra.body.errors).toEqual([expect.objectContaining({ field: "force", pointer: "/query/force" })]);
  const id = await remove("task-1");
  expect(id.status).toBe(400);
  expect(id.body.errors).toEqual([expect.objectContaining({ field: "id", pointer: "/params/id" })]);
  expect(await db.task.findUnique({ where: { id: task.id } })).not.toBeNull();
  expect(await eventsOf(task.id)).toHaveLength(2);
});

test("If-Match: a stale version is a 409, garbage a 400, the current one deletes", async () => {
  const task = await seed();
  const stale = await remove(task.id, { headers: { "if-match": '"7"' } });
  expect(stale.status).toBe(409);
  expect(stale.body).toMatchObject({ status: 409, current_version: 1 });
  const garbage = await remove(task.id, { headers: { "if-match": "latest" } });
  expect(garbage.status).toBe(400);
  expect(garbage.body.errors).toEqual([expect.objectContaining({ pointer: "/headers/if-match" })]);
  expect(await db.task.findUnique({ where: { id: task.id } })).not.toBeNull();
  expect((await remove(task.id, { headers: { "if-match": '"1"' } })).status).toBe(204);
});

test("another user's task is a 404 and survives", async () => {
  const task = await seed(weekly);
  const intruder = await createTestUser(db);
  for (const query of ["", "?scope=series", "?scope=occurrence"]) {
    expect((await remove(task.id, { who: intruder, query })).status).toBe(404);
  }
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({ title: "Seeded", version: 1 });
  expect(await db.taskRecurrence.findUnique({ where: { id: task.series_id! } })).toMatchObject({
    active: true,
  });
  expect(await eventsOf(task.id)).toHaveLength(2);
  expect((await remove(randomUUID())).status).toBe(404);
});

test("no token 401, revoked or expired token 401, read-only token 403; nothing is deleted", async () => {
  const task = await seed();
  const none = await api(fn.url, "DELETE", `/v1/tasks/${task.id}`);
  expect(none.status).toBe(401);
  expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
  const revoked = await createTestUser(db);
  const revokedTask = await seed({}, revoked);
  await db.apiToken.update({ where: { id: revoked.tokenId }, data: { revokedAt: new Date() } });
  expect((await remove(revokedTask.id, { who: revoked })).status).toBe(401);
  const expired = await createTestUser(db);
  const expiredTask = await seed({}, expired);
  await db.apiToken.update({ where: { id: expired.tokenId }, data: { expiresAt: new Date(Date.now() - 1) } });
  expect((await remove(expiredTask.id, { who: expired })).status).toBe(401);
  const reader = await createTestUser(db, { scope: "read" });
  const readerTask = await seed({}, reader);
  expect((await remove(readerTask.id, { who: reader })).status).toBe(403);
  const ids = [task.id, revokedTask.id, expiredTask.id, readerTask.id];
  expect(await db.task.count({ where: { id: { in: ids } } })).toBe(4);
});
