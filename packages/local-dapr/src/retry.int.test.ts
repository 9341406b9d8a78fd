// Conformance: resiliency retries on delivery, dead letters, and message expiry (reference §1.3,
// §4.3; dapr pkg/runtime/subscription/subscription.go).
import { afterEach, expect, test } from "vitest";
import { readTopic } from "./inspect.ts";
import {
  cleanupAll,
  db,
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
  type RecordedRequest,
} from "./test-support.ts";

afterEach(cleanupAll);

function resiliencyYaml(retry: string, extra = "", scopes = ""): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: test
spec:
  policies:
    retries:
      pubsubRetry: ${retry}
    timeouts:
      short: 200ms
  targets:
    components:
      pubsub:
        inbound:
          retry: pubsubRetry${extra}
${scopes}`;
}

const gaps = (requests: RecordedRequest[]) => requests.slice(1).map((r, i) => r.at - requests[i]!.at);

test("an exponential retry policy retries with growing gaps, then sends the message to the dead-letter topic", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": resiliencyYaml(
        "{ policy: exponential, duration: 50ms, maxInterval: 5s, maxRetries: 4 }",
      ),
    },
  });
  app.respond = () => ({ status: 500 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  const attempts = app.received("/events");
  expect(attempts).toHaveLength(5); // the first delivery + maxRetries
  const measured = gaps(attempts);
  // interval × 1.5ⁿ, randomised ±50 %: each gap is at least half its interval, and the last
  // (≥ 84 ms) always exceeds the first (≤ 75 ms).
  measured.forEach((gap, n) => expect(gap).toBeGreaterThanOrEqual(50 * 1.5 ** n * 0.5 - 2));
  expect(measured[3]!).toBeGreaterThan(measured[0]!);
  const dead = await topicMessages(dlq);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.event).toMatchObject({ topic, data: { n: 1 } });
});

localOnly(
  "the local store notes on the dead letter how many attempts were made and the last error",
  async () => {
    const dlq = uid("dlq");
    const { topic, app, subscriber, publisher } = await pubsubSetup({
      subscription: { deadLetterTopic: dlq },
      resources: { "resiliency.yaml": resiliencyYaml("{ policy: constant, duration: 10ms, maxRetries: 4 }") },
    });
    app.respond = () => ({ status: 500 });
    await publish(publisher.httpPort, topic, { n: 1 });
    await settled(subscriber.appId);
    const [dead] = await readTopic(await db(), "pubsub", dlq);
    expect(dead!.deadLetterOf).toMatchObject({ app_id: subscriber.appId, topic, attempts: 5 });
    expect(String(dead!.deadLetterOf!.reason)).toContain("HTTP 500");
  },
);

test("a constant retry policy waits its duration between attempts", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: { "resiliency.yaml": resiliencyYaml("{ policy: constant, duration: 100ms, maxRetries: 2 }") },
  });
  app.respond = () => ({ status: 200, body: { status: "RETRY" } });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  const measured = gaps(app.received("/events"));
  expect(measured).toHaveLength(2);
  for (const gap of measured) {
    expect(gap).toBeGreaterThanOrEqual(98);
    // Not the default policy's growing waits; loose, for a busy machine.
    expect(gap).toBeLessThan(1_500);
  }
  expect(await topicMessages(dlq)).toHaveLength(1);
});

test("without a retry policy, a failing message goes straight to the dead-letter topic", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({ subscription: { deadLetterTopic: dlq } });
  app.respond = () => ({ status: 500 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
  expect(await topicMessages(dlq)).toHaveLength(1);
});

test("matching.httpStatusCodes: only listed statuses are retried by the policy, others dead-letter at once", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": resiliencyYaml(
        '{ policy: constant, duration: 20ms, maxRetries: 3, matching: { httpStatusCodes: "429,502-504" } }',
      ),
    },
  });
  app.respond = (request) => ({ status: (request.json as { data: { status: number } }).data.status });
  await publish(publisher.httpPort, topic, { status: 500 });
  await publish(publisher.httpPort, topic, { status: 503 });
  await settled(subscriber.appId);
  const byStatus = (status: number) =>
    app.received("/events").filter((r) => (r.json as { data: { status: number } }).data.status === status);
  expect(byStatus(500)).toHaveLength(1);
  expect(byStatus(503)).toHaveLength(4);
  expect(await topicMessages(dlq)).toHaveLength(2);
});

test("a resiliency timeout fails a delivery the app does not answer, and it is retried", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    resources: {
      "resiliency.yaml": resiliencyYaml(
        "{ policy: constant, duration: 10ms, maxRetries: 3 }",
        "\n          timeout: short",
      ),
    },
  });
  let calls = 0;
  app.respond = () => (calls++ === 0 ? { hang: true } : { status: 200 });
  const started = Date.now();
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  const attempts = app.received("/events");
  expect(attempts).toHaveLength(2);
  expect(attempts[1]!.at - started).toBeGreaterThanOrEqual(200);
});

test("a resiliency policy scoped to another app does not apply", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": resiliencyYaml(
        "{ policy: constant, duration: 10ms, maxRetries: 5 }",
        "",
        "scopes:\n  - someone-else\n",
      ),
    },
  });
  app.respond = () => ({ status: 500 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(1);
});

test("without a dead-letter topic, exhausted retries go back to the component, which keeps redelivering", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    resources: { "resiliency.yaml": resiliencyYaml("{ policy: constant, duration: 10ms, maxRetries: 1 }") },
  });
  let calls = 0;
  app.respond = () => (++calls < 5 ? { status: 500 } : { status: 200 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(5);
});

/** A message published with a 1 s TTL while its only subscriber is down, which then comes back. */
async function expiredWhileDown() {
  const topic = uid("topic");
  const dlq = uid("dlq");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const app = await startApp();
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events", deadLetterTopic: dlq }];
  const appId = uid("sub");
  const first = await sidecar({ appId, appPort: app.port, resourcesPath: resources });
  await first.appReady;
  await first.stop();
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 1 }, "?metadata.ttlInSeconds=1");
  const [stored] = await topicMessages(topic);
  const expiration = new Date(String(stored!.event!.expiration)).getTime();
  await waitFor("the expiration to pass", () => Date.now() > expiration + 20, 3_000);
  const again = await sidecar({ appId, appPort: app.port, resourcesPath: resources });
  await again.appReady;
  await settled(appId);
  return { topic, dlq, app, stored: stored! };
}

test("an expired message is not delivered: it goes to the dead-letter topic", async () => {
  const { topic, dlq, app, stored } = await expiredWhileDown();
  expect(app.received("/events")).toHaveLength(0);
  const dead = await topicMessages(dlq);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.event).toMatchObject({ topic, data: { n: 1 }, expiration: stored.event!.expiration });
});

localOnly("the local store notes on the dead letter that the message expired", async () => {
  const { dlq } = await expiredWhileDown();
  const [row] = await readTopic(await db(), "pubsub", dlq);
  expect(row!.deadLetterOf).toMatchObject({ reason: "expired" });
});
