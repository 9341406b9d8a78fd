// Transactional outbox (docs/decisions/003-transactional-outbox.md).
//
// A command writes its change and its events in one transaction (`enqueue`). After commit the
// relay publishes them through the Dapr sidecar without the HTTP response waiting (`kick`); a
// sweeper retries whatever is left, with exponential backoff per event and a circuit breaker
// while the sidecar is down. Events sharing a partition key (a task's events, a user's updates)
// are published in commit order: an event is only claimed once every earlier event of its key is
// published. Claims are row locks (FOR UPDATE SKIP LOCKED) held by the relay's transaction, so
// several instances share the work and a crashed relay releases its claims at once.
// A refusal the sidecar means for ever (HTTP 4xx: unknown pub/sub, a topic the app may not publish
// to, a body it cannot take) is retried `maxPermanentAttempts` times, then the event is parked:
// status 'parked', a copy in the dead-letter store (functions/dead-letters lists and replays it),
// and the events behind it with its partition key are published. Transient failures (5xx, 408,
// 429, no sidecar) keep retrying with backoff: parking those would reorder a key's events whenever
// the broker has a bad minute.
import { randomUUID } from "node:crypto";
import type { Db, Tx } from "#db/client.ts";
import { DaprError, SidecarUnavailableError, type DaprClient } from "./dapr-client.ts";
import type { Logger } from "./logger.ts";
import { outboxPublished, outboxPublishFailures } from "./metrics.ts";
import { contextFrom, inSpan, SpanKind, tracingEnabled } from "./telemetry.ts";

export interface OutboxMessage {
  topic: string;
  /** CloudEvent type. */
  type: string;
  /** CloudEvent subject (the task id). */
  subject?: string;
  /** Same key, same order. */
  partitionKey: string;
  data: unknown;
  /** Defaults to the function's PUBSUB_NAME. */
  pubsub?: string;
  traceparent?: string;
  /** CloudEvent id; generated when absent. */
  eventId?: string;
}

/**
 * Adds events to the caller's transaction; they commit (or roll back) with the change. `source` is
 * the producing app-id: the CloudEvent source, and which relay publishes the events first.
 */
export async function enqueue(
  tx: Tx,
  pubsub: string,
  messages: OutboxMessage[],
  source = "",
): Promise<string[]> {
  const rows = outboxRows(pubsub, messages, source);
  if (rows.length > 0) await tx.outboxEvent.createMany({ data: rows });
  return rows.map((r) => r.eventId);
}

/** The outbox rows of `messages`, as enqueue writes them (for a caller writing them in its own SQL). */
export function outboxRows(pubsub: string, messages: OutboxMessage[], source = "") {
  return messages.map((m) => ({
    eventId: m.eventId ?? randomUUID(),
    source,
    pubsub: m.pubsub ?? pubsub,
    topic: m.topic,
    type: m.type,
    subject: m.subject ?? null,
    partitionKey: m.partitionKey,
    data: m.data as object,
    traceparent: m.traceparent ?? null,
  }));
}

interface ClaimedRow {
  seq: bigint;
  event_id: string;
  source: string;
  pubsub: string;
  topic: string;
  type: string;
  subject: string | null;
  partition_key: string;
  data: unknown;
  traceparent: string | null;
  attempts: number;
  refusals: number;
  created_at: Date;
}

export interface RelayOptions {
  db: Db;
  dapr: DaprClient;
  log: Logger;
  /** CloudEvent `source`: the publishing app-id. */
  source: string;
  sweepIntervalMs?: number;
  batchSize?: number;
  /** Partition keys published concurrently within one batch. */
  parallelKeys?: number;
  /** Permanent (4xx) refusals of one event before it is parked in the dead-letter store. */
  maxPermanentAttempts?: number;
}

/**
 * Whether the sidecar's answer means the same publish will never succeed: a 4xx other than 408
 * (timeout) and 429 (throttled), which say "later".
 */
export function isPermanentRefusal(error: unknown): boolean {
  return (
    error instanceof DaprError &&
    error.status >= 400 &&
    error.status < 500 &&
    ![408, 429].includes(error.status)
  );
}

/** The CloudEvent an outbox row is published as (and parked as). */
function cloudEventOf(row: ClaimedRow, source: string) {
  return {
    specversion: "1.0" as const,
    id: row.event_id,
    source: row.source || source,
    type: row.type,
    ...(row.subject ? { subject: row.subject } : {}),
    time: row.created_at.toISOString(),
    datacontenttype: "application/json" as const,
    data: row.data,
  };
}

