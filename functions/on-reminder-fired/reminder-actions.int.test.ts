// A reminder's "Complete" / "Snooze 10 min" / "Snooze 1 h" (issue 16, item 2) over real HTTP, the
// Reminder Service beside a local Dapr sidecar whose Jobs API holds the snooze jobs: Complete goes
// through the complete command; a completed task ends the snooze links; a link used twice acts
// once; a snooze is one job per occurrence, moved (never doubled) when pressed again, recorded in
// the ledger, and fired back into this app. What a token refuses: tests/security/reminder-actions.
import { expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { ActionChannel, ReminderAction } from "#core/reminder-actions.ts";
import { reminderJobName, SKIP_REASONS, snoozeJobName } from "#core/reminders.ts";
import type { TaskDto } from "#core/tasks.ts";
import { completeTask, reopenTask, updateTask } from "#tasks/commands.ts";
import { api, FROM_SIDECAR } from "#testing/fixtures.ts";
import {
  commandCtx,
  press,
  remindedTask,
  snoozedMessages,
  tokenFor,
  until,
  useReminderActionsService,
} from "#testing/reminder-actions.ts";
import { jobs, reminderActionRoutes, subscriptions } from "./handler.ts";

const MINUTE = 60_000;
const service = useReminderActionsService({ reminderActionRoutes, subscriptions, jobs });

const ctx = () => commandCtx(service.db, service.user);
const reminded = () => remindedTask(service.db, service.user);
const tokenOf = (
  task: Pick<TaskDto, "id">,
  occurrence: { jobName: string; remindAt: Date },
  action: ReminderAction,
  options: { channel?: ActionChannel; expiresAt?: Date } = {},
) => tokenFor(service.keys, service.user, task, occurrence, action, options);
const pressed = (action: ReminderAction, value: string) => press(service.pair.fn.url, action, value);

const taskStatus = async (id: string) => (await service.db.task.findUnique({ where: { id } }))?.status;
const taskEventsOf = (taskId: string, type: string) =>
  service.db.outboxEvent.findMany({
    where: { topic: TOPICS.taskEvents, subject: taskId, type },
    orderBy: { seq: "asc" },
  });

test("Complete completes the task through the complete command, its event naming the reminder's button; a second press does nothing", async () => {
  const { task, occurrence } = await reminded();
  const token = tokenOf(task, occurrence, "complete", { channel: "email" });

  const first = await pressed("complete", token);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({
    action: "complete",
    outcome: "completed",
    repeated: false,
    task: { id: task.id, title: "Water the plants", status: "completed" },
    snoozed_until: null,
    time_zone: "Europe/Berlin",
    message: "Done: “Water the plants” is completed.",
  });
  expect(await taskStatus(task.id)).toBe("completed");
  const [completed, ...more] = await taskEventsOf(task.id, "orbit.task.completed");
  expect(more).toEqual([]);
  // The audit log's actor: the button, where it was, and which reminder it belonged to.
  expect((completed!.data as { actor: unknown }).actor).toEqual({
    type: "reminder_action",
    id: `email:${occurrence.jobName}`,
  });
  expect(completed!.source).toBe(service.pair.fn.built.ctx.name);

  // The same link again (a double click, a retry from an offline phone): the same answer, no event.
  const again = await pressed("complete", token);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ outcome: "completed", repeated: true });
  expect(await taskEventsOf(task.id, "orbit.task.completed")).toHaveLength(1);

  // Reopened in the app, the used link still does nothing: it acted once.
  await reopenTask(ctx(), task.id);
  expect((await pressed("complete", token)).body).toMatchObject({ outcome: "completed", repeated: true });
  expect(await taskStatus(task.id)).toBe("pending");
  expect(await service.db.reminderAction.count({ where: { taskId: task.id } })).toBe(1);
});

test("a webhook's action token acts like a button, and the press is recorded as from the webhook", async () => {
  const { task, occurrence } = await reminded();
  const snooze = await pressed("snooze_10m", tokenOf(task, occurrence, "snooze_10m", { channel: "webhook" }));
  expect(snooze.status).toBe(200);
  expect(snooze.body).toMatchObject({ outcome: "snoozed", repeated: false });
  expect(await service.db.reminderAction.findMany({ where: { taskId: task.id } })).toMatchObject([
    { action: "snooze_10m", channel: "webhook" },
  ]);
});

