// A Dapr-compatible sidecar for machines where daprd cannot run (docs: packages/local-dapr/README.md).
// One sidecar per app, like daprd: it serves Dapr's HTTP API on its own port, calls the app on
// its app port, and keeps everything durable in PostgreSQL (schema dapr_local), which plays the
// message broker and the Scheduler's store. Sidecars of different apps find each other (and each
// other's messages and jobs) through that database; LISTEN/NOTIFY wakes them, timers handle
// backoff and due times, and a slow sweep catches anything a lost notification left behind.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { createLogger, type Level, type Logger } from "#platform/logger.ts";
import { AppCallError, AppChannel } from "./app-channel.ts";
import { AppHealth, appHealthConfig } from "./app-health.ts";
import { DELIVERY_CHANNEL, Publisher, registerSubscriptions } from "./broker.ts";
import { OutputBindings } from "./bindings.ts";
import { Consumer } from "./consumer.ts";
import { formatGoDuration } from "./durations.ts";
import {
  ApiError,
  parseJsonBody,
  queryMetadata,
  readBody,
  sameToken,
  Router,
  sendEmpty,
  sendError,
  sendJson,
  type RouteContext,
} from "./http-util.ts";
import { Invoker } from "./invoke.ts";
import { deleteJob, getJob, jobJson, JOBS_CHANNEL, JobRunner, parseJobRequest, saveJob } from "./jobs.ts";
import { PublishApi } from "./publish.ts";
import { Resiliency } from "./resiliency.ts";
import {
  loadResources,
  parseProgrammaticSubscriptions,
  ResourceError,
  type ComponentResource,
  type SubscriptionResource,
} from "./resources.ts";
import { ensureSchema, LOCK_NAMESPACE } from "./schema.ts";
import { createSecretStore, SecretStores, type SecretStore } from "./secrets.ts";
import { StateStores } from "./state.ts";

/** The Dapr runtime version whose HTTP contract this sidecar follows (the version production pins). */
export const RUNTIME_VERSION = "1.18.2-local";

export interface SidecarOptions {
  appId: string;
  /** The app's port; without one the sidecar never calls the app (no subscriptions, no jobs). */
  appPort?: number;
  appHost?: string;
  /** The sidecar's HTTP API port; 0 = ephemeral. */
  httpPort: number;
  /**
   * daprd's --enable-app-health-check: the app is probed with `GET appHealthCheckPath`, and while
   * it is unhealthy (or refuses connections) no deliveries or job triggers are sent to it
   * (dapr.yaml's enableAppHealthCheck turns it on for `make dev`). See app-health.ts.
   */
  appHealthCheck?: boolean;
  /** --app-health-check-path (default /healthz); ignored without appHealthCheck, as in daprd. */
  appHealthCheckPath?: string;
  /** --app-health-probe-interval (daprd: whole seconds; default 5 s). */
  appHealthProbeIntervalMs?: number;
  /** --app-health-probe-timeout (default 500 ms; must not exceed the interval). */
  appHealthProbeTimeoutMs?: number;
  /** --app-health-threshold (default 3). */
  appHealthThreshold?: number;
  /** PostgreSQL URL of the broker/scheduler database. */
  storageUrl: string;
  /** Folder(s) (or files) of component, subscription and resiliency YAML. */
  resourcesPath?: string | string[];
  log?: Logger;
  /** Required as `dapr-api-token` on the API (healthz excepted). Default: env DAPR_API_TOKEN. */
  apiToken?: string;
  /** Sent to the app as `dapr-api-token`. Default: env APP_API_TOKEN. */
  appApiToken?: string;
  /** Base of relative paths in components (secretsFile, localOutboxDir). Default: process.cwd(). */
  cwd?: string;
  /** Environment read by secretstores.local.env. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Deliveries to the app at once (partition keys keep their order regardless). Default 16. */
  maxConcurrency?: number;
  /** Job triggers to the app at once. Default 32. */
  maxJobConcurrency?: number;
  /** Safety sweep interval (orphaned claims, missed notifications, heartbeat). Default 2000 ms. */
  sweepIntervalMs?: number;
  /** How long stop() waits for in-flight deliveries (dapr.io/graceful-shutdown-seconds). Default 5000 ms. */
  gracefulShutdownMs?: number;
  /** Messages older than this with nothing left to deliver are deleted. Default 24 h. */
  messageRetentionMs?: number;
}

