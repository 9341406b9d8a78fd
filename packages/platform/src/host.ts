// The function host: the one runtime every function runs on (docs/decisions/001-layout.md).
// A function declares routes, subscriptions and job handlers; the host gives it env parsing,
// health and readiness, JSON logs, auth, validation, RFC 9457 errors, CloudEvent parsing with
// Dapr's SUCCESS/RETRY/DROP mapping, job callbacks, the outbox relay and graceful shutdown.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { z } from "zod";
import { createDb, type Db } from "#db/client.ts";
import { ACTOR_HEADER, authenticate, withActorHint, type Principal } from "./auth.ts";
import { parseCloudEvent, type IncomingCloudEvent } from "./cloudevents.ts";
import { DaprClient, SidecarUnavailableError } from "./dapr-client.ts";
import { isDatabaseUnavailable } from "./db-errors.ts";
import { authorizeDelivery, isDeliveryPath, OidcVerifier } from "./delivery-auth.ts";
import { baseEnvSchema, EnvError, parseEnv, requireDeliveryAuth, type BaseEnv } from "./env.ts";
import { createLogger, type Logger } from "./logger.ts";
import {
  deliveriesRefused,
  eventHandlerDuration,
  eventsConsumed,
  httpDuration,
  jobsTriggered,
  outboxLag,
  outboxPending,
  registry,
} from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { OutboxRelay } from "./outbox.ts";
import { fieldErrors, Problem, problems } from "./problems.ts";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { contextFrom, SpanKind, startTelemetry, stopTelemetry } from "./telemetry.ts";

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

const JSON_TYPES = ["application/json", "application/*+json"];

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

class FixedWindowLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number) {}

  /**
   * Takes `cost` units, all or none: returns 0 when allowed, else the seconds until the window
   * resets (a refused request takes nothing, so a too-large batch does not use up the window).
   */
  take(key: string, now: number, cost = 1): number {
    let window = this.windows.get(key);
    if (!window || now - window.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count + cost > this.perMinute)
      return Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000));
    window.count += cost;
    return 0;
  }
}

function sendProblem(res: Response, problem: Problem, instance: string): void {
  if (res.headersSent) return;
  for (const [key, value] of Object.entries(problem.headers)) res.setHeader(key, value);
  res
    .status(problem.status)
    .type("application/problem+json")
    .send(JSON.stringify({ ...problem.body, instance }));
}

/** Maps any thrown error to a Problem, logging what the client must not see. */
export function toProblem(error: unknown, log: Logger): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof SidecarUnavailableError) {
    log.error("dapr sidecar unreachable", { err: error });
    return problems.unavailable("The Dapr sidecar is not reachable; retry shortly.");
  }
  if (isDatabaseUnavailable(error)) {
    log.error("database unavailable", { err: error });
    return problems.unavailable("The database is not reachable; retry shortly.");
  }
  log.error("unhandled error", { err: error });
  return problems.internal();
}

