// Shared pieces of the conformance suite: a tiny real HTTP app that records what the sidecar sends
// it, sidecars on this test worker's database, resources folders, and polling with deadlines.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createLogger, type Level } from "#platform/logger.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { pubsubYaml } from "#testing/components.ts";

export { pubsubYaml };
import { afterAll, beforeAll, test } from "vitest";
import { daprdArgv, daprdHealthy, daprdPorts, LoggedProcess } from "#testing/daprd.ts";
import { daprBacking, daprdResources, releaseDaprBacking, RUNTIME } from "#testing/runtime.ts";
import { pendingDeliveries, readTopic } from "./inspect.ts";
import { startSidecar, type Sidecar, type SidecarOptions } from "./sidecar.ts";
import { WAIT_MS } from "#testing/wait.ts";

export interface RecordedRequest {
  method: string;
  /** Path with query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Hold the answer this long (a slow handler). */
  delayMs?: number;
  /** Never answer (the request hangs until the connection closes). */
  hang?: boolean;
}

/** What a sidecar asks every app once, at start-up (daprd: its configuration, then its subscriptions). */
const SIDECAR_CALLS = new Set(["/dapr/config", "/dapr/subscribe"]);

export interface TestApp {
  port: number;
  requests: RecordedRequest[];
  /** Requests to paths starting with `prefix` (the start-up calls, GET /dapr/config and /dapr/subscribe, excluded). */
  received(prefix?: string): RecordedRequest[];
  /** How each request is answered (default: 200 with an empty body). */
  respond: (request: RecordedRequest) => Reply | Promise<Reply>;
  /** What GET /dapr/subscribe answers: a JSON array, or a bare status. */
  subscribe: unknown[] | number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];

/** Registers something to undo when the current test ends. */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Stops everything the current test started (call from afterEach). */
export async function cleanupAll(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => {});
}

export function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function startApp(port = 0): Promise<TestApp> {
  const app: TestApp = {
    port: 0,
    requests: [],
    received: (prefix = "/") =>
      app.requests.filter((r) => r.path.startsWith(prefix) && !SIDECAR_CALLS.has(r.path)),
    respond: () => ({ status: 200 }),
    subscribe: 404,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          json = undefined;
        }
        const recorded: RecordedRequest = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body,
          at: Date.now(),
          json,
        };
        app.requests.push(recorded);
        if (req.method === "GET" && req.url === "/dapr/subscribe") {
          if (typeof app.subscribe === "number") res.writeHead(app.subscribe).end();
          else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(app.subscribe));
          return;
        }
        const reply = await app.respond(recorded);
        if (reply.hang) return;
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
        const text =
          reply.body === undefined
            ? ""
            : typeof reply.body === "string"
              ? reply.body
              : JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, {
          ...(reply.body !== undefined && typeof reply.body !== "string"
            ? { "content-type": "application/json" }
            : {}),
          ...reply.headers,
        });
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  app.port = (server.address() as AddressInfo).port;
  app.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(() => app.close());
  return app;
}

