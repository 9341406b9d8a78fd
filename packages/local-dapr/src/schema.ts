// The sidecar's own storage, schema `dapr_local`: the broker (messages + one delivery row per
// subscribing app-id), the subscription registry, the job store, state, the sidecar registry and
// the local mail outbox. Created idempotently at start under a transaction-level advisory lock, so
// sidecars starting together never race on DDL.
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "#platform/logger.ts";

/** Advisory-lock namespace (first int4 key) of this schema: DDL uses key 0, sidecars their instance id. */
export const LOCK_NAMESPACE = 0x0da9;

const DDL = `
CREATE SCHEMA IF NOT EXISTS dapr_local;

CREATE TABLE IF NOT EXISTS dapr_local.meta (key text PRIMARY KEY, value text NOT NULL);

CREATE SEQUENCE IF NOT EXISTS dapr_local.instance_seq MAXVALUE 2147483647 CYCLE;

-- Running sidecars. A sidecar holds pg_advisory_lock(LOCK_NAMESPACE, instance_id) on its listen
-- connection for its whole life: a crashed sidecar's connection closes, its lock disappears, and
-- whatever it had claimed is released by the next sweep of any sidecar.
CREATE TABLE IF NOT EXISTS dapr_local.sidecars (
  instance_id  integer PRIMARY KEY,
  app_id       text NOT NULL,
  app_host     text,
  app_port     integer,
  http_port    integer NOT NULL,
  pid          integer NOT NULL,
  app_ready    boolean NOT NULL DEFAULT false,
  -- The app's API token (APP_API_TOKEN): what invocations from other sidecars send to this app.
  app_api_token text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE dapr_local.sidecars ADD COLUMN IF NOT EXISTS app_api_token text;
CREATE INDEX IF NOT EXISTS sidecars_app ON dapr_local.sidecars (app_id);

-- Which app-ids subscribe to which topic: publish fans out to every row (one consumer group per
-- app-id), including apps that are down right now.
CREATE TABLE IF NOT EXISTS dapr_local.subscriptions (
  pubsub            text NOT NULL,
  topic             text NOT NULL,
  app_id            text NOT NULL,
  dead_letter_topic text,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pubsub, topic, app_id)
);
CREATE INDEX IF NOT EXISTS subscriptions_app ON dapr_local.subscriptions (app_id);

-- Every accepted message, as the broker stores it (the envelope bytes, or the raw payload).
CREATE TABLE IF NOT EXISTS dapr_local.messages (
  id               bigserial PRIMARY KEY,
  pubsub           text NOT NULL,
  topic            text NOT NULL,
  partition_key    text,
  content_type     text NOT NULL,
  body             bytea NOT NULL,
  publisher_app_id text NOT NULL,
  published_at     timestamptz NOT NULL DEFAULT now(),
  -- Set on a copy published to a dead-letter topic: where it came from and why.
  dead_letter_of   jsonb
);
CREATE INDEX IF NOT EXISTS messages_topic ON dapr_local.messages (pubsub, topic, id);
CREATE INDEX IF NOT EXISTS messages_dead_letters ON dapr_local.messages (id) WHERE dead_letter_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_published_at ON dapr_local.messages (published_at);

-- Pending deliveries: one row per (message, subscribing app-id), deleted once the app is done.
CREATE TABLE IF NOT EXISTS dapr_local.deliveries (
  id              bigserial PRIMARY KEY,
  message_id      bigint NOT NULL,
  app_id          text NOT NULL,
  pubsub          text NOT NULL,
  topic           text NOT NULL,
  partition_key   text,
  attempts        integer NOT NULL DEFAULT 0,
  round_attempts  integer NOT NULL DEFAULT 0,
  redeliveries    integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_by       integer,
  last_error      text
);
CREATE INDEX IF NOT EXISTS deliveries_ready ON dapr_local.deliveries (app_id, id) WHERE locked_by IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_key
  ON dapr_local.deliveries (app_id, pubsub, topic, partition_key, id) WHERE partition_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_locked ON dapr_local.deliveries (locked_by) WHERE locked_by IS NOT NULL;

-- Jobs, namespaced by the app-id that scheduled them.
CREATE TABLE IF NOT EXISTS dapr_local.jobs (
  app_id          text NOT NULL,
  name            text NOT NULL,
  generation      bigint NOT NULL DEFAULT 1,
  spec            jsonb NOT NULL,
  data            json,
  schedule        text,
  begin_at        timestamptz NOT NULL,
  due_at          timestamptz,
  expires_at      timestamptz,
  repeats         integer,
  failure_policy  jsonb NOT NULL,
  trigger_count   integer NOT NULL DEFAULT 0,
  last_trigger_at timestamptz,
  next_at         timestamptz NOT NULL,
  attempt         integer NOT NULL DEFAULT 0,
  run_at          timestamptz NOT NULL,
  locked_by       integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, name)
);
CREATE INDEX IF NOT EXISTS jobs_due ON dapr_local.jobs (app_id, run_at) WHERE locked_by IS NULL;
CREATE INDEX IF NOT EXISTS jobs_locked ON dapr_local.jobs (locked_by) WHERE locked_by IS NOT NULL;

-- State stores (all state.* components), keyed by component name and the prefixed key.
CREATE TABLE IF NOT EXISTS dapr_local.state (
  store      text NOT NULL,
  key        text NOT NULL,
  value      bytea NOT NULL,
  etag       uuid NOT NULL,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store, key)
);

-- What bindings.smtp would have sent.
CREATE TABLE IF NOT EXISTS dapr_local.sent_mail (
  id        bigserial PRIMARY KEY,
  app_id    text NOT NULL,
  binding   text NOT NULL,
  email_from text NOT NULL,
  email_to  text NOT NULL,
  email_cc  text,
  email_bcc text,
  subject   text,
  body      text NOT NULL,
  priority  text,
  file      text,
  sent_at   timestamptz NOT NULL DEFAULT now()
);
`;

const VERSION = createHash("sha256").update(DDL).digest("hex").slice(0, 16);

export async function ensureSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1, 0)", [LOCK_NAMESPACE]);
    // Skip the DDL when this version already ran: CREATE INDEX IF NOT EXISTS still takes a table lock.
    const exists = await client.query<{ meta: string | null }>(
      "SELECT to_regclass('dapr_local.meta') AS meta",
    );
    const current = exists.rows[0]?.meta
      ? (await client.query<{ value: string }>("SELECT value FROM dapr_local.meta WHERE key = 'schema'"))
          .rows[0]
      : undefined;
    if (current?.value !== VERSION) {
      await client.query(DDL);
      await client.query(
        "INSERT INTO dapr_local.meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET value = $1",
        [VERSION],
      );
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * A sidecar's connection pool on its database, with the schema in place, and the sidecar's new
 * instance id (its advisory lock's second key, registry.ts).
 */
export async function openStorage(
  storageUrl: string,
  appId: string,
  log: Logger,
): Promise<{ pool: pg.Pool; instanceId: number }> {
  const pool = new pg.Pool({
    connectionString: storageUrl,
    max: 8,
    idleTimeoutMillis: 10_000,
    application_name: `local-dapr:${appId}`.slice(0, 63),
  });
  pool.on("error", (error) => log.warn("idle database connection failed", { err: error }));
  try {
    await ensureSchema(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const instanceId = Number(
    (await pool.query<{ id: string }>("SELECT nextval('dapr_local.instance_seq') AS id")).rows[0]!.id,
  );
  return { pool, instanceId };
}
