import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import {
  startPublishRecorder,
  type PublishRecorder,
  type RecordedPublish,
} from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes } from "./handler.ts";
import { WAIT_MS } from "#testing/wait.ts";

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let sidecar: PublishRecorder;
let user: TestUser;
let db: Db;

beforeAll(async () => {
  db = await workerDb();
  sidecar = await startPublishRecorder();
  fn = await startFunction(
    { name: "create-task", routes, outbox: true },
    { DAPR_HTTP_PORT: String(sidecar.port) },
  );
  user = await createTestUser(db, { timeZone: "Europe/Berlin" });
});
afterAll(async () => {
  await fn.close();
  await sidecar.close();
});

const post = (body: unknown, who: TestUser = user) =>
  api(fn.url, "POST", "/v1/tasks", { auth: who.auth, body });

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

/** What the sidecar received about one task (other tests' events may be relayed here too). */
async function publishedFor(taskId: string, count: number): Promise<RecordedPublish[]> {
  const mine = () => sidecar.published.filter((p) => p.body.subject === taskId);
  await until(() => mine().length >= count, `${count} publishes for task ${taskId}`);
  return mine();
}

/** Rows in the whole database: a refused request must leave both unchanged. */
async function totals() {
  const [tasks, outbox] = await Promise.all([db.task.count(), db.outboxEvent.count()]);
  return { tasks, outbox };
}

test("creates a task and publishes its events as CloudEvents after commit", async () => {
  const res = await post({
    title: "Buy groceries",
    priority: "high",
    tags: ["Home", "home", "errands"],
    due_at: "2026-12-01T09:00:00+01:00",
  });
  expect(res.status).toBe(201);
  expect(res.headers.get("location")).toBe(`/v1/tasks/${res.body.id}`);
  expect(res.headers.get("etag")).toBe('"1"');
  expect(res.body).toMatchObject({
    title: "Buy groceries",
    priority: "high",
    status: "pending",
    tags: ["Home", "errands"],
    version: 1,
  });
  expect(res.body.due_at).toBe("2026-12-01T08:00:00.000Z");
  expect(res.body.reminders).toEqual([expect.objectContaining({ offset_minutes: 15 })]);
  const published = await publishedFor(res.body.id, 2);
  const outbox = await db.outboxEvent.findMany({ where: { subject: res.body.id }, orderBy: { seq: "asc" } });
  expect(published.map((p) => p.body.id).sort()).toEqual(outbox.map((o) => o.eventId).sort());
  const taskEvent = published.find((p) => p.topic === "task-events")!;
  expect(taskEvent.contentType).toBe("application/cloudevents+json");
  expect(taskEvent.query["metadata.partitionKey"]).toBe(res.body.id);
  expect(taskEvent.body).toMatchObject({
    specversion: "1.0",
    source: "create-task",
    type: "orbit.task.created",
    subject: res.body.id,
    data: {
      version: "1.0",
      event_type: "created",
      task_id: res.body.id,
      user_id: user.id,
      task_data: { title: "Buy groceries" },
    },
  });
  const update = published.find((p) => p.topic === "task-updates")!;
  expect(update.body.data.event_type).toBe("task_created");
  expect(update.query["metadata.partitionKey"]).toBe(user.id);
});

test("a title alone gets every default: the user's zone, no due date, no reminders", async () => {
  const res = await post({ title: "  Call mum  " });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    title: "Call mum",
    description: "",
    status: "pending",
    priority: "none",
    due_at: null,
    time_zone: "Europe/Berlin",
    tags: [],
    reminders: [],
    recurrence: null,
    series_id: null,
    occurrence_index: null,
    completed_at: null,
    user_id: user.id,
    version: 1,
  });
  expect(res.body.created_at).toBe(res.body.updated_at);
  const row = await db.task.findUnique({ where: { id: res.body.id } });
  expect(row).toMatchObject({ userId: user.id, title: "Call mum", timeZone: "Europe/Berlin", version: 1 });
});

test("tags are deduplicated ignoring case, reusing the spelling the user already has", async () => {
  const tagger = await createTestUser(db);
  expect((await post({ title: "First", tags: ["Work", "DIY"] }, tagger)).body.tags).toEqual(["DIY", "Work"]);
  const second = await post({ title: "Second", tags: ["work", "WORK", "diy", "urgent"] }, tagger);
  expect(second.status).toBe(201);
  expect([...second.body.tags].sort()).toEqual(["DIY", "Work", "urgent"]);
  // Another user's spellings are theirs alone.
  const other = await createTestUser(db);
  expect((await post({ title: "Theirs", tags: ["work"] }, other)).body.tags).toEqual(["work"]);
});

