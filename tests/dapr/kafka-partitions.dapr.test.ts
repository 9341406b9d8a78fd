// A message a consumer can never take, on real daprd + Kafka: daprd's Kafka consumer takes a
// partition one message at a time with consume-retry on (components-contrib
// common/component/kafka/consumer.go), so without a dead-letter topic every key on that
// partition waits behind it, while the other partitions flow. The local sidecar orders per key
// and holds back only that key (packages/local-dapr/src/ordering.int.test.ts "a message being
// retried holds back later messages of its key, not other keys"); ADR 007 says why that stays
// and why no Orbit consumer lets one message fail for ever.
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { daprdArgv, daprdHealthy, daprdPorts, LoggedProcess } from "#testing/daprd.ts";
import { freePort, waitFor } from "#testing/ports.ts";
import { daprBacking, daprdResources, releaseDaprBacking, type DaprBacking } from "#testing/runtime.ts";

const topic = `partitions-${randomUUID().slice(0, 8)}`;
const received = new Map<string, number>();
let poison = "";
let backing: DaprBacking;
let app: Server;
let subscriber: LoggedProcess;
let daprUrl: string;

beforeAll(async () => {
  backing = await daprBacking();
  await backing.kafka.createTopics([{ name: topic, partitions: 6, replicationFactor: 1, config: {} }]);
  // The subscriber: no dead-letter topic (as dead-letters' own subscriptions), the poison fails.
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/dapr/subscribe") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify([{ pubsubname: "pubsub", topic, route: "/events" }]));
        return;
      }
      // daprd also asks GET /dapr/config; nothing but deliveries is served.
      if (req.url !== "/events") {
        res.writeHead(404).end();
        return;
      }
      const event = JSON.parse(Buffer.concat(chunks).toString()) as { data: { key: string } };
      const key = event.data.key;
      received.set(key, (received.get(key) ?? 0) + 1);
      res.writeHead(key === poison ? 500 : 200).end();
    });
  });
  const appPort = await freePort();
  await new Promise<void>((resolve) => app.listen(appPort, "127.0.0.1", resolve));
  const source = await mkdtemp(path.join(tmpdir(), "orbit-partitions-"));
  await writeFile(
    path.join(source, "pubsub.yaml"),
    "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.kafka\n  version: v1\n  metadata: []\n",
  );
  const resourcesPath = await daprdResources(source, backing);
  const ports = await daprdPorts();
  subscriber = new LoggedProcess(
    "daprd partitions",
    daprdArgv({
      appId: `partitions-${randomUUID().slice(0, 8)}`,
      appPort,
      ports,
      resourcesPath,
      configPath: backing.configPath,
      schedulerAddress: backing.scheduler.address,
    }),
  ).start();
  await subscriber.waitUntil("daprd healthy", () => daprdHealthy(ports.http));
  daprUrl = `http://127.0.0.1:${ports.http}`;
}, 180_000);

afterAll(async () => {
  await subscriber?.stop();
  app?.close();
  await releaseDaprBacking();
});

async function publish(key: string): Promise<void> {
  const res = await fetch(`${daprUrl}/v1.0/publish/pubsub/${topic}?metadata.partitionKey=${key}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key }),
  });
  expect(res.status).toBe(204);
}

test("one message failing for ever holds back every key of its partition, not the other partitions", async () => {
  poison = `poison-${randomUUID()}`;
  await publish(poison);
  await waitFor("the poison's first attempt", async () => (received.get(poison) ?? 0) > 0, 30_000);
  const keys = Array.from({ length: 36 }, (_, i) => `key-${i}-${randomUUID().slice(0, 8)}`);
  for (const key of keys) await publish(key);

  const records = await backing.kafka.read(topic);
  const partitionOf = new Map(records.map((r) => [r.key!, r.partition]));
  const poisoned = partitionOf.get(poison)!;
  const behind = keys.filter((k) => partitionOf.get(k) === poisoned);
  const elsewhere = keys.filter((k) => partitionOf.get(k) !== poisoned);
  expect(behind.length).toBeGreaterThan(0);
  expect(elsewhere.length).toBeGreaterThan(0);

  // Every other partition delivers everything …
  await waitFor(
    "the other partitions delivered",
    async () => elsewhere.every((k) => received.has(k)),
    30_000,
  );
  // … while the poison is retried again and again and nothing behind it on its partition arrives.
  const attempts = received.get(poison)!;
  await waitFor("more attempts at the poison", async () => received.get(poison)! >= attempts + 2, 30_000);
  expect(behind.filter((k) => received.has(k))).toEqual([]);

  // Once the message can be taken, the partition moves on, in order.
  poison = "";
  await waitFor("the partition delivered", async () => behind.every((k) => received.has(k)), 30_000);
}, 120_000);
