import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import { reminderJobName, SKIP_REASONS } from "#core/reminders.ts";
import type { CreateTaskInput, TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
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
  FROM_SIDECAR,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { workerDb } from "#testing/worker-db.ts";
import { CONSUMER, jobs, subscriptions } from "./handler.ts";
import { WAIT_MS } from "#testing/wait.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let db: Db;
let pair: FunctionWithSidecar<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let user: TestUser;

beforeAll(async () => {
  db = await workerDb();
  user = await createTestUser(db);
  pair = await startFunctionWithSidecar(
    { name: "on-reminder-fired", subscriptions, jobs, outbox: true },
    { resourcesPath: await resourcesFolder({ "pubsub.yaml": PUBSUB_COMPONENT }) },
  );
});
afterAll(async () => {
  await pair?.close();
});

function commandCtx(now = new Date()): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "user", id: user.id },
    userId: user.id,
    userTimeZone: "Europe/Berlin",
    defaultReminderMinutes: [15],
    now,
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = WAIT_MS,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The job as the sidecar holds it (GET /v1.0/jobs/{name}, data unwrapped by the client), or null. */
async function daprJob(name: string) {
  return pair.fn.built.ctx.dapr.getJob(name);
}

const jobRows = (taskId: string) =>
  db.reminderJob.findMany({ where: { taskId }, orderBy: [{ remindAt: "asc" }, { jobName: "asc" }] });

const reminderEvents = async (taskId: string) =>
  (
    await db.outboxEvent.findMany({
      where: { topic: TOPICS.reminders, subject: taskId },
      orderBy: { seq: "asc" },
    })
  ).map((row) => row.data as Record<string, string>);

/** Waits until the task's rows settle into `statuses` (the task event travelled the real pipeline). */
async function rowsIn(taskId: string, statuses: Record<string, string>, timeoutMs?: number) {
  return until(
    `reminder jobs of ${taskId} to be ${JSON.stringify(statuses)}`,
    async () => {
      const rows = await jobRows(taskId);
      const actual = Object.fromEntries(rows.map((r) => [r.jobName, r.status]));
      return JSON.stringify(actual) === JSON.stringify(statuses) ? rows : null;
    },
    timeoutMs,
  );
}

function input(overrides: Partial<CreateTaskInput> = {}): CreateTaskInput {
  return {
    title: "Renew the passport",
    description: "",
    priority: "medium",
    due_at: new Date(Date.now() + 3 * HOUR),
    time_zone: "Europe/Berlin",
    tags: [],
    reminders: [{ offset_minutes: 60 }],
    recurrence: null,
    ...overrides,
  };
}

const name = (task: TaskDto, reminder: { offset_minutes?: number; remind_at?: string }) =>
  reminderJobName(task.id, {
    offset_minutes: reminder.offset_minutes ?? null,
    remind_at: reminder.remind_at ?? null,
  });

/** Delivers a task event as daprd would (structured CloudEvent, `pubsubname` header). */
function deliver(base: string, data: unknown, id = randomUUID()) {
  return deliverAsDapr(base, "/events/task-events", {
    id,
    source: "update-task",
    type: "orbit.task.updated",
    topic: TOPICS.taskEvents,
    data,
  });
}

/** Triggers a job as the scheduler does: POST /job/<name> with the job's data as the body. */
function trigger(jobName: string, data: unknown) {
  return api(pair.fn.url, "POST", `/job/${jobName}`, { body: data, headers: FROM_SIDECAR });
}

test("subscribes to task-events with a dead-letter topic", async () => {
  const res = await api(pair.fn.url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR });
  expect(res.body).toEqual([
    {
      pubsubname: "pubsub",
      topic: "task-events",
      routes: { default: "/events/task-events" },
      deadLetterTopic: "task-events-dlq",
    },
  ]);
});

