// Conformance: health, metadata, the API token and app health checks (reference §4.4).
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { RUNTIME } from "#testing/runtime.ts";
import {
  appHealth,
  call,
  cleanupAll,
  freePort,
  localOnly,
  onCleanup,
  publish,
  pubsubYaml,
  resourcesDir,
  sidecar,
  startApp,
  tempDir,
  topicMessages,
  uid,
  waitFor,
} from "./test-support.ts";

afterEach(cleanupAll);

test("healthz is 500 until the app port answers, then 204; healthz/outbound is 204 from the start", async () => {
  const appPort = await freePort();
  const started = await sidecar({ appId: uid("late"), appPort });
  const before = await call(started.httpPort, "GET", "/v1.0/healthz");
  expect(before.status).toBe(500);
  expect(before.json).toMatchObject({ errorCode: "ERR_HEALTH_NOT_READY" });
  expect((await call(started.httpPort, "GET", "/v1.0/healthz/outbound")).status).toBe(204);

  const app = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => app.listen(appPort, "127.0.0.1", resolve));
  onCleanup(() => new Promise((resolve) => app.close(() => resolve())));
  await waitFor(
    "healthz 204",
    async () => (await call(started.httpPort, "GET", "/v1.0/healthz")).status === 204,
  );
});

test("without an app port, healthz is 204 at once", async () => {
  const started = await sidecar({ appId: uid("noapp") });
  expect((await call(started.httpPort, "GET", "/v1.0/healthz")).status).toBe(204);
});

test("metadata lists the app-id, runtime version, components, subscriptions and app connection", async () => {
  const resources = await resourcesDir({
    // pubsub.kafka, as production declares it: the local sidecar serves it from its own broker.
    "pubsub.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: brokers
      value: localhost:9092
    - name: authType
      value: none
`,
    "sub.yaml": `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: s
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    rules:
      - match: event.type == "a"
        path: /a
    default: /orders
  deadLetterTopic: orders-dlq
`,
  });
  const started = await sidecar({ appId: uid("meta"), appPort: await freePort(), resourcesPath: resources });
  const response = await call(started.httpPort, "GET", "/v1.0/metadata");
  expect(response.status).toBe(200);
  expect(response.json).toMatchObject({
    id: started.appId,
    runtimeVersion: expect.stringMatching(/^1\.18\.2/),
    components: [{ name: "pubsub", type: "pubsub.kafka", version: "v1" }],
    appConnectionProperties: { protocol: "http", channelAddress: "127.0.0.1" },
  });
  // Without app health checks there is no `health` at all.
  expect(response.json).not.toHaveProperty("appConnectionProperties.health");
  // daprd lists the preview features 1.18 turns on by default (in no fixed order); the local
  // sidecar has neither (no workflows, no hot reload), so it claims none (ADR 007, difference 9).
  const { enabledFeatures = [] } = response.json as { enabledFeatures?: string[] };
  expect([...enabledFeatures].sort()).toEqual(
    RUNTIME === "daprd" ? ["HotReload", "WorkflowsRemoteActivityReminder"] : [],
  );
  // Declarative subscriptions are listed from the start; programmatic ones once the app channel is
  // ready (the app is not listening here). Empty fields are left out.
  expect((response.json as { subscriptions: unknown }).subscriptions).toEqual([
    {
      pubsubname: "pubsub",
      topic: "orders",
      rules: [{ match: 'event.type == "a"', path: "/a" }, { path: "/orders" }],
      deadLetterTopic: "orders-dlq",
      type: "DECLARATIVE",
    },
  ]);
});

test("with an API token, every API but healthz needs the dapr-api-token header (401 otherwise)", async () => {
  const started = await sidecar({ appId: uid("token"), apiToken: "s3cret" });
  expect((await call(started.httpPort, "GET", "/v1.0/metadata")).status).toBe(401);
  expect(
    (await call(started.httpPort, "GET", "/v1.0/metadata", undefined, { "dapr-api-token": "wrong" })).status,
  ).toBe(401);
  expect(
    (await call(started.httpPort, "GET", "/v1.0/metadata", undefined, { "dapr-api-token": "s3cret" })).status,
  ).toBe(200);
  expect((await call(started.httpPort, "GET", "/v1.0/healthz")).status).toBe(204);
  expect((await call(started.httpPort, "GET", "/v1.0/healthz/outbound")).status).toBe(204);
});

test("a path no API takes goes to service invocation: 404 ERR_DIRECT_INVOKE without a dapr-app-id header", async () => {
  const started = await sidecar({ appId: uid("paths") });
  for (const [method, pathname] of [
    ["GET", "/v1.0/actors/x"],
    ["GET", "/not-an-api"],
    ["PATCH", "/v1.0/metadata"],
  ] as const) {
    const response = await call(started.httpPort, method, pathname);
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({
      errorCode: "ERR_DIRECT_INVOKE",
      message: "failed getting app id either from the URL path or the header dapr-app-id",
    });
  }
});

test("with a dapr-app-id header, a path no API takes invokes that app with the path as its method", async () => {
  const app = await startApp();
  app.respond = () => ({ status: 200, body: { ok: true } });
  const target = await sidecar({ appId: uid("target"), appPort: app.port });
  await target.appReady;
  const caller = await sidecar({ appId: uid("caller") });
  const response = await call(caller.httpPort, "GET", "/v1.0/actors/x?y=1", undefined, {
    "dapr-app-id": target.appId,
  });
  expect(response.status).toBe(200);
  expect(response.json).toEqual({ ok: true });
  expect(app.received("/").map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1.0/actors/x?y=1"]);
});

localOnly("a component type the local sidecar cannot serve fails startup, naming it", async () => {
  const resources = await resourcesDir({
    "cron.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: tick
spec:
  type: bindings.cron
  version: v1
`,
  });
  await expect(sidecar({ appId: uid("bad"), resourcesPath: resources })).rejects.toThrow(/bindings\.cron/);
});

