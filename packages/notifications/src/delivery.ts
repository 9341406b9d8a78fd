// Delivering one notification through every channel a user enabled: a reminder (from the
// `reminders` topic) or a test (POST /v1/notifications/test), each target through the ledger.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  deliverableReminderSchema,
  deliveryResultJson,
  occurrenceStaleness,
  redeliveryJobName,
  reminderKey,
  reminderLogLine,
  reminderVerdict,
  type DeliverableReminder,
  type ReminderVerdict,
  type RetryPlan,
  type Staleness,
} from "#core/channels.ts";
import { TOPICS } from "#core/events.ts";
import { reminderNotification, testNotification } from "#core/notification-messages.ts";
import { actionTokens } from "#core/reminder-action-tokens.ts";
import { parseReminderJobName, toRfc3339 } from "#core/reminders.ts";
import type { DeliveredEvent } from "#platform/host.ts";
import { actionKeyring, type NotificationContext, type NotificationDeps } from "./deps.ts";
import type { NotificationsEnv } from "./env.ts";
import { attemptDelivery, type AttemptOptions } from "./ledger.ts";
import { resolveTargets, type Target } from "./targets.ts";

/** Targets attempted at once for one event (each attempt holds a pooled connection while it sends). */
const PARALLEL_TARGETS = 4;

/** How long one send may take: the longer of the push and webhook timeouts, at least 5 s. */
export const sendTimeout = (env: NotificationsEnv) =>
  Math.max(env.PUSH_TIMEOUT_MS, env.WEBHOOK_TIMEOUT_MS, 5_000);

/** Runs `work` over `items`, at most `limit` at a time (each attempt holds a pooled connection). */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

function attemptAll(ctx: NotificationContext, targets: Target[], options: AttemptOptions) {
  return mapLimit(targets, PARALLEL_TARGETS, (target) =>
    attemptDelivery(ctx.db, target, options, ctx.now, sendTimeout(ctx.env)),
  );
}

/** Where a delivery that fails for good is dead-lettered (the event it came in). */
interface DeadLetterSource {
  pubsub: string;
  eventId: string;
  envelope: unknown;
}

/** What a redelivery job carries: the reminder, and the event it came in for the dead letter. */
export const redeliveryJobDataSchema = z.object({
  reminder: deliverableReminderSchema,
  event: z.object({ pubsub: z.string().min(1), id: z.string().min(1), envelope: z.unknown() }),
});
export type RedeliveryJobData = z.infer<typeof redeliveryJobDataSchema>;

/** The retry plan the service runs with (MAX_DELIVERY_ATTEMPTS, LATER_DELIVERY_DELAYS_SECONDS). */
export const retryPlan = (env: NotificationsEnv): RetryPlan => ({
  quickAttempts: env.MAX_DELIVERY_ATTEMPTS,
  laterDelaysSeconds: env.LATER_DELIVERY_DELAYS_SECONDS,
});

/** The reminder's message in a user's time zone, its action buttons signed for this occurrence. */
export function reminderMessage(
  ctx: NotificationContext,
  deps: NotificationDeps,
  reminder: DeliverableReminder,
) {
  const now = ctx.now();
  // Signed for this occurrence, per channel: "Complete" / "Snooze" work without signing in.
  const occurrence = {
    userId: reminder.user_id,
    taskId: reminder.task_id,
    jobName: reminder.job_name,
    remindAt: new Date(reminder.remind_at),
  };
  const keys = actionKeyring(deps);
  const actions = parseReminderJobName(reminder.job_name)
    ? {
        push: actionTokens(occurrence, "push", keys, now),
        email: actionTokens(occurrence, "email", keys, now),
        webhook: actionTokens(occurrence, "webhook", keys, now),
      }
    : undefined;
  return (timeZone: string) => reminderNotification(reminder, timeZone, ctx.env.WEB_APP_URL, now, actions);
}

/** One pass over the reminder's targets: each unsettled one whose attempt is due is tried. */
async function deliverOnce(
  ctx: NotificationContext,
  deps: NotificationDeps,
  reminder: DeliverableReminder,
  source: DeadLetterSource,
): Promise<ReminderVerdict> {
  const targets = await resolveTargets(ctx, deps, reminder.user_id, reminderMessage(ctx, deps, reminder));
  const results = await attemptAll(ctx, targets, {
    reminderKey: reminderKey(reminder),
    userId: reminder.user_id,
    taskId: reminder.task_id,
    plan: retryPlan(ctx.env),
    deadLetter: { ...source, topic: TOPICS.reminders },
  });
  ctx.log.info(...reminderLogLine(results, reminder.task_id));
  return reminderVerdict(results);
}

/**
 * Wakes this service for the occurrence's later attempt: a Dapr job of its own (a job fires only
 * into the app-id that scheduled it), overwritten when the occurrence is re-planned.
 */
