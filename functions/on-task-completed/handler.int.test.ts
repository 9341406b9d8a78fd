import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { CreateTaskInput, RecurrenceInput } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { OutboxEvent } from "#db/generated/client.ts";
import {
  completeTask,
  createTask,
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
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { CONSUMER, subscriptions } from "./handler.ts";
import { WAIT_MS } from "#testing/wait.ts";

const PATH = "/events/task-events";
const MINUTE = 60_000;
const DAY = 86_400_000;

let db: Db;
let sidecar: PublishRecorder;
let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  db = await workerDb();
  sidecar = await startPublishRecorder();
  fn = await startFunction(
    { name: "on-task-completed", subscriptions, outbox: true },
    { DAPR_HTTP_PORT: String(sidecar.port) },
  );
});
afterAll(async () => {
  await fn.close();
  await sidecar.close();
});

function commandCtx(user: TestUser, now = new Date()): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "user", id: user.id },
    userId: user.id,
    userTimeZone: "UTC",
    defaultReminderMinutes: [15],
    now,
  };
}

/** 09:00 UTC, `days` from today. */
function nineAm(days: number): Date {
  const d = new Date();
  d.setUTCHours(9, 0, 0, 0);
  return new Date(d.getTime() + days * DAY);
}

/** ISO weekday (1 = Monday … 7 = Sunday) of an instant in UTC. */
const isoWeekday = (d: Date) => ((d.getUTCDay() + 6) % 7) + 1;

function recurrence(overrides: Partial<RecurrenceInput> = {}): RecurrenceInput {
  return {
    pattern: "weekly",
    interval: 1,
    weekdays: [],
    month_day: null,
    last_day_of_month: false,
    month_week: null,
    anchor: "schedule",
    ends_at: null,
    max_count: null,
    ...overrides,
  };
}

function taskInput(overrides: Partial<CreateTaskInput> = {}): CreateTaskInput {
  const due = overrides.due_at ?? nineAm(2);
  return {
    title: "Take out the bins",
    description: "Blue bin too",
    priority: "high",
    due_at: due,
    time_zone: "UTC",
    tags: ["home", "chores"],
    reminders: [{ offset_minutes: 30 }, { remind_at: new Date(due.getTime() - DAY) }],
    recurrence: recurrence({ weekdays: [isoWeekday(due)] }),
    ...overrides,
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
    source: "complete-task",
    type: row.type,
    subject: row.subject,
    topic: row.topic,
    time: row.createdAt.toISOString(),
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    data,
  };
}

/** Delivers as daprd does: a structured CloudEvent, `pubsubname` header, status in the 200 body. */
function deliver(row: OutboxEvent, data: unknown = row.data, base = fn.url) {
  return deliverAsDapr(base, PATH, cloudEvent(row, data));
}

/** Delivers as Knative Eventing does: binary mode, `ce-*` headers, the data as the body. */
function deliverBinary(row: OutboxEvent) {
  const { time: _time, ...event } = cloudEvent(row);
  return deliverAsKnative(fn.url, PATH, event);
}

const SUCCESS = { status: 200, body: { status: "SUCCESS" } };
const outcome = (res: { status: number; body: unknown }) => ({ status: res.status, body: res.body });

async function occurrences(seriesId: string) {
  return db.task.findMany({
    where: { seriesId },
    orderBy: { occurrenceIndex: "asc" },
    include: { tags: { orderBy: { createdAt: "asc" } }, reminders: true },
  });
}

async function until(condition: () => boolean, what: string, deadlineMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Creates a recurring task and completes it; returns the completion's outbox row. */
async function completedOccurrence(user: TestUser, input: Partial<CreateTaskInput> = {}) {
  const { task } = await createTask(commandCtx(user), taskInput(input));
  const completion = await completeTask(commandCtx(user), task.id);
  return { task, seriesId: task.series_id!, row: await taskEvent(completion.eventIds) };
}

test("declares its subscription to task-events with a dead-letter topic", async () => {
  const res = await api(fn.url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR });
  expect(res.body).toEqual([
    {
      pubsubname: "pubsub",
      topic: "task-events",
      routes: { default: PATH },
      deadLetterTopic: "task-events-dlq",
    },
  ]);
});

