// Conformance: delivery to the app and what its answer means (reference §1.3; dapr
// pkg/runtime/subscription/postman/http/http.go), routing rules and subscription loading (§1.2).
import { afterEach, expect, test } from "vitest";
import { RUNTIME } from "#testing/runtime.ts";
import { listDeadLetters, readTopic } from "./inspect.ts";
import {
  appHealth,
  cleanupAll,
  db,
  deliveryFailed,
  localOnly,
  publish,
  pubsubSetup,
  pubsubYaml,
  resourcesDir,
  settled,
  sidecar,
  startApp,
  topicMessages,
  uid,
  waitFor,
  type Reply,
} from "./test-support.ts";

afterEach(cleanupAll);

/** Answers with `replies` in turn, then SUCCESS forever. */
function inTurn(...replies: Reply[]): () => Reply {
  let i = 0;
  return () => replies[i++] ?? { status: 200, body: { status: "SUCCESS" } };
}

test("a 2xx with status SUCCESS acks the message: delivered once, nothing left pending", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 200, body: { status: "SUCCESS" } });
  expect((await publish(publisher.httpPort, topic, { n: 1 })).status).toBe(204);
  await waitFor("delivery", () => app.received("/events").length === 1);
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

test("a 2xx with an empty body is SUCCESS", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 204 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("delivery", () => app.received("/events").length === 1);
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

test("a 2xx with a body that is not JSON is SUCCESS", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 200, body: "ok, thanks" });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("delivery", () => app.received("/events").length === 1);
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

