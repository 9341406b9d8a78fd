import { randomUUID } from "node:crypto";
import { beforeAll, expect, test } from "vitest";
import type { Db, Tx } from "#db/client.ts";
import { workerDb } from "#testing/worker-db.ts";
import { consumeOnce } from "./inbox.ts";
import { WAIT_MS } from "#testing/wait.ts";

let db: Db;

beforeAll(async () => {
  db = await workerDb();
});

/** A user row as the effect's visible write: present only if the effect's transaction committed. */
async function writeMarker(tx: Tx, email: string): Promise<string> {
  const user = await tx.user.create({ data: { email, passwordHash: "scrypt$disabled" } });
  return user.id;
}

async function inboxRows(consumer: string, eventId: string): Promise<number> {
  return db.processedEvent.count({ where: { consumer, eventId } });
}

/** Resolves once some backend of this database waits on a lock (a blocked INSERT), or fails at the deadline. */
async function untilSomeoneWaitsOnALock(deadlineMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const [row] = await db.$queryRaw<{ waiting: number }[]>`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.waiting > 0) return;
    if (Date.now() > deadline) throw new Error("no transaction started waiting on a lock");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test("runs the effect once, commits it with the inbox row, and reports a redelivery as a duplicate", async () => {
  const eventId = randomUUID();
  const email = `inbox-${eventId}@example.test`;
  let runs = 0;
  const effect = async (tx: Tx) => {
    runs += 1;
    return writeMarker(tx, email);
  };

  const first = await consumeOnce(db, "test-consumer", eventId, effect);
  const second = await consumeOnce(db, "test-consumer", eventId, effect);

  expect(first.duplicate).toBe(false);
  expect(first.result).toMatch(/^[0-9a-f-]{36}$/);
  expect(second).toEqual({ duplicate: true });
  expect(runs).toBe(1);
  expect(await db.user.count({ where: { email } })).toBe(1);
  expect(await inboxRows("test-consumer", eventId)).toBe(1);
});

test("the same event id is independent per consumer", async () => {
  const eventId = randomUUID();
  const a = await consumeOnce(db, "consumer-a", eventId, async () => "a");
  const b = await consumeOnce(db, "consumer-b", eventId, async () => "b");
  expect(a).toEqual({ duplicate: false, result: "a" });
  expect(b).toEqual({ duplicate: false, result: "b" });
});

test("a failing effect commits nothing, so the redelivery applies it", async () => {
  const eventId = randomUUID();
  const email = `inbox-${eventId}@example.test`;

  await expect(
    consumeOnce(db, "test-consumer", eventId, async (tx) => {
      await writeMarker(tx, email);
      throw new Error("effect failed halfway");
    }),
  ).rejects.toThrow("effect failed halfway");
  expect(await db.user.count({ where: { email } })).toBe(0);
  expect(await inboxRows("test-consumer", eventId)).toBe(0);

  const retry = await consumeOnce(db, "test-consumer", eventId, (tx) => writeMarker(tx, email));
  expect(retry.duplicate).toBe(false);
  expect(await db.user.count({ where: { email } })).toBe(1);
});

test("a concurrent delivery waits for the first transaction and then sees the duplicate", async () => {
  const eventId = randomUUID();
  const email = `inbox-${eventId}@example.test`;
  const release = gate();
  let runs = 0;

  const first = consumeOnce(db, "test-consumer", eventId, async (tx) => {
    runs += 1;
    const id = await writeMarker(tx, email);
    await release.opened;
    return id;
  });
  // Start the second only once the first holds the inbox row (its effect has begun).
  const deadline = Date.now() + 5_000;
  while (runs === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(runs).toBe(1);
  let secondSettled = false;
  const second = consumeOnce(db, "test-consumer", eventId, async (tx) => {
    runs += 1;
    return writeMarker(tx, `other-${email}`);
  }).finally(() => (secondSettled = true));

  await untilSomeoneWaitsOnALock();
  expect(secondSettled).toBe(false);
  release.open();

  const [a, b] = await Promise.all([first, second]);
  expect(a.duplicate).toBe(false);
  expect(b).toEqual({ duplicate: true });
  expect(runs).toBe(1);
  expect(await db.user.count({ where: { email: { endsWith: email } } })).toBe(1);
});

test("when the first of two concurrent deliveries rolls back, the waiting one applies the effect", async () => {
  const eventId = randomUUID();
  const email = `inbox-${eventId}@example.test`;
  const release = gate();
  let started = false;

  const first = consumeOnce(db, "test-consumer", eventId, async (tx) => {
    started = true;
    await writeMarker(tx, `first-${email}`);
    await release.opened;
    throw new Error("first delivery crashed");
  });
  const deadline = Date.now() + 5_000;
  while (!started && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const second = consumeOnce(db, "test-consumer", eventId, (tx) => writeMarker(tx, `second-${email}`));

  await untilSomeoneWaitsOnALock();
  release.open();

  await expect(first).rejects.toThrow("first delivery crashed");
  expect((await second).duplicate).toBe(false);
  expect(await db.user.count({ where: { email: `first-${email}` } })).toBe(0);
  expect(await db.user.count({ where: { email: `second-${email}` } })).toBe(1);
  expect(await inboxRows("test-consumer", eventId)).toBe(1);
});

test("of many simultaneous deliveries exactly one applies the effect", async () => {
  const eventId = randomUUID();
  const email = `inbox-${eventId}@example.test`;
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      consumeOnce(db, "test-consumer", eventId, (tx) => writeMarker(tx, `${i}-${email}`)),
    ),
  );
  expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
  expect(await db.user.count({ where: { email: { endsWith: email } } })).toBe(1);
});
