// The PostgreSQL "broker" behind every pubsub.* component. Publishing stores the message and, in
// the same statement, one delivery row per app-id subscribed to the topic (one consumer group per
// app-id, as Dapr sets consumerID = app-id), then NOTIFYs those apps' sidecars. A sidecar claims
// its app's deliveries in batches; a delivery row is deleted only once the app has answered, so a
// crash never loses a message (at-least-once).
import type pg from "pg";

export const DELIVERY_CHANNEL = "dapr_local_deliveries";

export interface OutgoingMessage {
  pubsub: string;
  topic: string;
  partitionKey: string | null;
  contentType: string;
  body: Buffer;
}

export interface ClaimedDelivery {
  id: string;
  message_id: string;
  pubsub: string;
  topic: string;
  partition_key: string | null;
  attempts: number;
  round_attempts: number;
  redeliveries: number;
  body: Buffer;
  content_type: string;
  published_at: Date;
}

const FAN_OUT = `
  d AS (
    INSERT INTO dapr_local.deliveries (message_id, app_id, pubsub, topic, partition_key)
    SELECT m.id, s.app_id, m.pubsub, m.topic, m.partition_key
    FROM m JOIN dapr_local.subscriptions s ON s.pubsub = m.pubsub AND s.topic = m.topic
    ORDER BY m.id
    RETURNING app_id
  )
  SELECT pg_notify('${DELIVERY_CHANNEL}', app_id) FROM (SELECT DISTINCT app_id FROM d) AS apps`;

