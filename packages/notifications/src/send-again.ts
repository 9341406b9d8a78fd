// "Send again": a reminder that could not be delivered, sent once more now, on its owner's request,
// after they fixed the cause (re-subscribed a browser, corrected the webhook URL, confirmed the
// address). POST /v1/tasks/:id/deliveries/:delivery_id/retry. Direct, not an event: the person is
// waiting for the outcome, and the send is the same one an automatic attempt makes (the channel's
// current settings, the outbound SSRF guard, the ledger row lock), recorded in the ledger with who
// asked. Rules and wording: #core/channels.ts (sendAgainBlock, settleManualAttempt, …).
import type { Actor } from "#core/actor.ts";
import {
  channelEnabled,
  deliveryResultJson,
  occurrenceStaleness,
  parseReminderKey,
  SEND_AGAIN_LIMIT,
  sendAgainLimitKey,
  sendAgainOutcome,
  sendAgainRefusalText,
  type ChannelKind,
  type DeliverableReminder,
  type SendAgainRefusal,
} from "#core/channels.ts";
import { problems } from "#platform/problems.ts";
import { takeRateLimit } from "#platform/rate-limit.ts";
import { reminderMessage, sendTimeout } from "./delivery.ts";
import type { NotificationContext, NotificationDeps } from "./deps.ts";
import { AttemptRefused, attemptOnRequest } from "./ledger.ts";
import { resolveTargets, type Target } from "./targets.ts";

/** A 409 problem whose `reason` is the stable word (the web app words it from the detail). */
function refuse(reason: SendAgainRefusal, channel: ChannelKind): never {
  const problem = problems.conflict(sendAgainRefusalText(reason, channel));
  problem.body.reason = reason;
  throw problem;
}

/**
 * Where the occurrence goes by `channel` now: the delivery's own target while the channel still has
 * it (the same push subscription, address or URL), else the channel's current one (a corrected URL,
 * a newly confirmed address; for push, the most recently subscribed browser), one this occurrence
 * did not reach yet.
 */
function currentTarget(
  delivery: { channel: ChannelKind; target: string },
  targets: Target[],
  reached: Set<string>,
): Target | undefined {
  const own = targets.filter((t) => t.channel === delivery.channel);
  return own.find((t) => t.target === delivery.target) ?? own.filter((t) => !reached.has(t.target)).at(-1);
}

export async function sendAgain(
  ctx: NotificationContext,
  deps: NotificationDeps,
  caller: { userId: string; actor: Actor },
  taskId: string,
  deliveryId: string,
) {
  const { userId } = caller;
  // Another account's delivery, or one of a test notification, is as unknown as an id never used.
  const delivery = await ctx.db.notificationDelivery.findFirst({ where: { id: deliveryId, userId, taskId } });
  const occurrence = delivery && parseReminderKey(delivery.reminderKey);
  if (!delivery || !occurrence) throw problems.notFound("No such delivery of this task.");
  // Counted before anything is checked: each request may send a message to a receiver.
  const limit = await takeRateLimit(ctx.db, sendAgainLimitKey(userId), SEND_AGAIN_LIMIT, ctx.now());
  if (limit.limited) throw problems.rateLimited(limit.retryAfterSeconds);
  if (delivery.status === "sent") refuse("already_sent", delivery.channel);

  const [task, job, channel, reached] = await Promise.all([
    ctx.db.task.findFirst({
      where: { id: taskId, userId },
      select: { status: true, dueAt: true, title: true },
    }),
    ctx.db.reminderJob.findUnique({ where: { jobName: occurrence.job_name } }),
    ctx.db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind: delivery.channel } } }),
    ctx.db.notificationDelivery.findMany({
      where: { reminderKey: delivery.reminderKey, channel: delivery.channel, status: "sent" },
      select: { target: true },
    }),
  ]);
  // The due date this occurrence was for, while its job still plans it (a re-planned job fires anew).
  const ofThisOccurrence =
    job?.taskId === taskId && job.remindAt.getTime() === Date.parse(occurrence.remind_at);
  const dueAt = ofThisOccurrence ? job.dueAt : null;
  const stale = occurrenceStaleness(task, dueAt);
  if (stale) refuse(stale, delivery.channel);
  if (!channelEnabled(delivery.channel, channel)) refuse("channel_off", delivery.channel);

  const reminder: DeliverableReminder = {
    task_id: taskId,
    user_id: userId,
    title: task!.title,
    due_at: dueAt!.toISOString(),
    remind_at: occurrence.remind_at,
    job_name: occurrence.job_name,
  };
  const targets = await resolveTargets(ctx, deps, userId, reminderMessage(ctx, deps, reminder));
  const target = currentTarget(delivery, targets, new Set(reached.map((r) => r.target)));
  // None left: the channel's current targets all had this reminder already (say, by the corrected URL).
  if (!target) refuse(reached.length > 0 ? "already_sent" : "no_target", delivery.channel);

  try {
    const result = await attemptOnRequest(
      ctx.db,
      target,
      { reminderKey: delivery.reminderKey, userId, taskId },
      caller.actor,
      ctx.now,
      sendTimeout(ctx.env),
    );
    ctx.log.info("delivery sent again on request", {
      task_id: taskId,
      requested_delivery_id: deliveryId,
      result: deliveryResultJson(result),
    });
    return {
      ...deliveryResultJson(result),
      /** The delivery asked for: delivery_id differs when the channel's target changed since. */
      requested_delivery_id: deliveryId,
      /** "Sent", or "Failed again: HTTP 500" (else the error). */
      outcome: sendAgainOutcome(result),
    };
  } catch (error) {
    if (error instanceof AttemptRefused) refuse(error.reason, delivery.channel);
    throw error;
  }
}