test("a new task's reminders become Dapr jobs due at each reminder time, in the task's zone", async () => {
  const due = new Date(Date.now() + 26 * HOUR);
  due.setUTCMilliseconds(0);
  const remindAt = new Date(due.getTime() - 3 * HOUR);
  const { task } = await createTask(
    commandCtx(),
    input({ due_at: due, reminders: [{ offset_minutes: 1440 }, { remind_at: remindAt }] }),
  );
  const dayBefore = name(task, { offset_minutes: 1440 });
  const absolute = name(task, { remind_at: remindAt.toISOString() });
  const rows = await rowsIn(task.id, { [dayBefore]: "scheduled", [absolute]: "scheduled" });

  expect(rows.map((r) => [r.remindAt.toISOString(), r.dueAt.toISOString(), r.userId])).toEqual([
    [new Date(due.getTime() - 24 * HOUR).toISOString(), due.toISOString(), user.id],
    [remindAt.toISOString(), due.toISOString(), user.id],
  ]);
  const job = await daprJob(dayBefore);
  expect(new Date(job!.dueTime!).getTime()).toBe(due.getTime() - 24 * HOUR);
  expect(job!.dueTime).toMatch(/[+-]0[12]:00$/); // Europe/Berlin's offset, not Z
  expect(job!.data).toEqual({
    task_id: task.id,
    job_name: dayBefore,
    remind_at: new Date(due.getTime() - 24 * HOUR).toISOString(),
    due_at: due.toISOString(),
  });
  expect(await daprJob(absolute)).not.toBeNull();
});

test("moving the due date moves an offset reminder's job; removing a reminder deletes its job", async () => {
  const due = new Date(Date.now() + 5 * HOUR);
  const absoluteAt = new Date(Date.now() + 2 * HOUR);
  const { task } = await createTask(
    commandCtx(),
    input({ due_at: due, reminders: [{ offset_minutes: 60 }, { remind_at: absoluteAt }] }),
  );
  const offsetJob = name(task, { offset_minutes: 60 });
  const absoluteJob = name(task, { remind_at: absoluteAt.toISOString() });
  await rowsIn(task.id, { [absoluteJob]: "scheduled", [offsetJob]: "scheduled" });

  const later = new Date(due.getTime() + 24 * HOUR);
  await updateTask(commandCtx(), task.id, { due_at: later });
  // The rows commit after the Dapr calls succeeded: once they moved, so did the jobs.
  const [absoluteRow, offsetRow] = await until("the offset reminder to move", async () => {
    const rows = await jobRows(task.id);
    return rows[1]?.dueAt.getTime() === later.getTime() ? rows : null;
  });
  expect(new Date((await daprJob(offsetJob))!.dueTime!).getTime()).toBe(later.getTime() - HOUR);
  expect(offsetRow).toMatchObject({
    status: "scheduled",
    dueAt: later,
    remindAt: new Date(later.getTime() - HOUR),
  });
  // The absolute reminder is now planned against the new due date too, at the same instant.
  expect(absoluteRow).toMatchObject({ status: "scheduled", dueAt: later, remindAt: absoluteAt });
  expect(new Date((await daprJob(absoluteJob))!.dueTime!).getTime()).toBe(absoluteAt.getTime());

  await updateTask(commandCtx(), task.id, { reminders: [{ offset_minutes: 60 }] });
  const rows = await rowsIn(task.id, { [absoluteJob]: "cancelled", [offsetJob]: "scheduled" });
  expect(rows[0]!.skipReason).toBe("the reminder was removed from the task");
  expect(await daprJob(absoluteJob)).toBeNull();
  expect(await daprJob(offsetJob)).not.toBeNull();
});

test("completing a task cancels its jobs, reopening schedules them again, deleting cancels them", async () => {
  const { task } = await createTask(
    commandCtx(),
    input({ reminders: [{ offset_minutes: 30 }, { offset_minutes: 90 }] }),
  );
  const [j30, j90] = [name(task, { offset_minutes: 30 }), name(task, { offset_minutes: 90 })];
  await rowsIn(task.id, { [j90]: "scheduled", [j30]: "scheduled" });

  await completeTask(commandCtx(), task.id);
  const completed = await rowsIn(task.id, { [j90]: "cancelled", [j30]: "cancelled" });
  expect(completed.map((r) => r.skipReason)).toEqual([
    SKIP_REASONS.taskCompleted,
    SKIP_REASONS.taskCompleted,
  ]);
  expect(await daprJob(j30)).toBeNull();
  expect(await daprJob(j90)).toBeNull();

  await reopenTask(commandCtx(), task.id);
  await rowsIn(task.id, { [j90]: "scheduled", [j30]: "scheduled" });
  expect(await daprJob(j30)).not.toBeNull();

  await deleteTask(commandCtx(), task.id);
  const deleted = await rowsIn(task.id, { [j90]: "cancelled", [j30]: "cancelled" });
  expect(deleted.map((r) => r.skipReason)).toEqual([SKIP_REASONS.taskGone, SKIP_REASONS.taskGone]);
  expect(await daprJob(j30)).toBeNull();
  expect(await daprJob(j90)).toBeNull();
});

