// Incoming CloudEvents in both content modes: structured (`application/cloudevents+json`, as Dapr
// delivers) and binary (`ce-*` headers with the data as the body, as Knative Eventing delivers).
import { z } from "zod";
import { storableString } from "#core/text.ts";

export interface IncomingCloudEvent {
  id: string;
  source: string;
  type: string;
  specversion: string;
  subject?: string;
  time?: string;
  topic?: string;
  pubsubname?: string;
  traceparent?: string;
  datacontenttype?: string;
  data: unknown;
  /** Every attribute as received (extensions included). */
  attributes: Record<string, unknown>;
}

const requiredAttributes = z.object({
  // Consumers key their inbox (and the audit log) by the id: one PostgreSQL cannot store (a NUL, a
  // lone surrogate) would fail them at every redelivery, so such an event is no CloudEvent to us.
  id: storableString().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  specversion: z.string().min(1),
});

export type CloudEventParse = { ok: true; event: IncomingCloudEvent } | { ok: false; reason: string };

function decodeData(attributes: Record<string, unknown>): unknown {
  if ("data" in attributes) return attributes.data;
  if (typeof attributes.data_base64 === "string") {
    const raw = Buffer.from(attributes.data_base64, "base64").toString("utf8");
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return null;
}

function build(attributes: Record<string, unknown>, data: unknown): CloudEventParse {
  const required = requiredAttributes.safeParse(attributes);
  if (!required.success) {
    return {
      ok: false,
      reason: `not a CloudEvent: missing or invalid ${required.error.issues.map((i) => i.path.join(".")).join(", ")}`,
    };
  }
  const str = (key: string) =>
    typeof attributes[key] === "string" ? (attributes[key] as string) : undefined;
  return {
    ok: true,
    event: {
      ...required.data,
      subject: str("subject"),
      time: str("time"),
      topic: str("topic"),
      pubsubname: str("pubsubname"),
      traceparent: str("traceparent"),
      datacontenttype: str("datacontenttype"),
      data,
      attributes,
    },
  };
}

/** Parses a delivered request into a CloudEvent, whichever content mode it came in. */
export function parseCloudEvent(
  headers: Record<string, string | string[] | undefined>,
  body: unknown,
): CloudEventParse {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  if (header("ce-id") !== undefined || header("ce-specversion") !== undefined) {
    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith("ce-") && value !== undefined)
        attributes[name.slice(3)] = Array.isArray(value) ? value[0] : value;
    }
    attributes.datacontenttype = header("content-type");
    return build(attributes, body);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return {
      ok: false,
      reason: "not a CloudEvent: the body is not a JSON object and no ce-* headers were sent",
    };
  }
  const attributes = body as Record<string, unknown>;
  return build(attributes, decodeData(attributes));
}
