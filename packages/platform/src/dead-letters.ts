// The dead-letter store (table dead_letters): what no consumer could process, kept for an operator
// to inspect, replay (republish with the same CloudEvent id, which every consumer deduplicates, so
// a replay reaches only those that have not applied it) or dismiss. Generic infrastructure: it
// knows topics by name only; which topics there are is the caller's to say.
import type { Db } from "#db/client.ts";
import type { DeadLetter, Prisma } from "#db/generated/client.ts";
import type { DaprClient } from "./dapr-client.ts";
import type { Logger } from "./logger.ts";
import { deadLettersOpen } from "./metrics.ts";

/**
 * PostgreSQL's jsonb cannot hold U+0000 ("unsupported Unicode escape sequence") nor a lone UTF-16
 * surrogate: such a message would fail here on every redelivery, and this store is the end of the
 * line (nothing stands behind it; on Kafka a message answered RETRY for ever holds back its whole
 * partition, tests/dapr/kafka-partitions.dapr.test.ts). Each becomes U+FFFD.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function storable(value: unknown): unknown {
  if (typeof value === "string")
    return value.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)]));
  return value;
}

/** One delivery from a dead-letter topic: the CloudEvent's attributes and its data. */
export interface DeadLetteredDelivery {
  pubsub: string;
  /** The topic the event was first published to (not its dead-letter topic). */
  topic: string;
  eventId: string;
  attributes: Record<string, unknown>;
  data: unknown;
}

/**
 * Keeps a dead-lettered delivery; false when its topic already holds it open (a redelivery). An
 * envelope the database refuses while it answers (a content problem, not an outage, which throws
 * and stays a RETRY) is kept without its data: never a message that fails for ever.
 */
export async function keepDeadLetter(db: Db, delivery: DeadLetteredDelivery, log: Logger): Promise<boolean> {
  const row = (envelope: unknown, error: string) =>
    db.deadLetter.createMany({
      data: [
        {
          consumer: null,
          pubsub: delivery.pubsub,
          topic: delivery.topic,
          eventId: delivery.eventId,
          envelope: storable(envelope) as object,
          error,
        },
      ],
      // The partial unique index keeps one open row per topic and event across redeliveries.
      skipDuplicates: true,
    });
  try {
    const { count } = await row(
      { ...delivery.attributes, data: delivery.data },
      "delivery failed after the resiliency policy's retries (or the consumer dropped it)",
    );
    return count > 0;
  } catch (error) {
    await db.$queryRaw`SELECT 1`.catch(() => {
      throw error;
    });
    log.error("dead letter's envelope could not be stored; keeping its attributes", { err: error });
    const { data: _data, data_base64: _base64, ...withoutData } = delivery.attributes;
    const { count } = await row(
      withoutData,
      `the envelope could not be stored (${String(error).slice(0, 500)}); its data is lost`,
    );
    return count > 0;
  }
}

/** A dead letter as operators see it. */
export function deadLetterItem(row: DeadLetter) {
  const envelope = row.envelope as Record<string, unknown>;
  return {
    id: row.id.toString(),
    topic: row.topic,
    pubsub: row.pubsub,
    event_id: row.eventId,
    type: envelope.type ?? null,
    consumer: row.consumer,
    error: row.error,
    attempts: row.attempts,
    created_at: row.createdAt.toISOString(),
    resolved_at: row.resolvedAt?.toISOString() ?? null,
    envelope,
  };
}
export type DeadLetterItem = ReturnType<typeof deadLetterItem>;

/** Why a replay or a dismissal was refused. */
export type DeadLetterRefusal = "not-found" | "already-resolved";

/** Dead letters, newest first, `limit` at a time (`before`: the last id of the previous page). */
export async function listDeadLetters(
  db: Db,
  query: { topic?: string; status: "open" | "resolved" | "all"; limit: number; before?: string },
): Promise<{ items: DeadLetterItem[]; next_before: string | null }> {
  const where: Prisma.DeadLetterWhereInput = {
    ...(query.topic ? { topic: query.topic } : {}),
    ...(query.status === "open"
      ? { resolvedAt: null }
      : query.status === "resolved"
        ? { resolvedAt: { not: null } }
        : {}),
    ...(query.before ? { id: { lt: BigInt(query.before) } } : {}),
  };
  const rows = await db.deadLetter.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1 });
  const items = rows.slice(0, query.limit).map(deadLetterItem);
  return { items, next_before: rows.length > query.limit ? items[items.length - 1]!.id : null };
}

export async function findDeadLetter(db: Db, id: string): Promise<DeadLetterItem | null> {
  const row = await db.deadLetter.findUnique({ where: { id: BigInt(id) } });
  return row && deadLetterItem(row);
}

/**
 * Republishes an open dead letter's event to its topic with its original id, then marks it
 * resolved. `source` stands in for an envelope that lost its own.
 */
export async function replayDeadLetter(
  db: Db,
  dapr: Pick<DaprClient, "publishEvent">,
  id: string,
  opts: { now(): Date; source: string },
): Promise<DeadLetterItem | DeadLetterRefusal> {
  const row = await db.deadLetter.findUnique({ where: { id: BigInt(id) } });
  if (!row) return "not-found";
  if (row.resolvedAt) return "already-resolved";
  const envelope = row.envelope as Record<string, unknown>;
  await dapr.publishEvent(
    row.pubsub,
    row.topic,
    {
      specversion: "1.0",
      id: String(envelope.id ?? row.eventId),
      source: String(envelope.source ?? opts.source),
      type: String(envelope.type ?? "orbit.unknown"),
      ...(typeof envelope.subject === "string" ? { subject: envelope.subject } : {}),
      ...(typeof envelope.time === "string" ? { time: envelope.time } : {}),
      datacontenttype: "application/json",
      data: envelope.data,
    },
    { partitionKey: typeof envelope.subject === "string" ? envelope.subject : undefined },
  );
  const updated = await db.deadLetter.update({
    where: { id: row.id },
    data: { resolvedAt: opts.now(), attempts: { increment: 1 } },
  });
  return deadLetterItem(updated);
}

/** Dismisses an open dead letter without replaying it. */
export async function resolveDeadLetter(
  db: Db,
  id: string,
  now: Date,
): Promise<DeadLetterItem | DeadLetterRefusal> {
  const { count } = await db.deadLetter.updateMany({
    where: { id: BigInt(id), resolvedAt: null },
    data: { resolvedAt: now },
  });
  if (count === 0) {
    const exists = await db.deadLetter.count({ where: { id: BigInt(id) } });
    return exists ? "already-resolved" : "not-found";
  }
  return deadLetterItem(await db.deadLetter.findUniqueOrThrow({ where: { id: BigInt(id) } }));
}

/** Sets the open dead letters gauge (orbit_dead_letters_open) for each of `topics`. */
export async function measureOpenDeadLetters(db: Db, topics: readonly string[]): Promise<void> {
  const counts = await db.deadLetter.groupBy({
    by: ["topic"],
    where: { resolvedAt: null },
    _count: { _all: true },
  });
  for (const topic of topics) {
    deadLettersOpen.set({ topic }, counts.find((c) => c.topic === topic)?._count._all ?? 0);
  }
}