test("a reminder already past when the task is created fires at once if the task is not yet due", async () => {
  const due = new Date(Date.now() + 10 * MINUTE);
  const { task } = await createTask(
    commandCtx(),
    input({ due_at: due, reminders: [{ offset_minutes: 30 }] }),
  );
  const job = name(task, { offset_minutes: 30 });
  const [row] = await rowsIn(task.id, { [job]: "fired" });
  expect(row!.firedAt).not.toBeNull();
  expect(await daprJob(job)).toBeNull();
  expect(await reminderEvents(task.id)).toEqual([
    {
      task_id: task.id,
      user_id: user.id,
      title: "Renew the passport",
      due_at: due.toISOString(),
      remind_at: new Date(due.getTime() - 30 * MINUTE).toISOString(),
      job_name: job,
    },
  ]);
});

test("a reminder whose time and the task's due time have passed is recorded as skipped and sends nothing", async () => {
  const due = new Date(Date.now() - 5 * MINUTE);
  const { task } = await createTask(
    commandCtx(),
    input({ due_at: due, reminders: [{ offset_minutes: 15 }] }),
  );
  const job = name(task, { offset_minutes: 15 });
  const [row] = await rowsIn(task.id, { [job]: "skipped" });
  expect(row!.skipReason).toBe(SKIP_REASONS.alreadyDue);
  expect(await daprJob(job)).toBeNull();
  expect(await reminderEvents(task.id)).toEqual([]);
});

test("an account that skips reminders already past when a task is saved: those are recorded as skipped, the rest scheduled", async () => {
  const skipper = await createTestUser(db);
  await db.user.update({ where: { id: skipper.id }, data: { pastReminderPolicy: "skip" } });
  const due = new Date(Date.now() + 10 * MINUTE);
  const { task } = await createTask(
    { ...commandCtx(), actor: { type: "user", id: skipper.id }, userId: skipper.id },
    input({ due_at: due, reminders: [{ offset_minutes: 30 }, { offset_minutes: 5 }] }),
  );
  const past = name(task, { offset_minutes: 30 });
  const ahead = name(task, { offset_minutes: 5 });
  const rows = await rowsIn(task.id, { [past]: "skipped", [ahead]: "scheduled" });
  expect(rows[0]).toMatchObject({
    jobName: past,
    firedAt: null,
    skipReason: SKIP_REASONS.pastWhenSaved,
    remindAt: new Date(due.getTime() - 30 * MINUTE),
  });
  expect(await daprJob(past)).toBeNull();
  expect(await daprJob(ahead)).not.toBeNull();
  expect(await reminderEvents(task.id)).toEqual([]);
  // The account's choice is read with the task at each reconciliation: switched back to send now,
  // a reminder that becomes past by a later save is sent; the skipped one stays skipped.
  await db.user.update({ where: { id: skipper.id }, data: { pastReminderPolicy: "send_now" } });
  await updateTask(
    { ...commandCtx(), actor: { type: "user", id: skipper.id }, userId: skipper.id },
    task.id,
    { reminders: [{ offset_minutes: 30 }, { offset_minutes: 5 }, { offset_minutes: 20 }] },
  );
  const sent = name(task, { offset_minutes: 20 });
  await rowsIn(task.id, { [past]: "skipped", [sent]: "fired", [ahead]: "scheduled" });
  expect((await reminderEvents(task.id)).map((e) => e.job_name)).toEqual([sent]);
});

