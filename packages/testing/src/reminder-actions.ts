// What the tests of a reminder's buttons share (functions/on-reminder-fired/reminder-actions.int.test.ts,
// tests/security/reminder-actions.int.test.ts): the Reminder Service beside its sidecar, a task
// whose reminder has fired, tokens for its buttons signed as notifications signs them, and a press
// as the web app passes it on. Also the `reminders` event of such a task, for the notifications
// function's own tests (firedReminderEvent).
import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll } from "vitest";
import type { ReminderEvent } from "#core/events.ts";
import { signActionToken, type ActionKeyring } from "#core/reminder-action-tokens.ts";
import { ACTION_TOKEN_TTL_MS, type ActionChannel, type ReminderAction } from "#core/reminder-actions.ts";
import { reminderJobName } from "#core/reminders.ts";
import type { CreateTaskInput, TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { createTask, type CommandContext } from "#tasks/commands.ts";
import type { FunctionDef } from "#platform/host.ts";
import { api, createTestUser, type TestUser } from "./fixtures.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "./sidecar-pair.ts";
import { workerDb } from "./worker-db.ts";
import { WAIT_MS } from "./wait.ts";

/** A fresh keyring, as the secret `reminder-action-key` holds one. */
export const actionKeyring = (): ActionKeyring => ({
  current: "k1",
  keys: new Map([["k1", randomBytes(32)]]),
});

export function commandCtx(db: Db, owner: TestUser): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "user", id: owner.id },
    userId: owner.id,
    userTimeZone: "Europe/Berlin",
    defaultReminderMinutes: [15],
    now: new Date(),
  };
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A task due in 3 hours whose 15-minute reminder has fired (its occurrence is what the buttons act
 * on): created through the create command, its job planned by the Reminder Service beside the
 * test, then marked fired as its trigger would.
 */
export async function remindedTask(db: Db, owner: TestUser, overrides: Partial<CreateTaskInput> = {}) {
  const { task } = await createTask(commandCtx(db, owner), {
    title: "Water the plants",
    description: "",
    priority: "none",
    due_at: new Date(Date.now() + 3 * 3_600_000),
    time_zone: "Europe/Berlin",
    tags: [],
    reminders: [{ offset_minutes: 15 }],
    recurrence: null,
    ...overrides,
  });
  const jobName = reminderJobName(task.id, { offset_minutes: 15, remind_at: null });
  const row = await until("the reminder job to be planned", () =>
    db.reminderJob.findUnique({ where: { jobName } }),
  );
  await db.reminderJob.update({ where: { jobName }, data: { status: "fired", firedAt: new Date() } });
  return { task, occurrence: { jobName, remindAt: row.remindAt } };
}

/** A button's token for `owner`'s `occurrence` of `task`, signed as notifications signs it. */
export function tokenFor(
  keys: ActionKeyring,
  owner: TestUser,
  task: Pick<TaskDto, "id">,
  occurrence: { jobName: string; remindAt: Date },
  action: ReminderAction,
  options: { channel?: ActionChannel; expiresAt?: Date } = {},
): string {
  return signActionToken(
    {
      userId: owner.id,
      taskId: task.id,
      jobName: occurrence.jobName,
      remindAt: occurrence.remindAt,
      action,
      channel: options.channel ?? "push",
      expiresAt: options.expiresAt ?? new Date(Date.now() + ACTION_TOKEN_TTL_MS),
    },
    keys,
  );
}

/** POST /v1/reminder-actions as the web app passes a press on: no credential but the token. */
export const press = (base: string, action: ReminderAction, token: string) =>
  api(base, "POST", "/v1/reminder-actions", { body: { action, token } });

/** What functions/on-reminder-fired/handler.ts exports for its buttons (passed in: tests own the import). */
export interface ReminderActionsHandler {
  reminderActionRoutes(keys: ActionKeyring): FunctionDef<any>["routes"]; // eslint-disable-line @typescript-eslint/no-explicit-any
  subscriptions: FunctionDef<any>["subscriptions"]; // eslint-disable-line @typescript-eslint/no-explicit-any
  jobs: FunctionDef<any>["jobs"]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ReminderActionsService {
  db: Db;
  /** The user (time zone Europe/Berlin) whose tasks the tests press buttons on. */
  user: TestUser;
  pair: FunctionWithSidecar<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  keys: ActionKeyring;
}

/**
 * Starts the Reminder Service beside a sidecar (pub/sub for its events, the Jobs API for snoozes)
 * before the file's tests and stops it after them. The fields are set once `beforeAll` has run.
 */
export function useReminderActionsService(handler: ReminderActionsHandler): ReminderActionsService {
  const service = { keys: actionKeyring() } as ReminderActionsService;
  beforeAll(async () => {
    service.db = await workerDb();
    service.user = await createTestUser(service.db, { timeZone: "Europe/Berlin" });
    service.pair = await startFunctionWithSidecar(
      {
        name: "on-reminder-fired",
        routes: handler.reminderActionRoutes(service.keys),
        subscriptions: handler.subscriptions,
        jobs: handler.jobs,
        outbox: true,
      },
      { resourcesPath: await resourcesFolder({ "pubsub.yaml": PUBSUB_COMPONENT }) },
    );
  });
  afterAll(async () => {
    await service.pair?.close();
  });
  return service;
}

/**
 * A task of `owner` due in an hour whose 15-minute reminder has fired, and the `reminders` event
 * on-reminder-fired published for it (its job recorded as fired, as the trigger leaves it).
 */
export async function firedReminderEvent(db: Db, owner: TestUser, title: string) {
  const due = new Date(Date.now() + 3_600_000);
  const { task } = await createTask(commandCtx(db, owner), {
    title,
    description: "",
    priority: "none",
    due_at: due,
    tags: [],
    reminders: [{ offset_minutes: 15 }],
    recurrence: null,
  });
  const reminder: ReminderEvent = {
    task_id: task.id,
    user_id: owner.id,
    title: task.title,
    due_at: due.toISOString(),
    remind_at: new Date(due.getTime() - 15 * 60_000).toISOString(),
    job_name: `reminder-${task.id}-o15`,
  };
  await db.reminderJob.create({
    data: {
      jobName: reminder.job_name,
      taskId: task.id,
      userId: owner.id,
      dueAt: due,
      remindAt: new Date(reminder.remind_at),
      status: "fired",
      firedAt: new Date(),
    },
  });
  return { task, reminder };
}

/**
 * What a snooze's answer may say for a snooze until `until` (in Europe/Berlin, these tests' zone):
 * the time alone when it is today there, with the day when it is not (a snooze pressed late in
 * the evening lands tomorrow). Either is right; which one depends on the hour the test runs.
 */
export function snoozedMessages(title: string, until: Date): string[] {
  const at = DateTime.fromJSDate(until, { zone: "Europe/Berlin" });
  return ["HH:mm", "ccc d LLL, HH:mm"].map(
    (format) => `Snoozed: Orbit reminds you of “${title}” again at ${at.toFormat(format)}.`,
  );
}
