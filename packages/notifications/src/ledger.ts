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
import type { Actor } from "#core/actor.ts";
import {
  deadLetterReason,
  sendAgainBlock,
  settleAttempt,
  settleManualAttempt,
  storedError,
  type DeliveryResult,
  type DeliveryStatus,
  type RetryPlan,
  type SendOutcome,
} from "#core/channels.ts";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
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

/** The occurrence's ledger row for `target` (created if new), locked as `lock` says (none: skipped). */
async function lockedRow(
  tx: Tx,
  occurrence: { reminderKey: string; userId: string; taskId: string | null },
  target: Target,
  lock: Prisma.Sql,
): Promise<LedgerRow | undefined> {
  await tx.notificationDelivery.createMany({
    data: [
      {
        id: randomUUID(),
        reminderKey: occurrence.reminderKey,
        userId: occurrence.userId,
        taskId: occurrence.taskId,
        channel: target.channel,
        target: target.target,
      },
    ],
    skipDuplicates: true,
  });
  const [row] = await tx.$queryRaw<LedgerRow[]>`
    SELECT id::text, status::text, attempts, http_status, last_error, next_attempt_at
    FROM notification_deliveries
    WHERE reminder_key = ${occurrence.reminderKey} AND channel = ${target.channel}::channel_kind
      AND target = ${target.target}
    ${lock}`;
  return row;
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
      const row = await lockedRow(tx, options, target, Prisma.sql`FOR UPDATE`);
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
      const settled = settleAttempt(outcome, attempt, options.plan, Boolean(target.subscriptionId), at);
      await recordAttempt(tx, target, row!.id, attempt, outcome, settled, at, null);
      const { status, error, nextAttemptAt } = settled;
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

/** How an attempt left its delivery (#core/channels.ts settleAttempt, settleManualAttempt). */
interface Settled {
  status: DeliveryStatus;
  error: string | null;
  removeSubscription: boolean;
  nextAttemptAt: Date | null;
}

/** Appends the attempt to the log and settles the row (and the push subscription it went to). */
async function recordAttempt(
  tx: Tx,
  target: Target,
  deliveryId: string,
  attempt: number,
  outcome: SendOutcome,
  settled: Settled,
  at: Date,
  requestedBy: Actor | null,
) {
  await tx.deliveryAttempt.create({
    data: {
      deliveryId,
      attempt,
      status: outcome.ok ? "sent" : "failed",
      httpStatus: outcome.status,
      error: storedError(settled.error),
      at,
      requestedByType: requestedBy?.type ?? null,
      requestedById: requestedBy?.id ?? null,
    },
  });
  await tx.notificationDelivery.update({
    where: { id: deliveryId },
    data: {
      status: settled.status,
      attempts: attempt,
      httpStatus: outcome.status,
      lastError: storedError(settled.error),
      sentAt: outcome.ok ? at : null,
      nextAttemptAt: settled.nextAttemptAt,
      updatedAt: at,
    },
  });
  if (target.subscriptionId && outcome.ok) {
    await tx.pushSubscription.updateMany({
      where: { id: target.subscriptionId },
      data: { lastSuccessAt: at },
    });
  }
  if (settled.removeSubscription) {
    await tx.pushSubscription.deleteMany({ where: { id: target.subscriptionId } });
  }
}

/** A "Send again" refused once the delivery was locked: nothing was sent or written. */
export class AttemptRefused extends Error {
  constructor(readonly reason: "already_sent" | "in_progress") {
    super(reason);
  }
}

/**
 * One attempt a person asked for ("Send again"): at `target`, through the occurrence's ledger row
 * for it (created when the channel's target changed since, as an automatic attempt would). One
 * send at a time per occurrence and channel: a request that finds another one under way (a double
 * click), or the row locked by the service's own attempt, is refused `in_progress` rather than
 * queued behind it, and a row already sent is refused `already_sent`.
 */
export async function attemptOnRequest(
  db: Db,
  target: Target,
  occurrence: { reminderKey: string; userId: string; taskId: string },
  requestedBy: Actor,
  now: () => Date,
  sendTimeoutMs: number,
): Promise<DeliveryResult> {
  return db.$transaction(
    async (tx: Tx): Promise<DeliveryResult> => {
      const lockKey = `send-again:${occurrence.reminderKey}:${target.channel}`;
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(hashtextextended(${lockKey}, 0)) AS locked`;
      if (!lock?.locked) throw new AttemptRefused("in_progress");
      const row = await lockedRow(tx, occurrence, target, Prisma.sql`FOR UPDATE SKIP LOCKED`);
      // Locked: the service's own attempt is sending it now.
      if (!row) throw new AttemptRefused("in_progress");
      const block = sendAgainBlock({ ...row, nextAttemptAt: row.next_attempt_at });
      if (block) throw new AttemptRefused(block);

      const attempt = row.attempts + 1;
      const outcome = await target.send(row.id);
      const at = now();
      const settled = settleManualAttempt(
        outcome,
        { status: row.status, nextAttemptAt: row.next_attempt_at },
        Boolean(target.subscriptionId),
      );
      await recordAttempt(tx, target, row.id, attempt, outcome, settled, at, requestedBy);
      return {
        channel: target.channel,
        target: target.target,
        deliveryId: row.id,
        status: settled.status,
        alreadySettled: false,
        attempts: attempt,
        httpStatus: outcome.status,
        error: settled.error,
        nextAttemptAt: settled.nextAttemptAt,
      };
    },
    // As an automatic attempt: the row stays locked while the message is sent.
    { maxWait: 10_000, timeout: sendTimeoutMs + 15_000 },
  );
}
