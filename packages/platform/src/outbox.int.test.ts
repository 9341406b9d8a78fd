import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { startFunction } from "#testing/fixtures.ts";
import {
  startPublishRecorder,
  type PublishRecorder,
  type RecordedPublish,
} from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { DaprClient } from "./dapr-client.ts";
import { createLogger } from "./logger.ts";
import { DaprError } from "./dapr-client.ts";
import {
  enqueue,
  eventBackoffMs,
  isPermanentRefusal,
  OutboxRelay,
  type OutboxMessage,
  type RelayOptions,
} from "./outbox.ts";
import { WAIT_MS } from "#testing/wait.ts";

let db: Db;
let sidecar: PublishRecorder;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  db = await workerDb();
  sidecar = await startPublishRecorder();
});
afterEach(async () => {
  // A relay left sweeping would lock (claim) the next test's events.
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await sidecar.close();
});

/** A relay of our own (no sweeper unless started), publishing to `port`. */
function relayTo(port: number, source = "outbox-test", options: Partial<RelayOptions> = {}): OutboxRelay {
  const relay = new OutboxRelay({
    db,
    dapr: new DaprClient({ port, timeoutMs: 2_000 }),
    log: createLogger(source, "silent"),
    source,
    sweepIntervalMs: 50,
    ...options,
  });
  relays.push(relay);
  return relay;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function message(key: string, n: number, extra: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    topic: "task-events",
    type: "orbit.test",
    subject: key,
    partitionKey: key,
    data: { key, n },
    ...extra,
  };
}

/**
 * Commits events in one transaction. With the source of the test's own relay ("outbox-test"), no
 * other relay on this worker's database (say, of a function another test file started and is
 * still stopping) claims them for 10 s; with "" (no producer) any relay takes them at once.
 */
async function commitEvents(messages: OutboxMessage[], source = ""): Promise<string[]> {
  return db.$transaction((tx) => enqueue(tx, "pubsub", messages, source));
}

interface OutboxRow {
  event_id: string;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  published_at: Date | null;
  db_now: Date;
}