test("completing a weekly task creates next week's occurrence with the same fields and publishes it", async () => {
  const user = await createTestUser(db);
  const due = nineAm(2);
  const { task, seriesId, row } = await completedOccurrence(user, { due_at: due });

  expect(outcome(await deliver(row))).toEqual(SUCCESS);

  const [first, next] = await occurrences(seriesId);
  expect(first!.id).toBe(task.id);
  expect(next).toMatchObject({
    userId: user.id,
    title: "Take out the bins",
    description: "Blue bin too",
    priority: "high",
    status: "pending",
    timeZone: "UTC",
    occurrenceIndex: 2,
  });
  expect(next!.dueAt!.toISOString()).toBe(new Date(due.getTime() + 7 * DAY).toISOString());
  expect(next!.tags.map((t) => t.tag).sort()).toEqual(["chores", "home"]);
  expect(
    next!.reminders
      .map((r) =>
        r.offsetMinutes !== null ? `offset ${r.offsetMinutes}` : `at ${r.remindAt!.toISOString()}`,
      )
      .sort(),
  ).toEqual(["at " + new Date(due.getTime() + 6 * DAY).toISOString(), "offset 30"]);

  const series = await db.taskRecurrence.findUniqueOrThrow({ where: { id: seriesId } });
  expect(series).toMatchObject({ active: true, occurrencesCreated: 2 });
  expect(series.nextDueDate!.toISOString()).toBe(next!.dueAt!.toISOString());

  const created = await db.outboxEvent.findMany({ where: { subject: next!.id, topic: TOPICS.taskEvents } });
  expect(created.map((e) => e.type)).toEqual(["orbit.task.created"]);
  expect(created[0]!.data).toMatchObject({
    event_type: "created",
    task_id: next!.id,
    user_id: user.id,
    reason: "recurrence",
    actor: { type: "system", id: "on-task-completed" },
    task_data: { series_id: seriesId, occurrence_index: 2 },
  });
  expect(created[0]!.traceparent).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  // The relay publishes it through the sidecar once the transaction has committed.
  await until(
    () => sidecar.published.some((p) => p.body.id === created[0]!.eventId),
    "the created event to be published",
  );
});

test("the same completion delivered three times creates one next occurrence", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);

  const replies = [await deliver(row), await deliver(row), await deliver(row)];

  expect(replies.map(outcome)).toEqual([SUCCESS, SUCCESS, SUCCESS]);
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
  expect(await db.processedEvent.count({ where: { consumer: CONSUMER, eventId: row.eventId } })).toBe(1);
});

test("the same completion delivered twice at once creates one next occurrence", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);

  const replies = await Promise.all([deliver(row), deliver(row)]);

  expect(replies.map(outcome)).toEqual([SUCCESS, SUCCESS]);
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});

test("completing a task that does not repeat does nothing", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(commandCtx(user), taskInput({ recurrence: null }));
  const completion = await completeTask(commandCtx(user), task.id);
  const row = await taskEvent(completion.eventIds);

  expect(outcome(await deliver(row))).toEqual(SUCCESS);

  expect(await db.task.count({ where: { userId: user.id } })).toBe(1);
  expect(await db.processedEvent.count({ where: { eventId: row.eventId } })).toBe(0);
});

test("other events of a recurring task (an update) do nothing", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(commandCtx(user), taskInput());
  const update = await updateTask(commandCtx(user), task.id, { title: "Renamed" });

  expect(outcome(await deliver(await taskEvent(update.eventIds)))).toEqual(SUCCESS);

  expect(await db.task.count({ where: { userId: user.id } })).toBe(1);
});

test("a series with max_count 2 ends at its second occurrence", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user, {
    recurrence: recurrence({ pattern: "daily", max_count: 2 }),
  });
  expect(outcome(await deliver(row))).toEqual(SUCCESS);
  const second = (await occurrences(seriesId))[1]!;
  expect(second.occurrenceIndex).toBe(2);

  const completion = await completeTask(commandCtx(user), second.id);
  expect(outcome(await deliver(await taskEvent(completion.eventIds)))).toEqual(SUCCESS);

  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
  const series = await db.taskRecurrence.findUniqueOrThrow({ where: { id: seriesId } });
  expect(series).toMatchObject({ active: false, occurrencesCreated: 2 });
});