test("a due date gets the user's default reminders; explicit reminders, even none, win", async () => {
  const planner = await createTestUser(db, { defaultReminderMinutes: [60, 10] });
  const due = "2026-12-01T09:00:00Z";
  const defaults = await post({ title: "Defaults", due_at: due }, planner);
  expect(defaults.body.reminders.map((r: { offset_minutes: number }) => r.offset_minutes)).toEqual([60, 10]);
  const none = await post({ title: "None", due_at: due, reminders: [] }, planner);
  expect(none.body.reminders).toEqual([]);
  const own = await post(
    {
      title: "Own",
      due_at: due,
      reminders: [{ offset_minutes: 5 }, { remind_at: "2026-11-30T18:00:00+01:00" }],
    },
    planner,
  );
  expect(own.body.reminders).toHaveLength(2);
  expect(own.body.reminders).toEqual(
    expect.arrayContaining([
      { id: expect.any(String), offset_minutes: 5, remind_at: null },
      { id: expect.any(String), offset_minutes: null, remind_at: "2026-11-30T17:00:00.000Z" },
    ]),
  );
  // No due date: no default reminders, and offsets are refused.
  expect((await post({ title: "Undated" }, planner)).body.reminders).toEqual([]);
  const before = await totals();
  const refused = await post({ title: "Offset, no date", reminders: [{ offset_minutes: 5 }] }, planner);
  expect(refused.status).toBe(400);
  expect(refused.body.errors).toEqual([
    expect.objectContaining({ field: "reminders", pointer: "/body/reminders" }),
  ]);
  expect(await totals()).toEqual(before);
});

test("a recurring task needs a due date, and gets a series", async () => {
  const before = await totals();
  const refused = await post({ title: "Weekly", recurrence: { pattern: "weekly", weekdays: [1] } });
  expect(refused.status).toBe(400);
  expect(refused.body.errors).toEqual([
    expect.objectContaining({ field: "recurrence", pointer: "/body/recurrence" }),
  ]);
  expect(await totals()).toEqual(before);

  const res = await post({
    title: "Weekly",
    due_at: "2026-12-07T09:00:00+01:00",
    recurrence: { pattern: "weekly", weekdays: [3, 1, 1] },
  });
  expect(res.status).toBe(201);
  expect(res.body.recurrence).toMatchObject({
    pattern: "weekly",
    interval: 1,
    weekdays: [1, 3],
    active: true,
  });
  expect(res.body.series_id).toBe(res.body.recurrence.series_id);
  expect(res.body.occurrence_index).toBe(1);
  const series = await db.taskRecurrence.findUnique({ where: { id: res.body.series_id } });
  expect(series).toMatchObject({ userId: user.id, timeZone: "Europe/Berlin", occurrencesCreated: 1 });
  expect(series!.startsAt.toISOString()).toBe("2026-12-07T08:00:00.000Z");
});

test("a create writes exactly its two events, in the task's own transaction", async () => {
  // An instance without a relay: the outbox rows stay as the command wrote them (a relay failing to
  // publish updates them, and so their xmin: under load it got there before this read).
  const quiet = await startFunction({ name: "create-task", routes, outbox: false });
  try {
    const res = await api(quiet.url, "POST", "/v1/tasks", { auth: user.auth, body: { title: "Audit me" } });
    expect(res.status).toBe(201);
    const rows = await db.$queryRaw<{ topic: string; type: string; partition_key: string; xmin: string }[]>`
      SELECT topic, type, partition_key, xmin::text AS xmin FROM outbox WHERE subject = ${res.body.id} ORDER BY seq`;
    expect(rows.map((r) => [r.topic, r.type, r.partition_key])).toEqual([
      ["task-events", "orbit.task.created", res.body.id],
      ["task-updates", "orbit.task-update.task_created", user.id],
    ]);
    const [task] = await db.$queryRaw<{ xmin: string }[]>`
      SELECT xmin::text AS xmin FROM tasks WHERE id = ${res.body.id}::uuid`;
    expect(rows.map((r) => r.xmin)).toEqual([task!.xmin, task!.xmin]);
  } finally {
    await quiet.close();
  }
});

