// The publish endpoints (https://docs.dapr.io/reference/api/pubsub_api/):
// POST /v1.0/publish/{pubsub}/{topic} and bulk publish (/v1.0-alpha1/publish/bulk/…, stable
// /v1.0/publish/bulk/… since Dapr 1.17), with daprd's validation order and error codes
// (dapr pkg/api/http/http.go `onPublish`, pkg/api/errors/pubsub.go).
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "#platform/logger.ts";
import type { OutgoingMessage, Publisher } from "./broker.ts";
import {
  buildEnvelope,
  childSpan,
  EnvelopeError,
  isCloudEventContentType,
  isJsonContentType,
} from "./cloudevents.ts";
import {
  ApiError,
  queryMetadata,
  readBody,
  sendEmpty,
  sendJson,
  type RouteContext,
  type Router,
} from "./http-util.ts";
import { backoffMs, type Resiliency } from "./resiliency.ts";
import { parseBool, type ComponentResource } from "./resources.ts";

export interface PublishRequest {
  pubsub: string;
  topic: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `metadata.*` query parameters. */
  metadata: Record<string, string>;
}

export interface BulkEntry {
  entryId: string;
  event: unknown;
  contentType: string;
  metadata: Record<string, string>;
}

export class PublishApi {
  constructor(
    private readonly appId: string,
    private readonly pubsubs: Map<string, ComponentResource>,
    private readonly publisher: Publisher,
    private readonly resiliency: Resiliency,
    private readonly log: Logger,
  ) {}

  /**
   * daprd's `validateAndGetPubsubAndTopic`. Its "not configured" answer (400) is only for a
   * runtime without a pub/sub adapter, which daprd always has: with no pub/sub component at all, a
   * publish is 404 ERR_PUBSUB_NOT_FOUND like any unknown name.
   */
  private checkTarget(pubsub: string, topic: string): void {
    if (!pubsub) throw new ApiError(404, "ERR_PUBSUB_EMPTY", "pubsub name is empty", true);
    if (!this.pubsubs.has(pubsub))
      throw new ApiError(404, "ERR_PUBSUB_NOT_FOUND", `pubsub ${pubsub} is not found`, true);
    if (!topic) throw new ApiError(404, "ERR_TOPIC_EMPTY", `topic is empty in pubsub ${pubsub}`, true);
  }

  private rawPayload(pubsub: string, metadata: Record<string, string>): boolean {
    if (metadata.rawPayload === undefined) return false;
    const raw = parseBool(metadata.rawPayload);
    if (raw === null) {
      throw new ApiError(
        400,
        "ERR_PUBSUB_REQUEST_METADATA",
        `failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is '${metadata.rawPayload}'`,
        true,
      );
    }
    return raw;
  }

  private message(
    pubsub: string,
    topic: string,
    body: Buffer,
    contentType: string,
    metadata: Record<string, string>,
    trace: { traceparent: string; tracestate: string },
  ): OutgoingMessage {
    const partitionKey = metadata.partitionKey ?? metadata.__key ?? null;
    if (this.rawPayload(pubsub, metadata)) {
      return { pubsub, topic, partitionKey, contentType: contentType || "application/octet-stream", body };
    }
    try {
      const envelope = buildEnvelope({
        body,
        contentType,
        appId: this.appId,
        pubsub,
        topic,
        ...trace,
        metadata,
        now: new Date(),
      });
      return { pubsub, topic, partitionKey, contentType: "application/cloudevents+json", body: envelope };
    } catch (error) {
      if (error instanceof EnvelopeError)
        throw new ApiError(error.status, error.errorCode, error.message, true);
      throw error;
    }
  }

  /**
   * Stores the messages, through the component's outbound circuit breaker and retry policy (dapr
   * pkg/runtime/pubsub/publisher ComponentOutboundPolicy): a refusal by an open breaker is
   * permanent, so it ends the retries and the publisher gets the 500 at once.
   */
  private async store(pubsub: string, topic: string, messages: OutgoingMessage[]): Promise<void> {
    const { retry, breaker } = this.resiliency.pubsubOutbound(pubsub);
    const deadline = Date.now() + 30_000;
    const fail = (error: unknown) => {
      this.log.error("publish failed", { pubsub, topic, err: error });
      return new ApiError(
        500,
        "ERR_PUBSUB_PUBLISH_MESSAGE",
        `error when publishing to topic ${topic} in pubsub ${pubsub}: ${(error as Error).message}`,
        true,
      );
    };
    for (let attempt = 0; ; attempt++) {
      const permit = breaker?.beforeRequest();
      if (permit && "refused" in permit) throw fail(new Error(`${breaker!.name}: ${permit.refused}`));
      try {
        await this.publisher.publish(messages);
        if (permit) breaker!.afterRequest(permit, true);
        return;
      } catch (error) {
        if (permit) breaker!.afterRequest(permit, false);
        const canRetry =
          retry !== null && (retry.maxRetries === -1 || attempt < retry.maxRetries) && Date.now() < deadline;
        if (!canRetry) throw fail(error);
        await new Promise((resolve) => setTimeout(resolve, backoffMs(retry, attempt)));
      }
    }
  }

