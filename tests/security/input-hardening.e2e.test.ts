// Bad input must never hurt a process (issue 12, findings 7 and 8). Through real HTTP against real
// functions on a real PostgreSQL: text PostgreSQL cannot store (a NUL, an unpaired UTF-16
// surrogate) and instants it or our rules cannot hold (year 0 and the like) are a 400 naming the
// field, never a 500 and never a row. And an event that would have hung the recurrence engine, sent
// through a real sidecar to on-task-completed running as its own process, is dropped to the
// dead-letter store while the consumer stays healthy and goes on with the next event.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS, type TaskEvent } from "#core/events.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { BaseEnv } from "#platform/env.ts";
import { taskEventMessages } from "#tasks/commands.ts";
import { bulkPublish } from "#testing/broker.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
import { routes as createTaskRoutes } from "../../functions/create-task/handler.ts";
import { routes as queryTaskRoutes } from "../../functions/query-tasks/handler.ts";
import { routes as updateTaskRoutes } from "../../functions/update-task/handler.ts";

const ADMIN = "hardening-admin-token-0123456789abcdef";
const NUL = "must not contain a NUL character (U+0000)";
const LONE = "must be well-formed Unicode (it has an unpaired surrogate)";
const RANGE = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z";

let db: Db;
let user: TestUser;
let createFn: StartedFunction<BaseEnv>;
let updateFn: StartedFunction<BaseEnv>;
let queryFn: StartedFunction<BaseEnv>;
let topology: Topology | undefined;

beforeAll(async () => {
  db = await workerDb();
  user = await createTestUser(db);
  [createFn, updateFn, queryFn] = await Promise.all([
    startFunction({ name: "create-task", routes: createTaskRoutes, outbox: true }),
    startFunction({ name: "update-task", routes: updateTaskRoutes, outbox: true }),
    startFunction({ name: "query-tasks", routes: queryTaskRoutes }),
  ]);
});

afterAll(async () => {
  await Promise.all([createFn?.close(), updateFn?.close(), queryFn?.close(), topology?.stop()]);
});

