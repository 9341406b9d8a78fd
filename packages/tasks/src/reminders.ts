// Reminder jobs in the database and in Dapr: the work of the Reminder Service (on-reminder-fired),
// which owns every reminder job because Dapr triggers a job only on the app-id that scheduled it
// (https://docs.dapr.io/concepts/dapr-services/scheduler/). What to do is decided by the pure
// rules in packages/core/src/reminders.ts; this module reads the rows, calls Dapr and writes.
//
// Every reconciliation and every trigger of one task holds a per-task advisory lock for its whole
// transaction, Dapr calls included. So they take turns: a trigger that arrives while its job is
// being (re)scheduled waits for that transaction and then sees its row; two events of one task
// never schedule from interleaved reads. A failed Dapr call throws, which rolls back the rows (and
// the caller's inbox entry), so the event is redelivered and the reconciliation runs again
// (scheduling is an upsert with `overwrite: true`, deleting a missing job succeeds: both are safe
// to repeat).
import { z } from "zod";
import { cloudEventType, TOPICS, type ReminderEvent } from "#core/events.ts";
import {
  cancelReason,
  ignoredTrigger,
  parseReminderJobName,
  planReconciliation,
  planReminderJobs,
  staleTriggerReason,
  toRfc3339,
} from "#core/reminders.ts";
import type { Db, Tx } from "#db/client.ts";
import type { DaprClient, JobSpec } from "#platform/dapr-client.ts";
import { enqueue } from "#platform/outbox.ts";
import { loadTaskDto } from "./records.ts";

/**
 * A failed trigger (our 5xx, e.g. the database briefly down) is retried every 2 s, 5 times: enough
 * to ride out a restart, and a reminder more than ~10 s late is not worth much more (Dapr ≥ 1.16).
 */
export const JOB_FAILURE_POLICY: NonNullable<JobSpec["failurePolicy"]> = {
  constant: { interval: "2s", maxRetries: 5 },
};

/** What each job carries back to us when it fires: enough to tell a trigger of an older schedule. */
export const jobDataSchema = z.object({
  task_id: z.uuid(),
  job_name: z.string(),
  remind_at: z.iso.datetime({ offset: true }).optional(),
  due_at: z.iso.datetime({ offset: true }).optional(),
});
export type ReminderJobData = z.infer<typeof jobDataSchema>;

/** What the reminder work needs of its function: the clock, and where its events and jobs go. */
export interface ReminderContext {
  /** The function's app-id: the reminder events' CloudEvent source. */
  name: string;
  env: { PUBSUB_NAME: string };
  now(): Date;
}

