// Read-only helpers over the local broker's tables, for tests and for developers looking at what
// happened: the messages of a topic (a dead-letter topic too), every dead-lettered message, the
// mail bindings.smtp "sent", and what is still waiting to be delivered.
import type pg from "pg";

export type Queryable = Pick<pg.Pool, "query">;

export interface StoredMessage {
  id: string;
  pubsub: string;
  topic: string;
  partitionKey: string | null;
  contentType: string;
  /** The stored bytes parsed as JSON (the CloudEvent envelope), or null for a raw non-JSON payload. */
  event: Record<string, unknown> | null;
  body: Buffer;
  publisherAppId: string;
  publishedAt: Date;
  /** Set on dead-lettered copies: app_id, topic, reason, attempts, message_id, dead_lettered_at. */
  deadLetterOf: Record<string, unknown> | null;
}

interface MessageRow {
  id: string;
  pubsub: string;
  topic: string;
  partition_key: string | null;
  content_type: string;
  body: Buffer;
  publisher_app_id: string;
  published_at: Date;
  dead_letter_of: Record<string, unknown> | null;
}

function toMessage(row: MessageRow): StoredMessage {
  let event: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(row.body.toString("utf8"));
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      event = parsed as Record<string, unknown>;
  } catch {
    event = null;
  }
  return {
    id: row.id,
    pubsub: row.pubsub,
    topic: row.topic,
    partitionKey: row.partition_key,
    contentType: row.content_type,
    event,
    body: row.body,
    publisherAppId: row.publisher_app_id,
    publishedAt: row.published_at,
    deadLetterOf: row.dead_letter_of,
  };
}

/** Every stored message of a topic, oldest first. */
export async function readTopic(db: Queryable, pubsub: string, topic: string): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    "SELECT * FROM dapr_local.messages WHERE pubsub = $1 AND topic = $2 ORDER BY id",
    [pubsub, topic],
  );
  return rows.map(toMessage);
}

/** Dead-lettered messages, oldest first; optionally only those one app-id gave up on. */
export async function listDeadLetters(
  db: Queryable,
  filter: { appId?: string } = {},
): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT * FROM dapr_local.messages
     WHERE dead_letter_of IS NOT NULL AND ($1::text IS NULL OR dead_letter_of->>'app_id' = $1)
     ORDER BY id`,
    [filter.appId ?? null],
  );
  return rows.map(toMessage);
}

export interface PendingDelivery {
  appId: string;
  topic: string;
  messageId: string;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
}

/** Deliveries not done yet (waiting, retrying, or in flight). */
export async function pendingDeliveries(db: Queryable, appId?: string): Promise<PendingDelivery[]> {
  const { rows } = await db.query<{
    app_id: string;
    topic: string;
    message_id: string;
    attempts: number;
    next_attempt_at: Date;
    last_error: string | null;
  }>(
    `SELECT app_id, topic, message_id, attempts, next_attempt_at, last_error FROM dapr_local.deliveries
     WHERE $1::text IS NULL OR app_id = $1 ORDER BY id`,
    [appId ?? null],
  );
  return rows.map((r) => ({
    appId: r.app_id,
    topic: r.topic,
    messageId: r.message_id,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
  }));
}

export interface SentMail {
  appId: string;
  binding: string;
  from: string;
  to: string;
  cc: string | null;
  bcc: string | null;
  subject: string | null;
  body: string;
  file: string | null;
  sentAt: Date;
}

/** Mail bindings.smtp would have sent, oldest first; optionally only one app-id's. */
export async function listSentMail(db: Queryable, appId?: string): Promise<SentMail[]> {
  const { rows } = await db.query<{
    app_id: string;
    binding: string;
    email_from: string;
    email_to: string;
    email_cc: string | null;
    email_bcc: string | null;
    subject: string | null;
    body: string;
    file: string | null;
    sent_at: Date;
  }>("SELECT * FROM dapr_local.sent_mail WHERE $1::text IS NULL OR app_id = $1 ORDER BY id", [appId ?? null]);
  return rows.map((r) => ({
    appId: r.app_id,
    binding: r.binding,
    from: r.email_from,
    to: r.email_to,
    cc: r.email_cc,
    bcc: r.email_bcc,
    subject: r.subject,
    body: r.body,
    file: r.file,
    sentAt: r.sent_at,
  }));
}