test("deleting only this occurrence creates the next one", async () => {
  const user = await createTestUser(db);
  const due = nineAm(2);
  const { task } = await createTask(commandCtx(user), taskInput({ due_at: due }));
  const deletion = await deleteTask(commandCtx(user), task.id, { scope: "occurrence" });

  expect(outcome(await deliver(await taskEvent(deletion.eventIds)))).toEqual(SUCCESS);

  const remaining = await occurrences(task.series_id!);
  expect(remaining.map((t) => [t.occurrenceIndex, t.dueAt!.toISOString(), t.title])).toEqual([
    [2, new Date(due.getTime() + 7 * DAY).toISOString(), "Take out the bins"],
  ]);
});

test("deleting the series (the default scope) creates nothing", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(commandCtx(user), taskInput());
  const deletion = await deleteTask(commandCtx(user), task.id);

  expect(outcome(await deliver(await taskEvent(deletion.eventIds)))).toEqual(SUCCESS);

  expect(await occurrences(task.series_id!)).toEqual([]);
  expect((await db.taskRecurrence.findUniqueOrThrow({ where: { id: task.series_id! } })).active).toBe(false);
});

test("reopening and completing the same occurrence again does not create a second next occurrence", async () => {
  const user = await createTestUser(db);
  const { task, seriesId, row } = await completedOccurrence(user);
  expect(outcome(await deliver(row))).toEqual(SUCCESS);

  const reopening = await reopenTask(commandCtx(user), task.id);
  const again = await completeTask(commandCtx(user), task.id);
  expect(outcome(await deliver(await taskEvent(reopening.eventIds)))).toEqual(SUCCESS);
  expect(outcome(await deliver(await taskEvent(again.eventIds)))).toEqual(SUCCESS);

  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});

test("when the series counter is behind, the unique series slot still stops a second copy", async () => {
  const user = await createTestUser(db);
  const { task, seriesId, row } = await completedOccurrence(user);
  expect(outcome(await deliver(row))).toEqual(SUCCESS);
  // As if the series row had not recorded the occurrence: only the unique key is left to stop it.
  await db.taskRecurrence.update({ where: { id: seriesId }, data: { occurrencesCreated: 1 } });
  await reopenTask(commandCtx(user), task.id);
  const again = await completeTask(commandCtx(user), task.id);

  expect(outcome(await deliver(await taskEvent(again.eventIds)))).toEqual(SUCCESS);

  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});

test("a schedule-anchored task weeks overdue gets one next occurrence, in the future", async () => {
  const user = await createTestUser(db);
  const due = nineAm(-21);
  const { seriesId, row } = await completedOccurrence(user, { due_at: due });
  const before = Date.now();

  expect(outcome(await deliver(row))).toEqual(SUCCESS);

  const [, next, ...more] = await occurrences(seriesId);
  expect(more).toEqual([]);
  const nextDue = next!.dueAt!.getTime();
  expect(nextDue).toBeGreaterThan(before);
  expect(nextDue - before).toBeLessThanOrEqual(7 * DAY);
  expect((nextDue - due.getTime()) % (7 * DAY)).toBe(0);
});

test("a completion-anchored series counts from when the occurrence was completed", async () => {
  const user = await createTestUser(db);
  const { task } = await createTask(
    commandCtx(user),
    taskInput({
      due_at: nineAm(-10),
      reminders: [],
      recurrence: recurrence({ pattern: "daily", interval: 3, anchor: "completion" }),
    }),
  );
  const completedAt = new Date(nineAm(-1).getTime() + 5 * 60 * MINUTE); // yesterday 14:00 UTC
  const completion = await completeTask(commandCtx(user, completedAt), task.id);

  expect(outcome(await deliver(await taskEvent(completion.eventIds)))).toEqual(SUCCESS);

  const next = (await occurrences(task.series_id!))[1]!;
  expect(next.dueAt!.toISOString()).toBe(nineAm(2).toISOString());
});

