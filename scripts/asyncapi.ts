// Generates docs/asyncapi.json (AsyncAPI 3.0) from the event catalog and the functions' real
// subscriptions: a channel per topic and per dead-letter topic, a send operation per producing
// app, a receive operation per consuming app, and a message per CloudEvent type whose payload is
// the topic's zod schema as JSON Schema. `npx tsx scripts/asyncapi.ts` rewrites it;
// tests/docs/api-docs.int.test.ts fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { deadLetterTopic, EVENT_CATALOG, type TopicEntry } from "#core/event-catalog.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { API_VERSION, SchemaCollector } from "#platform/openapi.ts";
import { loadFunctionApis, type FunctionApi } from "./api-functions.ts";
import { toJson } from "./openapi.ts";

export const ASYNCAPI_DOC = path.join(REPO_ROOT, "docs/asyncapi.json");

/** The CloudEvent attributes a consumer receives (structured mode; Dapr adds topic, pubsubname, traceparent). */
const cloudEventHeadersSchema = z.object({
  specversion: z.literal("1.0"),
  id: z.string().describe("The event's id, the same on every delivery: consumers deduplicate on it."),
  source: z.string().describe("The publishing app-id, e.g. create-task."),
  type: z.string().describe("One per kind of event."),
  subject: z.string().optional().describe("The task id."),
  time: z.string().describe("When the change committed (RFC 3339)."),
  datacontenttype: z.literal("application/json"),
  topic: z.string().describe("Added by Dapr."),
  pubsubname: z.string().describe("Added by Dapr: the pub/sub component, `pubsub`."),
  traceparent: z.string().optional().describe("W3C trace context, added by Dapr."),
});

/** "task-events" → "TaskEvents". */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

const channelRef = (channel: string) => ({ $ref: `#/channels/${channel}` });
const messageRefs = (channel: string, entry: TopicEntry) =>
  entry.types.map((type) => ({ $ref: `#/channels/${channel}/messages/${type}` }));

export function buildAsyncApiDocument(functions: FunctionApi[]) {
  const schemas = new SchemaCollector();
  schemas.schemas.CloudEventHeaders = schemas.convert(cloudEventHeadersSchema, "output");
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const entry of EVENT_CATALOG) {
    const payloadName = `${pascal(entry.topic)}Payload`;
    schemas.schemas[payloadName] = schemas.convert(entry.schema, "output");
    for (const type of entry.types)
      messages[type] = {
        name: type,
        title: type,
        summary: `CloudEvent \`${type}\` on \`${entry.topic}\`.`,
        contentType: "application/json",
        headers: {
          allOf: [
            { $ref: "#/components/schemas/CloudEventHeaders" },
            { type: "object", properties: { type: { const: type } } },
          ],
        },
        payload: { $ref: `#/components/schemas/${payloadName}` },
        examples: entry.types[0] === type ? [{ name: "example", payload: entry.example }] : [],
      };
    const channelMessages = Object.fromEntries(
      entry.types.map((type) => [type, { $ref: `#/components/messages/${type}` }]),
    );
    channels[entry.topic] = {
      address: entry.topic,
      title: entry.topic,
      description: `${entry.summary}\n\nPartition key: ${entry.partitionKey}.`,
      messages: channelMessages,
    };
    for (const app of entry.producers)
      operations[`${app}.send.${entry.topic}`] = {
        action: "send",
        channel: channelRef(entry.topic),
        summary: `${app} publishes to ${entry.topic} (through its transactional outbox).`,
        messages: messageRefs(entry.topic, entry),
      };
    for (const app of entry.consumers)
      operations[`${app}.receive.${entry.topic}`] = {
        action: "receive",
        channel: channelRef(entry.topic),
        summary: `${app} consumes ${entry.topic}.`,
        messages: messageRefs(entry.topic, entry),
      };

    // The dead-letter topic carries the same messages: whatever a consumer could not process.
    const dlq = deadLetterTopic(entry.topic);
    channels[dlq] = {
      address: dlq,
      title: dlq,
      description: `Dead letters of \`${entry.topic}\`: messages a consumer rejected (DROP) or kept failing after its retries.`,
      messages: channelMessages,
    };
    for (const fn of functions) {
      const subscriptions = fn.subscriptions;
      if (subscriptions.some((s) => s.topic === entry.topic && s.deadLetterTopic === dlq))
        operations[`${fn.name}.send.${dlq}`] = {
          action: "send",
          channel: channelRef(dlq),
          summary: `${fn.name}'s sidecar moves ${entry.topic} messages it could not deliver here.`,
          messages: messageRefs(dlq, entry),
        };
      if (subscriptions.some((s) => s.topic === dlq))
        operations[`${fn.name}.receive.${dlq}`] = {
          action: "receive",
          channel: channelRef(dlq),
          summary: `${fn.name} stores ${dlq} messages for inspection and replay.`,
          messages: messageRefs(dlq, entry),
        };
    }
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "Orbit events",
      version: API_VERSION,
      description:
        "CloudEvents 1.0 published through Dapr pub/sub (component `pubsub`: Kafka in production). " +
        "Delivery is at least once; events with the same partition key arrive in order. See docs/events.md.",
    },
    defaultContentType: "application/json",
    channels,
    operations,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.schemas).sort(([a], [b]) => a.localeCompare(b))),
      messages,
    },
  };
}

export async function renderAsyncApiDoc(): Promise<string> {
  return toJson(buildAsyncApiDocument(await loadFunctionApis()));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(ASYNCAPI_DOC, await renderAsyncApiDoc());
  console.log(`wrote ${path.relative(REPO_ROOT, ASYNCAPI_DOC)}`);
}
