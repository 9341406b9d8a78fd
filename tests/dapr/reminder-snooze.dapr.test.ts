// A reminder's "Snooze" on real daprd and the Dapr Scheduler (issue 16, item 2): the snooze job's
// name (reminder-<task>-s<rule>-<epoch ms>) passes the Scheduler's job-name rule, pressing again
// moves the one job (`overwrite`), and the job fires back into the app-id that scheduled it: the
// Reminder Service, which publishes the reminder again. The local sidecar's side of the same:
// functions/on-reminder-fired/reminder-actions.int.test.ts.
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import { reminderJobName, snoozeJobName, toRfc3339 } from "#core/reminders.ts";
import type { Db } from "#db/client.ts";
import { createTask } from "#tasks/commands.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { actionKeyring, commandCtx, press, tokenFor, until } from "#testing/reminder-actions.ts";
import { RUNTIME } from "#testing/runtime.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { workerDb } from "#testing/worker-db.ts";
import { jobs, reminderActionRoutes, subscriptions } from "../../functions/on-reminder-fired/handler.ts";

const KEYS = actionKeyring();
let db: Db;
let user: TestUser;
let pair: FunctionWithSidecar<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  // Never passes without the real runtime: `make test-dapr` sets it.
  expect(RUNTIME).toBe("daprd");
  db = await workerDb();
  user = await createTestUser(db, { timeZone: "Europe/Berlin" });
  pair = await startFunctionWithSidecar(
    { name: "on-reminder-fired", routes: reminderActionRoutes(KEYS), subscriptions, jobs, outbox: true },
    { resourcesPath: await resourcesFolder({ "pubsub.yaml": PUBSUB_COMPONENT }) },
  );
});
afterAll(async () => {
  await pair?.close();
});

test("a snooze is one Scheduler job under its occurrence's name, moved when pressed again, fired back into the Reminder Service", async () => {
  const due = new Date(Date.now() + 3 * 3_600_000);
  const { task } = await createTask(commandCtx(db, user), {
    title: "Call the dentist",
    description: "",
    priority: "none",
    due_at: due,
    time_zone: "Europe/Berlin",
    tags: [],
    reminders: [],
    recurrence: null,
  });
  // The occurrence a push carried: the 15-minute reminder, as if it had fired.
  const occurrence = {
    jobName: reminderJobName(task.id, { offset_minutes: 15, remind_at: null }),
    remindAt: new Date(due.getTime() - 15 * 60_000),
  };
  await db.reminderJob.create({
    data: {
      ...occurrence,
      taskId: task.id,
      userId: user.id,
      dueAt: due,
      status: "fired",
      firedAt: new Date(),
    },
  });
  const name = snoozeJobName(occurrence)!;
  const dapr = pair.fn.built.ctx.dapr;

  const ten = await press(pair.fn.url, "snooze_10m", tokenFor(KEYS, user, task, occurrence, "snooze_10m"));
  expect(ten.status).toBe(200);
  const job = await dapr.getJob(name);
  expect(new Date(job!.dueTime!).getTime()).toBe(Date.parse(ten.body.snoozed_until));
  const hour = await press(pair.fn.url, "snooze_1h", tokenFor(KEYS, user, task, occurrence, "snooze_1h"));
  expect(hour.status).toBe(200);
  expect(new Date((await dapr.getJob(name))!.dueTime!).getTime()).toBe(Date.parse(hour.body.snoozed_until));

  // An hour is too long to wait: the same job, its data untouched, made due in two seconds.
  const { data } = (await dapr.getJob(name))!;
  await dapr.scheduleJob(name, { dueTime: toRfc3339(new Date(Date.now() + 2_000)), data, overwrite: true });
  const fired = await until(
    "the Scheduler to fire the snooze into the Reminder Service",
    async () => {
      const row = await db.reminderJob.findUnique({ where: { jobName: name } });
      return row?.status === "fired" ? row : null;
    },
    30_000,
  );
  expect(fired.remindAt.toISOString()).toBe(hour.body.snoozed_until);
  const reminders = await db.outboxEvent.findMany({ where: { topic: TOPICS.reminders, subject: task.id } });
  expect(reminders.map((r) => (r.data as { job_name: string; remind_at: string }).job_name)).toEqual([name]);
});