test("the shipped dapr-components/local folder loads: every component in scope is served under its name", async () => {
  const resourcesPath = path.resolve(import.meta.dirname, "../../../dapr-components/local");
  const declared: string[] = [];
  const scoped: Record<string, string[]> = {};
  for (const file of await readdir(resourcesPath)) {
    for (const doc of parseAllDocuments(await readFile(path.join(resourcesPath, file), "utf8"))) {
      const resource = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        scopes?: string[];
      } | null;
      if (resource?.kind !== "Component") continue;
      if (resource.scopes?.length) scoped[String(resource.metadata?.name)] = resource.scopes;
      else declared.push(String(resource.metadata?.name));
    }
  }
  // The state store and its secret store are the assistant's alone (this sidecar's app-id is another).
  expect(scoped).toEqual({ statestore: ["assistant"], "assistant-secrets": ["assistant"] });
  // The secret store reads .local/secrets.json relative to the working directory (`make dev` writes it).
  const cwd = await tempDir();
  await mkdir(path.join(cwd, ".local"));
  await writeFile(
    path.join(cwd, ".local/secrets.json"),
    JSON.stringify({ pgConnectionString: "postgresql://x" }),
  );
  const started = await sidecar({ appId: uid("shipped"), resourcesPath, cwd });
  const metadata = (await call(started.httpPort, "GET", "/v1.0/metadata")).json as {
    components: { name: string }[];
  };
  expect(declared.length).toBeGreaterThanOrEqual(3);
  expect(metadata.components.map((c) => c.name).sort()).toEqual(declared.sort());
});

// ── App health checks (--enable-app-health-check; dapr pkg/apphealth, pkg/runtime/runtime.go) ──

/** A subscriber app whose GET /readyz answers 200 while `ready`, else 503. */
async function probedApp(topic: string, dlq: string) {
  const app = await startApp();
  const state = { ready: false, failedProbes: 0, firstPassedAt: 0 };
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events", deadLetterTopic: dlq }];
  app.respond = (request) => {
    if (request.path !== "/readyz") return { status: 200 };
    if (!state.ready) state.failedProbes++;
    else state.firstPassedAt ||= request.at;
    return { status: state.ready ? 200 : 503 };
  };
  return { app, state };
}

const healthOptions = {
  appHealthCheck: true,
  appHealthCheckPath: "/readyz",
  appHealthProbeIntervalMs: 100,
  appHealthProbeTimeoutMs: 50,
  appHealthThreshold: 2,
};

test("with app health checks, nothing is delivered and no job fires until GET <app-health-check-path> answers 2xx", async () => {
  const topic = uid("topic");
  const dlq = uid("dlq");
  const { app, state } = await probedApp(topic, dlq);
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const subscriber = await sidecar({
    appId: uid("probed"),
    appPort: app.port,
    resourcesPath: resources,
    ...healthOptions,
  });
  await subscriber.appReady;
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  expect((await publish(publisher.httpPort, topic, { n: 1 })).status).toBe(204);
  expect(
    (await call(subscriber.httpPort, "POST", "/v1.0/jobs/early", { dueTime: "0s", data: { a: 1 } })).status,
  ).toBe(204);
  // daprd probes every second at most (its --app-health-probe-interval is in whole seconds).
  await waitFor("five failed probes", () => state.failedProbes >= 5, 20_000);
  expect(app.received("/events")).toHaveLength(0);
  expect(app.received("/job/")).toHaveLength(0);
  expect(await appHealth(subscriber)).toBe("unhealthy");

  state.ready = true;
  await waitFor(
    "the delivery and the trigger",
    () => (app.received("/events").length === 1 && app.received("/job/early").length === 1 ? true : null),
    30_000,
  );
  expect(await appHealth(subscriber)).toBe("healthy");
  // The configured path only (not daprd's default /healthz); no retry was spent, nothing dead-lettered.
  expect(app.requests.filter((r) => r.path === "/healthz")).toHaveLength(0);
  expect(await topicMessages(dlq)).toHaveLength(0);
  // daprd asks for the app's configuration and subscriptions on its first healthy probe
  // (pkg/runtime/runtime.go appHealthChanged); the local sidecar as soon as the app port answers,
  // so that its broker fans messages out to the app-id from then on (ADR 007, difference 16).
  const startupCalls = app.requests.filter((r) => r.path === "/dapr/config" || r.path === "/dapr/subscribe");
  expect(startupCalls.map((r) => r.path)).toEqual(["/dapr/config", "/dapr/subscribe"]);
  for (const call of startupCalls) {
    if (RUNTIME === "daprd") expect(call.at).toBeGreaterThanOrEqual(state.firstPassedAt);
    else expect(call.at).toBeLessThan(state.firstPassedAt);
  }
});

