// The Reminder Service. It owns every reminder job, because Dapr triggers a job only on the app-id
// that scheduled it (https://docs.dapr.io/concepts/dapr-services/scheduler/):
// - on each task event it reconciles the task's Dapr jobs with what the task now wants (one job per
//   reminder rule, planned by packages/core/src/reminders.ts), recording each in reminder_jobs;
// - on `POST /job/reminder-…` it checks the reminder still applies and publishes it to `reminders`
//   (outbox, same transaction as marking the job fired).
//
// Every reconciliation and every trigger of one task holds a per-task advisory lock for its whole
// transaction, Dapr calls included. So they take turns: a trigger that arrives while its job is
// being (re)scheduled waits for that transaction and then sees its row; two events of one task
// never schedule from interleaved reads. A failed Dapr call throws, which rolls back the rows and
// the inbox entry, so the event is redelivered and the reconciliation runs again (scheduling is an
// upsert with `overwrite: true`, deleting a missing job succeeds: both are safe to repeat).
import { z } from "zod";
import {
  cloudEventType,
  deadLetterTopic,
  taskEventSchema,
  TOPICS,
  type ReminderEvent,
} from "#core/events.ts";
import {
  planReminderJobs,
  REMINDER_JOB_PREFIX,
  SKIP_REASONS,
  toRfc3339,
  type PlannedReminderJob,
} from "#core/reminders.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Tx } from "#db/client.ts";
import type { ReminderJob } from "#db/generated/client.ts";
import type { JobSpec } from "#platform/dapr-client.ts";
import { subscription, type Context, type JobDef } from "#platform/host.ts";
import { consumeOnce } from "#platform/inbox.ts";
import { enqueue } from "#platform/outbox.ts";
import { loadTaskDto } from "#tasks/records.ts";

export const CONSUMER = "on-reminder-fired";

/**
 * A failed trigger (our 5xx, e.g. the database briefly down) is retried every 2 s, 5 times: enough
 * to ride out a restart, and a reminder more than ~10 s late is not worth much more (Dapr ≥ 1.16).
 */
export const JOB_FAILURE_POLICY: NonNullable<JobSpec["failurePolicy"]> = {
  constant: { interval: "2s", maxRetries: 5 },
};

const CANCEL_REASONS = {
  taskGone: SKIP_REASONS.taskGone,
  taskCompleted: SKIP_REASONS.taskCompleted,
  noDueDate: "the task no longer has a due date",
  reminderRemoved: "the reminder was removed from the task",
} as const;

const eventSchema = taskEventSchema.extend({ task_id: z.uuid(), user_id: z.uuid() });

/** What each job carries back to us when it fires: enough to tell a trigger of an older schedule. */
export const jobDataSchema = z.object({
  task_id: z.uuid(),
  job_name: z.string(),
  remind_at: z.iso.datetime({ offset: true }).optional(),
  due_at: z.iso.datetime({ offset: true }).optional(),
});
export type ReminderJobData = z.infer<typeof jobDataSchema>;

const JOB_NAME = /^reminder-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-[oa]\d+$/;

/** The task id inside a reminder job's name (see reminderJobName), or null for any other name. */
export function taskIdOfJob(name: string): string | null {
  return JOB_NAME.exec(name)?.[1] ?? null;
}