test.each([
  {
    name: "the last Friday of the month",
    due: "2099-01-30T09:00:00Z",
    rule: { pattern: "monthly", weekdays: [5], month_week: -1 },
    next: "2099-02-27T09:00:00.000Z",
  },
  {
    name: "yearly from Feb 29: Feb 28 in a common year",
    due: "2096-02-29T09:00:00Z",
    rule: { pattern: "yearly" },
    next: "2097-02-28T09:00:00.000Z",
  },
  {
    name: "every 8 hours",
    due: "2099-03-28T22:00:00Z",
    rule: { pattern: "hourly", interval: 8 },
    next: "2099-03-29T06:00:00.000Z",
  },
] as const)(
  "completing an occurrence of $name creates the next one the rule gives",
  async ({ due, rule, next }) => {
    const user = await createTestUser(db);
    const { task } = await createTask(
      commandCtx(user),
      taskInput({
        due_at: new Date(due),
        reminders: [],
        recurrence: recurrence({ weekdays: [], ...(rule as Partial<RecurrenceInput>) }),
      }),
    );
    expect(task.recurrence).toMatchObject({
      pattern: rule.pattern,
      month_week: "month_week" in rule ? rule.month_week : null,
    });
    const completion = await completeTask(commandCtx(user), task.id);
    expect(outcome(await deliver(await taskEvent(completion.eventIds)))).toEqual(SUCCESS);
    const created = (await occurrences(task.series_id!))[1]!;
    expect(created.dueAt!.toISOString()).toBe(next);
  },
);

test("a pattern changed on the task applies to the next occurrence", async () => {
  const user = await createTestUser(db);
  const due = nineAm(2);
  const { task } = await createTask(commandCtx(user), taskInput({ due_at: due }));
  await updateTask(commandCtx(user), task.id, { recurrence: recurrence({ pattern: "daily" }) });
  const completion = await completeTask(commandCtx(user), task.id);

  expect(outcome(await deliver(await taskEvent(completion.eventIds)))).toEqual(SUCCESS);

  const next = (await occurrences(task.series_id!))[1]!;
  expect(next.dueAt!.toISOString()).toBe(new Date(due.getTime() + DAY).toISOString());
});

test("a binary-mode (Knative) delivery is processed and answered with 204", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);

  const res = await deliverBinary(row);

  expect(res.status).toBe(204);
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});

test("malformed event data is dropped", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);
  const data = row.data as Record<string, unknown>;

  const replies = [
    await deliver(row, { ...data, event_type: "finished" }),
    await deliver(row, { ...data, task_data: { title: "no id" } }),
    await deliver(row, { ...data, user_id: "someone" }),
    await deliver(row, "completed"),
  ];

  expect(replies.map(outcome)).toEqual(Array(4).fill({ status: 200, body: { status: "DROP" } }));
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1]);
});

test("an event whose instants are not valid in range, or whose text PostgreSQL refuses, is dropped; the valid one then works", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);
  const data = row.data as Record<string, unknown> & { task_data: Record<string, unknown> };
  const poisoned = [
    { ...data, timestamp: "0000-01-01T00:00:00Z" },
    { ...data, task_data: { ...data.task_data, due_at: "0000-01-01T00:00:00Z" } },
    { ...data, task_data: { ...data.task_data, completed_at: "9999-12-31T23:00:00-05:00" } },
    { ...data, task_data: { ...data.task_data, title: "bins\u0000" } },
  ];

  const replies = [];
  for (const event of poisoned) replies.push(outcome(await deliver(row, event)));

  expect(replies).toEqual(Array(poisoned.length).fill({ status: 200, body: { status: "DROP" } }));
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1]);
  expect(outcome(await deliver(row))).toEqual(SUCCESS);
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});

test("when the database is unreachable the delivery is retried, never acknowledged", async () => {
  const user = await createTestUser(db);
  const { seriesId, row } = await completedOccurrence(user);
  // Port 1 on loopback: connection refused, as when PostgreSQL is down.
  const down = await startFunction(
    { name: "on-task-completed", subscriptions, outbox: true },
    { DATABASE_URL: "postgresql://orbit@127.0.0.1:1/orbit", DAPR_HTTP_PORT: String(sidecar.port) },
  );
  try {
    expect(outcome(await deliver(row, row.data, down.url))).toEqual({
      status: 200,
      body: { status: "RETRY" },
    });
  } finally {
    await down.close();
  }
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1]);
  // The redelivery, once the database is back, does the work.
  expect(outcome(await deliver(row))).toEqual(SUCCESS);
  expect((await occurrences(seriesId)).map((t) => t.occurrenceIndex)).toEqual([1, 2]);
});
