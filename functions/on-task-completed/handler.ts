// The Recurring Task Service: when an occurrence of a series is completed (or skipped: deleted
// with scope "occurrence"), create the next one. Exactly once per series slot, however often and
// however concurrently the event arrives: the inbox row, the series row lock and the unique
// (series_id, occurrence_index) key each stop a second copy (docs/decisions/003).
import { z } from "zod";
import { deadLetterTopic, taskEventSchema, TOPICS, type TaskEvent } from "#core/events.ts";
import { nextOccurrence, type RecurrenceRule } from "#core/recurrence.ts";
import type { ReminderInput, TaskDto } from "#core/tasks.ts";
import type { Tx } from "#db/client.ts";
import { isUniqueViolation } from "#platform/db-errors.ts";
import { subscription, type Context } from "#platform/host.ts";
import { consumeOnce } from "#platform/inbox.ts";
import type { Logger } from "#platform/logger.ts";
import { createTask } from "#tasks/commands.ts";

export const CONSUMER = "on-task-completed";
const SYSTEM_ACTOR = { type: "system", id: CONSUMER } as const;

/** The topic's contract, with the ids this consumer puts into uuid columns checked up front. */
const eventSchema = taskEventSchema.extend({ task_id: z.uuid(), user_id: z.uuid() });

type SeriesRow = NonNullable<Awaited<ReturnType<Tx["taskRecurrence"]["findUnique"]>>>;

export type NextOccurrenceOutcome =
  | { kind: "created"; taskId: string; dueAt: Date; occurrenceIndex: number }
  | { kind: "series-ended" }
  | { kind: "not-applicable"; why: string };

/** The series' rule as the recurrence engine takes it: the series row is the source of truth. */
export function recurrenceRule(series: SeriesRow): RecurrenceRule {
  return {
    pattern: series.pattern,
    interval: series.interval,
    weekdays: series.weekdays,
    monthDay: series.monthDay,
    lastDayOfMonth: series.lastDayOfMonth,
    anchor: series.anchor,
    startsAt: series.startsAt,
    timeZone: series.timeZone,
    endsAt: series.endsAt,
    maxCount: series.maxCount,
  };
}

/** Offsets carry over as they are; an absolute reminder moves by as much as the due date did. */
export function carriedReminders(task: TaskDto, previousDue: Date, nextDue: Date): ReminderInput[] {
  const shift = nextDue.getTime() - previousDue.getTime();
  return task.reminders.map((r) =>
    r.offset_minutes !== null
      ? { offset_minutes: r.offset_minutes }
      : { remind_at: new Date(new Date(r.remind_at!).getTime() + shift) },
  );
}

/**
 * Creates the occurrence after `event`'s task inside `tx` (the inbox transaction), with the
 * series row locked so two consumers of different events of one series take turns.
 */
export async function createNextOccurrence(
  tx: Tx,
  event: TaskEvent,
  ctx: Pick<Context, "db" | "env" | "now">,
  traceparent: string | undefined,
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
  const { task: created } = await createTask(
    {
      db: ctx.db,
      tx,
      pubsub: ctx.env.PUBSUB_NAME,
      source: CONSUMER,
      actor: SYSTEM_ACTOR,
      userId: event.user_id,
      userTimeZone: task.time_zone,
      defaultReminderMinutes: [],
      now,
      traceparent,
    },
    {
      title: task.title,
      description: task.description,
      priority: task.priority,
      due_at: next,
      time_zone: task.time_zone,
      tags: task.tags,
      reminders: carriedReminders(task, previousDue, next),
      recurrence: null,
    },
    { series: { id: series.id, occurrenceIndex }, reason: "recurrence" },
  );
  await tx.taskRecurrence.update({
    where: { id: series.id },
    data: { occurrencesCreated: occurrenceIndex, nextDueDate: next, updatedAt: now },
  });
  return { kind: "created", taskId: created.id, dueAt: next, occurrenceIndex };
}

/** Completed occurrences and skipped ones move a series on; nothing else concerns this consumer. */
function movesSeriesOn(event: TaskEvent): boolean {
  if (!event.task_data.series_id) return false;
  return (
    event.event_type === "completed" ||
    (event.event_type === "deleted" && event.reason === "occurrence_skipped")
  );
}

function logOutcome(log: Logger, outcome: NextOccurrenceOutcome): void {
  if (outcome.kind === "created")
    log.info("next occurrence created", {
      task_id: outcome.taskId,
      due_at: outcome.dueAt.toISOString(),
      occurrence_index: outcome.occurrenceIndex,
    });
  else if (outcome.kind === "series-ended") log.info("series ended; no next occurrence");
  else log.info("no next occurrence", { why: outcome.why });
}

export const taskEventsSubscription = subscription({
  topic: TOPICS.taskEvents,
  path: "/events/task-events",
  deadLetterTopic: deadLetterTopic(TOPICS.taskEvents),
  data: eventSchema,
  async handle(event, ctx) {
    if (!movesSeriesOn(event.data)) return "SUCCESS";
    const traceparent = event.deliveryTraceparent ?? event.traceparent;
    try {
      const { duplicate, result } = await consumeOnce(ctx.db, CONSUMER, event.id, (tx) =>
        createNextOccurrence(tx, event.data, ctx, traceparent),
      );
      if (duplicate) {
        ctx.log.info("event already consumed; redelivery ignored");
        return "SUCCESS";
      }
      logOutcome(ctx.log, result!);
      if (result!.kind === "created") ctx.relay.kick();
      return "SUCCESS";
    } catch (error) {
      // The backstop: another instance already filled this slot (its transaction won the key).
      if (isUniqueViolation(error, "occurrence_index")) {
        ctx.log.info("next occurrence already exists (unique series slot)");
        return "SUCCESS";
      }
      // The recurrence engine refuses a rule no valid input can produce (a corrupt series row):
      // retrying cannot help, so the event goes to the dead-letter topic for someone to look at.
      if (error instanceof RangeError) {
        ctx.log.error("the series' recurrence rule is invalid; dead-lettering the event", { err: error });
        return "DROP";
      }
      throw error;
    }
  },
});

export const subscriptions = [taskEventsSubscription];