/** Serialises reconciliations and triggers of one task (released at commit or rollback). */
async function lockTask(tx: Tx, taskId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`reminders:${taskId}`}, 0))`;
}

function reminderMessage(task: { id: string; userId: string; title: string }, job: ReminderEventJob) {
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

interface ReminderEventJob {
  jobName: string;
  remindAt: Date;
  dueAt: Date;
}

export interface Reconciliation {
  scheduled: string[];
  firedNow: string[];
  skipped: string[];
  cancelled: string[];
}

const sameInstant = (a: Date, b: Date) => a.getTime() === b.getTime();

/** A row already accounts for this planned job (scheduled, fired or skipped for the same times). */
function alreadyHandled(row: ReminderJob | undefined, remindAt: Date, dueAt: Date): boolean {
  return (
    row !== undefined &&
    row.status !== "cancelled" &&
    sameInstant(row.remindAt, remindAt) &&
    sameInstant(row.dueAt, dueAt)
  );
}

function cancelReason(task: TaskDto | null): string {
  if (!task) return CANCEL_REASONS.taskGone;
  if (task.status === "completed") return CANCEL_REASONS.taskCompleted;
  if (task.due_at === null) return CANCEL_REASONS.noDueDate;
  return CANCEL_REASONS.reminderRemoved;
}

/**
 * Brings `taskId`'s Dapr jobs and reminder_jobs rows in line with the task as it is now (not as
 * the event describes it: events of one task may be redelivered out of order, the table is the
 * truth). Runs inside the inbox transaction.
 */
export async function reconcileTaskReminders(
  tx: Tx,
  taskId: string,
  userId: string,
  ctx: Pick<Context, "dapr" | "env" | "now" | "name">,
): Promise<Reconciliation> {
  await lockTask(tx, taskId);
  const now = ctx.now();
  const task = await loadTaskDto(tx, userId, taskId);
  const plan = task ? planReminderJobs(task, now) : { jobs: [], skipped: [] };
  const rows = new Map((await tx.reminderJob.findMany({ where: { taskId } })).map((r) => [r.jobName, r]));
  const result: Reconciliation = { scheduled: [], firedNow: [], skipped: [], cancelled: [] };

  const toSchedule: PlannedReminderJob[] = [];
  const toFire: PlannedReminderJob[] = [];
  const toSkip: (typeof plan.skipped)[number][] = [];
  /** Jobs Dapr may still hold that must not fire (their row is cancelled, fired or skipped now). */
  const toDelete: string[] = [];
  const planned = new Set<string>();

  for (const job of plan.jobs) {
    planned.add(job.jobName);
    const row = rows.get(job.jobName);
    if (alreadyHandled(row, job.remindAt, job.dueAt)) continue;
    if (job.fireImmediately) {
      toFire.push(job);
      if (row?.status === "scheduled") toDelete.push(job.jobName);
    } else {
      toSchedule.push(job);
    }
  }
  for (const skip of plan.skipped) {
    planned.add(skip.jobName);
    const row = rows.get(skip.jobName);
    if (alreadyHandled(row, skip.remindAt, skip.dueAt)) continue;
    toSkip.push(skip);
    if (row?.status === "scheduled") toDelete.push(skip.jobName);
  }
  const toCancel = [...rows.values()].filter((r) => !planned.has(r.jobName) && r.status === "scheduled");
  toDelete.push(...toCancel.map((r) => r.jobName));

  // Dapr first: if any call fails, nothing below is written and the event is redelivered.
  await Promise.all([
    ...toSchedule.map((job) =>
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
    ...toDelete.map((name) => ctx.dapr.deleteJob(name)),
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
  for (const job of toSchedule) {
    await upsert(job, { status: "scheduled", firedAt: null, skipReason: null });
    result.scheduled.push(job.jobName);
  }
  for (const job of toFire) {
    await upsert(job, { status: "fired", firedAt: now, skipReason: null });
    result.firedNow.push(job.jobName);
  }
  for (const skip of toSkip) {
    await upsert(skip, { status: "skipped", firedAt: null, skipReason: skip.reason });
    result.skipped.push(skip.jobName);
  }
  if (toCancel.length > 0) {
    const reason = cancelReason(task);
    await tx.reminderJob.updateMany({
      where: { jobName: { in: toCancel.map((r) => r.jobName) }, status: "scheduled" },
      data: { status: "cancelled", skipReason: reason, updatedAt: now },
    });
    result.cancelled.push(...toCancel.map((r) => r.jobName));
  }
  // A reminder whose time passed while the task is not yet due is sent now, without a job.
  if (toFire.length > 0) {
    await enqueue(
      tx,
      ctx.env.PUBSUB_NAME,
      toFire.map((job) => reminderMessage({ id: taskId, userId, title: task!.title }, job)),
      ctx.name,
    );
  }
  return result;
}

/** Only changes to these can change a task's reminder jobs. */
const RELEVANT_CHANGES = ["due_at", "reminders", "status"] as const;

export const taskEventsSubscription = subscription({
  topic: TOPICS.taskEvents,
  path: "/events/task-events",
  deadLetterTopic: deadLetterTopic(TOPICS.taskEvents),
  data: eventSchema,
  async handle(event, ctx) {
    const data = event.data;
    if (data.event_type === "updated" && !RELEVANT_CHANGES.some((field) => field in data.changes)) {
      return "SUCCESS";
    }
    const { duplicate, result } = await consumeOnce(
      ctx.db,
      CONSUMER,
      event.id,
      (tx) => reconcileTaskReminders(tx, data.task_id, data.user_id, ctx),
      { timeoutMs: 30_000 },
    );
    if (duplicate) {
      ctx.log.info("event already consumed; redelivery ignored");
      return "SUCCESS";
    }
    const r = result!;
    if (r.scheduled.length + r.firedNow.length + r.skipped.length + r.cancelled.length > 0) {
      ctx.log.info("reminder jobs reconciled", {
        task_id: data.task_id,
        scheduled: r.scheduled,
        fired_now: r.firedNow,
        skipped: r.skipped,
        cancelled: r.cancelled,
      });
    }
    if (r.firedNow.length > 0) ctx.relay.kick();
    return "SUCCESS";
  },
});

export type TriggerOutcome =
  { kind: "fired" } | { kind: "skipped"; reason: string } | { kind: "ignored"; why: string };

/**
 * One trigger of a reminder job: publish the reminder if it still applies, else record why not.
 * At most one publish per job and schedule, however often the scheduler delivers the trigger.
 */
export async function fireReminderJob(
  name: string,
  rawData: unknown,
  ctx: Pick<Context, "db" | "env" | "now" | "name">,
): Promise<TriggerOutcome> {
  const taskId = taskIdOfJob(name);
  if (!taskId) return { kind: "ignored", why: "not a reminder job name" };
  const data = jobDataSchema.safeParse(rawData);
  return ctx.db.$transaction(
    async (tx): Promise<TriggerOutcome> => {
      await lockTask(tx, taskId);
      const row = await tx.reminderJob.findUnique({ where: { jobName: name } });
      if (!row) return { kind: "ignored", why: "no such reminder job" };
      if (row.status === "fired") return { kind: "ignored", why: "already fired (a repeated trigger)" };
      if (row.status !== "scheduled") return { kind: "ignored", why: `the job is ${row.status}` };
      // With `overwrite`, Dapr replaces a job's schedule; a trigger of the replaced one that was
      // already under way carries the old time and must not fire the new one early.
      if (data.success && data.data.remind_at && Date.parse(data.data.remind_at) !== row.remindAt.getTime())
        return { kind: "ignored", why: "a trigger of an earlier schedule of this job" };

      const now = ctx.now();
      const task = await tx.task.findUnique({
        where: { id: taskId },
        select: { id: true, userId: true, title: true, status: true, dueAt: true },
      });
      const staleReason = !task
        ? SKIP_REASONS.taskGone
        : task.status === "completed"
          ? SKIP_REASONS.taskCompleted
          : !task.dueAt || !sameInstant(task.dueAt, row.dueAt)
            ? SKIP_REASONS.dueDateChanged
            : null;
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
      await enqueue(tx, ctx.env.PUBSUB_NAME, [reminderMessage(task!, row)], ctx.name);
      return { kind: "fired" };
    },
    { maxWait: 5_000, timeout: 30_000 },
  );
}

export const reminderJobs: JobDef = {
  prefix: REMINDER_JOB_PREFIX,
  async handle(name, data, ctx) {
    const outcome = await fireReminderJob(name, data, ctx);
    if (outcome.kind === "fired") {
      ctx.log.info("reminder fired");
      ctx.relay.kick();
    } else if (outcome.kind === "skipped") {
      ctx.log.info("reminder skipped", { reason: outcome.reason });
    } else {
      ctx.log.info("trigger ignored", { why: outcome.why });
    }
  },
};

export const subscriptions = [taskEventsSubscription];
export const jobs = [reminderJobs];
