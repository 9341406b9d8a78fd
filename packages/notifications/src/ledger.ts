// The delivery ledger (notification_deliveries): one row per reminder occurrence, channel and
// target (a push subscription, an email address, a webhook URL). Each attempt locks that row for
// the whole send, so two copies of one event (Dapr delivers at least once) take turns, and the
// second finds it already sent. Every attempt is appended to delivery_attempts. A transient failure
// leaves the row pending: in the quick round the caller asks the sidecar to redeliver the event
// (RETRY) so its resiliency policy paces the retries; after it the row waits for its later attempt
// (next_attempt_at; a Dapr job wakes the service, delivery.ts). At the last allowed attempt the row
// is marked failed, and a webhook that never accepted is written to dead_letters. How an attempt
// settles: #core/channels.ts (settleAttempt, RetryPlan).
import { randomUUID } from "node:crypto";
import {
  deadLetterReason,
  settleAttempt,
  storedError,
  type DeliveryResult,
  type RetryPlan,
} from "#core/channels.ts";
import type { Db, Tx } from "#db/client.ts";
import type { Target } from "./targets.ts";

interface LedgerRow {
  id: string;
  status: "pending" | "sent" | "failed" | "skipped";
  attempts: number;
  http_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
}

export interface AttemptOptions {
  reminderKey: string;
  userId: string;
  taskId: string | null;
  /** How many attempts, and when: the last one makes a still-failing delivery final. */
  plan: RetryPlan;
  /** For the dead-letter row of a webhook that never accepted. */
  deadLetter?: { pubsub: string; topic: string; eventId: string; envelope: unknown };
}

/** One attempt at one target, under the ledger row's lock; a settled row is left alone. */
export async function attemptDelivery(
  db: Db,
  target: Target,
  options: AttemptOptions,
  now: () => Date,
  sendTimeoutMs: number,
): Promise<DeliveryResult> {
  return db.$transaction(
    async (tx: Tx): Promise<DeliveryResult> => {
      await tx.notificationDelivery.createMany({
        data: [
          {
            id: randomUUID(),
            reminderKey: options.reminderKey,
            userId: options.userId,
            taskId: options.taskId,
            channel: target.channel,
            target: target.target,
          },
        ],
        skipDuplicates: true,
      });
      const [row] = await tx.$queryRaw<LedgerRow[]>`
        SELECT id::text, status::text, attempts, http_status, last_error, next_attempt_at
        FROM notification_deliveries
        WHERE reminder_key = ${options.reminderKey} AND channel = ${target.channel}::channel_kind
          AND target = ${target.target}
        FOR UPDATE`;
      const base = { channel: target.channel, target: target.target, deliveryId: row!.id };
      if (row!.status !== "pending") {
        return {
          ...base,
          status: row!.status === "sent" ? "sent" : "failed",
          alreadySettled: true,
          attempts: row!.attempts,
          httpStatus: row!.http_status,
          error: row!.last_error,
          nextAttemptAt: null,
        };
      }
      // Waiting for its later attempt: a redelivery of the event (at least once) sends nothing now.
      if (row!.next_attempt_at && row!.next_attempt_at.getTime() > now().getTime()) {
        return {
          ...base,
          status: "pending",
          alreadySettled: true,
          attempts: row!.attempts,
          httpStatus: row!.http_status,
          error: row!.last_error,
          nextAttemptAt: row!.next_attempt_at,
        };
      }

      const attempt = row!.attempts + 1;
      const outcome = await target.send(row!.id);
      const at = now();
      const { status, error, removeSubscription, nextAttemptAt } = settleAttempt(
        outcome,
        attempt,
        options.plan,
        Boolean(target.subscriptionId),
        at,
      );
      await tx.deliveryAttempt.create({
        data: {
          deliveryId: row!.id,
          attempt,
          status: outcome.ok ? "sent" : "failed",
          httpStatus: outcome.status,
          error: storedError(error),
          at,
        },
      });
      await tx.notificationDelivery.update({
        where: { id: row!.id },
        data: {
          status,
          attempts: attempt,
          httpStatus: outcome.status,
          lastError: storedError(error),
          sentAt: outcome.ok ? at : null,
          nextAttemptAt,
          updatedAt: at,
        },
      });
      if (target.subscriptionId && outcome.ok) {
        await tx.pushSubscription.updateMany({
          where: { id: target.subscriptionId },
          data: { lastSuccessAt: at },
        });
      }
      if (removeSubscription) {
        await tx.pushSubscription.deleteMany({ where: { id: target.subscriptionId } });
      }
      if (status === "failed" && target.deadLetterOnFailure && options.deadLetter) {
        await tx.deadLetter.create({
          data: {
            consumer: "notifications",
            pubsub: options.deadLetter.pubsub,
            topic: options.deadLetter.topic,
            eventId: options.deadLetter.eventId,
            envelope: options.deadLetter.envelope as object,
            error: deadLetterReason(target.target, attempt, error),
            attempts: attempt,
          },
        });
      }
      return {
        ...base,
        status,
        alreadySettled: false,
        attempts: attempt,
        httpStatus: outcome.status,
        error,
        nextAttemptAt,
      };
    },
    // The row stays locked while the message is sent: the send's own timeout bounds it.
    { maxWait: 10_000, timeout: sendTimeoutMs + 15_000 },
  );
}
