// Inbox for idempotent consumers (the eShop pattern, docs/decisions/003-transactional-outbox.md):
// a consumer records each event id it applied in `processed_events`, in the same transaction as
// the effect. Dapr and Knative deliver at least once, so a redelivered event must change nothing.
import type { Db, Tx } from "#db/client.ts";

export interface ConsumeResult<T> {
  /** True when `consumer` had already applied `eventId`: nothing was committed this time. */
  duplicate: boolean;
  result?: T;
}

export interface ConsumeOptions {
  /** How long to wait for a pooled connection to open the transaction. */
  maxWaitMs?: number;
  /** Upper bound of the whole transaction, effect included. */
  timeoutMs?: number;
}

/**
 * Runs `effect` at most once per (consumer, eventId), in one transaction with the inbox row.
 *
 * The inbox row is inserted first with ON CONFLICT DO NOTHING. Under READ COMMITTED a concurrent
 * delivery of the same event blocks on the first one's uncommitted index entry until that
 * transaction ends: if it committed, the insert does nothing and this delivery is a duplicate; if
 * it rolled back, this one inserts and runs the effect. No interleaving runs the effect twice or
 * raises a unique violation (https://www.postgresql.org/docs/17/sql-insert.html#SQL-ON-CONFLICT).
 */
export async function consumeOnce<T>(
  db: Db,
  consumer: string,
  eventId: string,
  effect: (tx: Tx) => Promise<T>,
  options: ConsumeOptions = {},
): Promise<ConsumeResult<T>> {
  return db.$transaction(
    async (tx): Promise<ConsumeResult<T>> => {
      const inserted = await tx.$executeRaw`
        INSERT INTO processed_events (consumer, event_id) VALUES (${consumer}, ${eventId})
        ON CONFLICT (consumer, event_id) DO NOTHING`;
      if (inserted === 0) return { duplicate: true };
      return { duplicate: false, result: await effect(tx) };
    },
    { maxWait: options.maxWaitMs ?? 5_000, timeout: options.timeoutMs ?? 15_000 },
  );
}