export interface Sidecar {
  httpPort: number;
  appId: string;
  instanceId: number;
  /** Resolves once the app port answered and its subscriptions are registered; rejects on a bad subscription. */
  appReady: Promise<void>;
  stop(): Promise<void>;
}

const SUPPORTED_TYPES = "pubsub.*, state.*, secretstores.local.file, secretstores.local.env, bindings.smtp";

interface Components {
  pubsubs: Map<string, ComponentResource>;
  states: Map<string, ComponentResource>;
  bindings: Map<string, ComponentResource>;
  secretStores: SecretStores;
  all: ComponentResource[];
}

async function loadComponents(
  list: ComponentResource[],
  options: { cwd: string; env: NodeJS.ProcessEnv; log: Logger },
): Promise<Components> {
  const stores = new Map<string, SecretStore>();
  const kept: ComponentResource[] = [];
  for (const component of list.filter((c) => c.type.startsWith("secretstores."))) {
    try {
      stores.set(component.name, await createSecretStore(component, options.cwd, options.env));
      kept.push(component);
    } catch (error) {
      if (!component.ignoreErrors) throw error;
      options.log.warn("component failed to load; ignored (ignoreErrors)", {
        component: component.name,
        err: error,
      });
    }
  }
  const secretStores = new SecretStores(stores, options.log);
  const components: Components = {
    pubsubs: new Map(),
    states: new Map(),
    bindings: new Map(),
    secretStores,
    all: kept,
  };
  for (const raw of list.filter((c) => !c.type.startsWith("secretstores."))) {
    try {
      const component = secretStores.resolve(raw);
      // Its secret store is not loaded: daprd keeps it waiting for that store, unloaded.
      if (!component) continue;
      if (component.type.startsWith("pubsub.")) components.pubsubs.set(component.name, component);
      else if (component.type.startsWith("state.")) {
        if (component.metadata.outboxPublishPubsub) {
          throw new ResourceError(
            `${component.file}: state store "${component.name}" configures the Dapr outbox, which the local sidecar does not implement`,
          );
        }
        components.states.set(component.name, component);
      } else if (component.type === "bindings.smtp") components.bindings.set(component.name, component);
      else {
        throw new ResourceError(
          `${component.file}: component "${component.name}" has type ${component.type}, which the local sidecar does not serve (it serves ${SUPPORTED_TYPES})`,
        );
      }
      components.all.push(component);
    } catch (error) {
      if (!raw.ignoreErrors) throw error;
      options.log.warn("component failed to load; ignored (ignoreErrors)", {
        component: raw.name,
        err: error,
      });
    }
  }
  return components;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

/** LOCAL_DAPR_LOG_LEVEL, else LOG_LEVEL (what the app beside it uses), else info. */
export function logLevel(env: NodeJS.ProcessEnv): Level | "silent" {
  const wanted = env.LOCAL_DAPR_LOG_LEVEL ?? env.LOG_LEVEL;
  return LEVELS.find((level) => level === wanted) ?? "info";
}

export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const { appId } = options;
  if (!appId) throw new ResourceError("appId is required");
  const log =
    options.log ?? createLogger("local-dapr", logLevel(options.env ?? process.env), { app_id: appId });
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const apiToken = options.apiToken ?? env.DAPR_API_TOKEN;
  const appHost = options.appHost ?? "127.0.0.1";
  const sweepIntervalMs = options.sweepIntervalMs ?? 2_000;
  const graceMs = options.gracefulShutdownMs ?? 5_000;
  const retentionMs = options.messageRetentionMs ?? 24 * 3_600_000;
  const paths = options.resourcesPath === undefined ? [] : [options.resourcesPath].flat();

  const resources = await loadResources(paths, appId);
  const components = await loadComponents(resources.components, { cwd, env, log });
  // Fails startup on a probe timeout longer than the interval, as daprd does.
  const healthConfig = options.appHealthCheck
    ? appHealthConfig({
        path: options.appHealthCheckPath,
        intervalMs: options.appHealthProbeIntervalMs,
        timeoutMs: options.appHealthProbeTimeoutMs,
        threshold: options.appHealthThreshold,
      })
    : null;
  const resiliency = new Resiliency(resources.resiliencies, (name, from, to) =>
    // daprd logs this at info (pkg/resiliency/breaker Initialize OnStateChange).
    log.info(`circuit breaker "${name}" changed state from ${from} to ${to}`, { breaker: name, from, to }),
  );
  for (const s of resources.subscriptions) {
    if (!components.pubsubs.has(s.pubsubname)) {
      log.warn("declarative subscription names an unknown pubsub; ignored", {
        origin: s.origin,
        pubsub: s.pubsubname,
      });
    }
  }
  const declarative = resources.subscriptions.filter((s) => components.pubsubs.has(s.pubsubname));

  const pool = new pg.Pool({
    connectionString: options.storageUrl,
    max: 8,
    idleTimeoutMillis: 10_000,
    application_name: `local-dapr:${appId}`.slice(0, 63),
  });
  pool.on("error", (error) => log.warn("idle database connection failed", { err: error }));
  let listener: pg.Client | null = null;
  try {
    await ensureSchema(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const instanceId = Number(
    (await pool.query<{ id: string }>("SELECT nextval('dapr_local.instance_seq') AS id")).rows[0]!.id,
  );

  // ── State shared by the handlers below ──
  let stopping = false;
  let appChannelReady = options.appPort === undefined;
  // What the metadata API lists: daprd lists the declarative subscriptions from the start, and the
  // programmatic ones once it has read them from the app (pkg/runtime/processor/subscriptions.go).
  let subscriptions: SubscriptionResource[] = [...declarative];
  const channel =
    options.appPort === undefined
      ? null
      : new AppChannel(appHost, options.appPort, options.appApiToken ?? env.APP_API_TOKEN);
  const consumer = channel
    ? new Consumer({
        pool,
        appId,
        instanceId,
        channel,
        log: log.child({ component: "pubsub" }),
        resiliency,
        pubsubs: components.pubsubs,
        maxConcurrency: options.maxConcurrency ?? 16,
        batchSize: 64,
        appHealthCheck: healthConfig !== null,
      })
    : null;
  const jobs = channel
    ? new JobRunner({
        pool,
        appId,
        instanceId,
        channel,
        log: log.child({ component: "jobs" }),
        maxConcurrency: options.maxJobConcurrency ?? 32,
        appHealthCheck: healthConfig !== null,
      })
    : null;
  const appHealth =
    channel && healthConfig
      ? new AppHealth(
          channel,
          healthConfig,
          (healthy) => {
            consumer?.setAppHealthy(healthy);
            jobs?.setAppHealthy(healthy);
          },
          log.child({ component: "apphealth" }),
        )
      : null;
  const publisher = new Publisher(pool, appId);
  const publishApi = new PublishApi(
    appId,
    components.pubsubs,
    publisher,
    resiliency,
    log.child({ component: "publish" }),
  );
  const state = new StateStores(pool, appId, components.states);
  const bindings = new OutputBindings(pool, appId, components.bindings, cwd);
  const invoker = new Invoker(pool, appId);

  // ── The listen connection: notifications, and the advisory lock that proves we are alive ──
  const connectListener = async (): Promise<void> => {
    const client = new pg.Client({
      connectionString: options.storageUrl,
      application_name: `local-dapr:${appId}:listen`.slice(0, 63),
    });
    client.on("notification", (message) => {
      if (message.payload !== appId) return;
      if (message.channel === DELIVERY_CHANNEL) consumer?.kick();
      else if (message.channel === JOBS_CHANNEL) jobs?.kick();
    });
    const lost = (error?: Error) => {
      if (stopping || listener !== client) return;
      log.warn("lost the notification connection; reconnecting", { err: error });
      void reconnect();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    await client.connect();
    await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_NAMESPACE, instanceId]);
    await client.query(`LISTEN ${DELIVERY_CHANNEL}; LISTEN ${JOBS_CHANNEL}`);
    listener = client;
  };
  // While this connection is down our advisory lock is gone, so other sidecars may release our
  // claims: those messages can be delivered twice, which at-least-once allows.
  const reconnect = async (): Promise<void> => {
    const old = listener;
    listener = null;
    await old?.end().catch(() => {});
    while (!stopping) {
      try {
        await connectListener();
        consumer?.kick();
        jobs?.kick();
        return;
      } catch (error) {
        log.warn("could not reconnect the notification connection; retrying in 1 s", { err: error });
        await sleep(1_000);
      }
    }
  };
  try {
    await connectListener();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }

  // ── Sweep: release what dead sidecars held, heartbeat, catch missed wake-ups ──
  const kickAll = () => {
    consumer?.kick();
    void consumer?.refreshRetryTimer();
    jobs?.kick();
  };
  let lastRetention = 0;
  const sweep = async (): Promise<void> => {
    await pool.query(
      `WITH live AS (
         SELECT objid::bigint AS id FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       ),
       d AS (UPDATE dapr_local.deliveries SET locked_by = NULL
             WHERE locked_by IS NOT NULL AND locked_by NOT IN (SELECT id FROM live) RETURNING app_id),
       j AS (UPDATE dapr_local.jobs SET locked_by = NULL
             WHERE locked_by IS NOT NULL AND locked_by NOT IN (SELECT id FROM live) RETURNING app_id),
       gone AS (DELETE FROM dapr_local.sidecars WHERE instance_id NOT IN (SELECT id FROM live)),
       beat AS (UPDATE dapr_local.sidecars SET heartbeat_at = now() WHERE instance_id = $2)
       SELECT pg_notify('${DELIVERY_CHANNEL}', app_id) FROM (SELECT DISTINCT app_id FROM d) a
       UNION ALL
       SELECT pg_notify('${JOBS_CHANNEL}', app_id) FROM (SELECT DISTINCT app_id FROM j) b`,
      [LOCK_NAMESPACE, instanceId],
    );
    if (Date.now() - lastRetention < 60_000) return kickAll();
    lastRetention = Date.now();
    await pool.query(
      `DELETE FROM dapr_local.messages WHERE id IN (
         SELECT m.id FROM dapr_local.messages m
         WHERE m.published_at < now() - $1 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM dapr_local.deliveries d WHERE d.message_id = m.id)
         LIMIT 10000)`,
      [retentionMs],
    );
    kickAll();
  };

  // ── HTTP API ──
  const router = new Router();
  router.on("GET", "/v1.0/healthz", ({ res }) => {
    if (appChannelReady && !stopping) sendEmpty(res);
    else sendError(res, new ApiError(500, "ERR_HEALTH_NOT_READY", "dapr is not ready"));
  });
  router.on("GET", "/v1.0/healthz/outbound", ({ res }) => {
    if (!stopping) sendEmpty(res);
    else sendError(res, new ApiError(500, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready"));
  });
  router.on("GET", "/v1.0/metadata", ({ res }) => {
    // daprd leaves out every empty list (`omitempty`, pkg/api/http/metadata.go): no enabled
    // features, actors or HTTP endpoints here, and components and subscriptions only when there are.
    const nonEmpty = <T>(name: string, list: T[]) => (list.length > 0 ? { [name]: list } : {});
    sendJson(res, 200, {
      id: appId,
      runtimeVersion: RUNTIME_VERSION,
      ...nonEmpty(
        "components",
        components.all.map((c) => ({ name: c.name, type: c.type, version: c.version })),
      ),
      ...nonEmpty(
        "subscriptions",
        subscriptions.map((s) => ({
          pubsubname: s.pubsubname,
          topic: s.topic,
          ...(Object.keys(s.metadata).length > 0 ? { metadata: s.metadata } : {}),
          ...nonEmpty(
            "rules",
            s.rules.map((r) => (r.match ? { match: r.match.source, path: r.path } : { path: r.path })),
          ),
          deadLetterTopic: s.deadLetterTopic,
          type: s.type,
        })),
      ),
      extended: {
        appChannelReady: String(appChannelReady),
        storage: "postgresql",
        instanceId: String(instanceId),
        // Local only: the app health probe's verdict (daprd shows it in its logs and metrics).
        ...(appHealth ? { appHealth: appHealth.healthy ? "healthy" : "unhealthy" } : {}),
      },
      appConnectionProperties: channel
        ? {
            port: channel.port,
            protocol: "http",
            channelAddress: channel.host,
            // As daprd reports them (pkg/api/universal/metadata.go): Go duration strings, and no
            // `health` at all without app health checks (omitempty in pkg/api/http/metadata.go).
            ...(healthConfig
              ? {
                  health: {
                    healthCheckPath: healthConfig.path,
                    healthProbeInterval: formatGoDuration(healthConfig.intervalMs),
                    healthProbeTimeout: formatGoDuration(healthConfig.timeoutMs),
                    healthThreshold: healthConfig.threshold,
                  },
                }
              : {}),
          }
        : {},
    });
  });

  const publishRoute = async ({ req, res, url, params }: RouteContext) => {
    await publishApi.publish({
      pubsub: params.pubsub!,
      topic: params.topic!,
      headers: req.headers,
      body: await readBody(req),
      metadata: queryMetadata(url),
    });
    sendEmpty(res);
  };
  const bulkRoute = async ({ req, res, url, params }: RouteContext) => {
    const failed = await publishApi.publishBulk({
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

  // daprd 1.18 serves both paths with the same handlers (pkg/api/http/jobs.go
  // constructJobsEndpoints: onCreateScheduleHandler, onGetJobHandler, onDeleteJobHandler for
  // v1.0-alpha1 and v1.0), so the answers are identical; the alpha path is deprecated.
  for (const version of ["v1.0-alpha1", "v1.0"]) {
    router.on("POST", `/${version}/jobs/*name`, async ({ req, res, params }) => {
      const job = parseJobRequest(appId, params.name!.trim(), parseJsonBody(await readBody(req)), new Date());
      if (!job.hasData) {
        // As daprd 1.18.2: accepted, but its triggers never reach the app and GET fails (jobs.ts).
        log.warn("job scheduled without data: daprd 1.18.2 never delivers its trigger", { job: job.name });
      }
      if (!(await saveJob(pool, appId, job))) {
        throw new ApiError(
          409,
          "DAPR_SCHEDULER_SCHEDULE_JOB",
          `failed to schedule job due to: job "${job.name}" already exists`,
          true,
        );
      }
      jobs?.kick();
      sendEmpty(res);
    });
    router.on("GET", `/${version}/jobs/*name`, async ({ res, params }) => {
      const spec = await getJob(pool, appId, params.name!);
      if (!spec)
        throw new ApiError(
          500,
          "DAPR_SCHEDULER_GET_JOB",
          `failed to get job due to: rpc error: code = NotFound desc = job not found: ${params.name}`,
          true,
        );
      if (spec.data === undefined) {
        // daprd 1.18.2 cannot render the empty google.protobuf.Value it stored for a job without data.
        throw new ApiError(
          500,
          "ERR_INTERNAL",
          "failed to encode response as JSON: proto: google.protobuf.Value: none of the oneof fields is set",
        );
      }
      sendJson(res, 200, jobJson(spec));
    });
    router.on("DELETE", `/${version}/jobs/*name`, async ({ res, params }) => {
      await deleteJob(pool, appId, params.name!);
      sendEmpty(res);
    });
  }

  router.on(["POST", "PUT"], "/v1.0/state/:store/bulk", async ({ req, res, params }) => {
    sendJson(res, 200, await state.bulkGet(params.store!, parseJsonBody(await readBody(req))));
  });
  router.on(["POST", "PUT"], "/v1.0/state/:store/transaction", async ({ req, res, params }) => {
    await state.transaction(params.store!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });
  router.on(["POST", "PUT"], "/v1.0/state/:store", async ({ req, res, params }) => {
    await state.save(params.store!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });
  router.on("GET", "/v1.0/state/:store/*key", async ({ res, params }) => {
    const item = await state.get(params.store!, params.key!);
    if (!item) sendEmpty(res);
    else {
      res.writeHead(200, {
        "content-type": "application/json",
        etag: item.etag,
        "content-length": item.value.length,
      });
      res.end(item.value);
    }
  });
  router.on("DELETE", "/v1.0/state/:store/*key", async ({ req, res, params }) => {
    const ifMatch = req.headers["if-match"];
    await state.delete(
      params.store!,
      params.key!,
      typeof ifMatch === "string" && ifMatch ? ifMatch : undefined,
    );
    sendEmpty(res);
  });

  router.on("GET", "/v1.0/secrets/:store/bulk", ({ res, params }) => {
    sendJson(res, 200, components.secretStores.bulk(params.store!));
  });
  router.on("GET", "/v1.0/secrets/:store/*name", ({ res, params }) => {
    const secret = components.secretStores.get(params.store!, params.name!);
    if (!secret) sendEmpty(res);
    else sendJson(res, 200, secret);
  });

  router.on(["POST", "PUT"], "/v1.0/bindings/:name", async ({ req, res, params }) => {
    await bindings.invoke(params.name!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });

  const invokeAndAnswer = async (req: IncomingMessage, res: ServerResponse, target: string, path: string) => {
    const response = await invoker.invoke({
      target,
      method: req.method ?? "GET",
      path,
      headers: req.headers,
      body: await readBody(req),
    });
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (
        value !== undefined &&
        !["connection", "keep-alive", "transfer-encoding", "content-length"].includes(name)
      ) {
        headers[name] = value;
      }
    }
    headers["content-length"] = String(response.body.length);
    res.writeHead(response.status, headers);
    res.end(response.body);
  };
  router.on(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    "/v1.0/invoke/:target/method/*path",
    ({ req, res, url, params }) => {
      // A dapr-app-id header wins over the path, which is then the method as a whole
      // (pkg/api/http/directmessaging.go findTargetIDAndMethod).
      const headerTarget = req.headers["dapr-app-id"];
      return typeof headerTarget === "string" && headerTarget
        ? invokeAndAnswer(req, res, headerTarget, `${url.pathname}${url.search}`)
        : invokeAndAnswer(
            req,
            res,
            params.target!,
            `/${url.pathname.split("/method/").slice(1).join("/method/")}${url.search}`,
          );
    },
  );

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://sidecar");
      try {
        const isHealth = url.pathname === "/v1.0/healthz" || url.pathname === "/v1.0/healthz/outbound";
        if (apiToken && !isHealth && !sameToken(req.headers["dapr-api-token"], apiToken)) {
          throw new ApiError(401, "ERR_UNAUTHORIZED", "invalid api token");
        }
        const match = router.match(req.method ?? "GET", url.pathname);
        if (match === null || match === "method") {
          // daprd's router hands every request no route takes (unknown path or method) to service
          // invocation, its fallback route (pkg/api/http/directmessaging.go `onDirectMessage`): the
          // dapr-app-id header names the target app, else it is 404 ERR_DIRECT_INVOKE.
          const headerTarget = req.headers["dapr-app-id"];
          if (typeof headerTarget === "string" && headerTarget) {
            await invokeAndAnswer(req, res, headerTarget, `${url.pathname}${url.search}`);
            return;
          }
          throw new ApiError(
            404,
            "ERR_DIRECT_INVOKE",
            "failed getting app id either from the URL path or the header dapr-app-id",
          );
        }
        await match.handler({ req, res, url, params: match.params });
      } catch (error) {
        if (error instanceof ApiError) sendError(res, error);
        else if (error instanceof AppCallError)
          sendError(res, new ApiError(500, "ERR_DIRECT_INVOKE", error.message));
        else {
          log.error("request failed", { method: req.method, path: url.pathname, err: error });
          sendError(res, new ApiError(500, "ERR_INTERNAL", (error as Error).message ?? "internal error"));
        }
      }
    })();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.httpPort, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    stopping = true;
    await (listener as pg.Client | null)?.end().catch(() => {});
    channel?.close();
    invoker.close();
    await pool.end().catch(() => {});
    throw new Error(`cannot listen on 127.0.0.1:${options.httpPort}: ${(error as Error).message}`);
  }
  const httpPort = (server.address() as AddressInfo).port;
  await sweep();
  await pool.query(
    `INSERT INTO dapr_local.sidecars (instance_id, app_id, app_host, app_port, http_port, pid, app_api_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      instanceId,
      appId,
      channel ? appHost : null,
      options.appPort ?? null,
      httpPort,
      process.pid,
      // Callers' sidecars send it to our app on invocations, as daprd's app channel does.
      (channel && (options.appApiToken ?? env.APP_API_TOKEN)) || null,
    ],
  );
  let sweeping = false;
  const sweepTimer = setInterval(() => {
    if (sweeping || stopping) return;
    sweeping = true;
    sweep()
      .catch((error) => log.warn("sweep failed", { err: error }))
      .finally(() => {
        sweeping = false;
      });
  }, sweepIntervalMs);
  sweepTimer.unref();
  log.info("local dapr sidecar started", {
    http_port: httpPort,
    app_port: options.appPort ?? null,
    instance_id: instanceId,
  });

  // ── App channel: wait for the app port, read its subscriptions once, then consume and fire jobs ──
  const initAppChannel = async (): Promise<void> => {
    if (!channel) return;
    while (!stopping && !(await channel.probe())) await sleep(100);
    if (stopping) return;
    // Before its subscriptions, daprd asks the app for its configuration (pkg/runtime/runtime.go
    // loadAppConfiguration, pkg/channel/http GetAppConfig); only actors use the answer, and this
    // sidecar has none, so any answer (or none) will do.
    await channel
      .call({
        method: "GET",
        path: "/dapr/config",
        headers: { "content-type": "application/json", "dapr-app-id": appId },
        timeoutMs: 10_000,
      })
      .catch(() => {});
    let programmatic: SubscriptionResource[] = [];
    // daprd reads GET /dapr/subscribe only when it has a pub/sub component
    // (pkg/runtime/processor/subscriber initProgrammaticSubscriptions).
    for (let attempt = 0; components.pubsubs.size > 0; attempt++) {
      try {
        const response = await channel.call({ method: "GET", path: "/dapr/subscribe", timeoutMs: 10_000 });
        if (response.status === 200) {
          const parsed = parseProgrammaticSubscriptions(JSON.parse(response.body.toString("utf8") || "null"));
          for (const warning of parsed.warnings) log.warn(warning);
          programmatic = parsed.subscriptions;
        } else if (response.status === 404) {
          log.debug("the app has no programmatic subscriptions (GET /dapr/subscribe answered 404)");
        } else {
          log.error("GET /dapr/subscribe failed; no programmatic subscriptions", { status: response.status });
        }
        break;
      } catch (error) {
        if (error instanceof ResourceError) throw error;
        if (error instanceof SyntaxError)
          throw new ResourceError(`GET /dapr/subscribe did not answer JSON: ${error.message}`);
        // daprd's DaprBuiltInInitializationRetries: 3 tries, exponential from 500 ms.
        if (attempt >= 2) {
          log.error("GET /dapr/subscribe unreachable; no programmatic subscriptions", { err: error });
          break;
        }
        await sleep(500 * 2 ** attempt);
      }
    }
    const merged = [...declarative];
    for (const s of programmatic) {
      if (!components.pubsubs.has(s.pubsubname)) {
        log.warn("subscription names an unknown pubsub; ignored", { pubsub: s.pubsubname, topic: s.topic });
      } else if (merged.some((d) => d.pubsubname === s.pubsubname && d.topic === s.topic)) {
        log.warn("a declarative subscription to this topic takes precedence; programmatic one ignored", {
          pubsub: s.pubsubname,
          topic: s.topic,
        });
      } else merged.push(s);
    }
    subscriptions = merged;
    await registerSubscriptions(
      pool,
      appId,
      merged.map((s) => ({ pubsub: s.pubsubname, topic: s.topic, deadLetterTopic: s.deadLetterTopic })),
    );
    await pool.query("UPDATE dapr_local.sidecars SET app_ready = true WHERE instance_id = $1", [instanceId]);
    appChannelReady = true;
    log.info("app channel ready", { subscriptions: merged.map((s) => `${s.pubsubname}/${s.topic}`) });
    consumer?.start(merged);
    jobs?.start();
    // daprd starts probing once the app port answers, and subscribes on the first healthy probe.
    appHealth?.start();
  };
  const appReady = initAppChannel();
  appReady.catch((error) => log.error("app channel failed to initialise", { err: error }));

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      clearInterval(sweepTimer);
      appHealth?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([consumer?.stop(graceMs), jobs?.stop(graceMs)]);
      await pool
        .query("DELETE FROM dapr_local.sidecars WHERE instance_id = $1", [instanceId])
        .catch(() => {});
      const forceClose = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(forceClose);
      await (listener as pg.Client | null)?.end().catch(() => {});
      channel?.close();
      invoker.close();
      await pool.end().catch(() => {});
      log.info("local dapr sidecar stopped");
    })();
    return stopped;
  };

  return { httpPort, appId, instanceId, appReady, stop };
}
