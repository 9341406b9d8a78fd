import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  api,
  createTestUser,
  deliverAsDapr,
  FROM_SIDECAR,
  startFunction,
  type StartedFunction,
} from "#testing/fixtures.ts";
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { collectMetrics, routes, subscriptions } from "./handler.ts";

const ADMIN = "test-admin-token-0123456789abcdef";
let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let sidecar: PublishRecorder;
const admin = `Bearer ${ADMIN}`;

beforeAll(async () => {
  sidecar = await startPublishRecorder();
  fn = await startFunction(
    { name: "dead-letters", routes, subscriptions, collectMetrics },
    { DAPR_HTTP_PORT: String(sidecar.port), ADMIN_TOKEN: ADMIN },
  );
});
afterAll(async () => {
  await fn.close();
  await sidecar.close();
});

/** Delivers a CloudEvent the way Dapr delivers from the `task-events-dlq` topic. */
async function deliverDeadLetter(id: string, data: unknown = { event_type: "created", task_id: "x" }) {
  const { status, body } = await deliverAsDapr(fn.url, "/events/dead-letters/task-events", {
    id,
    source: "create-task",
    type: "orbit.task.created",
    subject: "3f1c2a5e-8d4b-4f7a-9c61-2b8e5d0a7f13",
    topic: "task-events-dlq",
    time: new Date().toISOString(),
    data,
  });
  return { status, body };
}

async function openRows(eventId: string) {
  return (await workerDb()).deadLetter.findMany({ where: { eventId, resolvedAt: null } });
}

test("a dead-lettered event is stored once however often the dead-letter topic redelivers it", async () => {
  const id = randomUUID();
  for (let i = 0; i < 3; i++)
    expect(await deliverDeadLetter(id)).toEqual({ status: 200, body: { status: "SUCCESS" } });
  const rows = await openRows(id);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ topic: "task-events", pubsub: "pubsub", consumer: null });
  expect(rows[0]!.envelope).toMatchObject({
    id,
    type: "orbit.task.created",
    data: { event_type: "created" },
  });
});

test("even data no schema accepts is kept: a dead-letter store must take anything", async () => {
  const id = randomUUID();
  expect((await deliverDeadLetter(id, "not even an object")).body).toEqual({ status: "SUCCESS" });
  expect((await openRows(id))[0]!.envelope).toMatchObject({ data: "not even an object" });
});

test("an envelope PostgreSQL's jsonb refuses is still stored: nothing here may fail for ever", async () => {
  // Nothing stands behind this store (its subscriptions have no dead-letter topic of their own), and
  // on Kafka one message answered RETRY for ever holds back its whole partition
  // (tests/dapr/kafka-partitions.dapr.test.ts). jsonb refuses a lone surrogate and U+0000.
  const id = randomUUID();
  const data = { title: "half an emoji \ud83d", note: "nul \u0000 here", nested: ["\udc00"] };
  expect((await deliverDeadLetter(id, data)).body).toEqual({ status: "SUCCESS" });
  const [row] = await openRows(id);
  expect(row!.envelope).toMatchObject({
    id,
    data: { title: "half an emoji \ufffd", note: "nul \ufffd here", nested: ["\ufffd"] },
  });
});

test("an envelope too deeply nested to store keeps its attributes and says why", async () => {
  // 20,000 levels of arrays: more than storing it can take (the call stack runs out), written out as
  // text (JSON.stringify itself would run out of stack too).
  const id = randomUUID();
  const depth = 20_000;
  const event = JSON.stringify({
    specversion: "1.0",
    pubsubname: "pubsub",
    datacontenttype: "application/json",
    id,
    source: "create-task",
    type: "orbit.task.created",
    topic: "task-events-dlq",
    data: "DATA",
  }).replace('"DATA"', `${"[".repeat(depth)}"bottom"${"]".repeat(depth)}`);
  const res = await api(fn.url, "POST", "/events/dead-letters/task-events", {
    rawBody: event,
    headers: { "content-type": "application/cloudevents+json", pubsubname: "pubsub", ...FROM_SIDECAR },
  });
  expect(res.body).toEqual({ status: "SUCCESS" });
  const [row] = await openRows(id);
  expect(row!.envelope).toMatchObject({ id, type: "orbit.task.created", topic: "task-events-dlq" });
  expect(row!.envelope).not.toHaveProperty("data");
  expect(row!.error).toMatch(/^the envelope could not be stored \(.+\); its data is lost$/s);
});