test("the response does not wait for the events to be published", async () => {
  sidecar.delayResponses(600);
  try {
    const res = await post({ title: "Fast reply" });
    const answeredAt = Date.now();
    expect(res.status).toBe(201);
    const published = await publishedFor(res.body.id, 2);
    // The sidecar held each publish 0.6 s; the client had its answer before the first was done.
    expect(answeredAt).toBeLessThan(Math.min(...published.map((p) => p.at)));
  } finally {
    sidecar.delayResponses(0);
  }
});

const bigBody = JSON.stringify({ title: "Big", description: "x".repeat(70 * 1024) });

test.each([
  { name: "a missing title", body: {}, status: 400, field: "title" },
  { name: "a blank title", body: { title: "   " }, status: 400, field: "title" },
  { name: "a 10 kB title", body: { title: "t".repeat(10_240) }, status: 400, field: "title" },
  { name: "a title that is not a string", body: { title: 42 }, status: 400, field: "title" },
  { name: "an unknown priority", body: { title: "t", priority: "urgent" }, status: 400, field: "priority" },
  {
    name: "a date without offset",
    body: { title: "t", due_at: "2026-12-01T09:00:00" },
    status: 400,
    field: "due_at",
  },
  { name: "a garbage date", body: { title: "t", due_at: "next tuesday" }, status: 400, field: "due_at" },
  {
    name: "an unknown time zone",
    body: { title: "t", time_zone: "Mars/Olympus" },
    status: 400,
    field: "time_zone",
  },
  { name: "an unknown field", body: { title: "t", colour: "red" }, status: 400, field: "colour" },
  { name: "a malformed tag", body: { title: "t", tags: ["-x"] }, status: 400, field: "tags.0" },
  {
    name: "a negative reminder offset",
    body: { title: "t", due_at: "2026-12-01T09:00:00Z", reminders: [{ offset_minutes: -5 }] },
    status: 400,
    field: "reminders.0.offset_minutes",
  },
  { name: "an array body", body: [{ title: "t" }], status: 400, field: "body" },
  { name: "a number body", body: 42, status: 400, field: "body" },
  { name: "a null body", body: null, status: 400, field: "body" },
])("$name is refused with $status naming $field, and nothing is written", async ({ body, status, field }) => {
  const before = await totals();
  const res = await post(body);
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    type: expect.stringContaining("validation-error"),
    instance: "/v1/tasks",
  });
  const pointer = field === "body" ? "/body" : `/body/${field.replace(/\./g, "/")}`;
  expect(res.body.errors).toContainEqual(
    expect.objectContaining({ field, pointer, detail: expect.any(String) }),
  );
  expect(await totals()).toEqual(before);
});

test.each([
  {
    name: "text/plain",
    contentType: "text/plain",
    raw: "buy milk",
    status: 415,
    type: "unsupported-media-type",
  },
  {
    name: "a form",
    contentType: "application/x-www-form-urlencoded",
    raw: "title=x",
    status: 415,
    type: "unsupported-media-type",
  },
  {
    name: "malformed JSON",
    contentType: "application/json",
    raw: '{"title": "x",',
    status: 400,
    type: "malformed-json",
  },
  {
    name: "an oversize body",
    contentType: "application/json",
    raw: bigBody,
    status: 413,
    type: "payload-too-large",
  },
])("$name is refused with $status, and nothing is written", async ({ contentType, raw, status, type }) => {
  const before = await totals();
  const res = await api(fn.url, "POST", "/v1/tasks", {
    auth: user.auth,
    rawBody: raw,
    headers: { "content-type": contentType },
  });
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.stringContaining(type) });
  expect(await totals()).toEqual(before);
});

test("JSON with a charset parameter is accepted", async () => {
  const res = await api(fn.url, "POST", "/v1/tasks", {
    auth: user.auth,
    rawBody: JSON.stringify({ title: "Grüße" }),
    headers: { "content-type": "application/json; charset=utf-8" },
  });
  expect(res.status).toBe(201);
  expect(res.body.title).toBe("Grüße");
});

