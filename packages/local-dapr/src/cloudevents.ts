// The CloudEvent envelope daprd wraps a published message in, field for field:
// components-contrib pubsub/envelope.go (`NewCloudEventsEnvelope`, `FromCloudEvent`,
// `FromRawPayload`, `ApplyMetadata`) and dapr pkg/runtime/pubsub/cloudevents.go (`NewCloudEvent`:
// the `metadata.cloudevent.*` overrides).
import { randomBytes, randomUUID } from "node:crypto";
import { formatRfc3339Seconds } from "./durations.ts";

export const DEFAULT_EVENT_TYPE = "com.dapr.event.sent";
export const DEFAULT_SOURCE = "Dapr";
export const DEFAULT_DATA_CONTENT_TYPE = "text/plain";

function mediaType(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}

export function isCloudEventContentType(contentType: string): boolean {
  return mediaType(contentType) === "application/cloudevents+json";
}

/** components-contrib contenttype.IsJSONContentType: application/json or any `+json` type. */
export function isJsonContentType(contentType: string): boolean {
  const type = mediaType(contentType);
  return type === "application/json" || type.endsWith("+json");
}

export function isBinaryContentType(contentType: string): boolean {
  return mediaType(contentType).startsWith("application/octet-stream");
}

// ── W3C trace context ──

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

export function parseTraceparent(value: unknown): TraceContext | null {
  if (typeof value !== "string") return null;
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value.trim());
  if (!match || match[1] === "ff" || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return null;
  return { traceId: match[2]!, spanId: match[3]!, flags: match[4]! };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

/** A new span: a child of `parent` (same trace id, new span id) or the root of a new trace. */
export function childSpan(parent: unknown): string {
  const context = parseTraceparent(parent);
  return formatTraceparent({
    traceId: context?.traceId ?? randomBytes(16).toString("hex"),
    spanId: randomBytes(8).toString("hex"),
    flags: context?.flags ?? "01",
  });
}

// ── Envelope ──

export interface EnvelopeInput {
  body: Buffer;
  /** The publish request's Content-Type ("" when absent). */
  contentType: string;
  appId: string;
  pubsub: string;
  topic: string;
  /** The publish span (a child of the request's traceparent). */
  traceparent: string;
  tracestate: string;
  /** `metadata.*` of the publish request, keys without the `metadata.` prefix. */
  metadata: Record<string, string>;
  now: Date;
}

/** A publish that cannot become a CloudEvent; status and error code as daprd answers. */
export class EnvelopeError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 500,
    readonly errorCode: string,
  ) {
    super(message);
  }
}

/** `metadata.cloudevent.*` overrides; mapstructure matches keys case-insensitively. */
function override(metadata: Record<string, string>, field: string): string | undefined {
  const wanted = `cloudevent.${field}`;
  for (const [key, value] of Object.entries(metadata))
    if (key.toLowerCase() === wanted && value) return value;
  return undefined;
}

/** Parses `metadata.ttlInSeconds`; null when absent. */
export function ttlSeconds(metadata: Record<string, string>): number | null {
  const raw = metadata.ttlInSeconds;
  if (raw === undefined) return null;
  if (!/^\d+$/.test(raw.trim())) {
    throw new EnvelopeError(
      `metadata.ttlInSeconds must be a whole number of seconds, got "${raw}"`,
      400,
      "ERR_PUBSUB_REQUEST_METADATA",
    );
  }
  return Number(raw);
}

/**
 * Serialises the envelope for one published message. JSON data is spliced in as the publisher
 * sent it (Go keeps number precision with `UseNumber`; JSON.parse would not).
 */