test("operators list, inspect and dismiss dead letters", async () => {
  const id = randomUUID();
  await deliverDeadLetter(id);
  const list = await api(fn.url, "GET", "/v1/dead-letters?topic=task-events&status=open&limit=200", {
    auth: admin,
  });
  expect(list.status).toBe(200);
  const item = list.body.items.find((i: { event_id: string }) => i.event_id === id);
  expect(item).toMatchObject({ topic: "task-events", type: "orbit.task.created", resolved_at: null });

  const one = await api(fn.url, "GET", `/v1/dead-letters/${item.id}`, { auth: admin });
  expect(one.body.envelope.id).toBe(id);

  const resolved = await api(fn.url, "POST", `/v1/dead-letters/${item.id}/resolve`, {
    auth: admin,
    body: {},
  });
  expect(resolved.status).toBe(200);
  expect(resolved.body.resolved_at).not.toBeNull();
  expect(
    (await api(fn.url, "POST", `/v1/dead-letters/${item.id}/resolve`, { auth: admin, body: {} })).status,
  ).toBe(409);
  // Resolved, so a new failure of the same event opens a new row.
  await deliverDeadLetter(id);
  expect(await openRows(id)).toHaveLength(1);
});

test("replay republishes the event to its topic with its original id, type and data", async () => {
  const id = randomUUID();
  await deliverDeadLetter(id, { event_type: "created", task_id: "replayed" });
  const [row] = await openRows(id);
  const before = sidecar.published.length;
  const res = await api(fn.url, "POST", `/v1/dead-letters/${row!.id}/replay`, { auth: admin, body: {} });
  expect(res.status).toBe(200);
  expect(res.body.attempts).toBe(1);
  const [published] = (await sidecar.waitFor(before + 1)).slice(before);
  expect(published).toMatchObject({
    pubsub: "pubsub",
    topic: "task-events",
    contentType: "application/cloudevents+json",
    body: { id, type: "orbit.task.created", data: { event_type: "created", task_id: "replayed" } },
  });
  expect(
    (await api(fn.url, "POST", `/v1/dead-letters/${row!.id}/replay`, { auth: admin, body: {} })).status,
  ).toBe(409);
});

test("operator routes need the admin token: a user's API token or a wrong token is refused", async () => {
  const user = await createTestUser(await workerDb());
  expect((await api(fn.url, "GET", "/v1/dead-letters")).status).toBe(401);
  expect((await api(fn.url, "GET", "/v1/dead-letters", { auth: user.auth })).status).toBe(401);
  expect(
    (await api(fn.url, "GET", "/v1/dead-letters", { auth: "Bearer wrong-token-wrong-token-wrong" })).status,
  ).toBe(401);
});

test("without ADMIN_TOKEN the operator routes are disabled (403), never open", async () => {
  const closed = await startFunction({ name: "dead-letters", routes, subscriptions }, {});
  try {
    const res = await api(closed.url, "GET", "/v1/dead-letters", { auth: admin });
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/ADMIN_TOKEN/);
  } finally {
    await closed.close();
  }
});

test("bad ids and parameters are 400s naming the field; unknown ids 404", async () => {
  const bad = await api(fn.url, "GET", "/v1/dead-letters/abc", { auth: admin });
  expect(bad.status).toBe(400);
  expect(bad.body.errors[0].field).toBe("id");
  const badQuery = await api(fn.url, "GET", "/v1/dead-letters?status=maybe", { auth: admin });
  expect(badQuery.status).toBe(400);
  expect(badQuery.body.errors[0].field).toBe("status");
  expect((await api(fn.url, "GET", "/v1/dead-letters/999999999", { auth: admin })).status).toBe(404);
});

test("the open dead letters are exported per topic for alerting", async () => {
  await deliverDeadLetter(randomUUID());
  const text = await (await fetch(`${fn.url}/metrics`)).text();
  const open = Number(/^orbit_dead_letters_open\{topic="task-events"\} (\d+)$/m.exec(text)?.[1]);
  expect(open).toBe(
    await (await workerDb()).deadLetter.count({ where: { topic: "task-events", resolvedAt: null } }),
  );
  expect(open).toBeGreaterThan(0);
});
