// A Dapr-compatible sidecar for machines where daprd cannot run (docs: packages/local-dapr/README.md).
// One sidecar per app, like daprd: it serves Dapr's HTTP API on its own port, calls the app on
// its app port, and keeps everything durable in PostgreSQL (schema dapr_local), which plays the
// message broker and the Scheduler's store. Sidecars of different apps find each other (and each
// other's messages and jobs) through that database; LISTEN/NOTIFY wakes them, timers handle
// backoff and due times, and a slow sweep catches anything a lost notification left behind.
import type { AddressInfo } from "node:net";
import { createLogger, type Level, type Logger } from "#platform/logger.ts";
import { AppChannel } from "./app-channel.ts";
import { AppHealth, appHealthConfig } from "./app-health.ts";
import { Publisher, registerSubscriptions } from "./broker.ts";
import { OutputBindings, registerBindingsRoutes } from "./bindings.ts";
import { Consumer } from "./consumer.ts";
import { createApiServer, Router } from "./http-util.ts";
import { Invoker, registerInvokeRoutes } from "./invoke.ts";
import { JobRunner, registerJobsRoutes } from "./jobs.ts";
import { registerHealthRoutes, registerMetadataRoutes, type SidecarStatus } from "./metadata.ts";
import { PublishApi, registerPublishRoutes } from "./publish.ts";
import { Resiliency } from "./resiliency.ts";
import {
  declarativeSubscriptions,
  fetchProgrammaticSubscriptions,
  loadResources,
  mergeSubscriptions,
  ResourceError,
  type ComponentResource,
} from "./resources.ts";
import {
  deregisterSidecar,
  markAppReady,
  NotificationListener,
  registerSidecar,
  Sweeper,
} from "./registry.ts";
import { openStorage } from "./schema.ts";
import { createSecretStore, registerSecretsRoutes, SecretStores, type SecretStore } from "./secrets.ts";
import { registerStateRoutes, StateStores } from "./state.ts";

export { RUNTIME_VERSION } from "./metadata.ts";

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
  const declarative = declarativeSubscriptions(resources.subscriptions, components.pubsubs, log);
  const { pool, instanceId } = await openStorage(options.storageUrl, appId, log);

  // ── State shared by the handlers below ──
  const status: SidecarStatus = {
    stopping: false,
    appChannelReady: options.appPort === undefined,
    subscriptions: [...declarative],
  };
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

  // ── Liveness: the listen connection holds our advisory lock; the sweep cleans up after the dead ──
  const listener = new NotificationListener({
    storageUrl: options.storageUrl,
    appId,
    instanceId,
    log,
    isStopping: () => status.stopping,
    onDelivery: () => consumer?.kick(),
    onJob: () => jobs?.kick(),
    onReconnected: () => {
      consumer?.kick();
      jobs?.kick();
    },
  });
  try {
    await listener.connect();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const sweeper = new Sweeper({
    pool,
    instanceId,
    retentionMs,
    log,
    wake: () => {
      consumer?.kick();
      void consumer?.refreshRetryTimer();
      jobs?.kick();
    },
  });

  // ── HTTP API: each module registers its routes; what none takes goes to service invocation ──
  const router = new Router();
  registerHealthRoutes(router, status);
  registerMetadataRoutes(router, {
    appId,
    instanceId,
    components: components.all,
    channel,
    healthConfig,
    appHealth,
    status,
  });
  registerPublishRoutes(router, publishApi);
  registerJobsRoutes(router, { pool, appId, log, runner: jobs });
  registerStateRoutes(router, state);
  registerSecretsRoutes(router, components.secretStores);
  registerBindingsRoutes(router, bindings);
  const invokeFallback = registerInvokeRoutes(router, invoker);
  const server = createApiServer({ router, apiToken, fallback: invokeFallback, log });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.httpPort, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    status.stopping = true;
    await listener.close();
    channel?.close();
    invoker.close();
    await pool.end().catch(() => {});
    throw new Error(`cannot listen on 127.0.0.1:${options.httpPort}: ${(error as Error).message}`);
  }
  const httpPort = (server.address() as AddressInfo).port;
  await sweeper.sweep();
  await registerSidecar(pool, {
    instanceId,
    appId,
    appHost: channel ? appHost : null,
    appPort: options.appPort ?? null,
    httpPort,
    appApiToken: (channel && (options.appApiToken ?? env.APP_API_TOKEN)) || null,
  });
  sweeper.start(sweepIntervalMs, () => status.stopping);
  log.info("local dapr sidecar started", {
    http_port: httpPort,
    app_port: options.appPort ?? null,
    instance_id: instanceId,
  });

  // ── App channel: wait for the app port, read its subscriptions once, then consume and fire jobs ──
  const initAppChannel = async (): Promise<void> => {
    if (!channel) return;
    while (!status.stopping && !(await channel.probe())) await sleep(100);
    if (status.stopping) return;
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
    // daprd reads GET /dapr/subscribe only when it has a pub/sub component
    // (pkg/runtime/processor/subscriber initProgrammaticSubscriptions).
    const programmatic =
      components.pubsubs.size > 0 ? await fetchProgrammaticSubscriptions(channel, log) : [];
    const merged = mergeSubscriptions(declarative, programmatic, components.pubsubs, log);
    status.subscriptions = merged;
    await registerSubscriptions(
      pool,
      appId,
      merged.map((s) => ({ pubsub: s.pubsubname, topic: s.topic, deadLetterTopic: s.deadLetterTopic })),
    );
    await markAppReady(pool, instanceId);
    status.appChannelReady = true;
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
      status.stopping = true;
      sweeper.stop();
      appHealth?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([consumer?.stop(graceMs), jobs?.stop(graceMs)]);
      await deregisterSidecar(pool, instanceId).catch(() => {});
      const forceClose = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(forceClose);
      await listener.close();
      channel?.close();
      invoker.close();
      await pool.end().catch(() => {});
      log.info("local dapr sidecar stopped");
    })();
    return stopped;
  };

  return { httpPort, appId, instanceId, appReady, stop };
}
