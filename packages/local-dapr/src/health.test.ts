// Conformance: health, metadata and the API token (reference §4.4).
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  call,
  cleanupAll,
  freePort,
  onCleanup,
  pubsubYaml,
  resourcesDir,
  sidecar,
  tempDir,
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
    "pubsub.yaml": pubsubYaml("pubsub"),
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
    runtimeVersion: expect.stringMatching(/^1\.\d+\.\d+/),
    enabledFeatures: [],
    components: [{ name: "pubsub", type: "pubsub.redis", version: "v1" }],
    appConnectionProperties: { protocol: "http", channelAddress: "127.0.0.1", health: {} },
  });
  // Subscriptions appear once the app channel is ready (the app is not listening here).
  expect((response.json as { subscriptions: unknown[] }).subscriptions).toEqual([]);
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

test("an unknown API path is 404 with Dapr's error shape", async () => {
  const started = await sidecar({ appId: uid("paths") });
  const response = await call(started.httpPort, "GET", "/v1.0/actors/x");
  expect(response.status).toBe(404);
  expect(response.json).toMatchObject({ errorCode: "ERR_NOT_FOUND" });
});

test("a component type the local sidecar cannot serve fails startup, naming it", async () => {
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

test("the shipped dapr-components/local folder loads: every component is served under its name", async () => {
  const resourcesPath = path.resolve(import.meta.dirname, "../../../dapr-components/local");
  const declared: string[] = [];
  for (const file of await readdir(resourcesPath)) {
    for (const doc of parseAllDocuments(await readFile(path.join(resourcesPath, file), "utf8"))) {
      const resource = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (resource?.kind === "Component") declared.push(String(resource.metadata?.name));
    }
  }
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
  expect(declared.length).toBeGreaterThanOrEqual(4);
  expect(metadata.components.map((c) => c.name).sort()).toEqual(declared.sort());
});