/** Serialises reconciliations and triggers of one task (released at commit or rollback). */
async function lockTask(tx: Tx, taskId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`reminders:${taskId}`}, 0))`;
}

function reminderMessage(
  task: { id: string; userId: string; title: string },
  job: { jobName: string; remindAt: Date; dueAt: Date },
) {
  const data: ReminderEvent = {
    task_id: task.id,
    user_id: task.userId,
    title: task.title,
    due_at: job.dueAt.toISOString(),
    remind_at: job.remindAt.toISOString(),
    job_name: job.jobName,
  };
  return {
    topic: TOPICS.reminders,
    type: cloudEventType.reminder(),
    subject: task.id,
    partitionKey: task.id,
    data,
  };
}

/** The job names each kind of change touched. */
export interface ReconciliationResult {
  scheduled: string[];
  firedNow: string[];
  skipped: string[];
  cancelled: string[];
}

/**
 * Brings `taskId`'s Dapr jobs and reminder_jobs rows in line with the task as it is now (not as
 * the event describes it: events of one task may be redelivered out of order, the table is the
 * truth). Runs inside the caller's transaction (the inbox's).
 */
export async function reconcileTaskReminders(
  tx: Tx,
  taskId: string,
  userId: string,
  ctx: ReminderContext & { dapr: Pick<DaprClient, "scheduleJob" | "deleteJob"> },
): Promise<ReconciliationResult> {
  await lockTask(tx, taskId);
  const now = ctx.now();
  const task = await loadTaskDto(tx, userId, taskId);
  const rows = await tx.reminderJob.findMany({ where: { taskId } });
  const todo = planReconciliation(task ? planReminderJobs(task, now) : { jobs: [], skipped: [] }, rows);

  // Dapr first: if any call fails, nothing below is written and the event is redelivered.
  await Promise.all([
    ...todo.schedule.map((job) =>
      ctx.dapr.scheduleJob(job.jobName, {
        dueTime: toRfc3339(job.remindAt, task!.time_zone),
        data: {
          task_id: taskId,
          job_name: job.jobName,
          remind_at: job.remindAt.toISOString(),
          due_at: job.dueAt.toISOString(),
        } satisfies ReminderJobData,
        overwrite: true,
        failurePolicy: JOB_FAILURE_POLICY,
      }),
    ),
    ...todo.delete.map((name) => ctx.dapr.deleteJob(name)),
  ]);

  const upsert = (
    job: { jobName: string; reminderId: string; remindAt: Date; dueAt: Date },
    state: { status: "scheduled" | "fired" | "skipped"; firedAt: Date | null; skipReason: string | null },
  ) => {
    const fields = {
      reminderId: job.reminderId,
      remindAt: job.remindAt,
      dueAt: job.dueAt,
      ...state,
      updatedAt: now,
    };
    return tx.reminderJob.upsert({
      where: { jobName: job.jobName },
      create: { jobName: job.jobName, taskId, userId, ...fields, createdAt: now },
      update: fields,
    });
  };
  for (const job of todo.schedule)
    await upsert(job, { status: "scheduled", firedAt: null, skipReason: null });
  for (const job of todo.fire) await upsert(job, { status: "fired", firedAt: now, skipReason: null });
  for (const skip of todo.skip)
    await upsert(skip, { status: "skipped", firedAt: null, skipReason: skip.reason });
  if (todo.cancel.length > 0) {
    await tx.reminderJob.updateMany({
      where: { jobName: { in: todo.cancel }, status: "scheduled" },
      data: { status: "cancelled", skipReason: cancelReason(task), updatedAt: now },
    });
  }
  // A reminder whose time passed while the task is not yet due is sent now, without a job.
  if (todo.fire.length > 0) {
    const message = (job: (typeof todo.fire)[number]) =>
      reminderMessage({ id: taskId, userId, title: task!.title }, job);
    await enqueue(tx, ctx.env.PUBSUB_NAME, todo.fire.map(message), ctx.name);
  }
  return {
    scheduled: todo.schedule.map((job) => job.jobName),
    firedNow: todo.fire.map((job) => job.jobName),
    skipped: todo.skip.map((skip) => skip.jobName),
    cancelled: todo.cancel,
  };
}

export type TriggerOutcome =
  { kind: "fired" } | { kind: "skipped"; reason: string } | { kind: "ignored"; why: string };

/**
 * One trigger of a reminder job: publish the reminder if it still applies (outbox, in the same
 * transaction as marking the job fired), else record why not. At most one publish per job and
 * schedule, however often the scheduler delivers the trigger.
 */
export async function fireReminderJob(
  name: string,
  rawData: unknown,
  ctx: ReminderContext & { db: Db },
): Promise<TriggerOutcome> {
  const taskId = parseReminderJobName(name)?.taskId;
  if (!taskId) return { kind: "ignored", why: "not a reminder job name" };
  const data = jobDataSchema.safeParse(rawData);
  const triggeredRemindAt = data.success && data.data.remind_at ? new Date(data.data.remind_at) : undefined;
  return ctx.db.$transaction(
    async (tx): Promise<TriggerOutcome> => {
      await lockTask(tx, taskId);
      const row = await tx.reminderJob.findUnique({ where: { jobName: name } });
      const why = ignoredTrigger(row, triggeredRemindAt);
      if (why) return { kind: "ignored", why };
      const now = ctx.now();
      const task = await tx.task.findUnique({
        where: { id: taskId },
        select: { id: true, userId: true, title: true, status: true, dueAt: true },
      });
      const staleReason = staleTriggerReason(task, row!.dueAt);
      if (staleReason) {
        await tx.reminderJob.update({
          where: { jobName: name },
          data: { status: "skipped", skipReason: staleReason, updatedAt: now },
        });
        return { kind: "skipped", reason: staleReason };
      }
      await tx.reminderJob.update({
        where: { jobName: name },
        data: { status: "fired", firedAt: now, skipReason: null, updatedAt: now },
      });
      await enqueue(tx, ctx.env.PUBSUB_NAME, [reminderMessage(task!, row!)], ctx.name);
      return { kind: "fired" };
    },
    { maxWait: 5_000, timeout: 30_000 },
  );
}