test("a job fires at its time: the reminder is published once and the job is marked fired", async () => {
  const remindAt = new Date(Date.now() + 2_500);
  const { task } = await createTask(
    commandCtx(),
    input({ due_at: new Date(Date.now() + HOUR), reminders: [{ remind_at: remindAt }] }),
  );
  const job = name(task, { remind_at: remindAt.toISOString() });
  await rowsIn(task.id, { [job]: "scheduled" });

  const [row] = await rowsIn(task.id, { [job]: "fired" });
  // Never before its time (how soon after is bench 4, reminder punctuality, not a test).
  expect(row!.firedAt!.getTime()).toBeGreaterThanOrEqual(remindAt.getTime());
  const published = await until("the reminder event to be published", async () => {
    const rows = await db.outboxEvent.findMany({ where: { topic: TOPICS.reminders, subject: task.id } });
    return rows.length === 1 && rows[0]!.status === "published" ? rows : null;
  });
  expect(published[0]!.partitionKey).toBe(task.id);
  expect(published[0]!.type).toBe("orbit.reminder.due");
  expect(published[0]!.data).toMatchObject({ remind_at: remindAt.toISOString(), job_name: job });
});

test("a repeated trigger of a job publishes the reminder only once", async () => {
  const { task } = await createTask(commandCtx(), input({ reminders: [{ offset_minutes: 45 }] }));
  const job = name(task, { offset_minutes: 45 });
  const [row] = await rowsIn(task.id, { [job]: "scheduled" });
  const data = {
    task_id: task.id,
    job_name: job,
    remind_at: row!.remindAt.toISOString(),
    due_at: row!.dueAt.toISOString(),
  };

  const first = await trigger(job, data);
  const second = await trigger(job, data);
  expect([first.status, second.status]).toEqual([200, 200]);
  expect((await reminderEvents(task.id)).map((e) => e.job_name)).toEqual([job]);
  expect((await jobRows(task.id))[0]!.status).toBe("fired");
});

test(
  "triggers arriving together are each handled on their own: every one published once, a stale one skipped",
  { timeout: 60_000 },
  async () => {
    const tasks = await Promise.all(
      Array.from({ length: 8 }, () =>
        createTask(commandCtx(), input({ reminders: [{ offset_minutes: 35 }] })),
      ),
    );
    const triggers = await Promise.all(
      tasks.map(async ({ task }) => {
        const job = name(task, { offset_minutes: 35 });
        // Eight task events at once through the pipeline: more time than for one.
        const [row] = await rowsIn(task.id, { [job]: "scheduled" }, 30_000);
        return {
          task,
          job,
          data: { task_id: task.id, job_name: job, remind_at: row!.remindAt.toISOString() },
        };
      }),
    );
    const stale = triggers[0]!;
    await db.task.update({
      where: { id: stale.task.id },
      data: { status: "completed", completedAt: new Date() },
    });

    // All at once, each of the first four delivered three times over (at-least-once).
    const sent = [...triggers, ...triggers.slice(0, 4), ...triggers.slice(0, 4)];
    const answers = await Promise.all(sent.map((t) => trigger(t.job, t.data)));
    expect(answers.map((res) => res.status)).toEqual(sent.map(() => 200));

    expect(await reminderEvents(stale.task.id)).toEqual([]);
    expect((await jobRows(stale.task.id))[0]).toMatchObject({
      status: "skipped",
      skipReason: SKIP_REASONS.taskCompleted,
    });
    for (const t of triggers.slice(1)) {
      expect((await reminderEvents(t.task.id)).map((e) => e.job_name)).toEqual([t.job]);
      expect((await jobRows(t.task.id))[0]!.status).toBe("fired");
    }
  },
);

test("a trigger for a due date that has since changed is skipped and publishes nothing", async () => {
  const { task } = await createTask(commandCtx(), input({ reminders: [{ offset_minutes: 20 }] }));
  const job = name(task, { offset_minutes: 20 });
  const [row] = await rowsIn(task.id, { [job]: "scheduled" });
  // The due date moved and the update's event has not reached the consumer yet.
  await db.task.update({ where: { id: task.id }, data: { dueAt: new Date(row!.dueAt.getTime() + HOUR) } });

  const res = await trigger(job, { task_id: task.id, job_name: job, remind_at: row!.remindAt.toISOString() });
  expect(res.status).toBe(200);
  const [after] = await jobRows(task.id);
  expect(after).toMatchObject({ status: "skipped", skipReason: SKIP_REASONS.dueDateChanged });
  expect(await reminderEvents(task.id)).toEqual([]);
});