/** Rows a refused request must not have written: the user's tasks and their events. */
async function rowsOf(userId: string): Promise<number[]> {
  const [events] = await db.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM outbox WHERE data->>'user_id' = ${userId}`;
  return [await db.task.count({ where: { userId } }), events!.n];
}

/** A 400 problem+json whose errors name exactly `field` with `detail`. */
function expectRefused(
  res: Awaited<ReturnType<typeof api>>,
  location: string,
  field: string,
  detail: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body.type).toBe("https://orbit.invalid/problems/validation-error");
  expect(res.body.errors).toContainEqual({
    pointer: `/${location}/${field.replace(/\./g, "/")}`,
    field,
    detail,
  });
}

test("create-task: a NUL or an unpaired surrogate in title, description or a tag, and year 0 instants, are a 400 naming the field", async () => {
  const owner = await createTestUser(db);
  const before = await rowsOf(owner.id);
  // Raw JSON: the escapes arrive as the characters themselves, as any client can send them.
  const cases: [string, string, string][] = [
    ['{"title":"milk\\u0000eggs"}', "title", NUL],
    ['{"title":"\\ud800"}', "title", LONE],
    ['{"title":"a\\udc00b"}', "title", LONE],
    ['{"title":"ok","description":"line\\u0000"}', "description", NUL],
    ['{"title":"ok","description":"\\udbff"}', "description", LONE],
    ['{"title":"ok","tags":["home","wo\\u0000rk"]}', "tags.1", NUL],
    ['{"title":"ok","due_at":"0000-01-01T00:00:00Z"}', "due_at", RANGE],
    ['{"title":"ok","due_at":"9999-12-31T23:00:00-05:00"}', "due_at", RANGE],
    [
      '{"title":"ok","due_at":"2030-01-01T09:00:00Z","reminders":[{"remind_at":"0000-01-01T00:00:00Z"}]}',
      "reminders.0.remind_at",
      RANGE,
    ],
    [
      '{"title":"ok","due_at":"2030-01-01T09:00:00Z","recurrence":{"pattern":"daily","ends_at":"0000-01-01T00:00:00Z"}}',
      "recurrence.ends_at",
      RANGE,
    ],
  ];
  for (const [rawBody, field, detail] of cases) {
    const res = await api(createFn.url, "POST", "/v1/tasks", {
      auth: owner.auth,
      rawBody,
      headers: { "content-type": "application/json" },
    });
    expectRefused(res, "body", field, detail);
  }
  // The expanded years JavaScript writes beyond RFC 3339 were already refused; still a 400.
  for (const due of ["+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00.000Z"]) {
    const res = await api(createFn.url, "POST", "/v1/tasks", {
      auth: owner.auth,
      body: { title: "ok", due_at: due },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["due_at"]);
  }
  expect(await rowsOf(owner.id)).toEqual(before);
});

test("update-task: the same values in a PATCH are a 400 naming the field, and the task is unchanged", async () => {
  const created = await api(createFn.url, "POST", "/v1/tasks", {
    auth: user.auth,
    body: { title: "Unchanged" },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  for (const [rawBody, field, detail] of [
    ['{"title":"x\\u0000"}', "title", NUL],
    ['{"description":"\\udc00"}', "description", LONE],
    ['{"due_at":"0000-01-01T00:00:00Z"}', "due_at", RANGE],
  ] as const) {
    const res = await api(updateFn.url, "PATCH", `/v1/tasks/${id}`, {
      auth: user.auth,
      rawBody,
      headers: { "content-type": "application/json" },
    });
    expectRefused(res, "body", field, detail);
  }
  const task = await db.task.findUniqueOrThrow({ where: { id } });
  expect({ title: task.title, version: task.version, dueAt: task.dueAt }).toEqual({
    title: "Unchanged",
    version: 1,
    dueAt: null,
  });
});

test("query-tasks: a NUL in q and year 0 in due_from or due_to are a 400 naming the parameter", async () => {
  const cases: [string, string, string][] = [
    ["q=milk%00", "q", NUL],
    ["q=%00", "q", NUL],
    ["due_from=0000-01-01T00:00:00Z", "due_from", RANGE],
    ["due_to=0000-01-01T00:00:00Z", "due_to", RANGE],
    ["due_from=1969-12-31T00:00:00Z", "due_from", RANGE],
  ];
  for (const [query, field, detail] of cases) {
    const res = await api(queryFn.url, "GET", `/v1/tasks?${query}`, { auth: user.auth });
    expectRefused(res, "query", field, detail);
  }
  // The function is still fine, and an ordinary search still works.
  expect((await api(queryFn.url, "GET", "/v1/tasks?q=milk", { auth: user.auth })).status).toBe(200);
});

test("an event that once hung the recurrence engine is dead-lettered; on-task-completed stays healthy and goes on", async () => {
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "complete-task", "on-task-completed", "dead-letters"],
    env: { ADMIN_TOKEN: ADMIN },
  });
  const url = (app: string) => topology!.app(app).url;
  const owner = await createTestUser(db);
  const created = await api(url("create-task"), "POST", "/v1/tasks", {
    auth: owner.auth,
    body: {
      title: "Water the plants",
      due_at: "2030-01-07T09:00:00Z",
      recurrence: { pattern: "weekly", weekdays: [1, 4] },
    },
  });
  expect(created.status).toBe(201);
  const task = created.body as TaskDto;

  // A completion of that very occurrence whose instants are not instants: an Invalid Date made the
  // weekly search loop for ever, so one such event held a consumer instance for good.
  const poisoned = (edit: (event: TaskEvent) => void) => {
    const completed: TaskDto = { ...task, status: "completed", completed_at: new Date().toISOString() };
    const [message] = taskEventMessages("completed", completed, {
      actor: { type: "user", id: owner.id },
      now: new Date(),
    });
    const data = structuredClone(message!.data) as TaskEvent;
    edit(data);
    return { id: randomUUID(), type: message!.type, subject: task.id, data };
  };
  const events = [
    poisoned((e) => (e.task_data.due_at = "not a date")),
    poisoned((e) => {
      e.task_data.due_at = "2030-01-07T09:00:00";
      e.task_data.completed_at = "yesterday";
    }),
    poisoned((e) => (e.timestamp = "0000-01-01T00:00:00Z")),
  ];
  await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, events);

  const ids: string[] = events.map((e) => e.id);
  const deadLetters = await waitFor(
    "the poisoned events in the dead-letter store",
    async () => {
      const res = await api(url("dead-letters"), "GET", "/v1/dead-letters?topic=task-events&limit=200", {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const items = (res.body.items as { event_id: string }[]).filter((item) => ids.includes(item.event_id));
      return items.length === ids.length ? items : null;
    },
    20_000,
  );
  expect(deadLetters.map((item) => item.event_id).sort()).toEqual([...ids].sort());
  // Dropped at once by the consumer (its schema refused them), not retried until the sidecar gave up.
  const logs = topology.logs("on-task-completed");
  expect(
    logs.match(/dropping event whose data does not match the topic's schema/g)?.length,
  ).toBeGreaterThanOrEqual(ids.length);
  expect(logs).not.toMatch(/event handler failed/);

  // Healthy, and the next real completion of the series still makes its next occurrence.
  const health = await fetch(`${url("on-task-completed")}/healthz`, { signal: AbortSignal.timeout(2_000) });
  expect(health.status).toBe(200);
  expect(await db.task.count({ where: { seriesId: task.series_id } })).toBe(1);
  const done = await api(url("complete-task"), "POST", `/v1/tasks/${task.id}/complete`, { auth: owner.auth });
  expect(done.status).toBe(200);
  const next = await waitFor("the next occurrence", () =>
    db.task.findFirst({ where: { seriesId: task.series_id, occurrenceIndex: 2 } }),
  );
  expect(next.dueAt?.toISOString()).toBe("2030-01-10T09:00:00.000Z");
}, 180_000);