test("no token, a revoked, an expired or a read-only token: refused, and nothing is written", async () => {
  const before = await totals();
  const none = await api(fn.url, "POST", "/v1/tasks", { body: { title: "t" } });
  expect(none.status).toBe(401);
  expect(none.headers.get("www-authenticate")).toBe('Bearer realm="orbit"');

  const revoked = await createTestUser(db);
  await db.apiToken.update({ where: { id: revoked.tokenId }, data: { revokedAt: new Date() } });
  expect((await post({ title: "t" }, revoked)).status).toBe(401);

  const expired = await createTestUser(db);
  await db.apiToken.update({
    where: { id: expired.tokenId },
    data: { expiresAt: new Date(Date.now() - 1_000) },
  });
  expect((await post({ title: "t" }, expired)).status).toBe(401);

  const reader = await createTestUser(db, { scope: "read" });
  const forbidden = await post({ title: "t" }, reader);
  expect(forbidden.status).toBe(403);
  expect(forbidden.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(await totals()).toEqual(before);
});

test("a token that expires later still works", async () => {
  const soon = await createTestUser(db);
  await db.apiToken.update({
    where: { id: soon.tokenId },
    data: { expiresAt: new Date(Date.now() + 60_000) },
  });
  expect((await post({ title: "t" }, soon)).status).toBe(201);
});

test("with the database unreachable the create is a 503 with Retry-After, quickly", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const down = await startFunction(
    { name: "create-task", routes, outbox: true },
    { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/orbit` },
  );
  try {
    const started = Date.now();
    const res = await api(down.url, "POST", "/v1/tasks", { auth: user.auth, body: { title: "t" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    // At once, well within the pool's 5 s connection timeout (loose: a busy machine is slow too).
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await api(down.url, "GET", "/readyz")).status).toBe(503);
  } finally {
    await down.close();
  }
});

/**
 * Fault injection with real triggers on the outbox, scoped to one user's rows so no other test can
 * trip them, and dropped afterwards.
 */
async function withOutboxFault<T>(
  kind: "insert" | "commit",
  userId: string,
  run: () => Promise<T>,
): Promise<T> {
  const name = `orbit_test_fault_${randomUUID().replace(/-/g, "")}`;
  // DDL cannot take bind parameters; the user id is a UUID we made, so inlining it is safe.
  const when = `(NEW.data->>'user_id') = '${userId}'`;
  await db.$executeRawUnsafe(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${when} THEN RAISE EXCEPTION 'outbox fault injected (${kind})'; END IF;
      RETURN NEW;
    END $$`);
  try {
    await db.$executeRawUnsafe(
      kind === "insert"
        ? `CREATE TRIGGER ${name} BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION ${name}()`
        : `CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
           FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
    return await run();
  } finally {
    await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS ${name} ON outbox`);
    await db.$executeRawUnsafe(`DROP FUNCTION IF EXISTS ${name}()`);
  }
}

test.each(["insert", "commit"] as const)(
  "when the outbox refuses the events (%s), the create is a 500 and no task exists",
  async (kind) => {
    // A small pool: a failed transaction that kept its connection would exhaust it by the third try.
    const small = await startFunction({ name: "create-task", routes, outbox: true }, { DB_POOL_SIZE: "2" });
    try {
      const victim = await createTestUser(db);
      const send = (title: string) =>
        api(small.url, "POST", "/v1/tasks", {
          auth: victim.auth,
          body: { title, tags: ["x"], due_at: "2026-12-01T09:00:00Z" },
        });
      const responses = await withOutboxFault(kind, victim.id, async () => [
        await send("Lost 1"),
        await send("Lost 2"),
        await send("Lost 3"),
      ]);
      for (const res of responses) {
        expect(res.status).toBe(500);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 500, title: "Internal error" });
        expect(JSON.stringify(res.body)).not.toMatch(/fault injected|outbox|\.ts|at /);
      }
      expect(await db.task.count({ where: { userId: victim.id } })).toBe(0);
      expect(await db.taskTag.count({ where: { userId: victim.id } })).toBe(0);
      expect(await db.taskReminder.count({ where: { userId: victim.id } })).toBe(0);
      const [{ n }] = await db.$queryRaw<[{ n: number }]>`
        SELECT count(*)::int AS n FROM outbox WHERE data->>'user_id' = ${victim.id}`;
      expect(n).toBe(0);
      // The trigger is gone, no connection was lost, and the same request now succeeds.
      expect((await send("Found")).status).toBe(201);
    } finally {
      await small.close();
    }
  },
  10_000,
);

test("a reminder of either kind on a task without a due date is refused, naming reminders", async () => {
  for (const reminder of [{ offset_minutes: 10 }, { remind_at: "2026-11-30T18:00:00Z" }]) {
    const res = await api(fn.url, "POST", "/v1/tasks", {
      auth: user.auth,
      body: { title: "Undated", reminders: [reminder] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: "reminders", detail: "reminders need the task to have a due_at" }),
    ]);
  }
});