export function buildEnvelope(input: EnvelopeInput): Buffer {
  const ttl = ttlSeconds(input.metadata);
  const expiration =
    ttl === null ? undefined : formatRfc3339Seconds(new Date(input.now.getTime() + ttl * 1000));
  const time = formatRfc3339Seconds(input.now);

  if (isCloudEventContentType(input.contentType)) {
    let event: unknown;
    try {
      event = JSON.parse(input.body.toString("utf8"));
    } catch (error) {
      throw new EnvelopeError(
        `cannot create cloudevent: ${(error as Error).message}`,
        500,
        "ERR_PUBSUB_CLOUD_EVENTS_SER",
      );
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      throw new EnvelopeError(
        "the application/cloudevents+json body must be a JSON object",
        400,
        "ERR_PUBSUB_EVENTS_SER",
      );
    }
    const ce = event as Record<string, unknown>;
    if (typeof ce.id !== "string" || ce.id === "") {
      throw new EnvelopeError(
        'the CloudEvent has no "id" (a non-empty string is required)',
        400,
        "ERR_PUBSUB_EVENTS_SER",
      );
    }
    for (const field of ["source", "type", "specversion"]) {
      if (field in ce && (typeof ce[field] !== "string" || ce[field] === "")) {
        throw new EnvelopeError(
          `the CloudEvent's "${field}" must be a non-empty string`,
          400,
          "ERR_PUBSUB_EVENTS_SER",
        );
      }
    }
    if (!("time" in ce)) ce.time = time;
    // FromCloudEvent: the event's own trace fields win. Only an event without `traceid` gets the
    // publish span as traceid and traceparent (a `traceparent` of its own is then replaced), and
    // only one without `tracestate` gets the request's.
    if (!("traceid" in ce)) {
      ce.traceid = input.traceparent;
      ce.traceparent = input.traceparent;
    }
    if (!("tracestate" in ce)) ce.tracestate = input.tracestate;
    ce.topic = input.topic;
    ce.pubsubname = input.pubsub;
    ce.source ??= DEFAULT_SOURCE;
    ce.type ??= DEFAULT_EVENT_TYPE;
    ce.specversion ??= "1.0";
    if (expiration) ce.expiration = expiration;
    return Buffer.from(JSON.stringify(ce));
  }

  const traceOverride = override(input.metadata, "traceparent") ?? override(input.metadata, "traceid");
  const traceparent = traceOverride ?? input.traceparent;
  const contentType = input.contentType || DEFAULT_DATA_CONTENT_TYPE;
  const attributes: Record<string, unknown> = {
    id: override(input.metadata, "id") ?? randomUUID(),
    specversion: "1.0",
    datacontenttype: contentType,
    source: override(input.metadata, "source") ?? input.appId,
    type: override(input.metadata, "type") ?? DEFAULT_EVENT_TYPE,
    topic: input.topic,
    pubsubname: input.pubsub,
    traceid: traceparent,
    traceparent,
    tracestate: override(input.metadata, "tracestate") ?? input.tracestate,
    time,
  };
  const subject = override(input.metadata, "subject");
  if (subject) attributes.subject = subject;
  if (expiration) attributes.expiration = expiration;

  const head = JSON.stringify(attributes).slice(0, -1);
  if (isJsonContentType(contentType)) {
    const text = input.body.toString("utf8");
    try {
      JSON.parse(text);
      return Buffer.from(`${head},"data":${text.trim()}}`);
    } catch {
      // Not JSON after all: Dapr falls back to the text as a string.
      return Buffer.from(`${head},"data":${JSON.stringify(text)}}`);
    }
  }
  if (isBinaryContentType(contentType)) {
    return Buffer.from(`${head},"data_base64":${JSON.stringify(input.body.toString("base64"))}}`);
  }
  return Buffer.from(`${head},"data":${JSON.stringify(input.body.toString("utf8"))}}`);
}

/** The synthetic CloudEvent a `rawPayload` subscriber receives (components-contrib `FromRawPayload`). */
export function fromRawPayload(body: Buffer, topic: string, pubsub: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    specversion: "1.0",
    datacontenttype: "application/octet-stream",
    source: DEFAULT_SOURCE,
    type: DEFAULT_EVENT_TYPE,
    topic,
    pubsubname: pubsub,
    data_base64: body.toString("base64"),
  };
}

/** components-contrib `HasExpired`: an unparseable expiration never expires. */
export function hasExpired(event: Record<string, unknown>, now: Date): boolean {
  const value = event.expiration;
  if (typeof value !== "string" || value === "") return false;
  const at = new Date(value);
  return !Number.isNaN(at.getTime()) && at.getTime() < now.getTime();
}