/** A port nothing listens on (yet). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A temporary folder, removed when the test ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "local-dapr-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A folder holding the given YAML files. */
export async function resourcesDir(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

export async function storageUrl(): Promise<string> {
  return workerDatabaseUrl();
}

let sharedPool: pg.Pool | null = null;

/** A pool on this worker's database, for looking at dapr_local tables. */
export async function db(): Promise<pg.Pool> {
  sharedPool ??= new pg.Pool({ connectionString: await storageUrl(), max: 3 });
  return sharedPool;
}

/**
 * A sidecar for `options.appId`: the local sidecar in this process, or (ORBIT_DAPR_RUNTIME=daprd,
 * `make test-dapr`) real daprd 1.18 with the Scheduler and Kafka, given the same resources. The
 * conformance tests that describe daprd's behaviour run on both (see `onBoth` / `localOnly`).
 */
export async function sidecar(options: Partial<SidecarOptions> & { appId: string }): Promise<Sidecar> {
  if (RUNTIME === "daprd") return daprdSidecar(options);
  const level = (process.env.LOCAL_DAPR_TEST_LOG as Level | undefined) ?? "silent";
  const started = await startSidecar({
    httpPort: 0,
    storageUrl: await storageUrl(),
    log: createLogger("local-dapr", level, { app_id: options.appId }),
    sweepIntervalMs: 1_000,
    gracefulShutdownMs: 1_000,
    ...options,
  });
  cleanups.push(() => started.stop());
  return started;
}

// Kafka and the Scheduler are started once per test file and kept until its end, not per test:
// before the file's first test (hookTimeout: a JVM and an etcd booting on a busy machine), so that
// no test's own timeout pays for them.
let fileBacking: ReturnType<typeof daprBacking> | null = null;
function fileBackingStarted(): ReturnType<typeof daprBacking> {
  fileBacking ??= daprBacking();
  return fileBacking;
}
if (RUNTIME === "daprd") {
  beforeAll(async () => {
    await fileBackingStarted();
  });
  afterAll(async () => {
    if (fileBacking) await releaseDaprBacking();
  });
}

async function daprdSidecar(options: Partial<SidecarOptions> & { appId: string }): Promise<Sidecar> {
  const backing = await fileBackingStarted();
  const sources = [options.resourcesPath ?? (await tempDir())].flat();
  if (sources.length !== 1) throw new Error("the daprd sidecar of the tests takes one resources folder");
  const resourcesPath = await daprdResources(sources[0]!, backing, {
    stateConnectionString: await storageUrl(),
  });
  const ports = await daprdPorts(options.httpPort || undefined);
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.DAPR_API_TOKEN;
  delete env.APP_API_TOKEN;
  if (options.apiToken) env.DAPR_API_TOKEN = options.apiToken;
  if (options.appApiToken) env.APP_API_TOKEN = options.appApiToken;
  const daprd = new LoggedProcess(
    `daprd ${options.appId}`,
    [
      ...daprdArgv({
        appId: options.appId,
        appPort: options.appPort,
        ports,
        resourcesPath,
        configPath: backing.configPath,
        schedulerAddress: backing.scheduler.address,
        ...(options.appHealthCheck
          ? {
              appHealthCheckPath: options.appHealthCheckPath ?? "/healthz",
              appHealthProbe: {
                intervalSeconds: Math.max(1, Math.round((options.appHealthProbeIntervalMs ?? 5_000) / 1_000)),
                timeoutMs: options.appHealthProbeTimeoutMs ?? 500,
                threshold: options.appHealthThreshold ?? 3,
              },
            }
          : {}),
      }),
      ...(options.maxConcurrency ? [`--app-max-concurrency=${options.maxConcurrency}`] : []),
    ],
    env,
    options.cwd,
  ).start();
  cleanups.push(() => daprd.stop());
  const ready = daprd.waitUntil(`daprd ${options.appId} healthy`, () => daprdHealthy(ports.http));
  // Without an app, daprd's healthz passes once its API is up; with one, once the app channel is
  // ready and the subscriptions are made (the same moment the local sidecar resolves appReady).
  // With an app, the sidecar is returned as soon as its API answers (healthz/outbound: components
  // loaded, servers up, pkg/runtime/runtime.go), as the local sidecar returns before its app
  // channel is ready: a test of what happens before the app listens needs the sidecar by then.
  if (options.appPort === undefined) await ready;
  else {
    ready.catch(() => {});
    await daprd.waitUntil(`daprd ${options.appId} outbound healthy`, () => daprdOutboundHealthy(ports.http));
  }
  const started: Sidecar = {
    httpPort: ports.http,
    appId: options.appId,
    instanceId: 0,
    appReady: ready,
    stop: () => daprd.stop(),
  };
  daprdProcesses.set(started, daprd);
  return started;
}

async function daprdOutboundHealthy(httpPort: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz/outbound`).catch(() => null);
  return res?.status === 204;
}

/** Every daprd of this file, for its logs and its subscriptions (settled). */
const daprdProcesses = new Map<Sidecar, LoggedProcess>();

/** The conformance tests that hold for daprd too: they run on both runtimes. */
export const onBoth = test;

/**
 * A test of the local sidecar's own machinery (its PostgreSQL store, its start-up errors, its
 * logs), or of a rule where daprd differs (ADR 007 says which and why): defined only when the
 * sidecar under test is the local one, never as a skipped test.
 */
export const localOnly: typeof test =
  RUNTIME === "local" ? test : (((..._args: unknown[]) => {}) as typeof test);

/**
 * Waits until the sidecar(s) of `appId` have no delivery left to make (each acked, dropped or
 * dead-lettered): no pending delivery in the local store, or, on daprd, the consumer group of the
 * app-id (Dapr's Kafka consumer group defaults to the app-id) has committed every record of each
 * topic the app-id subscribes to (lag 0). daprd's Kafka consumer commits what it marked every
 * second (sarama's auto-commit), so this can trail the last answer by about that much.
 */
export async function settled(
  appId: string,
  timeoutMs = RUNTIME === "daprd" ? 60_000 : WAIT_MS,
): Promise<void> {
  if (RUNTIME === "daprd") {
    await waitFor(`the consumer group ${appId} to have no lag`, () => groupCaughtUp(appId), timeoutMs, 200);
    return;
  }
  const pool = await db();
  await waitFor(
    "no pending deliveries",
    async () => (await pendingDeliveries(pool, appId)).length === 0,
    timeoutMs,
  );
}

/** The topics the running daprd(s) of `appId` subscribe to, from their metadata API. */
async function subscribedTopics(appId: string): Promise<Set<string>> {
  const topics = new Set<string>();
  let asked = 0;
  for (const [started, process] of daprdProcesses) {
    if (started.appId !== appId || !process.running) continue;
    const response = await call(started.httpPort, "GET", "/v1.0/metadata").catch(() => null);
    if (response?.status !== 200) continue;
    asked++;
    // daprd leaves the list out when it is empty.
    const { subscriptions = [] } = response.json as { subscriptions?: { topic: string }[] };
    for (const s of subscriptions) topics.add(s.topic);
  }
  if (asked === 0) throw new Error(`no running daprd of app-id ${appId} answers its metadata API`);
  return topics;
}

async function groupCaughtUp(appId: string): Promise<boolean> {
  const topics = await subscribedTopics(appId);
  const kafka = (await fileBackingStarted()).kafka;
  const group = (await kafka.groups())[appId] ?? {};
  if ([...topics].some((topic) => (group[topic]?.lag ?? 0) > 0)) return false;
  // A topic the group has committed nothing on is caught up only while it holds no record.
  const uncommitted = [...topics].filter((topic) => !(topic in group));
  if (uncommitted.length === 0) return true;
  const ends = await kafka.endOffsets(exactly(uncommitted));
  return uncommitted.every((topic) => (ends[topic] ?? 0) === 0);
}

const exactly = (names: string[]) =>
  new RegExp(`^(?:${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`);

/** A message as the broker holds it: a row of the local store, or a Kafka record. */
export interface TopicMessage {
  /** The partition key (local) or the record key (Kafka); null without one. */
  key: string | null;
  /** The stored bytes as text: the CloudEvent envelope, or a raw payload. */
  body: string;
  /** The body parsed as a JSON object (the envelope), or null. */
  event: Record<string, unknown> | null;
}

/**
 * Every message `topic` of `pubsub` holds now, oldest first (per partition on Kafka), on the
 * runtime under test: the local store's rows, or the records of the Kafka topic (daprd's
 * pubsub.kafka publishes to the topic of that name, whatever the component is called).
 */
export async function topicMessages(topic: string, pubsub = "pubsub"): Promise<TopicMessage[]> {
  const parse = (body: string) => {
    try {
      const parsed: unknown = JSON.parse(body);
      return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  };
  if (RUNTIME === "daprd") {
    const kafka = (await fileBackingStarted()).kafka;
    // KafkaTool's read needs the topic to exist; one that holds nothing is not read at all.
    if (((await kafka.endOffsets(exactly([topic])))[topic] ?? 0) === 0) return [];
    return (await kafka.read(topic)).map((r) => ({ key: r.key, body: r.value, event: parse(r.value) }));
  }
  return (await readTopic(await db(), pubsub, topic)).map((m) => {
    const body = m.body.toString("utf8");
    return { key: m.partitionKey, body, event: parse(body) };
  });
}

/**
 * Whether a delivery attempt of the sidecar `subscriber` has failed with an error matching
 * `pattern`: the last error the local store recorded on a pending delivery, or a line daprd logged.
 */
export async function deliveryFailed(subscriber: Sidecar, pattern: RegExp): Promise<boolean> {
  if (RUNTIME === "daprd") {
    const output = daprdProcesses.get(subscriber)?.output ?? [];
    return output.some(
      (line) => /retriable error|Error processing Kafka message/.test(line) && pattern.test(line),
    );
  }
  const pending = await pendingDeliveries(await db(), subscriber.appId);
  return pending.some((p) => pattern.test(p.lastError ?? ""));
}

/**
 * What the app health probe of `started` last reported (undefined without health checks; both
 * runtimes hold the app unhealthy until a probe passes): the local sidecar's metadata extension
 * `extended.appHealth`, or what daprd logged last (pkg/apphealth "App health probes starting",
 * "App entered healthy / un-healthy status"; daprd's metadata API does not report it).
 */
export async function appHealth(started: Sidecar): Promise<"healthy" | "unhealthy" | undefined> {
  if (RUNTIME === "daprd") {
    const output = daprdProcesses.get(started)?.output ?? [];
    for (let i = output.length - 1; i >= 0; i--) {
      if (output[i]!.includes("App entered healthy status")) return "healthy";
      if (output[i]!.includes("App entered un-healthy status")) return "unhealthy";
      // daprd starts its probes with the app unhealthy, and says so only when that changes.
      if (output[i]!.includes("App health probes starting")) return "unhealthy";
    }
    return undefined;
  }
  const metadata = (await call(started.httpPort, "GET", "/v1.0/metadata")).json as {
    extended: { appHealth?: "healthy" | "unhealthy" };
  };
  return metadata.extended.appHealth;
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = WAIT_MS,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** One request to a sidecar's HTTP API. */
export async function call(
  port: number,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body =
      typeof body === "string" ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body);
    const raw = typeof body === "string" || Buffer.isBuffer(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type") && !raw) {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
  }
  const response = await fetch(`http://127.0.0.1:${port}${pathname}`, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Publishes JSON data; asserts nothing (tests check the status). */
export function publish(
  port: number,
  topic: string,
  data: unknown,
  query = "",
  pubsub = "pubsub",
): Promise<ApiResponse> {
  return call(port, "POST", `/v1.0/publish/${pubsub}/${topic}${query}`, data);
}

export interface PubsubSetup {
  topic: string;
  app: TestApp;
  subscriber: Sidecar;
  publisher: Sidecar;
  resources: string;
}

/**
 * A subscriber app + sidecar on a fresh topic (programmatic subscription `{ route: "/events", …subscription }`)
 * and a publisher sidecar without an app, sharing one resources folder.
 */
export async function pubsubSetup(
  options: { subscription?: Record<string, unknown>; resources?: Record<string, string> } = {},
): Promise<PubsubSetup> {
  const topic = uid("topic");
  const app = await startApp();
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events", ...options.subscription }];
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml(), ...options.resources });
  const subscriber = await sidecar({ appId: uid("sub"), appPort: app.port, resourcesPath: resources });
  await subscriber.appReady;
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  return { topic, app, subscriber, publisher, resources };
}
