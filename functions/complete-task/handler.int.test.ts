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
  fn = await startFunction({ name: "complete-task", routes, outbox: true });
  user = await createTestUser(db);
});
afterAll(async () => {
  await fn.close();
});

/** A task made by the real create command (create-task's own tests cover its HTTP route). */
async function seed(who: TestUser = user): Promise<TaskDto> {
  const { task } = await createTask(
    {
      db,
      pubsub: "pubsub",
      actor: { type: "api_token", id: who.tokenId },
      userId: who.id,
      userTimeZone: "UTC",
      defaultReminderMinutes: [],
      now: new Date(),
    },
    createTaskSchema.parse({ title: "Seeded" }),
  );
  return task;
}

const post = (
  id: string,
  action: "complete" | "reopen",
  options: { who?: TestUser; body?: unknown; headers?: Record<string, string> } = {},
) =>
  api(fn.url, "POST", `/v1/tasks/${id}/${action}`, {
    auth: (options.who ?? user).auth,
    body: options.body,
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

test("complete marks the task done and emits a completed event and a status change", async () => {
  const task = await seed();
  const res = await post(task.id, "complete");
  expect(res.status).toBe(200);
  expect(res.headers.get("etag")).toBe('"2"');
  expect(res.body).toMatchObject({ id: task.id, status: "completed", version: 2 });
  expect(Date.parse(res.body.completed_at)).toBeGreaterThan(Date.now() - 10_000);
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    status: "completed",
    version: 2,
  });
  const events = (await eventsOf(task.id)).slice(2);
  expect(events.map((e) => [e.type, e.partition_key])).toEqual([
    ["orbit.task.completed", task.id],
    ["orbit.task-update.status_changed", user.id],
  ]);
  expect(events[0]!.data).toMatchObject({
    event_type: "completed",
    task_data: { status: "completed", version: 2 },
  });
  expect(events[1]!.data).toMatchObject({ old_status: "pending", new_status: "completed" });
});

test("completing twice is idempotent: the second is a 200 with no new event", async () => {
  const task = await seed();
  const first = await post(task.id, "complete");
  const before = await eventsOf(task.id);
  const second = await post(task.id, "complete");
  expect(second.status).toBe(200);
  expect(second.body).toEqual(first.body);
  // A retry that names the version the first attempt started from is safe too.
  const retry = await post(task.id, "complete", { headers: { "if-match": '"1"' } });
  expect(retry.status).toBe(200);
  expect(retry.body).toEqual(first.body);
  expect(await eventsOf(task.id)).toEqual(before);
  expect((await db.task.findUnique({ where: { id: task.id } }))!.version).toBe(2);
});

test("reopen makes a completed task pending again; reopening twice is a no-op", async () => {
  const task = await seed();
  await post(task.id, "complete");
  const res = await post(task.id, "reopen");
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: "pending", completed_at: null, version: 3 });
  const events = (await eventsOf(task.id)).slice(4);
  expect(events.map((e) => e.type)).toEqual(["orbit.task.updated", "orbit.task-update.status_changed"]);
  expect(events[1]!.data).toMatchObject({ old_status: "completed", new_status: "pending" });

  const before = await eventsOf(task.id);
  const again = await post(task.id, "reopen");
  expect(again.status).toBe(200);
  expect(again.body.version).toBe(3);
  expect(await eventsOf(task.id)).toEqual(before);
  // A pending task reopened: also a no-op.
  const fresh = await seed();
  expect((await post(fresh.id, "reopen")).body.version).toBe(1);
  expect(await eventsOf(fresh.id)).toHaveLength(2);
});

test("a stale version (body or If-Match) is a 409 with the current version; a current one works", async () => {
  const task = await seed();
  await post(task.id, "complete");
  await post(task.id, "reopen");
  const stale = await post(task.id, "complete", { body: { version: 1 } });
  expect(stale.status).toBe(409);
  expect(stale.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(stale.body).toMatchObject({ status: 409, current_version: 3 });
  const staleHeader = await post(task.id, "complete", { headers: { "if-match": '"2"' } });
  expect(staleHeader.status).toBe(409);
  expect(staleHeader.body.current_version).toBe(3);
  expect((await db.task.findUnique({ where: { id: task.id } }))!.status).toBe("pending");
  const ok = await post(task.id, "complete", { headers: { "if-match": '"3"' } });
  expect(ok.status).toBe(200);
  expect(ok.body.version).toBe(4);
});

test("bad input is a 400 naming the field: a non-UUID id, an unknown field, garbage If-Match", async () => {
  const bad = await post("12345", "complete");
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([expect.objectContaining({ field: "id", pointer: "/params/id" })]);
  const task = await seed();
  const unknown = await post(task.id, "complete", { body: { status: "completed" } });
  expect(unknown.status).toBe(400);
  expect(unknown.body.errors).toEqual([
    expect.objectContaining({ field: "status", pointer: "/body/status" }),
  ]);
  const garbage = await post(task.id, "reopen", { headers: { "if-match": "v1" } });
  expect(garbage.status).toBe(400);
  expect(garbage.body.errors).toEqual([expect.objectContaining({ pointer: "/headers/if-match" })]);
  const array = await post(task.id, "complete", { body: [] });
  expect(array.status).toBe(400);
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    status: "pending",
    version: 1,
  });
  expect(await eventsOf(task.id)).toHaveLength(2);
});

test("another user's task is a 404 for complete and reopen, and stays as it was", async () => {
  const task = await seed();
  const intruder = await createTestUser(db);
  for (const action of ["complete", "reopen"] as const) {
    const res = await post(task.id, action, { who: intruder });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  }
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    status: "pending",
    version: 1,
  });
  expect(await eventsOf(task.id)).toHaveLength(2);
  expect((await post(randomUUID(), "complete")).status).toBe(404);
});

test("no token is a 401; revoked or expired tokens 401; a read-only token 403", async () => {
  const task = await seed();
  const none = await api(fn.url, "POST", `/v1/tasks/${task.id}/complete`);
  expect(none.status).toBe(401);
  expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
  const revoked = await createTestUser(db);
  await db.apiToken.update({ where: { id: revoked.tokenId }, data: { revokedAt: new Date() } });
  expect((await post((await seed(revoked)).id, "complete", { who: revoked })).status).toBe(401);
  const expired = await createTestUser(db);
  await db.apiToken.update({ where: { id: expired.tokenId }, data: { expiresAt: new Date(Date.now() - 1) } });
  expect((await post((await seed(expired)).id, "complete", { who: expired })).status).toBe(401);
  const reader = await createTestUser(db, { scope: "read" });
  const readerTask = await seed(reader);
  expect((await post(readerTask.id, "complete", { who: reader })).status).toBe(403);
  expect((await db.task.findUnique({ where: { id: readerTask.id } }))!.status).toBe("pending");
});

test("GET on the complete path is a 405 naming POST", async () => {
  const task = await seed();
  const res = await api(fn.url, "GET", `/v1/tasks/${task.id}/complete`, { auth: user.auth });
  expect(res.status).toBe(405);
  expect(res.headers.get("allow")).toBe("POST");
});