test("a trigger for a completed task is skipped; one of an earlier schedule of the job is ignored", async () => {
  const { task } = await createTask(commandCtx(), input({ reminders: [{ offset_minutes: 25 }] }));
  const job = name(task, { offset_minutes: 25 });
  const [row] = await rowsIn(task.id, { [job]: "scheduled" });

  const earlier = new Date(row!.remindAt.getTime() - HOUR).toISOString();
  await trigger(job, { task_id: task.id, job_name: job, remind_at: earlier });
  expect((await jobRows(task.id))[0]!.status).toBe("scheduled");

  // Completed, and the completion's event not consumed yet.
  await db.task.update({ where: { id: task.id }, data: { status: "completed", completedAt: new Date() } });
  await trigger(job, { task_id: task.id, job_name: job, remind_at: row!.remindAt.toISOString() });
  expect((await jobRows(task.id))[0]).toMatchObject({
    status: "skipped",
    skipReason: SKIP_REASONS.taskCompleted,
  });
  expect(await reminderEvents(task.id)).toEqual([]);
});

test("a trigger of an unknown job is acknowledged; a name that is not a reminder's gets 404", async () => {
  const unknown = `reminder-${randomUUID()}-o15`;
  expect((await trigger(unknown, { task_id: randomUUID(), job_name: unknown })).status).toBe(200);
  expect((await trigger("nightly-cleanup", {})).status).toBe(404);
});

test("when Dapr refuses, the event is retried and nothing is recorded; a redelivery is applied once", async () => {
  // A task written straight to the table: no outbox row, so only this test delivers its event.
  const row = await db.task.create({
    data: {
      userId: user.id,
      title: "Water the plants",
      dueAt: new Date(Date.now() + 4 * HOUR),
      timeZone: "UTC",
      reminders: { create: [{ userId: user.id, offsetMinutes: 120 }] },
    },
    include: { reminders: true },
  });
  const data = {
    version: "1.0",
    event_type: "created",
    task_id: row.id,
    user_id: user.id,
    task_data: {
      id: row.id,
      user_id: user.id,
      title: row.title,
      description: "",
      status: "pending",
      priority: "none",
      due_at: row.dueAt!.toISOString(),
      time_zone: "UTC",
      tags: [],
      list_id: row.listId,
      parent_id: null,
      subtasks: { done: 0, total: 0 },
      reminders: [{ id: row.reminders[0]!.id, offset_minutes: 120, remind_at: null }],
      recurrence: null,
      series_id: null,
      occurrence_index: null,
      completed_at: null,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
      version: 1,
    },
    timestamp: new Date().toISOString(),
    actor: { type: "user", id: user.id },
    changes: {},
    reason: null,
  };
  const eventId = randomUUID();
  let noSidecar: StartedFunction<any> | null = null; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    noSidecar = await startFunction({ name: "on-reminder-fired", subscriptions, jobs });
    const refused = await deliver(noSidecar.url, data, eventId);
    expect(refused.body).toEqual({ status: "RETRY" });
  } finally {
    await noSidecar?.close();
  }
  expect(await jobRows(row.id)).toEqual([]);
  expect(await db.processedEvent.count({ where: { consumer: CONSUMER, eventId } })).toBe(0);

  expect((await deliver(pair.fn.url, data, eventId)).body).toEqual({ status: "SUCCESS" });
  expect((await deliver(pair.fn.url, data, eventId)).body).toEqual({ status: "SUCCESS" });
  const job = `reminder-${row.id}-o120`;
  expect((await jobRows(row.id)).map((r) => [r.jobName, r.status])).toEqual([[job, "scheduled"]]);
  expect(await db.processedEvent.count({ where: { consumer: CONSUMER, eventId } })).toBe(1);
  expect(await daprJob(job)).not.toBeNull();
});
