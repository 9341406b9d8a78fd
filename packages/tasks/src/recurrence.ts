// A recurring series in the database: creating the occurrence after one that was completed or
// skipped (the work of on-task-completed). When it is due is the recurrence engine's to say
// (packages/core/src/recurrence.ts); this module locks and reads the series row, creates the task
// through the task commands and moves the series on. Exactly once per series slot: the caller's
// inbox row, the series row lock and the unique (series_id, occurrence_index) key each stop a
// second copy (docs/decisions/003).
import type { TaskEvent } from "#core/events.ts";
import { carriedReminders, nextOccurrence } from "#core/recurrence.ts";
import type { Db, Tx } from "#db/client.ts";
import { createTask } from "./commands.ts";
import { recurrenceRule } from "./series-rule.ts";

export { recurrenceRule } from "./series-rule.ts";

export type NextOccurrenceOutcome =
  | { kind: "created"; taskId: string; dueAt: Date; occurrenceIndex: number }
  | { kind: "series-ended" }
  | { kind: "not-applicable"; why: string };

export interface NextOccurrenceContext {
  db: Db;
  /** Pub/sub component for the new task's events. */
  pubsub: string;
  /** The app-id creating it: the events' source and the system actor's id. */
  source: string;
  now(): Date;
  traceparent: string | undefined;
}

/**
 * Creates the occurrence after `event`'s task inside `tx` (the caller's inbox transaction), with
 * the series row locked so two consumers of different events of one series take turns.
 */
export async function createNextOccurrence(
  tx: Tx,
  event: TaskEvent,
  ctx: NextOccurrenceContext,
): Promise<NextOccurrenceOutcome> {
  const task = event.task_data;
  const seriesId = task.series_id!;
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM task_recurrence
    WHERE id = ${seriesId}::uuid AND user_id = ${event.user_id}::uuid
    FOR UPDATE`;
  // Read after the lock: under READ COMMITTED this sees whatever the previous holder committed.
  const series = locked.length ? await tx.taskRecurrence.findUnique({ where: { id: seriesId } }) : null;
  if (!series) return { kind: "not-applicable", why: "the series no longer exists" };
  if (!series.active) return { kind: "not-applicable", why: "the series is no longer active" };
  const previousIndex = task.occurrence_index;
  if (previousIndex === null) return { kind: "not-applicable", why: "the task has no occurrence index" };
  // Only the latest occurrence moves the series on: completing (or skipping) an older one again,
  // e.g. after reopening it, must not fill a slot that was already created (and maybe deleted).
  if (series.occurrencesCreated > previousIndex)
    return { kind: "not-applicable", why: "a later occurrence already exists" };

  const now = ctx.now();
  const previousDue = task.due_at ? new Date(task.due_at) : (series.nextDueDate ?? series.startsAt);
  const completedAt =
    event.event_type === "completed" ? new Date(task.completed_at ?? event.timestamp) : null;
  const next = nextOccurrence(recurrenceRule(series), {
    previousDue,
    completedAt,
    now,
    occurrencesSoFar: previousIndex,
  });
  if (!next) {
    await tx.taskRecurrence.update({ where: { id: series.id }, data: { active: false, updatedAt: now } });
    return { kind: "series-ended" };
  }

  const occurrenceIndex = previousIndex + 1;
  // The next occurrence stays where the completed one was: its list, and its parent while that
  // still exists (a subtask of a deleted parent went with it).
  const parentStays =
    task.parent_id !== null &&
    (await tx.task.count({ where: { id: task.parent_id, userId: event.user_id } })) > 0;
  const { task: created } = await createTask(
    {
      db: ctx.db,
      tx,
      pubsub: ctx.pubsub,
      source: ctx.source,
      actor: { type: "system", id: ctx.source },
      userId: event.user_id,
      userTimeZone: task.time_zone,
      defaultReminderMinutes: [],
      now,
      traceparent: ctx.traceparent,
    },
    {
      title: task.title,
      description: task.description,
      priority: task.priority,
      due_at: next,
      time_zone: task.time_zone,
      tags: task.tags,
      reminders: carriedReminders(task.reminders, previousDue, next),
      recurrence: null,
      list_id: task.list_id,
      ...(parentStays ? { parent_id: task.parent_id! } : {}),
    },
    { series: { id: series.id, occurrenceIndex }, reason: "recurrence", trustedPlacement: true },
  );
  await tx.taskRecurrence.update({
    where: { id: series.id },
    data: { occurrencesCreated: occurrenceIndex, nextDueDate: next, updatedAt: now },
  });
  return { kind: "created", taskId: created.id, dueAt: next, occurrenceIndex };
}
