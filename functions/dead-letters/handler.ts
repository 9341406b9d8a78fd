// The dead-letter store's function: consumes every catalogued topic's dead-letter topic and serves
// the operator routes to inspect, replay or dismiss what no consumer could process. The store
// itself is packages/platform/src/dead-letters.ts.
import { z } from "zod";
import { deadLetterTopic, EVENT_CATALOG } from "#core/event-catalog.ts";
import * as store from "#platform/dead-letters.ts";
import { route, subscription, type Context } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";

const CONSUMER = "dead-letters";
const TOPICS = EVENT_CATALOG.map((entry) => entry.topic);

export const subscriptions = TOPICS.map((topic) =>
  subscription({
    topic: deadLetterTopic(topic),
    path: `/events/dead-letters/${topic}`,
    // Anything at all may land here, valid or not: that is the point of a dead-letter topic.
    data: z.unknown(),
    async handle(event, ctx) {
      const pubsub = event.pubsubname ?? ctx.env.PUBSUB_NAME;
      const delivery = { pubsub, topic, eventId: event.id, attributes: event.attributes, data: event.data };
      const stored = await store.keepDeadLetter(ctx.db, delivery, ctx.log);
      const message = stored ? "dead letter stored" : "dead letter already open; redelivery ignored";
      ctx.log.warn(message, { topic, type: event.type });
      return "SUCCESS";
    },
  }),
);

const deadLetterId = z.string().regex(/^\d{1,18}$/, "must be a dead letter id");
const idParams = z.object({ id: deadLetterId });

const listQuery = z.strictObject({
  topic: z.enum(TOPICS).optional(),
  status: z.enum(["open", "resolved", "all"]).default("open"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Id of the last item of the previous page. */
  before: deadLetterId.optional(),
});

/** The item as the reply, or the refusal as its problem. */
function reply(outcome: store.DeadLetterItem | store.DeadLetterRefusal | null) {
  if (outcome === null || outcome === "not-found") throw problems.notFound("No such dead letter.");
  if (outcome === "already-resolved") throw problems.conflict("This dead letter is already resolved.");
  return { body: outcome };
}

export const listRoute = route({
  method: "GET",
  path: "/v1/dead-letters",
  auth: "admin",
  query: listQuery,
  summary: "Dead letters, newest first (operators only)",
  handle: async ({ query }, ctx) => ({ body: await store.listDeadLetters(ctx.db, query) }),
});

export const getRoute = route({
  method: "GET",
  path: "/v1/dead-letters/:id",
  auth: "admin",
  params: idParams,
  summary: "One dead letter with its whole CloudEvent",
  handle: async ({ params }, ctx) => reply(await store.findDeadLetter(ctx.db, params.id)),
});

export const replayRoute = route({
  method: "POST",
  path: "/v1/dead-letters/:id/replay",
  auth: "admin",
  params: idParams,
  body: z.strictObject({}),
  summary: "Republish the event to its topic with its original id, and mark the dead letter resolved",
  async handle({ params }, ctx) {
    const opts = { now: () => ctx.now(), source: CONSUMER };
    const answer = reply(await store.replayDeadLetter(ctx.db, ctx.dapr, params.id, opts));
    const { topic, event_id } = answer.body;
    ctx.log.info("dead letter replayed", { id: params.id, topic, event_id });
    return answer;
  },
});

export const resolveRoute = route({
  method: "POST",
  path: "/v1/dead-letters/:id/resolve",
  auth: "admin",
  params: idParams,
  body: z.strictObject({}),
  summary: "Dismiss a dead letter without replaying it",
  handle: async ({ params }, ctx) => reply(await store.resolveDeadLetter(ctx.db, params.id, ctx.now())),
});

export const routes = [listRoute, getRoute, replayRoute, resolveRoute];

/** Open dead letters per topic, for the alert on dead letters (orbit_dead_letters_open). */
export async function collectMetrics(ctx: Context): Promise<void> {
  await store.measureOpenDeadLetters(ctx.db, TOPICS);
}