const PUBLISH_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
      WITH ORDINALITY AS t(pubsub, topic, partition_key, content_type, body, ord)
  ),
  m AS (
    INSERT INTO dapr_local.messages (pubsub, topic, partition_key, content_type, body, publisher_app_id)
    SELECT pubsub, topic, partition_key, content_type, body, $6 FROM input ORDER BY ord
    RETURNING id, pubsub, topic, partition_key
  ),
  ${FAN_OUT}`;

interface PendingPublish {
  messages: OutgoingMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for publishes: while `maxInFlight` statements run, new publishes queue up and go
 * out together in the next statement (one round trip for many concurrent publishes).
 */
export class Publisher {
  private queue: PendingPublish[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly appId: string,
    private readonly maxInFlight = 4,
    private readonly maxBatch = 500,
  ) {}

  publish(messages: OutgoingMessage[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: PendingPublish[] = [];
      let count = 0;
      while (
        this.queue.length > 0 &&
        (batch.length === 0 || count + this.queue[0]!.messages.length <= this.maxBatch)
      ) {
        const next = this.queue.shift()!;
        batch.push(next);
        count += next.messages.length;
      }
      this.inFlight++;
      insertMessages(
        this.pool,
        this.appId,
        batch.flatMap((p) => p.messages),
      )
        .then(
          () => batch.forEach((p) => p.resolve()),
          (error) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}

export async function insertMessages(
  pool: pg.Pool,
  appId: string,
  messages: OutgoingMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await pool.query(PUBLISH_SQL, [
    messages.map((m) => m.pubsub),
    messages.map((m) => m.topic),
    messages.map((m) => m.partitionKey),
    messages.map((m) => m.contentType),
    messages.map((m) => m.body),
    appId,
  ]);
}

/** Replaces this app-id's entries in the subscription registry. */
export async function registerSubscriptions(
  pool: pg.Pool,
  appId: string,
  subscriptions: { pubsub: string; topic: string; deadLetterTopic: string }[],
): Promise<void> {
  await pool.query(
    `WITH current AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS t(pubsub, topic, dead_letter_topic)
     ),
     upserted AS (
       INSERT INTO dapr_local.subscriptions (pubsub, topic, app_id, dead_letter_topic)
       SELECT pubsub, topic, $1, NULLIF(dead_letter_topic, '') FROM current
       ON CONFLICT (pubsub, topic, app_id)
       DO UPDATE SET dead_letter_topic = EXCLUDED.dead_letter_topic, updated_at = now()
     )
     DELETE FROM dapr_local.subscriptions s
     WHERE s.app_id = $1 AND NOT EXISTS (SELECT 1 FROM current c WHERE c.pubsub = s.pubsub AND c.topic = s.topic)`,
    [
      appId,
      subscriptions.map((s) => s.pubsub),
      subscriptions.map((s) => s.topic),
      subscriptions.map((s) => s.deadLetterTopic),
    ],
  );
}

/**
 * Records `acked` deliveries as done and claims up to `limit` deliveries of `appId` in one
 * statement: due, on the given topics, and first in line for their partition key (every earlier
 * delivery with the same key must be done; the ones acked here count as done). SKIP LOCKED lets
 * several instances of one app-id share the work without waiting on each other.
 */
export async function ackAndClaim(
  pool: pg.Pool,
  appId: string,
  instanceId: number,
  topics: { pubsub: string; topic: string }[],
  limit: number,
  acked: string[],
): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>(
    `WITH acked AS (DELETE FROM dapr_local.deliveries WHERE id = ANY($6::bigint[])),
     topics AS (SELECT * FROM unnest($2::text[], $3::text[]) AS t(pubsub, topic)),
     c AS (
       SELECT d.id FROM dapr_local.deliveries d
       WHERE d.app_id = $1 AND d.locked_by IS NULL AND d.next_attempt_at <= clock_timestamp()
         AND EXISTS (SELECT 1 FROM topics t WHERE t.pubsub = d.pubsub AND t.topic = d.topic)
         AND (d.partition_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM dapr_local.deliveries e
           WHERE e.app_id = d.app_id AND e.pubsub = d.pubsub AND e.topic = d.topic
             AND e.partition_key = d.partition_key AND e.id < d.id AND e.id <> ALL($6::bigint[])))
       ORDER BY d.id
       LIMIT $4
       FOR UPDATE OF d SKIP LOCKED
     )
     UPDATE dapr_local.deliveries d
     SET locked_by = $5, attempts = d.attempts + 1
     FROM c, dapr_local.messages m
     WHERE d.id = c.id AND m.id = d.message_id
     RETURNING d.id, d.message_id, d.pubsub, d.topic, d.partition_key, d.attempts, d.round_attempts,
               d.redeliveries, m.body, m.content_type, m.published_at`,
    [appId, topics.map((t) => t.pubsub), topics.map((t) => t.topic), limit, instanceId, acked],
  );
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

/** Done: the app answered SUCCESS (or DROP without a dead-letter topic). */
export async function ackDeliveries(pool: pg.Pool, ids: string[]): Promise<void> {
  if (ids.length > 0)
    await pool.query("DELETE FROM dapr_local.deliveries WHERE id = ANY($1::bigint[])", [ids]);
}

/** Not done: deliver again after `delayMs` (the row keeps its place in its key's order). */
export async function rescheduleDelivery(
  pool: pg.Pool,
  id: string,
  instanceId: number,
  delayMs: number,
  counters: { roundAttempts: number; redeliveries: number },
  error: string,
): Promise<void> {
  await pool.query(
    `UPDATE dapr_local.deliveries
     SET locked_by = NULL, next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond',
         round_attempts = $4, redeliveries = $5, last_error = $6
     WHERE id = $1 AND locked_by = $2`,
    [id, instanceId, delayMs, counters.roundAttempts, counters.redeliveries, error.slice(0, 2000)],
  );
}

/**
 * Moves a delivery to the dead-letter topic in one statement: the original message is published
 * there (same bytes, same content type, fanned out to the DLQ's subscribers) and the delivery is
 * deleted, so it can neither be lost nor dead-lettered twice.
 */
export async function deadLetterDelivery(
  pool: pg.Pool,
  id: string,
  instanceId: number,
  appId: string,
  deadLetterTopic: string,
  info: Record<string, unknown>,
): Promise<void> {
  await pool.query(
    `WITH del AS (
       DELETE FROM dapr_local.deliveries WHERE id = $1 AND locked_by = $2 RETURNING message_id
     ),
     m AS (
       INSERT INTO dapr_local.messages
         (pubsub, topic, partition_key, content_type, body, publisher_app_id, dead_letter_of)
       SELECT src.pubsub, $4, src.partition_key, src.content_type, src.body, $3, $5::jsonb
       FROM dapr_local.messages src JOIN del ON src.id = del.message_id
       RETURNING id, pubsub, topic, partition_key
     ),
     ${FAN_OUT}`,
    [id, instanceId, appId, deadLetterTopic, JSON.stringify(info)],
  );
}

/** Lets every claim of this instance go (graceful stop). */
export async function releaseClaims(pool: pg.Pool, instanceId: number): Promise<void> {
  await pool.query("UPDATE dapr_local.deliveries SET locked_by = NULL WHERE locked_by = $1", [instanceId]);
}

/** The earliest future retry of this app's deliveries on these topics, for the retry timer. */
export async function nextRetryAt(
  pool: pg.Pool,
  appId: string,
  topics: { pubsub: string; topic: string }[],
): Promise<Date | null> {
  const { rows } = await pool.query<{ at: Date | null }>(
    `SELECT min(d.next_attempt_at) AS at FROM dapr_local.deliveries d
     WHERE d.app_id = $1 AND d.locked_by IS NULL AND d.next_attempt_at > clock_timestamp()
       AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS t(pubsub, topic)
                   WHERE t.pubsub = d.pubsub AND t.topic = d.topic)`,
    [appId, topics.map((t) => t.pubsub), topics.map((t) => t.topic)],
  );
  return rows[0]?.at ?? null;
}
