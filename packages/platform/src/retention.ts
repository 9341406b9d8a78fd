// Housekeeping of the tables that would otherwise only grow (docs/decisions/003-transactional-outbox.md,
// "Retention"). The outbox prunes its own published rows (outbox.ts) and the web app its live
// updates (live-updates.ts); this prunes the rest, a bounded batch at a time so a large backlog
// never holds locks for long. Every DELETE is idempotent: any number of instances may run it.
import type { Db } from "#db/client.ts";

/**
 * How long a consumer remembers an event it applied. Far longer than any redelivery the broker can
 * make (Kafka keeps each topic 7 days: knative/base/kafka-topics.yaml; the local sidecar less),
 * and an event that still has an open dead letter is remembered until the letter is resolved, so a
 * replay weeks later still changes nothing in the consumers that had applied it.
 */
export const PROCESSED_EVENT_RETENTION_DAYS = 30;
/** A rate-limit window lasts at most a day (the longest limit); a row idle for two is of no use. */
export const RATE_LIMIT_IDLE_DAYS = 2;
/** Rows deleted per statement. */
export const PRUNE_BATCH = 5_000;
/** Statements per table per run: a backlog larger than this is worked off over the next runs. */
const MAX_BATCHES = 20;

export interface Pruned {
  processed_events: number;
  rate_limits: number;
  sessions: number;
}

const DAY_MS = 86_400_000;

/** Deletes what has outlived its use as of `now`; returns how many rows went from each table. */
export async function pruneExpired(db: Db, now: Date, batch = PRUNE_BATCH): Promise<Pruned> {
  const processedBefore = new Date(now.getTime() - PROCESSED_EVENT_RETENTION_DAYS * DAY_MS);
  const rateLimitBefore = new Date(now.getTime() - RATE_LIMIT_IDLE_DAYS * DAY_MS);
  return {
    processed_events: await inBatches(
      () => db.$executeRaw`
        DELETE FROM processed_events p
        WHERE (p.consumer, p.event_id) IN (
          SELECT consumer, event_id FROM processed_events
          WHERE processed_at < ${processedBefore}
            AND NOT EXISTS (
              SELECT 1 FROM dead_letters d WHERE d.event_id = processed_events.event_id AND d.resolved_at IS NULL)
          LIMIT ${batch})`,
      batch,
    ),
    rate_limits: await inBatches(
      () => db.$executeRaw`
        DELETE FROM rate_limits WHERE key IN (
          SELECT key FROM rate_limits WHERE window_start < ${rateLimitBefore} LIMIT ${batch})`,
      batch,
    ),
    sessions: await inBatches(
      () => db.$executeRaw`
        DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < ${now} LIMIT ${batch})`,
      batch,
    ),
  };
}

async function inBatches(deleteBatch: () => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const deleted = await deleteBatch();
    total += deleted;
    if (deleted < batch) break;
  }
  return total;
}
