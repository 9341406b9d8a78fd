// The function host: the one runtime every function runs on (docs/decisions/001-layout-and-function-host.md).
// A function declares routes, subscriptions and job handlers; the host gives it env parsing,
// health and readiness, JSON logs, auth, validation, RFC 9457 errors, CloudEvent parsing with
// Dapr's SUCCESS/RETRY/DROP mapping, job callbacks, the outbox relay and graceful shutdown.
import type { Server } from "node:http";
import express, { type Request, type Response } from "express";
import type { z } from "zod";
import { createDb, type Db } from "#db/client.ts";
import type { Principal } from "./auth.ts";
import type { IncomingCloudEvent } from "./cloudevents.ts";
import { DaprClient } from "./dapr-client.ts";
import { baseEnvSchema, EnvError, parseEnv, requireDeliveryAuth, type BaseEnv } from "./env.ts";
import { createLogger, type Logger } from "./logger.ts";
import { OutboxRelay } from "./outbox.ts";
import { startTelemetry, stopTelemetry } from "./telemetry.ts";
import { registerBodyParsing } from "./host/body.ts";
import { registerFallbacks } from "./host/errors.ts";
import { registerJobs } from "./host/jobs.ts";
import { registerMetrics } from "./host/metrics.ts";
import { registerProbes } from "./host/probes.ts";
import { registerRoutes, serveOpenApi } from "./host/routes.ts";
import { guardDeliveries } from "./host/senders.ts";
import { registerSubscriptions } from "./host/subscriptions.ts";
import { registerRequestTracing } from "./host/tracing.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/**
 * "read"/"write": a user's API token (write needs a read_write token). "admin": operator routes
 * (the dead-letter store), authorised by the ADMIN_TOKEN secret; disabled when it is not set.
 */
export type AuthRequirement = "none" | "read" | "write" | "admin";

export interface Context<E extends BaseEnv = BaseEnv> {
  name: string;
  db: Db;
  env: E;
  log: Logger;
  dapr: DaprClient;
  /** Wakes the outbox relay after a transaction that wrote events has committed. */
  relay: { kick(): void };
  now(): Date;
}

export interface HandlerRequest<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** Set when the route requires auth ("read"/"write"); null on "none" routes. */
  principal: Principal | null;
  headers: Record<string, string | string[] | undefined>;
  requestId: string;
  traceparent: string | undefined;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteDef<B = unknown, Q = unknown, P = unknown, E extends BaseEnv = BaseEnv> {
  method: HttpMethod;
  path: string;
  auth: AuthRequirement;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  /** Documentation for the generated API description. */
  summary?: string;
  /** The success body's schema, for the generated API description (never used to validate). */
  response?: z.ZodType;
  handle(request: HandlerRequest<B, Q, P>, ctx: Context<E>): Promise<Reply>;
}

/**
 * A route that answers on its own (e.g. a protocol SDK's transport writing to the response), after
 * the host's auth, rate limit and JSON body parsing (`req.body` holds the parsed JSON).
 */
export interface RawRouteDef<E extends BaseEnv = BaseEnv> {
  kind: "raw";
  method: HttpMethod;
  path: string;
  auth: AuthRequirement;
  summary?: string;
  /** Documents the request body in the generated API description (never used to validate). */
  body?: z.ZodType;
  /**
   * How many units of the caller's per-minute rate limit this request costs (default 1), e.g. one
   * per message of a JSON-RPC batch; and, optionally, how to refuse one that does not fit (by
   * default a 429 problem). A request is admitted whole or not at all.
   */
  rateLimit?: {
    cost(body: unknown): number;
    refuse?(res: Response, retryAfterSeconds: number): void;
  };
  handle(http: { req: Request; res: Response; principal: Principal | null }, ctx: Context<E>): Promise<void>;
}

