// The Recurring Task Service: when an occurrence of a series is completed (or skipped: deleted
// with scope "occurrence"), create the next one, exactly once per series slot however often and
// however concurrently the event arrives (packages/tasks/src/recurrence.ts, docs/decisions/003).
import { deadLetterTopic, isTaskEvent, taskEventsPayloadSchema, TOPICS } from "#core/events.ts";
import { movesSeriesOn } from "#core/recurrence.ts";
import { isUniqueViolation } from "#platform/db-errors.ts";
import { subscription } from "#platform/host.ts";
import { consumeOnce } from "#platform/inbox.ts";
import type { Logger } from "#platform/logger.ts";
import { createNextOccurrence, type NextOccurrenceOutcome } from "#tasks/recurrence.ts";

export const CONSUMER = "on-task-completed";

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
  data: taskEventsPayloadSchema,
  async handle(event, ctx) {
    // A list's event moves no series on.
    if (!isTaskEvent(event.data) || !movesSeriesOn(event.data)) return "SUCCESS";
    const data = event.data;
    const occurrence = {
      db: ctx.db,
      pubsub: ctx.env.PUBSUB_NAME,
      source: CONSUMER,
      now: () => ctx.now(),
      traceparent: event.deliveryTraceparent ?? event.traceparent,
    };
    try {
      const { duplicate, result } = await consumeOnce(ctx.db, CONSUMER, event.id, (tx) =>
        createNextOccurrence(tx, data, occurrence),
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