test("a 2xx with JSON but no status field is SUCCESS", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 200, body: { handled: true } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("delivery", () => app.received("/events").length === 1);
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

test("a 2xx with status RETRY is delivered again, with the same event id", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = inTurn({ status: 200, body: { status: "RETRY" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  const [first, second] = await waitFor("a redelivery", () => {
    const got = app.received("/events");
    return got.length >= 2 ? got : null;
  });
  expect((second!.json as { id: string }).id).toBe((first!.json as { id: string }).id);
  await settled(subscriber.appId);
});

test("a 2xx with status DROP is acked, not redelivered, and goes to the dead-letter topic", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({ subscription: { deadLetterTopic: dlq } });
  app.respond = () => ({ status: 200, body: { status: "DROP" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
  // The dead letter is the message as it was published: its envelope, its topic and id unchanged.
  const dead = await topicMessages(dlq);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.event).toMatchObject({
    topic,
    data: { n: 1 },
    id: (app.received("/events")[0]!.json as { id: string }).id,
  });
});

localOnly(
  "the local store notes on a dead letter which app-id gave up on it, from which topic, and why",
  async () => {
    const dlq = uid("dlq");
    const { topic, app, subscriber, publisher } = await pubsubSetup({
      subscription: { deadLetterTopic: dlq },
    });
    app.respond = () => ({ status: 200, body: { status: "DROP" } });
    await publish(publisher.httpPort, topic, { n: 1 });
    await settled(subscriber.appId);
    const [dead] = await readTopic(await db(), "pubsub", dlq);
    expect(dead!.deadLetterOf).toMatchObject({
      app_id: subscriber.appId,
      topic,
      reason: "DROP status returned from app",
    });
  },
);

test("DROP without a dead-letter topic is acked and dropped", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 200, body: { status: "DROP" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

localOnly("DROP without a dead-letter topic leaves no dead letter in the local store", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = () => ({ status: 200, body: { status: "DROP" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(await listDeadLetters(await db(), { appId: subscriber.appId })).toHaveLength(0);
});

test("a 2xx with an unknown status value is retried (status values are case-sensitive)", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = inTurn({ status: 200, body: { status: "success" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("a redelivery", () => app.received("/events").length >= 2);
  await settled(subscriber.appId);
});

test("a 404 is handled like DROP: acked and sent to the dead-letter topic (Dapr ≥ 1.17)", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({ subscription: { deadLetterTopic: dlq } });
  app.respond = () => ({ status: 404 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
  expect(await topicMessages(dlq)).toHaveLength(1);
});

test("a 500 is retried until the app succeeds", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup();
  app.respond = inTurn({ status: 500 }, { status: 503 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("three attempts", () => app.received("/events").length >= 3);
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(3);
});

test("connection refused is retried, and the message arrives once the app listens again", async () => {
  const topic = uid("topic");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const first = await startApp();
  first.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
  const subscriber = await sidecar({ appId: uid("sub"), appPort: first.port, resourcesPath: resources });
  await subscriber.appReady;
  await first.close();
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor(
    "a refused attempt",
    () => deliveryFailed(subscriber, /ECONNREFUSED|connection refused/),
    15_000,
  );
  const again = await startApp(first.port);
  await waitFor("the delivery", () => again.received("/events").length === 1, 15_000);
  await settled(subscriber.appId);
});

test("with app health checks on, an app that goes down: the local sidecar pauses deliveries, daprd spends their retries", async () => {
  const topic = uid("topic");
  const dlq = uid("dlq");
  // A retry policy far shorter than the outage: without the pause these would all be dead-lettered.
  const resources = await resourcesDir({
    "pubsub.yaml": pubsubYaml(),
    "resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: r }
spec:
  policies:
    retries:
      quick: { policy: constant, duration: 10ms, maxRetries: 1 }
  targets:
    components:
      pubsub: { inbound: { retry: quick } }
`,
  });
  const first = await startApp();
  first.subscribe = [{ pubsubname: "pubsub", topic, route: "/events", deadLetterTopic: dlq }];
  const subscriber = await sidecar({
    appId: uid("sub"),
    appPort: first.port,
    resourcesPath: resources,
    appHealthCheck: true,
  });
  await subscriber.appReady;
  // Its first probe (GET /healthz, answered 200) must have passed: before that nothing is delivered.
  await waitFor("the app healthy", async () => (await appHealth(subscriber)) === "healthy", 15_000);
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  // One message delivered while the app is up, so the subscription is consuming before the app
  // goes down (on daprd: its Kafka consumer holds its partitions). Without it, on a busy machine
  // the group could still be joining when the probes, 3 × 5 s, took the subscription away, and no
  // delivery was ever attempted (seen twice in make test-dapr).
  await publish(publisher.httpPort, topic, { n: -1 });
  await waitFor("the first delivery", () => first.received("/events").length === 1, 30_000);
  await first.close();
  for (let n = 0; n < 5; n++) await publish(publisher.httpPort, topic, { n });
  await waitFor(
    "a refused attempt",
    () => deliveryFailed(subscriber, /ECONNREFUSED|connection refused/),
    15_000,
  );
  if (RUNTIME === "daprd") {
    // daprd counts a refused connection as a failed attempt: each message spends its retries (2
    // attempts, 10 ms apart) and is dead-lettered long before its probes (every 5 s, 3 failures)
    // stop the subscription. The local sidecar pauses at the first refusal instead (ADR 007,
    // difference 10): its retry policies are shorter than production's, and `make dev` restarts
    // apps all the time.
    await waitFor("five dead letters", async () => (await topicMessages(dlq)).length === 5, 30_000);
    const again = await startApp(first.port);
    await settled(subscriber.appId);
    expect(again.received("/events")).toHaveLength(0);
    return;
  }
  // Well past the retry policy's budget (2 attempts, 10 ms apart).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await topicMessages(dlq)).toHaveLength(0);
  const again = await startApp(first.port);
  await waitFor("all five", () => again.received("/events").length === 5, 10_000);
  await settled(subscriber.appId);
  expect(await topicMessages(dlq)).toHaveLength(0);
});

test("a delivery is a POST of the CloudEvent with its content type, a child traceparent and the pubsubname header", async () => {
  const { topic, app, publisher } = await pubsubSetup();
  const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  await publish(publisher.httpPort, topic, { n: 1 }, "");
  await fetch(`http://127.0.0.1:${publisher.httpPort}/v1.0/publish/pubsub/${topic}`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent: parent },
    body: "{}",
  });
  const requests = await waitFor("deliveries", () =>
    app.received("/events").length >= 2 ? app.received("/events") : null,
  );
  const traced = requests.find((r) =>
    String((r.json as { traceparent: string }).traceparent).includes("0af7651916cd43dd8448eb211c80319c"),
  )!;
  expect(traced.method).toBe("POST");
  expect(traced.path).toBe("/events");
  expect(traced.headers["content-type"]).toBe("application/cloudevents+json");
  expect(traced.headers.pubsubname).toBe("pubsub");
  const eventSpan = String((traced.json as { traceparent: string }).traceparent);
  const header = String(traced.headers.traceparent);
  expect(header).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  expect(header).not.toBe(eventSpan);
});

test("routing rules are evaluated in order, the first match wins, and the default takes the rest", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: {
      route: undefined,
      routes: {
        rules: [
          { match: 'event.type == "task.created"', path: "/created" },
          { match: 'event.type == "task.updated" || event.type == "task.created"', path: "/never-first" },
          { match: 'event.source == "billing" && event.type.startsWith("invoice.")', path: "/billing" },
        ],
        default: "/other",
      },
    },
  });
  const ce = (id: string, type: string, source = "orbit") => ({
    id,
    type,
    source,
    specversion: "1.0",
    data: {},
  });
  for (const event of [
    ce("1", "task.created"),
    ce("2", "invoice.paid", "billing"),
    ce("3", "task.deleted"),
  ]) {
    await fetch(`http://127.0.0.1:${publisher.httpPort}/v1.0/publish/pubsub/${topic}`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify(event),
    });
  }
  await settled(subscriber.appId);
  await waitFor("three deliveries", () => app.received("/").length === 3);
  const byId = Object.fromEntries(app.received("/").map((r) => [(r.json as { id: string }).id, r.path]));
  expect(byId).toEqual({ "1": "/created", "2": "/billing", "3": "/other" });
});

test("a message no rule matches, with no default, is acked and dropped, or dead-lettered when a DLQ is set", async () => {
  const dlq = uid("dlq");
  const rules = {
    route: undefined,
    routes: { rules: [{ match: 'event.type == "wanted"', path: "/wanted" }] },
  };
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { ...rules, deadLetterTopic: dlq },
  });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/")).toHaveLength(0);
  expect(await topicMessages(dlq)).toHaveLength(1);
});

test("a routing rule reading a missing attribute is an evaluation error: the message goes to the DLQ", async () => {
  const dlq = uid("dlq");
  const rules = {
    route: undefined,
    routes: { rules: [{ match: 'event.subject == "x"', path: "/x" }], default: "/d" },
  };
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { ...rules, deadLetterTopic: dlq },
  });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  // Not the default route: the evaluation failed, so the message went to the dead-letter topic.
  expect(app.received("/")).toHaveLength(0);
  expect(await topicMessages(dlq)).toHaveLength(1);
});

localOnly("the local store notes the evaluation error on the dead letter", async () => {
  const dlq = uid("dlq");
  const rules = {
    route: undefined,
    routes: { rules: [{ match: 'event.subject == "x"', path: "/x" }], default: "/d" },
  };
  const { topic, subscriber, publisher } = await pubsubSetup({
    subscription: { ...rules, deadLetterTopic: dlq },
  });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  const [dead] = await readTopic(await db(), "pubsub", dlq);
  expect(String(dead!.deadLetterOf?.reason)).toContain("no such key: subject");
});

localOnly(
  "an unsupported routing expression in a declarative subscription fails startup, naming it",
  async () => {
    const resources = await resourcesDir({
      "pubsub.yaml": pubsubYaml(),
      "sub.yaml": `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: bad
spec:
  pubsubname: pubsub
  topic: t
  routes:
    rules:
      - match: event.data.items.size() > 2
        path: /big
    default: /all
`,
    });
    await expect(sidecar({ appId: uid("bad"), resourcesPath: resources })).rejects.toThrow(
      /unsupported routing expression "event.data.items.size\(\) > 2"/,
    );
  },
);

localOnly(
  "an unsupported routing expression from GET /dapr/subscribe fails the app channel, naming it",
  async () => {
    const app = await startApp();
    app.subscribe = [
      { pubsubname: "pubsub", topic: "t", routes: { rules: [{ match: "event.type in ['a']", path: "/a" }] } },
    ];
    const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
    const started = await sidecar({ appId: uid("bad"), appPort: app.port, resourcesPath: resources });
    await expect(started.appReady).rejects.toThrow(/unsupported routing expression "event.type in \['a'\]"/);
  },
);

localOnly(
  "a subscription asking for bulkSubscribe fails the app channel: single deliveries would hide the mismatch",
  async () => {
    const app = await startApp();
    app.subscribe = [{ pubsubname: "pubsub", topic: "t", route: "/t", bulkSubscribe: { enabled: true } }];
    const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
    const started = await sidecar({ appId: uid("bulk"), appPort: app.port, resourcesPath: resources });
    await expect(started.appReady).rejects.toThrow(/bulkSubscribe is not supported/);
  },
);

test("declarative subscriptions honour scopes: v2alpha1 routes for scoped apps, v1alpha1 route for all", async () => {
  const topic = uid("topic");
  const other = uid("other");
  const inScope = uid("in");
  const resources = await resourcesDir({
    "pubsub.yaml": pubsubYaml(),
    "subs.yaml": `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: scoped
spec:
  pubsubname: pubsub
  topic: ${topic}
  routes:
    default: /scoped
scopes:
  - ${inScope}
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: everyone
spec:
  pubsubname: pubsub
  topic: ${other}
  route: /everyone
`,
  });
  const scopedApp = await startApp();
  const outsideApp = await startApp();
  const scoped = await sidecar({ appId: inScope, appPort: scopedApp.port, resourcesPath: resources });
  const outside = await sidecar({ appId: uid("out"), appPort: outsideApp.port, resourcesPath: resources });
  await Promise.all([scoped.appReady, outside.appReady]);
  await publish(scoped.httpPort, topic, { n: 1 });
  await publish(scoped.httpPort, other, { n: 2 });
  await waitFor(
    "deliveries",
    () => scopedApp.received("/").length === 2 && outsideApp.received("/").length === 1,
  );
  expect(
    scopedApp
      .received("/")
      .map((r) => r.path)
      .sort(),
  ).toEqual(["/everyone", "/scoped"]);
  expect(outsideApp.received("/").map((r) => r.path)).toEqual(["/everyone"]);
  await settled(scoped.appId);
  await settled(outside.appId);
});

test("GET /dapr/subscribe is read once at start; a 500 there means no programmatic subscriptions", async () => {
  const app = await startApp();
  app.subscribe = 500;
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const started = await sidecar({ appId: uid("sub"), appPort: app.port, resourcesPath: resources });
  await started.appReady;
  const metadata: unknown = await (await fetch(`http://127.0.0.1:${started.httpPort}/v1.0/metadata`)).json();
  // No subscriptions: daprd leaves the empty list out.
  expect(metadata).not.toHaveProperty("subscriptions");
  expect(app.requests.filter((r) => r.path === "/dapr/subscribe")).toHaveLength(1);
});