async function scheduleLaterAttempt(
  ctx: NotificationContext,
  reminder: DeliverableReminder,
  source: DeadLetterSource,
  at: Date,
) {
  const name = redeliveryJobName(reminder);
  await ctx.dapr.scheduleJob(name, {
    dueTime: toRfc3339(at),
    data: {
      reminder,
      event: { pubsub: source.pubsub, id: source.eventId, envelope: source.envelope },
    } satisfies RedeliveryJobData,
    overwrite: true,
    failurePolicy: REDELIVERY_FAILURE_POLICY,
  });
  ctx.log.info("later delivery attempt scheduled", {
    task_id: reminder.task_id,
    job: name,
    at: at.toISOString(),
  });
}

/** A failed trigger (this service busy or restarting) is tried again a few times, seconds apart. */
const REDELIVERY_FAILURE_POLICY = { constant: { interval: "5s", maxRetries: 5 } };

/**
 * Delivers one `reminders` event: RETRY while a target in its quick round failed and may still
 * succeed (the sidecar redelivers with its backoff); when every unsettled target waits for a later
 * attempt, a job is scheduled for it and the event acknowledged, so a long outage never holds the
 * topic's partition. If the job cannot be scheduled, RETRY: the next redelivery schedules it.
 */
export async function deliverReminder(
  ctx: NotificationContext,
  deps: NotificationDeps,
  event: DeliveredEvent<DeliverableReminder>,
): Promise<"RETRY" | "SUCCESS"> {
  const source = {
    pubsub: event.pubsubname ?? ctx.env.PUBSUB_NAME,
    eventId: event.id,
    envelope: event.attributes,
  };
  const verdict = await deliverOnce(ctx, deps, event.data, source);
  if (verdict.kind === "retry") return "RETRY";
  if (verdict.kind === "later") await scheduleLaterAttempt(ctx, event.data, source, verdict.at);
  return "SUCCESS";
}

/**
 * `POST /job/redeliver-…`: the occurrence's later attempt. Only while its task is still pending
 * and due when the reminder was for: a reminder of a completed, deleted or moved task is not sent
 * hours late; its waiting deliveries are marked skipped, with why.
 */
export async function redeliverReminder(
  ctx: NotificationContext,
  deps: NotificationDeps,
  name: string,
  data: unknown,
): Promise<void> {
  const parsed = redeliveryJobDataSchema.safeParse(data);
  if (!parsed.success || redeliveryJobName(parsed.data.reminder) !== name) {
    // Nothing to retry with: acknowledged (a throw would only have the Scheduler try it again).
    ctx.log.warn("redelivery job with data that is not ours; ignored", { job: name });
    return;
  }
  const { reminder, event } = parsed.data;
  const stale = await staleReason(ctx, reminder);
  if (stale) {
    const skipped = await ctx.db.notificationDelivery.updateMany({
      where: { reminderKey: reminderKey(reminder), status: "pending" },
      data: { status: "skipped", lastError: stale, nextAttemptAt: null, updatedAt: ctx.now() },
    });
    ctx.log.info("later delivery attempt skipped", {
      task_id: reminder.task_id,
      reason: stale,
      deliveries: skipped.count,
    });
    return;
  }
  const source = { pubsub: event.pubsub, eventId: event.id, envelope: event.envelope };
  const verdict = await deliverOnce(ctx, deps, reminder, source);
  // A target still in its quick round here (say, a push subscription added since): its next
  // attempt waits as long as the first later one, since no event redelivery paces it now.
  if (verdict.kind === "retry")
    await scheduleLaterAttempt(ctx, reminder, source, laterAttemptAfterQuickRound(ctx));
  else if (verdict.kind === "later") await scheduleLaterAttempt(ctx, reminder, source, verdict.at);
}

const laterAttemptAfterQuickRound = (ctx: NotificationContext) =>
  new Date(ctx.now().getTime() + (ctx.env.LATER_DELIVERY_DELAYS_SECONDS[0] ?? 60) * 1_000);

/** Why a later attempt of this reminder should not be sent, if it should not. */
async function staleReason(ctx: NotificationContext, reminder: DeliverableReminder): Promise<string | null> {
  const task = await ctx.db.task.findFirst({
    where: { id: reminder.task_id, userId: reminder.user_id },
    select: { status: true, dueAt: true },
  });
  const stale = occurrenceStaleness(task, new Date(reminder.due_at));
  return stale ? `not sent later: ${STALE_WORDS[stale]}` : null;
}

const STALE_WORDS: Record<Staleness, string> = {
  task_deleted: "the task was deleted",
  task_completed: "the task was completed",
  due_changed: "the task's due date changed",
};

/** Sends a test notification through every channel `userId` enabled now: one attempt each. */
export async function sendTestNotification(ctx: NotificationContext, deps: NotificationDeps, userId: string) {
  const targets = await resolveTargets(ctx, deps, userId, () =>
    testNotification(ctx.env.WEB_APP_URL, ctx.now()),
  );
  const key = `test:${randomUUID()}`;
  const results = await attemptAll(ctx, targets, {
    reminderKey: key,
    userId,
    taskId: null,
    plan: { quickAttempts: 1, laterDelaysSeconds: [] },
  });
  return { reminder_key: key, results: results.map(deliveryResultJson) };
}