  private trace(headers: IncomingHttpHeaders): { traceparent: string; tracestate: string } {
    return {
      traceparent: childSpan(headers.traceparent),
      tracestate: typeof headers.tracestate === "string" ? headers.tracestate : "",
    };
  }

  async publish(request: PublishRequest): Promise<void> {
    this.checkTarget(request.pubsub, request.topic);
    const contentType = request.headers["content-type"] ?? "";
    const message = this.message(
      request.pubsub,
      request.topic,
      request.body,
      contentType,
      request.metadata,
      this.trace(request.headers),
    );
    await this.store(request.pubsub, request.topic, [message]);
  }

  /** Bulk publish: 204 when every entry is stored, else 500 with `failedEntries`. */
  async publishBulk(
    request: PublishRequest,
  ): Promise<{ failedEntries: { entryId: string; error: string }[] } | null> {
    this.checkTarget(request.pubsub, request.topic);
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.body.toString("utf8"));
    } catch (error) {
      throw new ApiError(
        400,
        "ERR_PUBSUB_EVENTS_SER",
        `error when unmarshaling the request for topic ${request.topic} pubsub ${request.pubsub}: ${(error as Error).message}`,
        true,
      );
    }
    if (!Array.isArray(parsed)) {
      throw new ApiError(
        400,
        "ERR_PUBSUB_EVENTS_SER",
        "the bulk publish body must be a JSON array of entries",
        true,
      );
    }
    const seen = new Set<string>();
    const entries: BulkEntry[] = parsed.map((raw, index) => {
      const where = `entry [${index}]`;
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new ApiError(400, "ERR_PUBSUB_EVENTS_SER", `${where} must be an object`, true);
      }
      const entry = raw as Record<string, unknown>;
      if (typeof entry.entryId !== "string" || !entry.entryId) {
        throw new ApiError(400, "ERR_PUBSUB_EVENTS_SER", `${where}: entryId is required`, true);
      }
      if (seen.has(entry.entryId)) {
        throw new ApiError(
          400,
          "ERR_PUBSUB_EVENTS_SER",
          `${where}: entryId "${entry.entryId}" is not unique`,
          true,
        );
      }
      seen.add(entry.entryId);
      if (entry.event === undefined) {
        throw new ApiError(400, "ERR_PUBSUB_EVENTS_SER", `${where}: event is required`, true);
      }
      if (typeof entry.contentType !== "string" || !entry.contentType) {
        throw new ApiError(400, "ERR_PUBSUB_EVENTS_SER", `${where}: contentType is required`, true);
      }
      const metadata: Record<string, string> = {};
      if (entry.metadata !== null && typeof entry.metadata === "object") {
        for (const [k, v] of Object.entries(entry.metadata)) metadata[k] = String(v);
      }
      return { entryId: entry.entryId, event: entry.event, contentType: entry.contentType, metadata };
    });
    const trace = this.trace(request.headers);
    const messages = entries.map((entry) => {
      const jsonish = isJsonContentType(entry.contentType) || isCloudEventContentType(entry.contentType);
      const text = typeof entry.event === "string" && !jsonish ? entry.event : JSON.stringify(entry.event);
      return this.message(
        request.pubsub,
        request.topic,
        Buffer.from(text),
        entry.contentType,
        { ...request.metadata, ...entry.metadata },
        trace,
      );
    });
    try {
      await this.store(request.pubsub, request.topic, messages);
      return null;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return { failedEntries: entries.map((e) => ({ entryId: e.entryId, error: detail })) };
    }
  }
}

/** The publish endpoints: single messages (POST or PUT) and bulk, on its alpha and stable paths. */
export function registerPublishRoutes(router: Router, api: PublishApi): void {
  const publishRoute = async ({ req, res, url, params }: RouteContext) => {
    await api.publish({
      pubsub: params.pubsub!,
      topic: params.topic!,
      headers: req.headers,
      body: await readBody(req),
      metadata: queryMetadata(url),
    });
    sendEmpty(res);
  };
  const bulkRoute = async ({ req, res, url, params }: RouteContext) => {
    const failed = await api.publishBulk({
      pubsub: params.pubsub!,
      topic: params.topic!,
      headers: req.headers,
      body: await readBody(req),
      metadata: queryMetadata(url),
    });
    if (!failed) sendEmpty(res);
    else sendJson(res, 500, { ...failed, errorCode: "ERR_PUBSUB_PUBLISH_MESSAGE" });
  };
  router.on("POST", "/v1.0-alpha1/publish/bulk/:pubsub/*topic", bulkRoute);
  router.on("POST", "/v1.0/publish/bulk/:pubsub/*topic", bulkRoute);
  // After the bulk routes: "bulk" is not a pubsub name on the stable path.
  router.on(["POST", "PUT"], "/v1.0/publish/:pubsub/*topic", publishRoute);
}
