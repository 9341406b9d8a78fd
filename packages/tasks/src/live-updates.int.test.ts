import { randomUUID } from "node:crypto";
import { afterAll, expect, test } from "vitest";
import type { TaskUpdate } from "#core/events.ts";
import { createTestUser } from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
import {
  latestLiveUpdateId,
  liveUpdatesSince,
  LiveHub,
  pruneLiveUpdates,
  recordLiveUpdate,
} from "./live-updates.ts";

const hubs: LiveHub[] = [];
afterAll(() => Promise.all(hubs.map((hub) => hub.stop())));

const update = (userId: string, title: string): TaskUpdate => ({
  event_type: "task_created",
  task_id: randomUUID(),
  user_id: userId,
  old_status: null,
  new_status: null,
  task: null,
  changed_fields: [title],
  timestamp: new Date().toISOString(),
});

test("an update is stored once per event id and read back only by its user, after a given id", async () => {
  const db = await workerDb();
  const [alice, bob] = [await createTestUser(db), await createTestUser(db)];
  const start = await latestLiveUpdateId(db, alice.id);
  const eventId = randomUUID();
  expect(await recordLiveUpdate(db, eventId, update(alice.id, "one"))).toBe(true);
  expect(await recordLiveUpdate(db, eventId, update(alice.id, "one again"))).toBe(false);
  await recordLiveUpdate(db, randomUUID(), update(alice.id, "two"));
  await recordLiveUpdate(db, randomUUID(), update(bob.id, "bob's"));
  const rows = await liveUpdatesSince(db, alice.id, start);
  expect(rows.map((row) => row.payload.changed_fields[0])).toEqual(["one", "two"]);
  expect(await liveUpdatesSince(db, alice.id, rows[0]!.id)).toHaveLength(1);
  expect(await latestLiveUpdateId(db, alice.id)).toBe(rows[1]!.id);
});

test("every hub (one per web instance) is woken for its user's updates, not for others'", async () => {
  const db = await workerDb();
  const url = await workerDatabaseUrl();
  const [alice, bob] = [await createTestUser(db), await createTestUser(db)];
  const [one, two] = [new LiveHub(url), new LiveHub(url)];
  hubs.push(one, two);
  const woken = { one: 0, two: 0, bob: 0 };
  one.subscribe(alice.id, () => woken.one++);
  two.subscribe(alice.id, () => woken.two++);
  two.subscribe(bob.id, () => woken.bob++);
  await Promise.all([one.ensureConnected(), two.ensureConnected()]);
  const before = { ...woken };
  await recordLiveUpdate(db, randomUUID(), update(alice.id, "x"));
  await waitFor("both hubs woken", async () => woken.one > before.one && woken.two > before.two);
  expect(woken.bob).toBe(before.bob);
});

test("pruning removes updates older than a day", async () => {
  const db = await workerDb();
  const alice = await createTestUser(db);
  await recordLiveUpdate(db, randomUUID(), update(alice.id, "old"));
  await pruneLiveUpdates(db, new Date(Date.now() + 25 * 60 * 60_000));
  expect(await liveUpdatesSince(db, alice.id, 0n)).toEqual([]);
});
