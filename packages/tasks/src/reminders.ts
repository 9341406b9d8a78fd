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
  pastReminderPolicyOf,
  planReconciliation,
  planReminderJobs,
  staleTriggerReason,
  toRfc3339,
  type PastReminderPolicy,
  type ReminderJobRecord,
} from "#core/reminders.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import type { DaprClient, JobSpec } from "#platform/dapr-client.ts";
import { enqueue, outboxRows } from "#platform/outbox.ts";
import { taskDtoOfRow, taskDtoSql, type TaskDtoSqlRow } from "./records.ts";

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

/**
 * `userId`'s task as it is now, with the account's past-reminder policy (users.past_reminder_policy),
 * or null when the task is gone. One statement: the task, its tags, reminders and series (records.ts
 * `taskDtoSql`, as the list reads tasks) joined with its owner's row, so the policy costs the
 * reconciliation no round trip of its own (loadTaskDto alone takes three to four).
 */
export async function loadTaskForPlanning(
  tx: Db | Tx,
  userId: string,
  taskId: string,
): Promise<{ task: TaskDto; policy: PastReminderPolicy } | null> {
  const ids = Prisma.sql`SELECT id, NULL::text AS cursor_key FROM tasks
    WHERE id = ${taskId}::uuid AND user_id = ${userId}::uuid`;
  const [row] = await tx.$queryRaw<(TaskDtoSqlRow & { past_reminder_policy: string })[]>`
    SELECT d.*, u.past_reminder_policy FROM (${taskDtoSql(ids)}) AS d JOIN users u ON u.id = d.user_id`;
  return row ? { task: taskDtoOfRow(row), policy: pastReminderPolicyOf(row.past_reminder_policy) } : null;
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
  const planning = await loadTaskForPlanning(tx, userId, taskId);
  const task = planning?.task ?? null;
  const rows = await tx.reminderJob.findMany({ where: { taskId } });
  const todo = planReconciliation(
    planning ? planReminderJobs(planning.task, now, planning.policy) : { jobs: [], skipped: [] },
    rows,
    // Snoozed reminders stay while the task is pending and due when they were snoozed.
    task?.status === "pending" && task.due_at ? new Date(task.due_at) : null,
  );

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
  const cancelled = new Map<string, string[]>();
  for (const name of todo.cancel) {
    const reason = cancelReason(task, name);
    cancelled.set(reason, [...(cancelled.get(reason) ?? []), name]);
  }
  for (const [reason, names] of cancelled) {
    await tx.reminderJob.updateMany({
      where: { jobName: { in: names }, status: "scheduled" },
      data: { status: "cancelled", skipReason: reason, updatedAt: now },
    });
  }
  // A reminder whose time passed while the task is not yet due is sent now, without a job (unless
  // the account skips such reminders: then it is among todo.skip, its row saying why).
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
 *
 * Triggers that arrive together (a burst of reminders due at one instant) are handled together:
 * up to TRIGGER_BATCH_SIZE of them in one transaction, a few such transactions at a time, each
 * with the same three statements between BEGIN and COMMIT (lock the tasks; read the jobs and
 * tasks; mark the jobs and write the outbox rows), so a burst costs five round trips per batch
 * instead of a Prisma transaction of seven statements per trigger. A lone trigger is a batch of one: nothing waits to
 * fill a batch. Each trigger still holds its task's lock (the same one reconciliations take) from
 * before its rows are read until its transaction ends; a batch takes its tasks' locks in key
 * order, so two batches, or a batch and a reconciliation, never deadlock.
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
  return triggerBatcher(ctx).add({ name, taskId, triggeredRemindAt, ctx });
}

/** Triggers per transaction, and transactions at a time (each holds one pooled connection). */
export const TRIGGER_BATCH_SIZE = 100;
export const TRIGGER_BATCHES_IN_FLIGHT = 2;

interface QueuedTrigger {
  name: string;
  taskId: string;
  triggeredRemindAt: Date | undefined;
  /** Its request's context: a batch takes the database, clock and outbox source of its first. */
  ctx: ReminderContext & { db: Db };
  resolve(outcome: TriggerOutcome): void;
  reject(error: unknown): void;
}

interface TriggerRow {
  job_name: string;
  status: ReminderJobRecord["status"];
  remind_at: Date;
  due_at: Date;
  task_id: string | null;
  user_id: string | null;
  title: string | null;
  task_status: "pending" | "completed" | null;
  task_due_at: Date | null;
}

class TriggerBatcher {
  private queue: QueuedTrigger[] = [];
  private inFlight = 0;