test("on a completed task, Complete answers 'already completed' (200) and a snooze is refused (409)", async () => {
  const { task, occurrence } = await reminded();
  await completeTask(ctx(), task.id);
  const complete = await pressed("complete", tokenOf(task, occurrence, "complete"));
  expect(complete.status).toBe(200);
  expect(complete.body).toMatchObject({
    outcome: "already_completed",
    repeated: false,
    message: "“Water the plants” was already completed.",
  });
  expect(await taskEventsOf(task.id, "orbit.task.completed")).toHaveLength(1);

  const snooze = await pressed("snooze_1h", tokenOf(task, occurrence, "snooze_1h"));
  expect(snooze.status).toBe(409);
  expect(snooze.body).toMatchObject({
    reason: "task_completed",
    detail: "This task is already done: there is nothing to snooze.",
  });
  const snoozeJob = snoozeJobName(occurrence)!;
  expect(await service.db.reminderJob.findUnique({ where: { jobName: snoozeJob } })).toBeNull();
  expect(await service.pair.fn.built.ctx.dapr.getJob(snoozeJob)).toBeNull();
});

test("Snooze 10 min schedules one job through the Jobs API; pressed again nothing moves; Snooze 1 h moves the same job; its trigger reminds again", async () => {
  const { task, occurrence } = await reminded();
  const origin = await service.db.reminderJob.findUniqueOrThrow({ where: { jobName: occurrence.jobName } });
  const tenToken = tokenOf(task, occurrence, "snooze_10m");
  const before = Date.now();
  const ten = await pressed("snooze_10m", tenToken);
  expect(ten.status).toBe(200);
  expect(ten.body).toMatchObject({ action: "snooze_10m", outcome: "snoozed", repeated: false });
  const until10 = new Date(ten.body.snoozed_until as string).getTime();
  expect(snoozedMessages("Water the plants", new Date(until10))).toContain(ten.body.message);
  expect(until10).toBeGreaterThanOrEqual(before + 10 * MINUTE);
  expect(until10).toBeLessThanOrEqual(Date.now() + 10 * MINUTE);

  // The sidecar holds the job (it fires back into this app-id, the one that scheduled it).
  const name = snoozeJobName(occurrence)!;
  const job = await service.pair.fn.built.ctx.dapr.getJob(name);
  expect(new Date(job!.dueTime!).getTime()).toBe(until10);
  expect(job!.dueTime).toMatch(/[+-]0[12]:00$/); // in the task's zone
  expect(job!.data).toEqual({
    task_id: task.id,
    job_name: name,
    remind_at: new Date(until10).toISOString(),
    due_at: task.due_at,
  });
  // The ledger: a scheduled job of the same reminder, and which button scheduled it.
  expect(await service.db.reminderJob.findUnique({ where: { jobName: name } })).toMatchObject({
    status: "scheduled",
    reminderId: origin.reminderId,
    remindAt: new Date(until10),
    dueAt: new Date(task.due_at!),
  });
  expect(await service.db.reminderAction.findMany({ where: { taskId: task.id } })).toMatchObject([
    {
      action: "snooze_10m",
      channel: "push",
      outcome: "snoozed",
      snoozeJob: name,
      snoozedUntil: new Date(until10),
    },
  ]);

  // Double click: the same answer, the job where it was.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const again = await pressed("snooze_10m", tenToken);
  expect(again.body).toMatchObject({
    outcome: "snoozed",
    repeated: true,
    snoozed_until: ten.body.snoozed_until,
  });
  expect(new Date((await service.pair.fn.built.ctx.dapr.getJob(name))!.dueTime!).getTime()).toBe(until10);

  // The other button of the same notification moves the one job, it schedules no second one.
  const hour = await pressed("snooze_1h", tokenOf(task, occurrence, "snooze_1h"));
  expect(hour.body).toMatchObject({ outcome: "snoozed", repeated: false });
  const until60 = new Date(hour.body.snoozed_until as string).getTime();
  expect(until60 - until10).toBeGreaterThanOrEqual(50 * MINUTE);
  expect(new Date((await service.pair.fn.built.ctx.dapr.getJob(name))!.dueTime!).getTime()).toBe(until60);
  const snoozes = await service.db.reminderJob.findMany({
    where: { taskId: task.id, jobName: { contains: "-s" } },
  });
  expect(snoozes.map((s) => [s.jobName, s.remindAt.getTime()])).toEqual([[name, until60]]);
  // The 10-minute button, pressed again now, says where the reminder is now.
  expect((await pressed("snooze_10m", tenToken)).body).toMatchObject({
    repeated: true,
    snoozed_until: new Date(until60).toISOString(),
  });

  // A trigger of the replaced 10-minute schedule does nothing; the job's own trigger reminds again.
  const data = (job: number) => ({
    task_id: task.id,
    job_name: name,
    remind_at: new Date(job).toISOString(),
    due_at: task.due_at,
  });
  expect(
    (await api(service.pair.fn.url, "POST", `/job/${name}`, { body: data(until10), headers: FROM_SIDECAR }))
      .status,
  ).toBe(200);
  expect((await service.db.reminderJob.findUnique({ where: { jobName: name } }))!.status).toBe("scheduled");
  expect(
    (await api(service.pair.fn.url, "POST", `/job/${name}`, { body: data(until60), headers: FROM_SIDECAR }))
      .status,
  ).toBe(200);
  expect((await service.db.reminderJob.findUnique({ where: { jobName: name } }))!.status).toBe("fired");
  const reminders = await service.db.outboxEvent.findMany({
    where: { topic: TOPICS.reminders, subject: task.id },
  });
  expect(reminders.map((r) => r.data)).toEqual([
    {
      task_id: task.id,
      user_id: service.user.id,
      title: "Water the plants",
      due_at: task.due_at,
      remind_at: new Date(until60).toISOString(),
      job_name: name,
    },
  ]);
});