/** Backoff for an event Dapr refused: 0.5 s doubling to 60 s, with ±25 % jitter. */
export function eventBackoffMs(attempts: number): number {
  const base = Math.min(60_000, 500 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Pause while the sidecar is unreachable: 0.25 s doubling to 4 s. */
function circuitBackoffMs(consecutiveFailures: number): number {
  return Math.min(4_000, 250 * 2 ** Math.max(0, consecutiveFailures - 1));
}

export class OutboxRelay {
  private readonly db: Db;
  private readonly dapr: DaprClient;
  private readonly log: Logger;
  private readonly source: string;
  private readonly sweepIntervalMs: number;
  private readonly batchSize: number;
  private readonly parallelKeys: number;
  private readonly maxPermanentAttempts: number;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private pausedUntil = 0;
  private sidecarFailures = 0;
  private lastCleanup = 0;
  /** Counters for metrics and tests. */
  readonly stats = { published: 0, failed: 0, parked: 0, drains: 0 };

  constructor(options: RelayOptions) {
    this.db = options.db;
    this.dapr = options.dapr;
    this.log = options.log;
    this.source = options.source;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.batchSize = options.batchSize ?? 200;
    this.parallelKeys = options.parallelKeys ?? 16;
    this.maxPermanentAttempts = options.maxPermanentAttempts ?? 5;
  }

  start(): void {
    this.stopped = false;
    const sweep = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(sweep, this.sweepIntervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(sweep, 0);
    this.timer.unref();
  }

  /** Publish pending events now (single-flight: a kick during a drain makes it run once more). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Stops the sweeper and waits for the drain in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Resolves when the current drain (if any) has finished. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      if (Date.now() < this.pausedUntil) return;
      try {
        const { published: publishedBefore, parked: parkedBefore } = this.stats;
        await this.drainOnce();
        // A drain claims only the oldest pending event of each key; while it publishes (or parks),
        // the next ones are due at once (a backlog of one task's events must not wait a sweep per event).
        if (this.stats.published > publishedBefore || this.stats.parked > parkedBefore) this.again = true;
      } catch (error) {
        this.log.error("outbox drain failed; the sweeper will retry", { err: error });
        return;
      }
    } while (this.again && !this.stopped);
    await this.cleanup();
  }

  /** Claims one batch of due events, publishes them and records the outcome. Returns the batch size. */
  async drainOnce(): Promise<number> {
    this.stats.drains += 1;
    return this.db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<ClaimedRow[]>`
          SELECT o.seq, o.event_id::text AS event_id, o.source, o.pubsub, o.topic, o.type, o.subject, o.partition_key,
                 o.data, o.traceparent, o.attempts, o.refusals, o.created_at
          FROM outbox o
          WHERE o.status = 'pending' AND o.next_attempt_at <= now()
            AND (o.source IN (${this.source}, '') OR o.created_at < now() - interval '10 seconds')
            AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.status = 'pending' AND p.partition_key = o.partition_key AND p.seq < o.seq)
          ORDER BY o.seq
          LIMIT ${this.batchSize}
          FOR UPDATE OF o SKIP LOCKED`;
        if (rows.length === 0) return 0;

        const byKey = new Map<string, ClaimedRow[]>();
        for (const row of rows) byKey.set(row.partition_key, [...(byKey.get(row.partition_key) ?? []), row]);
        const published: bigint[] = [];
        const failed: { row: ClaimedRow; error: string; permanent: boolean }[] = [];
        let sidecarDown = false;

        const publishKey = async (keyRows: ClaimedRow[]) => {
          for (const row of keyRows) {
            if (sidecarDown) return;
            try {
              // A producer span in the trace of the request that wrote the event.
              await inSpan(
                `publish ${row.topic}`,
                {
                  kind: SpanKind.PRODUCER,
                  parent: contextFrom(row.traceparent ?? undefined),
                  attributes: {
                    "messaging.system": "dapr",
                    "messaging.destination.name": row.topic,
                    "messaging.message.id": row.event_id,
                  },
                },
                () =>
                  this.dapr.publishEvent(row.pubsub, row.topic, cloudEventOf(row, this.source), {
                    partitionKey: row.partition_key,
                    // With tracing on, fetch's instrumentation sends the producer span's
                    // traceparent itself; a second header would be joined onto the first.
                    traceparent: tracingEnabled() ? undefined : (row.traceparent ?? undefined),
                  }),
              );
              published.push(row.seq);
              outboxPublished.inc({ topic: row.topic });
            } catch (error) {
              outboxPublishFailures.inc({
                reason: error instanceof SidecarUnavailableError ? "sidecar_unreachable" : "refused",
              });
              if (error instanceof SidecarUnavailableError) sidecarDown = true;
              else
                failed.push({
                  row,
                  error: error instanceof DaprError ? error.message : String(error),
                  permanent: isPermanentRefusal(error),
                });
              // Later events of this key wait behind this one.
              return;
            }
          }
        };
        const groups = [...byKey.values()];
        for (let i = 0; i < groups.length; i += this.parallelKeys) {
          await Promise.all(groups.slice(i, i + this.parallelKeys).map(publishKey));
        }

        if (published.length > 0) {
          await tx.$executeRaw`UPDATE outbox SET status = 'published', published_at = now() WHERE seq = ANY(${published}::bigint[])`;
        }
        let parked = 0;
        for (const { row, error, permanent } of failed) {
          const refusals = row.refusals + (permanent ? 1 : 0);
          if (permanent && refusals >= this.maxPermanentAttempts) {
            await this.park(tx, row, error, refusals);
            parked += 1;
            continue;
          }
          const delay = eventBackoffMs(row.attempts + 1);
          await tx.$executeRaw`
            UPDATE outbox SET attempts = attempts + 1, refusals = ${refusals}, last_error = ${error.slice(0, 2000)},
                   next_attempt_at = now() + ${delay} * interval '1 millisecond'
            WHERE seq = ${row.seq}`;
          this.log.warn("publish refused; will retry", {
            event_id: row.event_id,
            topic: row.topic,
            attempts: row.attempts + 1,
            retry_in_ms: delay,
            error,
          });
        }
        this.stats.published += published.length;
        this.stats.failed += failed.length - parked;
        this.stats.parked += parked;
        if (sidecarDown) {
          this.sidecarFailures += 1;
          const pause = circuitBackoffMs(this.sidecarFailures);
          this.pausedUntil = Date.now() + pause;
          this.log.warn("dapr sidecar unreachable; events stay in the outbox", {
            pending_in_batch: rows.length - published.length,
            retry_in_ms: pause,
          });
        } else {
          this.sidecarFailures = 0;
        }
        return rows.length;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }

  /**
   * Takes an event out of its key's queue for good: marked parked (kept, never deleted by cleanup)
   * and copied, in the same transaction, to the dead-letter store an operator watches
   * (orbit_dead_letters_open alerts on it) and replays from.
   */
  private async park(tx: Tx, row: ClaimedRow, error: string, refusals: number): Promise<void> {
    const reason = `outbox: the Dapr sidecar refused to publish this event ${refusals} times (permanent): ${error}`;
    await tx.$executeRaw`
      UPDATE outbox SET status = 'parked', parked_at = now(), attempts = attempts + 1, refusals = ${refusals},
             last_error = ${error.slice(0, 2000)}
      WHERE seq = ${row.seq}`;
    await tx.deadLetter.createMany({
      data: [
        {
          consumer: row.source || this.source,
          pubsub: row.pubsub,
          topic: row.topic,
          eventId: row.event_id,
          envelope: cloudEventOf(row, this.source) as object,
          error: reason.slice(0, 2000),
          attempts: row.attempts + 1,
        },
      ],
      // An open dead letter of this event already exists (the partial unique index): keep it.
      skipDuplicates: true,
    });
    this.log.error("publish refused permanently; event parked in the dead-letter store", {
      event_id: row.event_id,
      topic: row.topic,
      partition_key: row.partition_key,
      refusals,
      error,
    });
  }

  /** Deletes published events older than three days, a bounded batch at a time, at most once a minute. */
  private async cleanup(): Promise<void> {
    if (Date.now() - this.lastCleanup < 60_000) return;
    this.lastCleanup = Date.now();
    try {
      await this.db.$executeRaw`
        DELETE FROM outbox WHERE seq IN (
          SELECT seq FROM outbox WHERE status = 'published' AND published_at < now() - interval '3 days' LIMIT 1000)`;
    } catch (error) {
      this.log.warn("outbox cleanup failed", { err: error });
    }
  }
}
