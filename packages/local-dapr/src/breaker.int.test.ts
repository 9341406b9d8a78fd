// Conformance: circuit breakers on pub/sub inbound (reference §4.3; dapr pkg/resiliency/breaker,
// pkg/resiliency/policy.go, pkg/runtime/subscription/subscription.go). An open breaker's refusal
// is a permanent error: the retry policy stops at once and the message goes to the dead-letter
// topic without the app being called, or, with no dead-letter topic, back to the component. When
// the outbound target names a breaker too, daprd uses the same instance for both directions, so the
// dead-letter publish is refused as well and the message goes back to the component.
// This is why dapr-components/ puts no breaker on any pub/sub target.
import { afterEach, expect, test } from "vitest";
import { readTopic } from "./inspect.ts";
import { cleanupAll, db, publish, pubsubSetup, settled, uid, waitFor } from "./test-support.ts";

afterEach(cleanupAll);

function breakerResiliency(retry: string, breaker: string): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: breaker
spec:
  policies:
    retries:
      quick: ${retry}
    circuitBreakers:
      delivery: ${breaker}
  targets:
    components:
      pubsub:
        inbound:
          retry: quick
          circuitBreaker: delivery
`;
}

test("an inbound breaker that opens dead-letters every message unattempted until its timeout, even mid-retry", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": breakerResiliency(
        "{ policy: constant, duration: 20ms, maxRetries: 5 }",
        "{ maxRequests: 1, interval: 0s, timeout: 1500ms, trip: consecutiveFailures >= 2 }",
      ),
    },
  });
  let healthy = false;
  app.respond = () => ({ status: healthy ? 200 : 500 });
  const sent = (n: number) =>
    app.received("/events").filter((r) => (r.json as { data: { n: number } }).data.n === n);

  // The second failure trips the breaker; the third attempt (4 retries still allowed) is refused.
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  expect(sent(1)).toHaveLength(2);
  // While open, the app is not called at all: straight to the dead-letter topic.
  for (const n of [2, 3, 4]) await publish(publisher.httpPort, topic, { n });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(2);
  const dead = await readTopic(await db(), "pubsub", dlq);
  expect(dead.map((m) => (m.event!.data as { n: number }).n).sort()).toEqual([1, 2, 3, 4]);
  for (const message of dead) {
    expect(String(message.deadLetterOf!.reason)).toBe(`delivery-pubsub: circuit breaker is open`);
  }

  // After the timeout it is half-open: one delivery goes through, and its success closes it.
  healthy = true;
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  await publish(publisher.httpPort, topic, { n: 5 });
  await settled(subscriber.appId);
  await publish(publisher.httpPort, topic, { n: 6 });
  await settled(subscriber.appId);
  expect(sent(5)).toHaveLength(1);
  expect(sent(6)).toHaveLength(1);
  expect(await readTopic(await db(), "pubsub", dlq)).toHaveLength(4);
});

test("without a dead-letter topic, a message the open breaker refuses goes back to the component and is delivered once the breaker lets it through", async () => {
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    resources: {
      "resiliency.yaml": breakerResiliency(
        "{ policy: constant, duration: 10ms, maxRetries: 3 }",
        "{ timeout: 800ms, trip: consecutiveFailures >= 1 }",
      ),
    },
  });
  let calls = 0;
  app.respond = () => ({ status: calls++ === 0 ? 503 : 200 });
  await publish(publisher.httpPort, topic, { n: 1 });
  await settled(subscriber.appId);
  // One failed call opened the breaker; the component's redeliveries (every 200 ms here) were
  // refused until the breaker went half-open 800 ms later, and that delivery succeeded.
  const attempts = app.received("/events");
  expect(attempts).toHaveLength(2);
  expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(800);
});

test("a timed-out delivery counts as a breaker failure, a DROP as a success", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: breaker
spec:
  policies:
    timeouts:
      short: 150ms
    circuitBreakers:
      delivery: { timeout: 60s, trip: consecutiveFailures >= 2 }
  targets:
    components:
      pubsub:
        inbound:
          timeout: short
          circuitBreaker: delivery
`,
    },
  });
  app.respond = (request) => {
    const { kind } = (request.json as { data: { kind: string } }).data;
    return kind === "hang" ? { hang: true } : { status: 200, body: { status: "DROP" } };
  };
  // hang (failure), drop (success: resets the consecutive count), hang (failure): still closed.
  for (const kind of ["hang", "drop", "hang"]) {
    await publish(publisher.httpPort, topic, { kind });
    await settled(subscriber.appId);
  }
  await publish(publisher.httpPort, topic, { kind: "drop" });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(4);
  // A second consecutive timeout opens it: the next message is not delivered.
  await publish(publisher.httpPort, topic, { kind: "hang" });
  await settled(subscriber.appId);
  await publish(publisher.httpPort, topic, { kind: "hang" });
  await settled(subscriber.appId);
  await publish(publisher.httpPort, topic, { kind: "drop" });
  await settled(subscriber.appId);
  expect(app.received("/events")).toHaveLength(6);
  const reasons = (await readTopic(await db(), "pubsub", dlq)).map((m) => String(m.deadLetterOf!.reason));
  expect(reasons.filter((r) => r.includes("circuit breaker is open"))).toHaveLength(1);
});

test("a breaker on both directions is one breaker: while open, publishes and dead letters fail too, and refused messages wait in the component", async () => {
  const dlq = uid("dlq");
  const { topic, app, subscriber, publisher } = await pubsubSetup({
    subscription: { deadLetterTopic: dlq },
    resources: {
      "resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: breaker
spec:
  policies:
    circuitBreakers:
      inbound: { timeout: 1s, trip: consecutiveFailures >= 1 }
      outbound: { timeout: 1s, trip: consecutiveFailures >= 1 }
  targets:
    components:
      pubsub:
        inbound:
          circuitBreaker: inbound
        outbound:
          circuitBreaker: outbound
`,
    },
  });
  let calls = 0;
  app.respond = () => ({ status: calls++ === 0 ? 500 : 200 });
  // The publisher's sidecar has a breaker of its own (closed): both messages are stored.
  await publish(publisher.httpPort, topic, { n: 1 });
  // The first delivery fails and opens the subscriber's breaker; the retry policy has no retries,
  // so the message goes to the dead-letter topic, whose publish the open breaker refuses.
  await waitFor("the first delivery", () => app.received("/events").length === 1);
  const refused = await publish(subscriber.httpPort, topic, { n: 2 });
  expect(refused.status).toBe(500);
  expect(refused.text).toContain("circuit breaker is open");
  await publish(publisher.httpPort, topic, { n: 3 });
  await settled(subscriber.appId);
  // Nothing was dead-lettered: message 1 went back to the component and, like 3, was delivered once
  // the breaker (half-open after 1 s) let a delivery through and its success closed it.
  expect(await readTopic(await db(), "pubsub", dlq)).toHaveLength(0);
  const delivered = app.received("/events").map((r) => (r.json as { data: { n: number } }).data.n);
  expect(delivered.slice(1).sort()).toEqual([1, 3]);
  expect(app.received("/events")[1]!.at - app.received("/events")[0]!.at).toBeGreaterThanOrEqual(1_000);
});
