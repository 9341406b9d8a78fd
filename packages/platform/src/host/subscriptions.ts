// Pub/sub: GET /dapr/subscribe (Dapr's programmatic subscriptions) and one delivery route per
// subscription. A delivery is parsed as a CloudEvent and its data checked against the topic's
// schema (what fails either is DROPped, never redelivered), then handled: the handler's status, or
// RETRY when it throws. Dapr reads the status from a 200 body, Knative Eventing from the code.
import type { Express, Request, Response } from "express";
import { parseCloudEvent } from "../cloudevents.ts";
import type { BaseEnv } from "../env.ts";
import type { ConsumerStatus, Context, SubscriptionDef } from "../host.ts";
import type { Logger } from "../logger.ts";
import { eventHandlerDuration, eventsConsumed } from "../metrics.ts";
import type { RequireSender } from "./senders.ts";

export function registerSubscriptions<E extends BaseEnv>(
  app: Express,
  subs: SubscriptionDef<unknown, E>[],
  ctx: Context<E>,
  requireSender: RequireSender,
): void {
  app.get("/dapr/subscribe", requireSender, (_req, res) => {
    res.json(
      subs.map((s) => ({
        pubsubname: s.pubsub ?? ctx.env.PUBSUB_NAME,
        topic: s.topic,
        routes: s.types?.length
          ? { rules: s.types.map((type) => ({ match: `event.type == "${type}"`, path: s.path })) }
          : { default: s.path },
        ...(s.deadLetterTopic ? { deadLetterTopic: s.deadLetterTopic } : {}),
      })),
    );
  });
  for (const s of subs) {
    app.post(s.path, requireSender, async (req: Request, res: Response) => {
      // Dapr sends a `pubsubname` header and reads SUCCESS/RETRY/DROP from a 200 body; Knative
      // Eventing reads status codes (2xx done, 5xx retried, other 4xx to the dead-letter sink).
      const fromDapr = req.headers.pubsubname !== undefined;
      const handlerStarted = process.hrtime.bigint();
      const reply = (status: ConsumerStatus) => {
        eventsConsumed.inc({ topic: s.topic, status });
        eventHandlerDuration.observe(
          { topic: s.topic },
          Number(process.hrtime.bigint() - handlerStarted) / 1e9,
        );
        if (fromDapr) res.status(200).json({ status });
        else res.status(status === "SUCCESS" ? 204 : status === "RETRY" ? 503 : 422).end();
      };
      const parsed = parseCloudEvent(req.headers, req.body);
      const evLog = (res.locals.log as Logger).child({
        topic: s.topic,
        event_id: parsed.ok ? parsed.event.id : undefined,
      });
      if (!parsed.ok) {
        evLog.warn("dropping delivery that is not a CloudEvent", { reason: parsed.reason });
        return reply("DROP");
      }
      const data = s.data.safeParse(parsed.event.data);
      if (!data.success) {
        evLog.warn("dropping event whose data does not match the topic's schema", {
          type: parsed.event.type,
          issues: data.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`),
        });
        return reply("DROP");
      }
      try {
        const status =
          (await s.handle(
            {
              ...parsed.event,
              data: data.data,
              deliveryTraceparent: req.headers.traceparent as string | undefined,
            },
            { ...ctx, log: evLog },
          )) ?? "SUCCESS";
        if (status !== "SUCCESS") evLog.warn("event not processed", { status });
        reply(status);
      } catch (error) {
        // Never ack a failed message: a thrown error is a RETRY (the JS SDK's SUCCESS default loses it).
        evLog.error("event handler failed; asking for redelivery", { err: error });
        reply("RETRY");
      }
    });
  }
}
