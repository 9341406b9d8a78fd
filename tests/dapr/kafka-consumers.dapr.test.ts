// Kafka's consumer-group semantics under real daprd (FR-013, FR-031, FR-032, NFR-006, NFR-009,
// NFR-011): two instances of one app-id share a topic's partitions; one SIGKILLed mid-stream →
// the group rebalances, the survivor resumes from the committed offsets, nothing is lost and
// nothing takes effect twice (the inbox); restarting a daprd loses nothing either.
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { bulkPublish, createdEvents } from "#testing/broker.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";

let topology: Topology;
let db: Db;
let user: TestUser;
let second: string;

beforeAll(async () => {
  db = await workerDb();
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "audit-log"],
  });
  second = await topology.addInstance("audit-log");
  user = await createTestUser(db);
}, 180_000);

afterAll(async () => {
  await topology?.stop();
});

/** Deliveries one instance has answered SUCCESS to (its own process's counter). */
async function consumed(key: string): Promise<number> {
  const metrics = await (await fetch(`${topology.app(key).url}/metrics`)).text();
  return Number(
    /orbit_events_consumed_total\{topic="task-events",status="SUCCESS"\} (\d+)/.exec(metrics)?.[1] ?? 0,
  );
}

const recorded = (ids: string[]) => db.auditLog.count({ where: { eventId: { in: ids } } });

async function allRecorded(ids: string[], timeoutMs = 90_000): Promise<void> {
  await waitFor(
    `all ${ids.length} recorded`,
    async () => {
      const count = await recorded(ids);
      // Thrown, not returned: a timeout then says how far it got.
      if (count !== ids.length) throw new Error(`${count} of ${ids.length} recorded`);
      return true;
    },
    timeoutMs,
    100,
  );
  const rows = await db.auditLog.findMany({ where: { eventId: { in: ids } }, select: { eventId: true } });
  expect(rows).toHaveLength(ids.length);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(ids.length);
}

test("two instances of audit-log share task-events' partitions; one SIGKILLed mid-stream: the survivor takes over from the committed offsets, nothing lost, nothing twice", async () => {
  // The second daprd joins the group "audit-log" only after its app's first healthy probe, so the
  // warm-up goes on, 50 events a second, until both members have taken events: with six partitions
  // over two members, each gets some once the group has rebalanced.
  const warmup: string[] = [];
  await waitFor(
    "both instances of audit-log to take events",
    async () => {
      const batch = createdEvents(user.id, 50, "Warm-up");
      await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, batch);
      warmup.push(...batch.map((e) => e.id));
      return (await consumed("audit-log")) > 0 && (await consumed(second)) > 0;
    },
    90_000,
    1_000,
  );
  await allRecorded(warmup);
  const [first, other] = [await consumed("audit-log"), await consumed(second)];
  expect(first + other).toBeGreaterThanOrEqual(warmup.length);

  const events = createdEvents(user.id, 2_000, "Rebalance");
  const ids = events.map((e) => e.id);
  await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, events);
  await waitFor("the stream under way", async () => (await recorded(ids)) >= 300, 60_000, 5);
  // A pod dying: the app and its sidecar, both SIGKILLed.
  const beforeKill = await consumed(second);
  await topology.kill(second, "app", "SIGKILL");
  await topology.kill(second, "sidecar", "SIGKILL");
  const atKill = await recorded(ids);
  expect(atKill).toBeLessThan(2_000);

  await allRecorded(ids);
  // The survivor processed what was left plus at most a re-read of the dead member's uncommitted
  // tail (offsets commit about once a second), not the stream again from the start.
  const survivorShare = (await consumed("audit-log")) - first;
  const deadShare = beforeKill - other;
  expect(survivorShare + deadShare).toBeGreaterThanOrEqual(2_000);
  expect(survivorShare + deadShare).toBeLessThan(2_000 + 1_000);
}, 180_000);

test("daprd restarted mid-stream (SIGTERM, then started again): every event recorded once", async () => {
  const events = createdEvents(user.id, 1_000, "Sidecar restart");
  const ids = events.map((e) => e.id);
  await bulkPublish(topology.app("create-task").daprUrl, TOPICS.taskEvents, events);
  await waitFor("the stream under way", async () => (await recorded(ids)) >= 100, 60_000, 5);
  await topology.restart("audit-log", "sidecar");
  await allRecorded(ids);
}, 180_000);