async function rows(eventIds: string[]): Promise<OutboxRow[]> {
  return db.$queryRaw<OutboxRow[]>`
    SELECT event_id::text AS event_id, status::text AS status, attempts, next_attempt_at, last_error,
           published_at, now() AS db_now
    FROM outbox WHERE event_id = ANY(${eventIds}::uuid[]) ORDER BY seq`;
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function publishedOf(recorder: PublishRecorder, eventIds: string[]): RecordedPublish[] {
  const wanted = new Set(eventIds);
  return recorder.published.filter((p) => wanted.has(p.body.id));
}

test("publishes each committed event as a CloudEvent carrying the outbox's id, type, subject and key", async () => {
  const key = randomUUID();
  const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const [eventId] = await commitEvents([
    message(key, 1, { type: "orbit.task.created", topic: "task-events", traceparent }),
  ]);
  const relay = relayTo(sidecar.port, "create-task");
  relay.kick();
  await until(() => publishedOf(sidecar, [eventId!]).length === 1, "the publish");
  const [published] = publishedOf(sidecar, [eventId!]);
  expect(published).toMatchObject({
    pubsub: "pubsub",
    topic: "task-events",
    contentType: "application/cloudevents+json",
    traceparent,
    query: { "metadata.partitionKey": key },
  });
  expect(published!.body).toEqual({
    specversion: "1.0",
    id: eventId,
    source: "create-task",
    type: "orbit.task.created",
    subject: key,
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    datacontenttype: "application/json",
    data: { key, n: 1 },
  });
  await relay.idle();
  const [row] = await rows([eventId!]);
  expect(row).toMatchObject({ status: "published", attempts: 0 });
  expect(row!.published_at).toBeInstanceOf(Date);
});

test("events of a rolled-back transaction are never published", async () => {
  const key = randomUUID();
  await expect(
    db.$transaction(async (tx) => {
      await enqueue(tx, "pubsub", [message(key, 1)]);
      throw new Error("the command failed after enqueueing");
    }),
  ).rejects.toThrow("the command failed");
  const count = await db.outboxEvent.count({ where: { partitionKey: key } });
  expect(count).toBe(0);
});

test("a refused publish stays pending with a backoff, and is published once the sidecar recovers", async () => {
  const refusing = await startPublishRecorder();
  try {
    refusing.respondWith(500);
    const key = randomUUID();
    const [first, second] = await commitEvents([message(key, 1), message(key, 2)], "outbox-test");
    const relay = relayTo(refusing.port);
    const [{ before }] = await db.$queryRaw<[{ before: Date }]>`SELECT now() AS before`;
    relay.kick();
    await relay.idle();
    const [failed, waiting] = await rows([first!, second!]);
    expect(failed).toMatchObject({ status: "pending", attempts: 1 });
    expect(failed!.last_error).toMatch(/HTTP 500.*ERR_PUBSUB_PUBLISH_MESSAGE/);
    // First backoff: 500 ms ± 25 %. Bounded by database clocks read before the drain and after it,
    // so a slow machine cannot make the backoff look shorter or longer than it is.
    expect(failed!.next_attempt_at.getTime() - before.getTime()).toBeGreaterThanOrEqual(375);
    expect(failed!.next_attempt_at.getTime() - failed!.db_now.getTime()).toBeLessThanOrEqual(625);
    // The later event of the same key waits behind it, untouched.
    expect(waiting).toMatchObject({ status: "pending", attempts: 0 });
    expect(refusing.published).toHaveLength(0);

    // Not retried before its time.
    relay.kick();
    await relay.idle();
    expect((await rows([first!]))[0]!.attempts).toBe(1);

    refusing.respondWith(204);
    relay.start();
    await until(
      async () => (await rows([first!, second!])).every((r) => r.status === "published"),
      "recovery",
    );
    const published = publishedOf(refusing, [first!, second!]);
    expect(published.map((p) => p.body.data.n)).toEqual([1, 2]);
    await relay.stop();
  } finally {
    await refusing.close();
  }
});

test("backoff doubles per attempt up to a minute, with jitter", () => {
  for (let i = 0; i < 20; i++) {
    expect(eventBackoffMs(1)).toBeGreaterThanOrEqual(375);
    expect(eventBackoffMs(1)).toBeLessThanOrEqual(625);
    expect(eventBackoffMs(3)).toBeGreaterThanOrEqual(1_500);
    expect(eventBackoffMs(3)).toBeLessThanOrEqual(2_500);
    expect(eventBackoffMs(30)).toBeLessThanOrEqual(75_000);
    expect(eventBackoffMs(30)).toBeGreaterThanOrEqual(45_000);
  }
});

test("with the sidecar down events stay pending, and are published exactly once, in order, when it is back", async () => {
  const port = await freePort();
  const keys = [randomUUID(), randomUUID()];
  const ids = await commitEvents(
    keys.flatMap((key) => [1, 2, 3, 4, 5, 6].map((n) => message(key, n))),
    "outbox-test",
  );
  const relay = relayTo(port);
  await relay.drainOnce();
  const pending = await rows(ids);
  // An unreachable sidecar is not the event's fault: no attempt is counted, no backoff.
  expect(pending.every((r) => r.status === "pending" && r.attempts === 0)).toBe(true);

  const back = await startPublishRecorder(port);
  try {
    relay.start();
    await until(async () => (await rows(ids)).every((r) => r.status === "published"), "the backlog to drain");
    await relay.stop();
    const published = publishedOf(back, ids);
    expect(published).toHaveLength(12);
    expect(new Set(published.map((p) => p.body.id)).size).toBe(12);
    for (const key of keys) {
      expect(published.filter((p) => p.body.subject === key).map((p) => p.body.data.n)).toEqual([
        1, 2, 3, 4, 5, 6,
      ]);
    }
  } finally {
    await back.close();
  }
});

test("one kick drains a key's whole backlog, not one event per sweep", async () => {
  const key = randomUUID();
  const ids = await commitEvents(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => message(key, n)),
    "outbox-test",
  );
  const relay = relayTo(sidecar.port);
  relay.kick();
  await relay.idle();
  expect(publishedOf(sidecar, ids).map((p) => p.body.data.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
});

test("two function instances draining one outbox never publish an event twice, and keep each key's order", async () => {
  const recorder = await startPublishRecorder();
  // Each relay claims at most four events per drain, so eight keys' first events need both.
  const def = { name: "relay-twin", outbox: true };
  const env = {
    DAPR_HTTP_PORT: String(recorder.port),
    OUTBOX_SWEEP_INTERVAL_MS: "20",
    OUTBOX_BATCH_SIZE: "4",
  };
  const [a, b] = await Promise.all([startFunction(def, env), startFunction(def, env)]);
  const relayA = a.built.relay!;
  const relayB = b.built.relay!;
  try {
    // The sidecar holds every publish, so each relay keeps its claims (row locks) open.
    const release = recorder.hold();
    const keys = Array.from({ length: 8 }, () => randomUUID());
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(...(await commitEvents(keys.map((key) => message(key, n)))));
    relayA.kick();
    relayB.kick();
    // Eight publishes at once can only be four claimed by each: the two really share the work.
    await recorder.waitForInFlight(8);
    release();
    await until(async () => (await rows(ids)).every((r) => r.status === "published"), "both relays to drain");
    expect(relayA.stats.published).toBeGreaterThan(0);
    expect(relayB.stats.published).toBeGreaterThan(0);
    const published = publishedOf(recorder, ids);
    expect(published).toHaveLength(ids.length);
    expect(new Set(published.map((p) => p.body.id)).size).toBe(ids.length);
    for (const key of keys) {
      expect(published.filter((p) => p.body.subject === key).map((p) => p.body.data.n)).toEqual([
        1, 2, 3, 4, 5,
      ]);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
    await recorder.close();
  }
});

test("a relay publishes its own function's events at once and rescues another's only after 10 s, under their source", async () => {
  const key = randomUUID();
  await db.$transaction((tx) => enqueue(tx, "pubsub", [message(key, 1)], "other-function"));
  const relay = relayTo(sidecar.port, "this-function");
  await relay.drainOnce();
  expect(sidecar.published.filter((p) => p.body.subject === key)).toHaveLength(0);

  // As if the other function had been down (scaled to zero) for a while with this event pending.
  await db.$executeRaw`UPDATE outbox SET created_at = now() - interval '11 seconds' WHERE partition_key = ${key}`;
  await relay.drainOnce();
  const mine = sidecar.published.filter((p) => p.body.subject === key);
  expect(mine).toHaveLength(1);
  expect(mine[0]!.body.source).toBe("other-function");
});

/** Makes an event that waits out its backoff due now (the database's clock, not a sleep). */
async function dueNow(eventId: string): Promise<void> {
  await db.$executeRaw`UPDATE outbox SET next_attempt_at = now() WHERE event_id = ${eventId}::uuid`;
}

test("a 4xx refusal is permanent; 408, 429, 5xx and other errors are transient", () => {
  for (const status of [400, 403, 404, 409, 422])
    expect(isPermanentRefusal(new DaprError(status, "", "publish"))).toBe(true);
  for (const status of [408, 429, 500, 502, 503])
    expect(isPermanentRefusal(new DaprError(status, "", "publish"))).toBe(false);
  expect(isPermanentRefusal(new Error("socket hang up"))).toBe(false);
});

test("an event refused permanently (4xx) is parked after maxPermanentAttempts, copied to the dead-letter store, and its key moves on", async () => {
  const key = randomUUID();
  const [poison, next] = await commitEvents([message(key, 1), message(key, 2)], "outbox-test");
  sidecar.refuseEvents((event) => event.id === poison, 403);
  const relay = relayTo(sidecar.port, "outbox-test", { maxPermanentAttempts: 3 });

  for (const attempt of [1, 2]) {
    await relay.drainOnce();
    expect((await rows([poison!]))[0]).toMatchObject({ status: "pending", attempts: attempt });
    // Still holding back the next event of its key.
    expect(publishedOf(sidecar, [next!])).toHaveLength(0);
    await dueNow(poison!);
  }
  relay.kick();
  await relay.idle();

  expect(sidecar.refusals.get(poison!)).toBe(3);
  const [parked, published] = await rows([poison!, next!]);
  expect(parked).toMatchObject({ status: "parked", attempts: 3 });
  expect(parked!.last_error).toMatch(/HTTP 403/);
  expect(published).toMatchObject({ status: "published" });
  expect(publishedOf(sidecar, [next!]).map((p) => p.body.data)).toEqual([{ key, n: 2 }]);

  const letters = await db.deadLetter.findMany({ where: { eventId: poison! } });
  expect(letters).toHaveLength(1);
  expect(letters[0]).toMatchObject({
    consumer: "outbox-test",
    pubsub: "pubsub",
    topic: "task-events",
    attempts: 3,
    resolvedAt: null,
  });
  expect(letters[0]!.error).toMatch(/refused to publish this event 3 times.*HTTP 403/);
  expect(letters[0]!.envelope).toMatchObject({
    specversion: "1.0",
    id: poison,
    type: "orbit.test",
    subject: key,
    data: { key, n: 1 },
  });

  // A parked event is never tried again.
  await dueNow(poison!);
  relay.kick();
  await relay.idle();
  expect(sidecar.refusals.get(poison!)).toBe(3);
  expect(relay.stats.parked).toBe(1);
});

test("transient refusals (5xx, 429) never count towards parking: only permanent ones do", async () => {
  const refusing = await startPublishRecorder();
  try {
    const key = randomUUID();
    const [first] = await commitEvents([message(key, 1)], "outbox-test");
    const relay = relayTo(refusing.port, "outbox-test", { maxPermanentAttempts: 2 });
    // One attempt per status: make the event due, drain until the attempt is recorded (a drain
    // that found it not yet due, or briefly locked, claims nothing and is simply repeated).
    const attempt = async (n: number) => {
      await until(async () => {
        await dueNow(first!);
        await relay.drainOnce();
        return (await rows([first!]))[0]!.attempts >= n;
      }, `attempt ${n} to be recorded`);
      return (await rows([first!]))[0];
    };
    let n = 0;
    for (const status of [503, 429, 500, 503, 429]) {
      refusing.respondWith(status);
      expect(await attempt(++n)).toMatchObject({ status: "pending", attempts: n });
    }
    expect(await db.deadLetter.count({ where: { eventId: first! } })).toBe(0);

    refusing.respondWith(400);
    expect(await attempt(6)).toMatchObject({ status: "pending", attempts: 6 });
    expect(await attempt(7)).toMatchObject({ status: "parked", attempts: 7 });
    expect(await db.deadLetter.count({ where: { eventId: first!, resolvedAt: null } })).toBe(1);
  } finally {
    await refusing.close();
  }
});