/** Operator routes: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
function authorizeAdmin(adminToken: string | undefined, authorization: string | undefined): void {
  if (!adminToken) throw problems.forbidden("Operator routes are disabled: ADMIN_TOKEN is not configured.");
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (!given) throw problems.unauthorized("Operator routes need `Authorization: Bearer <admin token>`.");
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(adminToken).digest();
  if (!timingSafeEqual(a, b)) throw problems.unauthorized("The admin token is not valid.");
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, location: string): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (!result.success) throw problems.validation(fieldErrors(location, result.error.issues));
  return result.data;
}

/** Builds the Express app of a function (no listening, no signals): tests use this directly. */
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
  const limiter = new FixedWindowLimiter(env.TOKEN_RATE_LIMIT_PER_MINUTE);
  let draining = false;

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  // Request id, trace context and an access log line per request.
  app.use((req, res, next) => {
    const requestId = (req.headers["x-request-id"] as string | undefined)?.slice(0, 128) || randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = log.child({ request_id: requestId, traceparent: req.headers.traceparent });
    res.setHeader("x-request-id", requestId);
    const started = process.hrtime.bigint();
    // A server span per request, continuing the caller's (or Dapr's delivery) trace.
    const parent = contextFrom(
      req.headers.traceparent as string | undefined,
      req.headers.tracestate as string | undefined,
    );
    const span = trace
      .getTracer("orbit")
      .startSpan(
        req.method,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": req.path } },
        parent,
      );
    res.on("finish", () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const routePath = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      span.updateName(`${req.method} ${routePath}`);
      span.setAttribute("http.route", routePath);
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      httpDuration.observe(
        { method: req.method, route: routePath, status_code: String(res.statusCode) },
        durationMs / 1000,
      );
      const quiet = req.path === "/healthz" || req.path === "/readyz" || req.path === "/metrics";
      (res.locals.log as Logger)[quiet ? "debug" : "info"]("request", {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Math.round(durationMs * 100) / 100,
      });
    });
    // Bind the request and response emitters too: the body parser's stream callbacks would
    // otherwise run outside the span's context, and the handler's spans would start new traces.
    const spanContext = trace.setSpan(parent, span);
    context.bind(spanContext, req);
    context.bind(spanContext, res);
    context.with(spanContext, next);
  });

  // The function's own OpenAPI description, generated once at start from its routes' schemas.
  if ((def.routes ?? []).length > 0) {
    const openapi = JSON.stringify(openApiDocument(def.name, def.routes ?? []));
    app.get("/openapi.json", (_req, res) => {
      res.type("application/json").send(openapi);
    });
  }

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", service: def.name });
  });
  app.get("/readyz", async (_req, res) => {
    if (draining) {
      res.status(503).json({ status: "draining", service: def.name });
      return;
    }
    try {
      await Promise.race([
        db.$queryRaw`SELECT 1`,
        new Promise((_resolve, reject) =>
          setTimeout(() => reject(new Error("readiness query timed out")), 2_000).unref(),
        ),
      ]);
      res.json({ status: "ready", service: def.name });
    } catch (error) {
      log.warn("not ready: database unreachable", { err: error });
      res.status(503).json({ status: "database unreachable", service: def.name });
    }
  });

  app.get("/metrics", async (req, res) => {
    if (env.METRICS_TOKEN) {
      const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const a = createHash("sha256").update(given).digest();
      const b = createHash("sha256").update(env.METRICS_TOKEN).digest();
      if (!timingSafeEqual(a, b))
        return sendProblem(res, problems.unauthorized("Scrapes need the metrics token."), req.originalUrl);
    }
    try {
      if (def.outbox) {
        const [row] = await db.$queryRaw<{ pending: bigint; oldest: Date | null }[]>`
          SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox WHERE status = 'pending'`;
        outboxPending.set(Number(row?.pending ?? 0));
        outboxLag.set(row?.oldest ? Math.max(0, (Date.now() - row.oldest.getTime()) / 1000) : 0);
      }
      await def.collectMetrics?.(ctx);
    } catch (error) {
      log.warn("metrics collection failed; serving the rest", { err: error });
    }
    res.type(registry.contentType).send(await registry.metrics());
  });

  // ── Delivery routes (/dapr/*, /events/*, /job/*): only this app's sidecar, which sends the app API
  // token, or (eventing overlay) a Knative source with its OIDC token (delivery-auth.ts). Checked
  // before the body is read, and again on each delivery route itself, so no spelling of a path
  // that Express would route there (case, trailing slash) gets past. A refusal is a 401: daprd
  // retries it per its resiliency policy and then dead-letters it (a job trigger: its failure
  // policy, then the trigger is gone); Knative dead-letters a 401 at once. docs/deployment.md.
  const oidc = env.DELIVERY_OIDC_AUDIENCE
    ? new OidcVerifier({
        apiServer: env.DELIVERY_OIDC_API_SERVER,
        audience: env.DELIVERY_OIDC_AUDIENCE,
        subjects: env.DELIVERY_OIDC_SUBJECTS,
        tokenFile: env.DELIVERY_OIDC_TOKEN_FILE,
      })
    : null;
  if (!env.APP_API_TOKEN) log.warn("APP_API_TOKEN is not set: every delivery route refuses every request");
  const requireSender = async (req: Request, res: Response, next: NextFunction) => {
    if (res.locals.sender) return next();
    const auth = await authorizeDelivery(req.headers, env.APP_API_TOKEN, oidc);
    if (auth.ok) {
      res.locals.sender = auth.sender;
      return next();
    }
    deliveriesRefused.inc({ reason: auth.reason });
    (res.locals.log as Logger).warn("delivery refused", {
      reason: auth.reason,
      detail: auth.detail,
      path: req.path,
    });
    sendProblem(
      res,
      auth.reason === "unavailable"
        ? problems.unavailable("The sender's identity cannot be checked right now; retry shortly.")
        : problems.unauthorized(auth.detail),
      req.originalUrl,
    );
  };
  app.use((req, res, next) => (isDeliveryPath(req.path) ? requireSender(req, res, next) : next()));

  const subscriptionPaths = new Set((def.subscriptions ?? []).map((s) => s.path));
  // Bodies: JSON only, size-limited, strict; everything else is a 415 on routes that take a body.
  const jsonParser = express.json({ limit: env.BODY_LIMIT_BYTES, type: JSON_TYPES, strict: false });
  app.use((req, res, next) => {
    if (!hasBody(req)) return next();
    const contentType = req.headers["content-type"];
    if (subscriptionPaths.has(req.path)) {
      // Whatever reaches a subscription route is read, whatever its content type, and what is not a
      // CloudEvent is DROPped by the handler: a 400 or 415 would make Dapr redeliver it until its
      // retries run out.
      return express.text({ type: () => true, limit: env.BODY_LIMIT_BYTES })(req, res, (error?: unknown) => {
        if (error) return next(error);
        if (typeof req.body === "string" && isJsonContentType(contentType)) {
          try {
            req.body = JSON.parse(req.body);
          } catch {
            // Not JSON: stays text, which parseCloudEvent or the topic's schema rejects.
          }
        }
        next();
      });
    }
    if (!isJsonContentType(contentType) && !req.path.startsWith("/job/")) {
      // Knative binary-mode CloudEvents may carry any content type; parse the body as text.
      if (req.headers["ce-id"] !== undefined)
        return express.text({ type: () => true, limit: env.BODY_LIMIT_BYTES })(req, res, next);
      return sendProblem(res, problems.unsupportedMediaType(contentType), req.originalUrl);
    }
    // Job callbacks carry JSON regardless of the declared type.
    if (req.path.startsWith("/job/"))
      return express.json({ limit: env.BODY_LIMIT_BYTES, type: () => true, strict: false })(req, res, next);
    jsonParser(req, res, next);
  });
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    if (e?.type === "entity.too.large")
      return sendProblem(res, problems.tooLarge(env.BODY_LIMIT_BYTES), req.originalUrl);
    if (e?.type === "entity.parse.failed")
      return sendProblem(
        res,
        problems.malformedJson(`The body is not valid JSON: ${e.message}`),
        req.originalUrl,
      );
    if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported")
      return sendProblem(res, problems.unsupportedMediaType(req.headers["content-type"]), req.originalUrl);
    if (e?.status && e.status >= 400 && e.status < 500)
      return sendProblem(res, problems.validation([], e.message ?? "Bad request."), req.originalUrl);
    next(error);
  });

  // ── Routes ──
  const methodsByPath = new Map<string, string[]>();
  for (const r of def.routes ?? []) {
    methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method]);
    const register = app[r.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete"].bind(app);
    register(r.path, async (req: Request, res: Response) => {
      const reqLog = res.locals.log as Logger;
      try {
        let principal: Principal | null = null;
        if (r.auth === "admin") {
          authorizeAdmin(env.ADMIN_TOKEN, req.headers.authorization);
        } else if (r.auth !== "none") {
          principal = await authenticate(db, req.headers.authorization, now());
          if (!principal) throw problems.unauthorized();
          principal = withActorHint(principal, req.headers[ACTOR_HEADER]);
          if (r.auth === "write" && principal.scope !== "read_write")
            throw problems.forbidden("This API token is read-only; this request changes data.");
          const rated = "kind" in r ? r.rateLimit : undefined;
          const wait = limiter.take(principal.rateKey, Date.now(), rated?.cost(req.body) ?? 1);
          if (wait > 0 && rated?.refuse) return rated.refuse(res, wait);
          if (wait > 0) throw problems.rateLimited(wait);
        }
        if ("kind" in r) {
          await r.handle({ req, res, principal }, { ...ctx, log: reqLog });
          return;
        }
        const params = validate(r.params, req.params, "params");
        const query = validate(r.query, req.query ?? {}, "query");
        let rawBody: unknown = req.body;
        if (r.body && rawBody === undefined) rawBody = {};
        if (r.body && (rawBody === null || typeof rawBody !== "object" || Array.isArray(rawBody)))
          throw problems.validation([{ pointer: "/body", field: "body", detail: "must be a JSON object" }]);
        const body = validate(r.body, rawBody, "body");
        const reply = await r.handle(
          {
            body,
            query,
            params,
            principal,
            headers: req.headers,
            requestId: res.locals.requestId as string,
            traceparent: req.headers.traceparent as string | undefined,
          },
          { ...ctx, log: reqLog },
        );
        for (const [key, value] of Object.entries(reply.headers ?? {})) res.setHeader(key, value);
        res.status(reply.status ?? 200);
        if (reply.body === undefined) res.end();
        else res.json(reply.body);
      } catch (error) {
        sendProblem(res, toProblem(error, reqLog), req.originalUrl);
      }
    });
  }

  // ── Subscriptions (Dapr programmatic subscriptions + delivery routes) ──
  const subs = def.subscriptions ?? [];
  app.get("/dapr/subscribe", requireSender, (_req, res) => {
    res.json(
      subs.map((s) => ({
        pubsubname: s.pubsub ?? env.PUBSUB_NAME,
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

  // ── Job callbacks (Dapr Jobs API triggers) ──
  const jobs = def.jobs ?? [];
  if (jobs.length > 0) {
    app.post("/job/:name", requireSender, async (req: Request, res: Response) => {
      const name = String(req.params.name);
      const job = jobs.find((j) => name.startsWith(j.prefix));
      const jobLog = (res.locals.log as Logger).child({ job: name });
      if (!job) {
        // 404 counts as delivered for the scheduler: an unknown job must not be retried forever.
        jobLog.warn("no handler for job");
        return sendProblem(res, problems.notFound(`No handler for job ${name}.`), req.originalUrl);
      }
      try {
        await job.handle(name, req.body ?? null, { ...ctx, log: jobLog });
        jobsTriggered.inc({ status: "success" });
        res.status(200).json({ status: "SUCCESS" });
      } catch (error) {
        jobsTriggered.inc({ status: "failed" });
        sendProblem(res, toProblem(error, jobLog), req.originalUrl);
      }
    });
  }

  // ── Fallbacks: 405 for a known path, 404 otherwise, and a last-resort error handler ──
  app.use((req: Request, res: Response) => {
    for (const [path, methods] of methodsByPath) {
      const pattern = new RegExp(`^${path.replace(/:[^/]+/g, "[^/]+")}/?$`);
      if (pattern.test(req.path))
        return sendProblem(res, problems.methodNotAllowed(methods), req.originalUrl);
    }
    sendProblem(res, problems.notFound(`No route for ${req.method} ${req.path}.`), req.originalUrl);
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendProblem(res, toProblem(error, (res.locals.log as Logger | undefined) ?? log), req.originalUrl);
  });

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
