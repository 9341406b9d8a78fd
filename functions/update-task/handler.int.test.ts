import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
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
import { startPublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes } from "./handler.ts";
import { WAIT_MS } from "#testing/wait.ts";

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let user: TestUser;
let db: Db;

beforeAll(async () => {
  db = await workerDb();
  // No sidecar: events stay in the outbox exactly as the commands wrote them.
  fn = await startFunction({ name: "update-task", routes, outbox: true });
  user = await createTestUser(db, { defaultReminderMinutes: [15] });
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

const patch = (
  id: string,
  body: unknown,
  options: { who?: TestUser; headers?: Record<string, string> } = {},
) =>
  api(fn.url, "PATCH", `/v1/tasks/${id}`, {
    auth: (options.who ?? user).auth,
    body,
    headers: options.headers,
  });

interface EventRow {
  type: string;
  partition_key: string;
  data: {
    changes?: Record<string, { before: unknown; after: unknown }>;
    changed_fields?: string[];
    task_data?: TaskDto;
  };
}

function eventsOf(taskId: string): Promise<EventRow[]> {
  return db.$queryRaw<EventRow[]>`
    SELECT type, partition_key, data FROM outbox WHERE subject = ${taskId} ORDER BY seq`;
}

async function totals() {
  const [tasks, outbox] = await Promise.all([db.task.count(), db.outboxEvent.count()]);
  return { tasks, outbox };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test.each([
  { field: "title", value: "Renamed", expected: { title: "Renamed" } },
  { field: "description", value: "Details here", expected: { description: "Details here" } },
  { field: "priority", value: "high", expected: { priority: "high" } },
  { field: "due_at", value: "2026-12-24T18:00:00+01:00", expected: { due_at: "2026-12-24T17:00:00.000Z" } },
  { field: "time_zone", value: "America/New_York", expected: { time_zone: "America/New_York" } },
  { field: "tags", value: ["garden"], expected: { tags: ["garden"] } },
])(
  "changing $field bumps the version and records the change in both topics",
  async ({ field, value, expected }) => {
    const task = await seed({ tags: ["old"] });
    const res = await patch(task.id, { [field]: value });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"2"');
    expect(res.body).toMatchObject({ ...expected, version: 2, id: task.id });
    const stored = await db.task.findUnique({ where: { id: task.id } });
    expect(stored!.version).toBe(2);
    const events = (await eventsOf(task.id)).slice(2);
    expect(events.map((e) => [e.type, e.partition_key])).toEqual([
      ["orbit.task.updated", task.id],
      ["orbit.task-update.task_updated", user.id],
    ]);
    expect(Object.keys(events[0]!.data.changes!)).toEqual([field]);
    expect(events[0]!.data.changes![field]!.before).toEqual(task[field as keyof TaskDto]);
    expect(events[1]!.data.changed_fields).toEqual([field]);
    expect(events[0]!.data.task_data).toEqual(res.body);
  },
);

test("reminders are replaced by difference: an unchanged one keeps its id", async () => {
  const task = await seed({
    due_at: "2026-12-01T09:00:00Z",
    reminders: [{ offset_minutes: 60 }, { offset_minutes: 10 }],
  });
  const kept = task.reminders.find((r) => r.offset_minutes === 60)!;
  const res = await patch(task.id, {
    reminders: [{ offset_minutes: 60 }, { remind_at: "2026-11-30T20:00:00Z" }],
  });
  expect(res.status).toBe(200);
  expect(res.body.reminders).toHaveLength(2);
  expect(res.body.reminders).toContainEqual(kept);
  expect(res.body.reminders).toContainEqual({
    id: expect.any(String),
    offset_minutes: null,
    remind_at: "2026-11-30T20:00:00.000Z",
  });
  expect(await db.taskReminder.count({ where: { taskId: task.id } })).toBe(2);
});

test("clearing the due date drops every reminder (they are planned against the due time)", async () => {
  const task = await seed({
    due_at: "2026-12-01T09:00:00Z",
    reminders: [{ offset_minutes: 30 }, { remind_at: "2026-11-30T08:00:00Z" }],
  });
  const res = await patch(task.id, { due_at: null });
  expect(res.status).toBe(200);
  expect(res.body.due_at).toBeNull();
  expect(res.body.reminders).toEqual([]);
  expect(await (await workerDb()).taskReminder.count({ where: { taskId: task.id } })).toBe(0);
});

test("offset reminders on a task without a due date are refused, and nothing changes", async () => {
  const task = await seed();
  const before = await totals();
  const res = await patch(task.id, { reminders: [{ offset_minutes: 5 }] });
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([
    expect.objectContaining({ field: "reminders", pointer: "/body/reminders" }),
  ]);
  expect(await totals()).toEqual(before);
  expect((await db.task.findUnique({ where: { id: task.id } }))!.version).toBe(1);
});

test("recurrence: set on a dated task, refused on an undated one, and null ends the series", async () => {
  const undated = await seed();
  const refused = await patch(undated.id, { recurrence: { pattern: "daily" } });
  expect(refused.status).toBe(400);
  expect(refused.body.errors).toEqual([expect.objectContaining({ field: "recurrence" })]);
  expect(await db.taskRecurrence.count({ where: { userId: user.id } })).toBe(0);

  const task = await seed({ due_at: "2026-12-01T09:00:00Z" });
  const set = await patch(task.id, { recurrence: { pattern: "monthly", month_day: 1 } });
  expect(set.status).toBe(200);
  expect(set.body.recurrence).toMatchObject({ pattern: "monthly", month_day: 1, active: true });
  expect(set.body.occurrence_index).toBe(1);
  const seriesId = set.body.series_id as string;
  expect(await db.taskRecurrence.findUnique({ where: { id: seriesId } })).toMatchObject({ active: true });

  const changed = await patch(task.id, { recurrence: { pattern: "weekly", weekdays: [2] } });
  expect(changed.body.recurrence).toMatchObject({ pattern: "weekly", weekdays: [2], series_id: seriesId });

  const ended = await patch(task.id, { recurrence: null });
  expect(ended.status).toBe(200);
  expect(ended.body.recurrence).toMatchObject({ active: false });
  expect(ended.body.version).toBe(4);
  expect(await db.taskRecurrence.findUnique({ where: { id: seriesId } })).toMatchObject({ active: false });
});

test("an update that changes nothing answers 200 with no event and the same version", async () => {
  const task = await seed({ title: "Same", tags: ["Home"], due_at: "2026-12-01T09:00:00Z" });
  const before = await eventsOf(task.id);
  const res = await patch(task.id, {
    title: "Same",
    tags: ["home"],
    due_at: "2026-12-01T10:00:00+01:00",
    reminders: [{ offset_minutes: 15 }],
  });
  expect(res.status).toBe(200);
  expect(res.body).toEqual(task);
  expect(res.headers.get("etag")).toBe('"1"');
  expect(await eventsOf(task.id)).toEqual(before);
  expect((await db.task.findUnique({ where: { id: task.id } }))!.version).toBe(1);
});

test("a stale version, in the body or in If-Match, is a 409 with the current version", async () => {
  const task = await seed();
  expect((await patch(task.id, { title: "v2", version: 1 })).status).toBe(200);
  const before = await totals();
  for (const attempt of [
    () => patch(task.id, { title: "stale body", version: 1 }),
    () => patch(task.id, { title: "stale header" }, { headers: { "if-match": '"1"' } }),
    () => patch(task.id, { title: "weak stale" }, { headers: { "if-match": 'W/"1"' } }),
  ]) {
    const res = await attempt();
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, current_version: 2 });
  }
  expect(await totals()).toEqual(before);
  const current = await patch(task.id, { title: "v3" }, { headers: { "if-match": '"2"' } });
  expect(current.status).toBe(200);
  expect(current.body).toMatchObject({ title: "v3", version: 3 });
});

test("two concurrent updates naming the same version: exactly one wins, the other gets 409", async () => {
  for (let round = 0; round < 4; round++) {
    const task = await seed();
    const results = await Promise.all([
      patch(task.id, { title: "from A", version: 1 }),
      patch(task.id, { title: "from B" }, { headers: { "if-match": '"1"' } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)!;
    const loser = results.find((r) => r.status === 409)!;
    expect(loser.body.current_version).toBe(2);
    const stored = await db.task.findUnique({ where: { id: task.id } });
    expect(stored).toMatchObject({ title: winner.body.title, version: 2 });
    expect((await eventsOf(task.id)).filter((e) => e.type === "orbit.task.updated")).toHaveLength(1);
  }
});

test.each([
  { name: "an empty body", body: {}, field: "body" },
  { name: "only a version", body: { version: 1 }, field: "body" },
  { name: "an empty title", body: { title: "" }, field: "title" },
  { name: "a 10 kB title", body: { title: "t".repeat(10_240) }, field: "title" },
  { name: "an unknown priority", body: { priority: "urgent" }, field: "priority" },
  { name: "a date without offset", body: { due_at: "2026-12-01 09:00" }, field: "due_at" },
  { name: "an unknown field", body: { status: "completed" }, field: "status" },
  { name: "a version of 0", body: { title: "t", version: 0 }, field: "version" },
  { name: "an array body", body: ["title"], field: "body" },
])("$name is a 400 naming $field, and nothing is written", async ({ body, field }) => {
  const task = await seed();
  const before = await totals();
  const res = await patch(task.id, body);
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const pointer = field === "body" ? "/body" : `/body/${field}`;
  expect(res.body.errors).toContainEqual(expect.objectContaining({ field, pointer }));
  expect(await totals()).toEqual(before);
  expect((await db.task.findUnique({ where: { id: task.id } }))!.version).toBe(1);
});

test("a path id that is not a UUID, or garbage in If-Match, is a 400 naming it", async () => {
  const badId = await patch("not-a-uuid", { title: "x" });
  expect(badId.status).toBe(400);
  expect(badId.body.errors).toEqual([expect.objectContaining({ field: "id", pointer: "/params/id" })]);
  const task = await seed();
  const before = await totals();
  const badMatch = await patch(task.id, { title: "x" }, { headers: { "if-match": "yesterday" } });
  expect(badMatch.status).toBe(400);
  expect(badMatch.body.errors).toEqual([
    expect.objectContaining({ field: "If-Match", pointer: "/headers/if-match" }),
  ]);
  expect(await totals()).toEqual(before);
});

test("text/plain is a 415 and malformed JSON a 400", async () => {
  const task = await seed();
  const plain = await api(fn.url, "PATCH", `/v1/tasks/${task.id}`, {
    auth: user.auth,
    rawBody: "title=x",
    headers: { "content-type": "text/plain" },
  });
  expect(plain.status).toBe(415);
  const broken = await api(fn.url, "PATCH", `/v1/tasks/${task.id}`, {
    auth: user.auth,
    rawBody: "{title:",
    headers: { "content-type": "application/json" },
  });
  expect(broken.status).toBe(400);
  expect(broken.body.type).toMatch(/malformed-json/);
});

test("another user's task, or no task at all, is a 404; the task is untouched", async () => {
  const task = await seed({ title: "A's task" });
  const intruder = await createTestUser(db);
  const res = await patch(task.id, { title: "B was here" }, { who: intruder });
  expect(res.status).toBe(404);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  // Even with A's exact version, B learns nothing more than "not found".
  expect((await patch(task.id, { title: "B", version: 1 }, { who: intruder })).status).toBe(404);
  expect(await db.task.findUnique({ where: { id: task.id } })).toMatchObject({
    title: "A's task",
    version: 1,
  });
  expect(await eventsOf(task.id)).toHaveLength(2);
  expect((await patch(randomUUID(), { title: "nobody" })).status).toBe(404);
});

test("no token, a revoked, an expired or a read-only token cannot update", async () => {
  const task = await seed();
  const none = await api(fn.url, "PATCH", `/v1/tasks/${task.id}`, { body: { title: "x" } });
  expect(none.status).toBe(401);
  expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);

  const revoked = await createTestUser(db);
  const revokedTask = await seed({}, revoked);
  await db.apiToken.update({ where: { id: revoked.tokenId }, data: { revokedAt: new Date() } });
  expect((await patch(revokedTask.id, { title: "x" }, { who: revoked })).status).toBe(401);

  const expired = await createTestUser(db);
  const expiredTask = await seed({}, expired);
  await db.apiToken.update({ where: { id: expired.tokenId }, data: { expiresAt: new Date(Date.now() - 1) } });
  expect((await patch(expiredTask.id, { title: "x" }, { who: expired })).status).toBe(401);

  const reader = await createTestUser(db, { scope: "read" });
  const readerTask = await seed({}, reader);
  expect((await patch(readerTask.id, { title: "x" }, { who: reader })).status).toBe(403);

  for (const t of [task, revokedTask, expiredTask, readerTask]) {
    expect((await db.task.findUnique({ where: { id: t.id } }))!.title).toBe("Seeded");
  }
});

test("with the sidecar down, a task's events wait and are published once each, in version order, when it is back", async () => {
  const port = await closedPort();
  const writer = await startFunction(
    { name: "update-task", routes, outbox: true },
    { DAPR_HTTP_PORT: String(port) },
  );
  try {
    const task = await seed();
    for (let i = 1; i <= 5; i++) {
      const res = await api(writer.url, "PATCH", `/v1/tasks/${task.id}`, {
        auth: user.auth,
        body: { title: `edit ${i}`, version: i },
      });
      expect(res.status).toBe(200);
    }
    const pending = await db.outboxEvent.findMany({ where: { subject: task.id } });
    expect(pending).toHaveLength(12);
    expect(pending.every((row) => row.status === "pending")).toBe(true);

    const sidecar = await startPublishRecorder(port);
    try {
      await until(
        async () => (await db.outboxEvent.count({ where: { subject: task.id, status: "pending" } })) === 0,
        "the backlog to be published",
      );
      const published = sidecar.published.filter((p) => p.body.subject === task.id);
      expect(published).toHaveLength(12);
      expect(new Set(published.map((p) => p.body.id)).size).toBe(12);
      const taskEvents = published.filter((p) => p.topic === "task-events");
      expect(taskEvents.map((p) => p.body.data.task_data.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(taskEvents.map((p) => p.body.type)).toEqual([
        "orbit.task.created",
        ...Array(5).fill("orbit.task.updated"),
      ]);
      expect(taskEvents.every((p) => p.body.source === "update-task")).toBe(true);
    } finally {
      await sidecar.close();
    }
  } finally {
    await writer.close();
  }
});
