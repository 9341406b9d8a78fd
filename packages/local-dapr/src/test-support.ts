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
import { afterAll, test } from "vitest";
import { daprdArgv, daprdHealthy, daprdPorts, LoggedProcess } from "#testing/daprd.ts";
import { daprBacking, daprdResources, releaseDaprBacking, RUNTIME } from "#testing/runtime.ts";
import { pendingDeliveries } from "./inspect.ts";
import { startSidecar, type Sidecar, type SidecarOptions } from "./sidecar.ts";

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

export interface TestApp {
  port: number;
  requests: RecordedRequest[];
  /** Requests to paths starting with `prefix` (the subscribe call excluded). */
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
      app.requests.filter((r) => r.path.startsWith(prefix) && r.path !== "/dapr/subscribe"),
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

/** A pubsub.redis component named `name` (served by the PostgreSQL broker), redelivering fast. */
export function pubsubYaml(name = "pubsub", redeliverInterval = "200ms"): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: localhost:6379
    - name: redeliverInterval
      value: "${redeliverInterval}"
`;
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

// Kafka and the Scheduler are started once per test file and kept until its end, not per test.
let fileBacking: ReturnType<typeof daprBacking> | null = null;
if (RUNTIME === "daprd") {
  afterAll(async () => {
    if (fileBacking) await releaseDaprBacking();
  });
}

async function daprdSidecar(options: Partial<SidecarOptions> & { appId: string }): Promise<Sidecar> {
  fileBacking ??= daprBacking();
  const backing = await fileBacking;
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
  await ready;
  return {
    httpPort: ports.http,
    appId: options.appId,
    instanceId: 0,
    appReady: ready,
    stop: () => daprd.stop(),
  };
}

/** The conformance tests that hold for daprd too: they run on both runtimes. */
export const onBoth = test;

/**
 * A test of the local sidecar's own machinery (its PostgreSQL store, its start-up errors, its
 * logs), or of a rule where daprd differs (ADR 007 says which and why): defined only when the
 * sidecar under test is the local one, never as a skipped test.
 */
export const localOnly: typeof test =
  RUNTIME === "local" ? test : (((..._args: unknown[]) => {}) as typeof test);

/** Waits until the sidecar of `appId` has no delivery left to make (each settled one way or another). */
export async function settled(appId: string): Promise<void> {
  const pool = await db();
  await waitFor(
    "no pending deliveries",
    async () => (await pendingDeliveries(pool, appId)).length === 0,
    10_000,
  );
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
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
