// Housekeeping on a real PostgreSQL: what has outlived its use goes, what may still be needed
// stays (an applied event with an open dead letter above all: its replay must still be a no-op for
// the consumers that had applied it).
import { randomUUID } from "node:crypto";
import { beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { createTestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { consumeOnce } from "./inbox.ts";
import { PROCESSED_EVENT_RETENTION_DAYS, pruneExpired, RATE_LIMIT_IDLE_DAYS } from "./retention.ts";

const DAY = 86_400_000;
let db: Db;

beforeAll(async () => {
  db = await workerDb();
});

async function processedAt(consumer: string, eventId: string, at: Date): Promise<void> {
  await db.processedEvent.create({ data: { consumer, eventId, processedAt: at } });
}

const remembered = (consumer: string, eventId: string) =>
  db.processedEvent.count({ where: { consumer, eventId } });

test("a consumer forgets an applied event after the retention, unless the event has an open dead letter", async () => {
  const now = new Date();
  const consumer = `audit-log-${randomUUID().slice(0, 8)}`;
  const justOld = new Date(now.getTime() - PROCESSED_EVENT_RETENTION_DAYS * DAY - 60_000);
  const justYoung = new Date(now.getTime() - PROCESSED_EVENT_RETENTION_DAYS * DAY + 60_000);
  const [old, young, parked, replayed] = ["old", "young", "parked", "replayed"].map(
    (n) => `${n}-${randomUUID()}`,
  );
  await processedAt(consumer, old!, justOld);
  await processedAt(consumer, young!, justYoung);
  await processedAt(consumer, parked!, justOld);
  await processedAt(consumer, replayed!, justOld);
  const letter = (eventId: string, resolvedAt: Date | null) => ({
    consumer: "another-consumer",
    pubsub: "pubsub",
    topic: "task-events",
    eventId,
    envelope: { id: eventId },
    error: "HTTP 500",
    resolvedAt,
  });
  await db.deadLetter.create({ data: letter(parked!, null) });
  await db.deadLetter.create({ data: letter(replayed!, now) });

  const pruned = await pruneExpired(db, now);
  expect(pruned.processed_events).toBeGreaterThanOrEqual(2);
  expect([
    await remembered(consumer, old!),
    await remembered(consumer, young!),
    await remembered(consumer, parked!),
    await remembered(consumer, replayed!),
  ]).toEqual([0, 1, 1, 0]);

  // The parked event, replayed now, is still a duplicate for this consumer: its effect does not run.
  let ran = false;
  const again = await consumeOnce(db, consumer, parked!, async () => {
    ran = true;
  });
  expect([again.duplicate, ran]).toEqual([true, false]);
});

test("idle rate-limit rows and expired sessions go; live ones stay", async () => {
  const now = new Date();
  const [idle, busy] = [`idle:${randomUUID()}`, `busy:${randomUUID()}`];
  await db.rateLimit.create({
    data: { key: idle, windowStart: new Date(now.getTime() - RATE_LIMIT_IDLE_DAYS * DAY - 60_000), count: 3 },
  });
  await db.rateLimit.create({
    data: { key: busy, windowStart: new Date(now.getTime() - 3_600_000), count: 3 },
  });
  const user = await createTestUser(db);
  const session = (expiresAt: Date) =>
    db.session.create({
      data: { userId: user.id, tokenHash: randomUUID(), csrfSecret: randomUUID(), expiresAt },
    });
  const expired = await session(new Date(now.getTime() - 1_000));
  const live = await session(new Date(now.getTime() + DAY));

  const pruned = await pruneExpired(db, now);
  expect(pruned.rate_limits).toBeGreaterThanOrEqual(1);
  expect(pruned.sessions).toBeGreaterThanOrEqual(1);
  expect(await db.rateLimit.findUnique({ where: { key: idle } })).toBeNull();
  expect(await db.rateLimit.findUnique({ where: { key: busy } })).not.toBeNull();
  expect(await db.session.findUnique({ where: { id: expired.id } })).toBeNull();
  expect(await db.session.findUnique({ where: { id: live.id } })).not.toBeNull();
});

test("a backlog larger than a batch is deleted over several statements, and a second run finds nothing", async () => {
  const now = new Date();
  const consumer = `backlog-${randomUUID().slice(0, 8)}`;
  const old = new Date(now.getTime() - (PROCESSED_EVENT_RETENTION_DAYS + 1) * DAY);
  await db.processedEvent.createMany({
    data: Array.from({ length: 7 }, (_, i) => ({ consumer, eventId: `e${i}`, processedAt: old })),
  });
  const first = await pruneExpired(db, now, 2);
  expect(first.processed_events).toBeGreaterThanOrEqual(7);
  expect(await db.processedEvent.count({ where: { consumer } })).toBe(0);
  expect((await pruneExpired(db, now, 2)).processed_events).toBe(0);
});