export function rawRoute<E extends BaseEnv = BaseEnv>(def: Omit<RawRouteDef<E>, "kind">): RawRouteDef<E> {
  return { kind: "raw", ...def };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteDef<E extends BaseEnv = BaseEnv> = RouteDef<any, any, any, E> | RawRouteDef<E>;

/** Identity helper that keeps a route's schema types attached to its handler. */
export function route<B = unknown, Q = unknown, P = unknown, E extends BaseEnv = BaseEnv>(
  def: RouteDef<B, Q, P, E>,
): RouteDef<B, Q, P, E> {
  return def;
}

export type ConsumerStatus = "SUCCESS" | "RETRY" | "DROP";

export interface DeliveredEvent<T> extends Omit<IncomingCloudEvent, "data"> {
  data: T;
  /** The delivery's traceparent header (a child of the publisher's span), if any. */
  deliveryTraceparent: string | undefined;
}

export interface SubscriptionDef<T = unknown, E extends BaseEnv = BaseEnv> {
  /** Defaults to the env's PUBSUB_NAME. */
  pubsub?: string;
  topic: string;
  /** The app route Dapr delivers to, e.g. "/events/task-events". */
  path: string;
  deadLetterTopic?: string;
  /** Optional CloudEvent type filter, as Dapr routing rules (`event.type == "…"`). */
  types?: string[];
  data: z.ZodType<T>;
  /** Return (or resolve) a status; a thrown error means RETRY, never a silent SUCCESS. */
  handle(event: DeliveredEvent<T>, ctx: Context<E>): Promise<ConsumerStatus | void>;
}

export function subscription<T, E extends BaseEnv = BaseEnv>(
  def: SubscriptionDef<T, E>,
): SubscriptionDef<T, E> {
  return def;
}

export interface JobDef<E extends BaseEnv = BaseEnv> {
  /** Handles `POST /job/<name>` for names starting with this prefix ("" for all). */
  prefix: string;
  /** Resolve to acknowledge; throw to have the scheduler apply its failure policy. */
  handle(name: string, data: unknown, ctx: Context<E>): Promise<void>;
}

export interface FunctionDef<E extends BaseEnv = BaseEnv> {
  /** One name everywhere: folder, Knative Service, Dapr app-id, image, log `service`. */
  name: string;
  env?: z.ZodType<E>;
  routes?: AnyRouteDef<E>[];
  subscriptions?: SubscriptionDef<any, E>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  jobs?: JobDef<E>[];
  /** Start the outbox relay and sweeper in this process (functions that write events). */
  outbox?: boolean;
  /** Refreshes this function's own gauges before each /metrics scrape. */
  collectMetrics?(ctx: Context<E>): Promise<void>;
}

export interface HostDeps<E extends BaseEnv> {
  db: Db;
  env: E;
  log: Logger;
  dapr?: DaprClient;
  now?: () => Date;
}

export interface BuiltApp<E extends BaseEnv> {
  app: express.Express;
  ctx: Context<E>;
  relay: OutboxRelay | null;
  /** Flips /readyz to 503 (used while draining). */
  setDraining(): void;
}

export { toProblem } from "./host/errors.ts";

/**
 * Builds the Express app of a function (no listening, no signals): tests use this directly. Each
 * concern registers itself (./host/*.ts), in the order a request meets them: tracing and the
 * request id first; the API description, the probes and the metrics before the delivery guard
 * and the body parser; then the routes, subscriptions and job callbacks; the fallbacks last.
 */
export function buildApp<E extends BaseEnv>(def: FunctionDef<E>, deps: HostDeps<E>): BuiltApp<E> {
  const { db, env, log } = deps;
  const dapr =
    deps.dapr ??
    new DaprClient({ host: env.DAPR_HOST, port: env.DAPR_HTTP_PORT, apiToken: env.DAPR_API_TOKEN });
  const now = deps.now ?? (() => new Date());
  const relay = def.outbox
    ? new OutboxRelay({
        db,
        dapr,
        log: log.child({ component: "outbox-relay" }),
        source: def.name,
        sweepIntervalMs: env.OUTBOX_SWEEP_INTERVAL_MS,
        batchSize: env.OUTBOX_BATCH_SIZE,
        maxPermanentAttempts: env.OUTBOX_MAX_PERMANENT_ATTEMPTS,
      })
    : null;
  const ctx: Context<E> = { name: def.name, db, env, log, dapr, relay: { kick: () => relay?.kick() }, now };
  const routes = def.routes ?? [];
  const subscriptions = def.subscriptions ?? [];
  let draining = false;

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  registerRequestTracing(app, log);
  serveOpenApi(app, def.name, routes);
  registerProbes(app, { name: def.name, db, log, isDraining: () => draining });
  registerMetrics(app, def, ctx);
  const requireSender = guardDeliveries(app, env, log);
  registerBodyParsing(app, env.BODY_LIMIT_BYTES, new Set(subscriptions.map((s) => s.path)));
  const methodsByPath = registerRoutes(app, routes, ctx);
  registerSubscriptions(app, subscriptions, ctx, requireSender);
  registerJobs(app, def.jobs ?? [], ctx, requireSender);
  registerFallbacks(app, methodsByPath, log);

  return {
    app,
    ctx,
    relay,
    setDraining: () => {
      draining = true;
    },
  };
}

export interface RunningFunction {
  port: number;
  close(): Promise<void>;
}

/** Listens on `port` (0 = any free port); resolves once listening. */
export async function listen<E extends BaseEnv>(
  built: BuiltApp<E>,
  port: number,
  shutdownTimeoutMs: number,
): Promise<RunningFunction> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = built.app.listen(port, "0.0.0.0", () => resolve(s));
    s.once("error", reject);
  });
  // Keep-alive longer than typical proxies' (Knative queue-proxy, Dapr) idle timeouts.
  server.keepAliveTimeout = 65_000;
  built.relay?.start();
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  let closing: Promise<void> | null = null;
  return {
    port: actualPort,
    close: () =>
      (closing ??= (async () => {
        built.setDraining();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), shutdownTimeoutMs);
        await closed;
        clearTimeout(timer);
        await built.relay?.stop();
        await built.ctx.db.$disconnect();
      })()),
  };
}