test("an app that turns unhealthy after `threshold` failed probes gets nothing until a probe passes again", async () => {
  const topic = uid("topic");
  const dlq = uid("dlq");
  const { app, state } = await probedApp(topic, dlq);
  state.ready = true;
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const subscriber = await sidecar({
    appId: uid("probed"),
    appPort: app.port,
    resourcesPath: resources,
    ...healthOptions,
  });
  await subscriber.appReady;
  await waitFor("healthy", async () => (await appHealth(subscriber)) === "healthy", 15_000);
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("the first delivery", () => app.received("/events").length === 1, 15_000);

  state.ready = false;
  await waitFor("unhealthy", async () => (await appHealth(subscriber)) === "unhealthy", 15_000);
  expect(state.failedProbes).toBeGreaterThanOrEqual(2);
  await publish(publisher.httpPort, topic, { n: 2 });
  await call(subscriber.httpPort, "POST", "/v1.0/jobs/while-unhealthy", { dueTime: "0s", data: 1 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(app.received("/events")).toHaveLength(1);
  expect(app.received("/job/")).toHaveLength(0);

  state.ready = true;
  await waitFor(
    "the held delivery and trigger",
    () =>
      app.received("/events").length === 2 && app.received("/job/while-unhealthy").length === 1 ? true : null,
    30_000,
  );
  expect(await topicMessages(dlq)).toHaveLength(0);
});

test("without --enable-app-health-check the health check path does nothing, as in daprd", async () => {
  const topic = uid("topic");
  const dlq = uid("dlq");
  const { app } = await probedApp(topic, dlq);
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const subscriber = await sidecar({
    appId: uid("unprobed"),
    appPort: app.port,
    resourcesPath: resources,
    appHealthCheckPath: "/readyz",
  });
  await subscriber.appReady;
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("the delivery", () => app.received("/events").length === 1);
  expect(app.requests.filter((r) => r.path === "/readyz")).toHaveLength(0);
  const metadata = (await call(subscriber.httpPort, "GET", "/v1.0/metadata")).json as {
    appConnectionProperties: Record<string, unknown>;
  };
  expect(metadata.appConnectionProperties).not.toHaveProperty("health");
  expect(await appHealth(subscriber)).toBeUndefined();
});

test("metadata reports the health check settings as daprd does; the defaults are /healthz, 5s, 500ms, 3", async () => {
  // Whole seconds: daprd's --app-health-probe-interval takes nothing finer.
  const configured = await sidecar({
    appId: uid("h"),
    appPort: await freePort(),
    ...healthOptions,
    appHealthProbeIntervalMs: 2_000,
  });
  const defaults = await sidecar({ appId: uid("h"), appPort: await freePort(), appHealthCheck: true });
  const health = async (port: number) =>
    ((await call(port, "GET", "/v1.0/metadata")).json as { appConnectionProperties: { health: unknown } })
      .appConnectionProperties.health;
  expect(await health(configured.httpPort)).toEqual({
    healthCheckPath: "/readyz",
    healthProbeInterval: "2s",
    healthProbeTimeout: "50ms",
    healthThreshold: 2,
  });
  expect(await health(defaults.httpPort)).toEqual({
    healthCheckPath: "/healthz",
    healthProbeInterval: "5s",
    healthProbeTimeout: "500ms",
    healthThreshold: 3,
  });
});

test("a probe timeout longer than the probe interval fails startup, as daprd refuses it", async () => {
  await expect(
    sidecar({
      appId: uid("h"),
      appPort: await freePort(),
      appHealthCheck: true,
      appHealthProbeIntervalMs: 1_000,
      appHealthProbeTimeoutMs: 2_000,
    }),
  ).rejects.toThrow(/health-probe-timeout/);
});
