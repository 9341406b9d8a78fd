// The dead-letter store: consumes every dead-letter topic and keeps what no consumer could
// process, for an operator to inspect, replay (republish with the same CloudEvent id, which every
// consumer deduplicates, so a replay reaches only those that have not applied it) or dismiss.
import { z } from "zod";
import { deadLetterTopic, EVENT_CATALOG } from "#core/event-catalog.ts";
import type { DeadLetter, Prisma } from "#db/generated/client.ts";
import { route, subscription, type Context } from "#platform/host.ts";
import { deadLettersOpen } from "#platform/metrics.ts";
import { problems } from "#platform/problems.ts";

const CONSUMER = "dead-letters";

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

export const dlqSubscriptions = EVENT_CATALOG.map((entry) =>
  subscription({
    topic: deadLetterTopic(entry.topic),
    path: `/events/dead-letters/${entry.topic}`,
    // Anything at all may land here, valid or not: that is the point of a dead-letter topic.
    data: z.unknown(),
    async handle(event, ctx) {
      const { data, deliveryTraceparent: _trace, attributes } = event;
      const row = (envelope: unknown, error: string) =>
        ctx.db.deadLetter.createMany({
          data: [
            {
              consumer: null,
              pubsub: event.pubsubname ?? ctx.env.PUBSUB_NAME,
              topic: entry.topic,
              eventId: event.id,
              envelope: storable(envelope) as object,
              error,
            },
          ],
          // The partial unique index keeps one open row per topic and event across redeliveries.
          skipDuplicates: true,
        });
      let count: number;
      try {
        ({ count } = await row(
          { ...attributes, data },
          "delivery failed after the resiliency policy's retries (or the consumer dropped it)",
        ));
      } catch (error) {
        // The database refused this envelope while it answers (a content problem, not an outage,
        // which stays a RETRY): keep what can be kept, never a message that fails for ever.
        await ctx.db.$queryRaw`SELECT 1`.catch(() => {
          throw error;
        });
        ctx.log.error("dead letter's envelope could not be stored; keeping its attributes", { err: error });
        const { data: _data, data_base64: _base64, ...withoutData } = attributes as Record<string, unknown>;
        ({ count } = await row(
          withoutData,
          `the envelope could not be stored (${String(error).slice(0, 500)}); its data is lost`,
        ));
      }
      ctx.log.warn(count ? "dead letter stored" : "dead letter already open; redelivery ignored", {
        topic: entry.topic,
        type: event.type,
      });
      return "SUCCESS";
    },
  }),
);

const idParams = z.object({ id: z.string().regex(/^\d{1,18}$/, "must be a dead letter id") });

const listQuery = z.strictObject({
  topic: z.enum(EVENT_CATALOG.map((e) => e.topic) as [string, ...string[]]).optional(),
  status: z.enum(["open", "resolved", "all"]).default("open"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Id of the last item of the previous page. */
  before: z
    .string()
    .regex(/^\d{1,18}$/, "must be a dead letter id")
    .optional(),
});

function toItem(row: DeadLetter) {
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

export const listRoute = route({
  method: "GET",
  path: "/v1/dead-letters",
  auth: "admin",
  query: listQuery,
  summary: "Dead letters, newest first (operators only)",
  async handle({ query }, ctx) {
    const where: Prisma.DeadLetterWhereInput = {
      ...(query.topic ? { topic: query.topic } : {}),
      ...(query.status === "open"
        ? { resolvedAt: null }
        : query.status === "resolved"
          ? { resolvedAt: { not: null } }
          : {}),
      ...(query.before ? { id: { lt: BigInt(query.before) } } : {}),
    };
    const rows = await ctx.db.deadLetter.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1 });
    const items = rows.slice(0, query.limit).map(toItem);
    return { body: { items, next_before: rows.length > query.limit ? items[items.length - 1]!.id : null } };
  },
});

export const getRoute = route({
  method: "GET",
  path: "/v1/dead-letters/:id",
  auth: "admin",
  params: idParams,
  summary: "One dead letter with its whole CloudEvent",
  async handle({ params }, ctx) {
    const row = await ctx.db.deadLetter.findUnique({ where: { id: BigInt(params.id) } });
    if (!row) throw problems.notFound("No such dead letter.");
    return { body: toItem(row) };
  },
});

export const replayRoute = route({
  method: "POST",
  path: "/v1/dead-letters/:id/replay",
  auth: "admin",
  params: idParams,
  body: z.strictObject({}),
  summary: "Republish the event to its topic with its original id, and mark the dead letter resolved",
  async handle({ params }, ctx) {
    const row = await ctx.db.deadLetter.findUnique({ where: { id: BigInt(params.id) } });
    if (!row) throw problems.notFound("No such dead letter.");
    if (row.resolvedAt) throw problems.conflict("This dead letter is already resolved.");
    const envelope = row.envelope as Record<string, unknown>;
    await ctx.dapr.publishEvent(
      row.pubsub,
      row.topic,
      {
        specversion: "1.0",
        id: String(envelope.id ?? row.eventId),
        source: String(envelope.source ?? CONSUMER),
        type: String(envelope.type ?? "orbit.unknown"),
        ...(typeof envelope.subject === "string" ? { subject: envelope.subject } : {}),
        ...(typeof envelope.time === "string" ? { time: envelope.time } : {}),
        datacontenttype: "application/json",
        data: envelope.data,
      },
      { partitionKey: typeof envelope.subject === "string" ? envelope.subject : undefined },
    );
    const updated = await ctx.db.deadLetter.update({
      where: { id: row.id },
      data: { resolvedAt: ctx.now(), attempts: { increment: 1 } },
    });
    ctx.log.info("dead letter replayed", { id: params.id, topic: row.topic, event_id: row.eventId });
    return { body: toItem(updated) };
  },
});

export const resolveRoute = route({
  method: "POST",
  path: "/v1/dead-letters/:id/resolve",
  auth: "admin",
  params: idParams,
  body: z.strictObject({}),
  summary: "Dismiss a dead letter without replaying it",
  async handle({ params }, ctx) {
    const { count } = await ctx.db.deadLetter.updateMany({
      where: { id: BigInt(params.id), resolvedAt: null },
      data: { resolvedAt: ctx.now() },
    });
    if (count === 0) {
      const exists = await ctx.db.deadLetter.count({ where: { id: BigInt(params.id) } });
      throw exists
        ? problems.conflict("This dead letter is already resolved.")
        : problems.notFound("No such dead letter.");
    }
    const row = await ctx.db.deadLetter.findUniqueOrThrow({ where: { id: BigInt(params.id) } });
    return { body: toItem(row) };
  },
});

export const routes = [listRoute, getRoute, replayRoute, resolveRoute];

/** Open dead letters per topic, for the alert on dead letters (orbit_dead_letters_open). */
export async function collectMetrics(ctx: Context): Promise<void> {
  const counts = await ctx.db.deadLetter.groupBy({
    by: ["topic"],
    where: { resolvedAt: null },
    _count: { _all: true },
  });
  for (const entry of EVENT_CATALOG) {
    deadLettersOpen.set(
      { topic: entry.topic },
      counts.find((c) => c.topic === entry.topic)?._count._all ?? 0,
    );
  }
}
export const subscriptions = dlqSubscriptions;