/** The entry point of every function: parse env, connect, listen on PORT, drain on SIGTERM. */
export async function serve<E extends BaseEnv>(def: FunctionDef<E>): Promise<RunningFunction> {
  let env: E;
  try {
    env = parseEnv((def.env ?? baseEnvSchema) as z.ZodType<E>);
    requireDeliveryAuth(env);
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`${def.name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const log = createLogger(def.name, env.LOG_LEVEL);
  const db = createDb({ url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  // Warm up while the app is built and starts listening: the Prisma client's start (its query
  // compiler) and the pool's first connection, which the first request would otherwise wait for.
  // A failure is the first real query's to report (/readyz answers 503 until the database is up).
  void db.$queryRaw`SELECT 1`.catch(() => {});
  const built = buildApp(def, { db, env, log });
  const running = await listen(built, env.PORT, env.SHUTDOWN_TIMEOUT_MS);
  log.info("listening", { port: running.port });
  // After listen, so tracing never delays a cold start (telemetry.ts says why).
  void startTelemetry(def.name, log);
  const shutdown = (signal: string) => {
    log.info("shutting down", { signal });
    running
      .close()
      .then(stopTelemetry)
      .then(
        () => process.exit(0),
        (error) => {
          log.error("unclean shutdown", { err: error });
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (error) => log.error("unhandled rejection", { err: error }));
  return running;
}

/** `extendEnv({ EXTRA: z.string() })`: the base env plus a function's own variables. */
export function extendEnv<S extends z.ZodRawShape>(shape: S) {
  return baseEnvSchema.extend(shape);
}
