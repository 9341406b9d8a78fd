// What the process-level suites publish and read back on the broker, on either runtime: task
// events published through a sidecar's bulk publish API (as any Dapr app could), and the
// messages a topic holds: the local sidecar's dapr_local store, or the Kafka topic itself.
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { TaskDto } from "#core/tasks.ts";
import { readTopic } from "#local-dapr/inspect.ts";
import { taskEventMessages } from "#tasks/commands.ts";
import type { DaprBacking } from "./runtime.ts";

export function syntheticTask(userId: string, title: string): TaskDto {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    user_id: userId,
    title,
    description: "",
    status: "pending",
    priority: "none",
    due_at: null,
    time_zone: "UTC",
    tags: [],
    list_id: randomUUID(),
    parent_id: null,
    subtasks: { done: 0, total: 0 },
    reminders: [],
    recurrence: null,
    series_id: null,
    occurrence_index: null,
    completed_at: null,
    created_at: now,
    updated_at: now,
    version: 1,
  };
}

export interface PublishableEvent {
  id: string;
  type: string;
  /** The task id: the partition key, as the outbox relay publishes it. */
  subject: string;
  data: unknown;
}

/** `orbit.task.created` events of `n` new tasks of `userId`, as create-task would publish them. */
export function createdEvents(userId: string, n: number, title: string): PublishableEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const task = syntheticTask(userId, `${title} ${i}`);
    const [message] = taskEventMessages("created", task, {
      actor: { type: "system", id: "test" },
      now: new Date(),
    });
    return { id: randomUUID(), type: message!.type, subject: task.id, data: message!.data };
  });
}

/** Publishes CloudEvents through a sidecar's bulk publish API, `batch` per request; throws unless 204. */
export async function bulkPublish(
  daprUrl: string,
  topic: string,
  events: PublishableEvent[],
  batch = 250,
): Promise<void> {
  for (let i = 0; i < events.length; i += batch) {
    const res = await fetch(`${daprUrl}/v1.0-alpha1/publish/bulk/pubsub/${topic}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        events.slice(i, i + batch).map((e) => ({
          entryId: e.id,
          contentType: "application/cloudevents+json",
          event: {
            specversion: "1.0",
            source: "test",
            datacontenttype: "application/json",
            id: e.id,
            type: e.type,
            subject: e.subject,
            data: e.data,
          },
          metadata: { partitionKey: e.subject },
        })),
      ),
    });
    if (res.status !== 204) throw new Error(`bulk publish: ${res.status} ${await res.text()}`);
  }
}

export interface TopicMessage {
  /** The CloudEvent's id (undefined for a raw payload). */
  id: string | undefined;
  key: string | null;
  publishedAt: Date;
  /** The stored bytes as text (the CloudEvent envelope, or the raw payload). */
  body: string;
}

/** Every message `topic` holds now, oldest first, on the runtime under test. */
export async function topicMessages(
  runtime: { backing: DaprBacking | null; databaseUrl: string },
  topic: string,
): Promise<TopicMessage[]> {
  if (runtime.backing) {
    return (await runtime.backing.kafka.read(topic)).map((record) => ({
      id: cloudEventId(record.value),
      key: record.key,
      publishedAt: new Date(record.timestamp),
      body: record.value,
    }));
  }
  const pool = new pg.Pool({ connectionString: runtime.databaseUrl, max: 1 });
  try {
    return (await readTopic(pool, "pubsub", topic)).map((message) => ({
      id: message.event?.id as string | undefined,
      key: message.partitionKey,
      publishedAt: message.publishedAt,
      body: message.body.toString("utf8"),
    }));
  } finally {
    await pool.end();
  }
}

function cloudEventId(value: string): string | undefined {
  try {
    const parsed = JSON.parse(value) as { id?: unknown };
    return typeof parsed.id === "string" ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}

export interface SentMail {
  to: string[];
  subject: string;
  /** The message body (HTML as the binding was given it, or as the relay received it). */
  body: string;
  sentAt: Date;
}

/**
 * Mail sent through the `bindings.smtp` output binding to `to`, oldest first: what the local
 * sidecar recorded in dapr_local.sent_mail, or what daprd's binding delivered over SMTP.
 */
export async function sentMail(
  runtime: { backing: DaprBacking | null; databaseUrl: string },
  to: string,
): Promise<SentMail[]> {
  if (runtime.backing) {
    return runtime.backing.smtp.received
      .filter((mail) => mail.to.includes(to))
      .map((mail) => ({ to: mail.to, subject: mail.subject, body: mail.html || mail.text, sentAt: mail.at }));
  }
  const pool = new pg.Pool({ connectionString: runtime.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ email_to: string; subject: string; body: string; sent_at: Date }>(
      "SELECT email_to, subject, body, sent_at FROM dapr_local.sent_mail WHERE email_to = $1 ORDER BY id",
      [to],
    );
    return rows.map((r) => ({
      to: r.email_to.split(","),
      subject: r.subject,
      body: r.body,
      sentAt: r.sent_at,
    }));
  } finally {
    await pool.end();
  }
}

/**
 * Messages not yet acknowledged by any of `appIds` (their consumer groups): the local sidecar's
 * pending deliveries (of `key` only, when given), or the Kafka groups' lag (every key: Kafka
 * commits offsets per partition, not per key).
 */
export async function undelivered(
  runtime: { backing: DaprBacking | null; databaseUrl: string },
  appIds: string[],
  key?: string,
): Promise<number> {
  if (runtime.backing) {
    const groups = await runtime.backing.kafka.groups();
    return appIds
      .flatMap((appId) => Object.values(groups[appId] ?? {}))
      .reduce((sum, topic) => sum + topic.lag, 0);
  }
  const pool = new pg.Pool({ connectionString: runtime.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM dapr_local.deliveries
       WHERE app_id = ANY($1) AND ($2::text IS NULL OR partition_key = $2)`,
      [appIds, key ?? null],
    );
    return rows[0]!.n;
  } finally {
    await pool.end();
  }
}
