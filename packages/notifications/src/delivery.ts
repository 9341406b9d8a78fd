// Delivering one notification through every channel a user enabled: a reminder (from the
// `reminders` topic) or a test (POST /v1/notifications/test), each target through the ledger.
import { randomUUID } from "node:crypto";
import {
  deliveryResultJson,
  reminderKey,
  reminderLogLine,
  reminderVerdict,
  type DeliverableReminder,
} from "#core/channels.ts";
import { TOPICS } from "#core/events.ts";
import { reminderNotification, testNotification } from "#core/notification-messages.ts";
import { actionTokens } from "#core/reminder-action-tokens.ts";
import { parseReminderJobName } from "#core/reminders.ts";
import type { DeliveredEvent } from "#platform/host.ts";
import { actionKeyring, type NotificationContext, type NotificationDeps } from "./deps.ts";
import type { NotificationsEnv } from "./env.ts";
import { attemptDelivery, type AttemptOptions } from "./ledger.ts";
import { resolveTargets, type Target } from "./targets.ts";

/** Targets attempted at once for one event (each attempt holds a pooled connection while it sends). */
const PARALLEL_TARGETS = 4;

const sendTimeout = (env: NotificationsEnv) => Math.max(env.PUSH_TIMEOUT_MS, env.WEBHOOK_TIMEOUT_MS, 5_000);

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

/** Delivers one `reminders` event; RETRY while a target failed and may still succeed. */
export async function deliverReminder(
  ctx: NotificationContext,
  deps: NotificationDeps,
  event: DeliveredEvent<DeliverableReminder>,
) {
  const reminder = event.data;
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
      }
    : undefined;
  const targets = await resolveTargets(ctx, deps, reminder.user_id, (timeZone) =>
    reminderNotification(reminder, timeZone, ctx.env.WEB_APP_URL, now, actions),
  );
  const results = await attemptAll(ctx, targets, {
    reminderKey: reminderKey(reminder),
    userId: reminder.user_id,
    taskId: reminder.task_id,
    maxAttempts: ctx.env.MAX_DELIVERY_ATTEMPTS,
    deadLetter: {
      pubsub: event.pubsubname ?? ctx.env.PUBSUB_NAME,
      topic: TOPICS.reminders,
      eventId: event.id,
      envelope: event.attributes,
    },
  });
  ctx.log.info(...reminderLogLine(results, reminder.task_id));
  return reminderVerdict(results);
}

/** Sends a test notification through every channel `userId` enabled now: one attempt each. */
export async function sendTestNotification(ctx: NotificationContext, deps: NotificationDeps, userId: string) {
  const targets = await resolveTargets(ctx, deps, userId, () =>
    testNotification(ctx.env.WEB_APP_URL, ctx.now()),
  );
  const key = `test:${randomUUID()}`;
  const results = await attemptAll(ctx, targets, { reminderKey: key, userId, taskId: null, maxAttempts: 1 });
  return { reminder_key: key, results: results.map(deliveryResultJson) };
}