  add(trigger: Omit<QueuedTrigger, "resolve" | "reject">): Promise<TriggerOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...trigger, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < TRIGGER_BATCHES_IN_FLIGHT && this.queue.length > 0) {
      // A repeated delivery of a job already in this batch waits for a later one (each batch reads
      // its rows once); it then finds the job fired.
      const batch: QueuedTrigger[] = [];
      const rest: QueuedTrigger[] = [];
      const names = new Set<string>();
      for (const trigger of this.queue) {
        if (batch.length < TRIGGER_BATCH_SIZE && !names.has(trigger.name)) {
          batch.push(trigger);
          names.add(trigger.name);
        } else rest.push(trigger);
      }
      this.queue = rest;
      this.inFlight += 1;
      void this.fire(batch)
        .then(
          (outcomes) => batch.forEach((trigger, i) => trigger.resolve(outcomes[i]!)),
          (error: unknown) => batch.forEach((trigger) => trigger.reject(error)),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  private fire(batch: QueuedTrigger[]): Promise<TriggerOutcome[]> {
    const ctx = batch[0]!.ctx;
    return ctx.db.$transaction(
      async (tx): Promise<TriggerOutcome[]> => {
        const lockKeys = [...new Set(batch.map((t) => `reminders:${t.taskId}`))];
        // The same lock as lockTask, taken in key order. A statement of its own: the reads below
        // must see what a reconciliation that held a lock committed.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(k) FROM (
          SELECT DISTINCT hashtextextended(key, 0) AS k FROM unnest(${lockKeys}::text[]) AS key ORDER BY 1) s`;
        const rows = await tx.$queryRaw<TriggerRow[]>`
          SELECT r.job_name, r.status::text AS status, r.remind_at, r.due_at,
                 t.id::text AS task_id, t.user_id::text AS user_id, t.title, t.status::text AS task_status,
                 t.due_at AS task_due_at
          FROM reminder_jobs r LEFT JOIN tasks t ON t.id = r.task_id
          WHERE r.job_name = ANY(${batch.map((t) => t.name)}::text[])`;
        const byName = new Map(rows.map((row) => [row.job_name, row]));
        const now = ctx.now();
        const outcomes: TriggerOutcome[] = [];
        const marks: { name: string; status: "fired" | "skipped"; reason: string | null }[] = [];
        const messages: ReturnType<typeof reminderMessage>[] = [];
        for (const trigger of batch) {
          const row = byName.get(trigger.name);
          const record = row ? { status: row.status, remindAt: row.remind_at, dueAt: row.due_at } : null;
          const why = ignoredTrigger(record, trigger.triggeredRemindAt);
          if (why) {
            outcomes.push({ kind: "ignored", why });
            continue;
          }
          const task = row!.task_id ? { status: row!.task_status!, dueAt: row!.task_due_at } : null;
          const staleReason = staleTriggerReason(task, record!.dueAt);
          if (staleReason) {
            marks.push({ name: trigger.name, status: "skipped", reason: staleReason });
            outcomes.push({ kind: "skipped", reason: staleReason });
            continue;
          }
          marks.push({ name: trigger.name, status: "fired", reason: null });
          messages.push(
            reminderMessage(
              { id: row!.task_id!, userId: row!.user_id!, title: row!.title! },
              { jobName: trigger.name, remindAt: record!.remindAt, dueAt: record!.dueAt },
            ),
          );
          outcomes.push({ kind: "fired" });
        }
        if (marks.length > 0) {
          // One statement marks the jobs and writes the outbox rows (in trigger order: a task's
          // events keep their order), raw SQL rather than Prisma's createMany, whose query is
          // compiled anew for each batch size.
          const rows = outboxRows(ctx.env.PUBSUB_NAME, messages, ctx.name);
          await tx.$executeRaw`
            WITH marked AS (
              UPDATE reminder_jobs r
              SET status = m.status::reminder_job_status,
                  fired_at = CASE WHEN m.status = 'fired' THEN ${now}::timestamptz ELSE r.fired_at END,
                  skip_reason = m.reason, updated_at = ${now}::timestamptz
              FROM unnest(${marks.map((m) => m.name)}::text[], ${marks.map((m) => m.status)}::text[],
                          ${marks.map((m) => m.reason)}::text[]) AS m(job_name, status, reason)
              WHERE r.job_name = m.job_name)
            INSERT INTO outbox (event_id, source, pubsub, topic, type, subject, partition_key, data, traceparent)
            SELECT event_id, source, pubsub, topic, type, subject, partition_key, data, traceparent
            FROM unnest(${rows.map((r) => r.eventId)}::uuid[], ${rows.map((r) => r.source)}::text[],
              ${rows.map((r) => r.pubsub)}::text[], ${rows.map((r) => r.topic)}::text[],
              ${rows.map((r) => r.type)}::text[], ${rows.map((r) => r.subject)}::text[],
              ${rows.map((r) => r.partitionKey)}::text[], ${rows.map((r) => JSON.stringify(r.data))}::jsonb[],
              ${rows.map((r) => r.traceparent)}::text[]) WITH ORDINALITY AS o(event_id, source, pubsub, topic,
              type, subject, partition_key, data, traceparent, n)
            ORDER BY n`;
        }
        return outcomes;
      },
      { maxWait: 5_000, timeout: 30_000 },
    );
  }
}

/** One batcher per database client and function (the outbox rows' pubsub and source). */
const batchers = new WeakMap<Db, Map<string, TriggerBatcher>>();

function triggerBatcher(ctx: ReminderContext & { db: Db }): TriggerBatcher {
  let byFunction = batchers.get(ctx.db);
  if (!byFunction) batchers.set(ctx.db, (byFunction = new Map()));
  const key = `${ctx.name}\n${ctx.env.PUBSUB_NAME}`;
  let batcher = byFunction.get(key);
  if (!batcher) byFunction.set(key, (batcher = new TriggerBatcher()));
  return batcher;
}
