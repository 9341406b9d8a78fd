// Test fixtures built from the product's own code paths: real users, real hashed API tokens, and
// functions served over real HTTP on an ephemeral port.
import { randomUUID } from "node:crypto";
import { createDb, type Db } from "#db/client.ts";
import { baseEnvSchema, type BaseEnv } from "#platform/env.ts";
import { buildApp, listen, type BuiltApp, type FunctionDef } from "#platform/host.ts";
import { createLogger } from "#platform/logger.ts";
import { newApiToken } from "#platform/tokens.ts";
import { sharedOidcIssuer } from "./oidc-issuer.ts";
import { workerDatabaseUrl } from "./worker-db.ts";

/**
 * The app API token of functions started by startFunction: what their sidecar would send as
 * `dapr-api-token` (deliverAsDapr sends it).
 */
export const TEST_APP_TOKEN = "test-app-token-0123456789abcdef0123456789abcdef";
/** The OIDC audience and sender of Knative deliveries to functions started by startFunction. */
export const TEST_OIDC_AUDIENCE = "orbit.test/deliveries";
export const TEST_OIDC_SUBJECT = "system:serviceaccount:orbit:kafkasource-oidc-test";

/** Headers of a call from the function's own sidecar: daprd sends the app API token. */
export const FROM_SIDECAR: Readonly<Record<string, string>> = { "dapr-api-token": TEST_APP_TOKEN };

/** Headers of a delivery from a Knative source: its OIDC token for the function's audience. */
export async function fromKnative(): Promise<Record<string, string>> {
  const token = (await sharedOidcIssuer()).mint({ aud: TEST_OIDC_AUDIENCE, sub: TEST_OIDC_SUBJECT });
  return { authorization: `Bearer ${token}` };
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  tokenId: string;
  /** Authorization header value. */
  auth: string;
}

export async function createTestUser(
  db: Db,
  options: { timeZone?: string; scope?: "read" | "read_write"; defaultReminderMinutes?: number[] } = {},
): Promise<TestUser> {
  const email = `user-${randomUUID()}@example.test`;
  const user = await db.user.create({
    data: {
      email,
      passwordHash: "scrypt$disabled",
      timeZone: options.timeZone ?? "UTC",
      defaultReminderMinutes: options.defaultReminderMinutes ?? [15],
    },
  });
  const token = newApiToken();
  const row = await db.apiToken.create({
    data: {
      userId: user.id,
      name: "test",
      tokenHash: token.hash,
      prefix: token.prefix,
      scope: options.scope ?? "read_write",
    },
  });
  return { id: user.id, email, token: token.secret, tokenId: row.id, auth: `Bearer ${token.secret}` };
}

export interface StartedFunction<E extends BaseEnv> {
  url: string;
  built: BuiltApp<E>;
  close(): Promise<void>;
}

/**
 * Serves `def` in-process on an ephemeral port with the worker's database. `env` overrides the
 * defaults (e.g. DAPR_HTTP_PORT of a test sidecar). The relay is started like in production.
 * Deliveries are authenticated as in production: the app token (TEST_APP_TOKEN) or a Knative
 * OIDC token from this process's test issuer (deliverAsKnative mints one).
 */
export async function startFunction<E extends BaseEnv>(
  def: FunctionDef<E>,
  env: Record<string, string> = {},
): Promise<StartedFunction<E>> {
  const schema = (def.env ?? baseEnvSchema) as unknown as { parse(v: unknown): E };
  const parsed = schema.parse({
    DATABASE_URL: await workerDatabaseUrl(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DAPR_HTTP_PORT: "1", // nothing listens there unless a test says otherwise
    OUTBOX_SWEEP_INTERVAL_MS: "100",
    APP_API_TOKEN: TEST_APP_TOKEN,
    DELIVERY_OIDC_AUDIENCE: TEST_OIDC_AUDIENCE,
    DELIVERY_OIDC_SUBJECTS: TEST_OIDC_SUBJECT,
    DELIVERY_OIDC_API_SERVER: (await sharedOidcIssuer()).url,
    ...env,
  });
  // Its own client: closing the function disconnects it, as a real shutdown does.
  const db = createDb({ url: parsed.DATABASE_URL, poolSize: parsed.DB_POOL_SIZE });
  const built = buildApp(def, { db, env: parsed, log: createLogger(def.name, parsed.LOG_LEVEL) });
  const running = await listen(built, 0, 1_000);
  return { url: `http://127.0.0.1:${running.port}`, built, close: running.close };
}

/** Parsed response bodies are whatever the server sent; tests assert on their shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJson = any;

/** fetch with JSON in and out; returns status, headers and the parsed body. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: AnyJson }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(base + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON; keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** The attributes a delivered CloudEvent carries besides the ones every Dapr delivery has. */
export interface DeliveredCloudEvent {
  id: string;
  source: string;
  type: string;
  topic: string;
  data: unknown;
  subject?: string | null;
  time?: string;
  traceparent?: string;
}

/**
 * Delivers `event` to a subscription route the way daprd does: structured mode
 * (`application/cloudevents+json`), the `pubsubname` header, the app API token, the consumer's
 * status read from the 200 body.
 */
export function deliverAsDapr(base: string, path: string, event: DeliveredCloudEvent) {
  return api(base, "POST", path, {
    rawBody: JSON.stringify({
      specversion: "1.0",
      pubsubname: "pubsub",
      datacontenttype: "application/json",
      ...event,
    }),
    headers: {
      "content-type": "application/cloudevents+json",
      pubsubname: "pubsub",
      ...FROM_SIDECAR,
    },
  });
}

/**
 * Delivers `event` the way Knative Eventing does: binary mode, `ce-*` headers, the data as a
 * JSON body, no `pubsubname` header (so the consumer answers with status codes), and the source's
 * OIDC token for the function's audience (sender identity).
 */
export async function deliverAsKnative(
  base: string,
  path: string,
  event: Omit<DeliveredCloudEvent, "topic">,
) {
  return api(base, "POST", path, {
    rawBody: JSON.stringify(event.data),
    headers: {
      ...(await fromKnative()),
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": event.id,
      "ce-source": event.source,
      "ce-type": event.type,
      "ce-subject": event.subject ?? "",
      ...(event.time ? { "ce-time": event.time } : {}),
    },
  });
}
