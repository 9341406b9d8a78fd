// Conformance: per-partition-key order within a consumer group, and consumer groups themselves —
// one group per app-id, so instances of one app-id share the messages while every app-id gets
// its own copy (reference §1.4).
import { afterEach, expect, test } from "vitest";
import {
  call,
  cleanupAll,
  publish,
  pubsubSetup,
  pubsubYaml,
  resourcesDir,
  sidecar,
  startApp,
  uid,
  settled,
  type RecordedRequest,
} from "./test-support.ts";

afterEach(cleanupAll);

const dataOf = (r: RecordedRequest) => (r.json as { data: { key: string; n: number } }).data;

test("messages with one partition key arrive in publish order, one at a time, while other keys go ahead", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  const answered = new Map<string, number[]>();
  app.respond = async (request) => {
    const { key } = dataOf(request);
    if (key === "slow") await new Promise((resolve) => setTimeout(resolve, 120));
    answered.set(key, [...(answered.get(key) ?? []), Date.now()]);
    return { status: 200 };
  };
  for (let n = 1; n <= 4; n++) {
    for (const key of ["slow", "fast"]) {
      const response = await publish(publisher.httpPort, topic, { key, n }, `?metadata.partitionKey=${key}`);
      expect(response.status).toBe(204);
    }
  }
  await settled(subscriber.appId);
  const received = app.received("/events");
  for (const key of ["slow", "fast"]) {
    expect(received.filter((r) => dataOf(r).key === key).map((r) => dataOf(r).n)).toEqual([1, 2, 3, 4]);
  }
  // Each slow message was sent only after the previous one was answered…
  const slow = received.filter((r) => dataOf(r).key === "slow");
  slow.slice(1).forEach((r, i) => expect(r.at).toBeGreaterThanOrEqual(answered.get("slow")![i]!));
  // …and the fast key did not wait for the slow one.
  expect(answered.get("fast")!.at(-1)!).toBeLessThan(answered.get("slow")!.at(-1)!);
});

test("a message being retried holds back later messages of its key, not other keys", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  let failures = 0;
  app.respond = (request) => {
    const { key, n } = dataOf(request);
    if (key === "a" && n === 1 && failures < 2) {
      failures++;
      return { status: 200, body: { status: "RETRY" } };
    }
    return { status: 200 };
  };
  await publish(publisher.httpPort, topic, { key: "a", n: 1 }, "?metadata.partitionKey=a");
  await publish(publisher.httpPort, topic, { key: "a", n: 2 }, "?metadata.partitionKey=a");
  await publish(publisher.httpPort, topic, { key: "b", n: 1 }, "?metadata.partitionKey=b");
  await settled(subscriber.appId);
  const sequence = app.received("/events").map((r) => `${dataOf(r).key}${dataOf(r).n}`);
  expect(sequence.filter((s) => s.startsWith("a"))).toEqual(["a1", "a1", "a1", "a2"]);
  expect(sequence.indexOf("b1")).toBeLessThan(sequence.lastIndexOf("a1"));
});

test("two instances of one app-id share a topic: each message goes to exactly one of them", async () => {
  const topic = uid("topic");
  const appId = uid("shared");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const apps = [await startApp(), await startApp()];
  for (const app of apps) {
    app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
    app.respond = async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { status: 200 };
    };
    const instance = await sidecar({ appId, appPort: app.port, resourcesPath: resources, maxConcurrency: 3 });
    await instance.appReady;
  }
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  const entries = Array.from({ length: 24 }, (_, n) => ({
    entryId: String(n),
    event: { key: "none", n },
    contentType: "application/json",
  }));
  expect((await call(publisher.httpPort, "POST", `/v1.0/publish/bulk/pubsub/${topic}`, entries)).status).toBe(
    204,
  );
  await settled(appId);
  const all = apps.flatMap((app) => app.received("/events").map((r) => dataOf(r).n));
  expect(all.sort((a, b) => a - b)).toEqual(entries.map((e) => e.event.n));
  expect(apps[0]!.received("/events").length).toBeGreaterThan(0);
  expect(apps[1]!.received("/events").length).toBeGreaterThan(0);
});

test("every subscribing app-id gets its own copy of every message", async () => {
  const topic = uid("topic");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const apps = [await startApp(), await startApp()];
  const ids: string[] = [];
  for (const app of apps) {
    app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
    const started = await sidecar({ appId: uid("group"), appPort: app.port, resourcesPath: resources });
    await started.appReady;
    ids.push(started.appId);
  }
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  for (let n = 0; n < 10; n++) await publish(publisher.httpPort, topic, { key: "k", n });
  for (const id of ids) await settled(id);
  for (const app of apps) {
    expect(
      app
        .received("/events")
        .map((r) => dataOf(r).n)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});