test("a snooze stays when the task's reminders change, and is cancelled (its job deleted) when the task is completed", async () => {
  const { task, occurrence } = await reminded();
  await pressed("snooze_1h", tokenOf(task, occurrence, "snooze_1h"));
  const name = snoozeJobName(occurrence)!;

  await updateTask(ctx(), task.id, { reminders: [{ offset_minutes: 15 }, { offset_minutes: 60 }] });
  const sixty = reminderJobName(task.id, { offset_minutes: 60, remind_at: null });
  await until("the new reminder to be planned", () =>
    service.db.reminderJob.findUnique({ where: { jobName: sixty } }),
  );
  expect((await service.db.reminderJob.findUnique({ where: { jobName: name } }))!.status).toBe("scheduled");
  expect(await service.pair.fn.built.ctx.dapr.getJob(name)).not.toBeNull();

  // Completed from a reminder of the same notification: the snooze is no longer wanted.
  expect((await pressed("complete", tokenOf(task, occurrence, "complete"))).body).toMatchObject({
    outcome: "completed",
  });
  const row = await until("the snooze to be cancelled", async () => {
    const found = await service.db.reminderJob.findUnique({ where: { jobName: name } });
    return found?.status === "cancelled" ? found : null;
  });
  expect(row.skipReason).toBe(SKIP_REASONS.taskCompleted);
  expect(await service.pair.fn.built.ctx.dapr.getJob(name)).toBeNull();
});

test("the preview says what a link would do and does nothing; once used, or the task done, it says so", async () => {
  const { task, occurrence } = await reminded();
  const complete = tokenOf(task, occurrence, "complete");
  const preview = (action: ReminderAction, token: string) =>
    api(service.pair.fn.url, "POST", "/v1/reminder-actions/preview", { body: { action, token } });

  expect((await preview("complete", complete)).body).toEqual({
    action: "complete",
    task: { id: task.id, title: "Water the plants", status: "pending", due_at: task.due_at },
    time_zone: "Europe/Berlin",
    prompt: "Complete “Water the plants”?",
    settled: null,
  });
  expect((await preview("snooze_10m", tokenOf(task, occurrence, "snooze_10m"))).body).toMatchObject({
    prompt: "Snooze “Water the plants” for 10 minutes?",
    settled: null,
  });
  // Previewing twice is still nothing: a mail scanner opening the link changes no task.
  await preview("complete", complete);
  expect(await taskStatus(task.id)).toBe("pending");
  expect(await service.db.reminderAction.count({ where: { taskId: task.id } })).toBe(0);

  await pressed("complete", complete);
  expect((await preview("complete", complete)).body.settled).toBe(
    "You already used this link: Done: “Water the plants” is completed.",
  );
  expect((await preview("snooze_10m", tokenOf(task, occurrence, "snooze_10m"))).status).toBe(409);
  const expired = tokenOf(task, occurrence, "complete", { expiresAt: new Date(Date.now() - 1) });
  expect((await preview("complete", expired)).body).toMatchObject({ status: 400, reason: "expired" });
});
