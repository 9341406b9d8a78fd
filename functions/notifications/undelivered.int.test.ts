// A reminder no channel can deliver (issue 16, item 2). The quick round: notifications answers
// RETRY and the sidecar redelivers the event with the backoff of the resiliency policy the project
// ships (dapr-components/local/resiliency.yaml: exponential, ×1.5 per retry with ±50 % jitter,
// capped at 10 s), MAX_DELIVERY_ATTEMPTS (5) times. Then the later attempts: the event is
// acknowledged and a Dapr job of notifications' own wakes it after each of
// LATER_DELIVERY_DELAYS_SECONDS (1 min … 2 h in production; 1 s and 2 s here), so an outage of
// minutes or hours does not lose the reminder. After the last, each delivery is failed. The
// ledger's attempt times show both, and the task's reminders say "undelivered" with each channel's
// last error, which the task page and the list show (tests/web/reminder-actions.e2e).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "#notifications/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { api, createTestUser } from "#testing/fixtures.ts";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { firedReminderEvent, until } from "#testing/reminder-actions.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "./handler.ts";

const vapid = generateVapidKeys("mailto:reminders@orbit.test");
/**
 * The project's own local policy, its first wait stretched from 200 ms to 1 s: each delivery also
 * spends up to ~100 ms sending, which would hide a 200 ms exponential step on a busy machine, but
 * not a 1 s one (a constant policy then fails the third and fourth gaps' lower bounds).
 */
const BASE_MS = 1_000;
const POLICY = readFileSync(path.join(REPO_ROOT, "dapr-components/local/resiliency.yaml"), "utf8").replace(
  /(deliveryRetry:\s+policy: exponential\s+duration:) 200ms/,
  `$1 ${BASE_MS}ms`,
);

/** The later attempts' waits here (seconds): short, but far longer than a quick redelivery's. */
const LATER = [1, 2];

let db: Db;
let push: PushService;
let pair: FunctionWithSidecar<NotificationsEnv>;

beforeAll(async () => {
  db = await workerDb();
  push = await startPushService();
  pair = await startFunctionWithSidecar(
    {
      name: "notifications",
      env: notificationsEnvSchema,
      ...notificationsFunction({ vapid, pushCa: push.ca }),
    },
    {
      resourcesPath: await resourcesFolder({ "pubsub.yaml": PUBSUB_COMPONENT, "resiliency.yaml": POLICY }),
      // No `email` binding on this sidecar: every mail fails as an SMTP relay that is down would.
      env: { OUTBOUND_ALLOW_LOOPBACK: "true", LATER_DELIVERY_DELAYS_SECONDS: LATER.join(",") },
    },
  );
});
afterAll(async () => {
  await pair?.close();
  await push?.close();
});

/** A task of a new user due in an hour, its 15-minute reminder fired; push (and email) enabled. */
async function firedReminder(title: string, { email }: { email: boolean }) {
  const user = await createTestUser(db, { timeZone: "Europe/Berlin" });
  const subscription = push.subscribe();
  const registered = await api(pair.fn.url, "POST", "/v1/push-subscriptions", {
    auth: user.auth,
    body: subscription,
  });
  expect(registered.status).toBe(201);
  if (email)
    await db.notificationChannel.create({
      data: {
        userId: user.id,
        kind: "email",
        enabled: true,
        emailConfirmedAddress: user.email.toLowerCase(),
      },
    });
  const { task, reminder } = await firedReminderEvent(db, user, title);
  return { user, task, reminder, subscription };
}

/** Published through the sidecar, so its redeliveries (and their backoff) are the sidecar's own. */
async function publish(reminder: object) {
  const published = await fetch(`${pair.daprUrl}/v1.0/publish/pubsub/${TOPICS.reminders}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(reminder),
  });
  expect(published.status).toBe(204);
}

const ledgerOf = (taskId: string) =>
  db.notificationDelivery.findMany({
    where: { taskId },
    orderBy: { channel: "asc" },
    include: { attemptLog: { orderBy: { attempt: "asc" } } },
  });

test(
  "every channel failing: five quick attempts spaced by the policy's backoff, then the later ones a job wakes, then 'undelivered' with each channel's reason",
  { timeout: 60_000 },
  async () => {
    const { user, task, reminder, subscription } = await firedReminder("Renew the passport", { email: true });
    push.respondWith(subscription.endpoint, 500);
    await publish(reminder);

    expect(POLICY).toContain(`duration: ${BASE_MS}ms`);
    const QUICK = 5;
    const ALL = QUICK + LATER.length;

    // After the quick round the event is let go, and each delivery waits for its later attempt.
    const waiting = await until(
      "the quick round to end",
      async () => {
        const rows = await ledgerOf(task.id);
        return rows.length === 2 && rows.every((row) => row.attempts === QUICK && row.nextAttemptAt)
          ? rows
          : null;
      },
      30_000,
    );
    expect(waiting.map((d) => d.status)).toEqual(["pending", "pending"]);
    for (const d of waiting)
      expect(d.nextAttemptAt!.getTime() - d.attemptLog.at(-1)!.at.getTime()).toBe(LATER[0]! * 1_000);
    const meanwhile = await api(pair.fn.url, "GET", `/v1/tasks/${task.id}/reminders`, { auth: user.auth });
    expect(meanwhile.body.jobs).toMatchObject([{ job_name: reminder.job_name, delivery: "retrying" }]);
    expect(
      meanwhile.body.deliveries.every((d: { next_attempt_at: string | null }) => d.next_attempt_at),
    ).toBe(true);

    const ledger = await until(
      "both deliveries to fail for good",
      async () => {
        const rows = await ledgerOf(task.id);
        return rows.length === 2 && rows.every((row) => row.status === "failed") ? rows : null;
      },
      30_000,
    );
    expect(ledger.map((d) => [d.channel, d.attempts, d.attemptLog.length, d.nextAttemptAt])).toEqual([
      ["push", ALL, ALL, null],
      ["email", ALL, ALL, null],
    ]);
    expect(ledger[0]!.lastError).toContain("500");
    expect(ledger[1]!.lastError).toMatch(/binding|email/i);
    expect(push.received.filter((r) => r.endpoint === subscription.endpoint)).toHaveLength(ALL);

    for (const delivery of ledger) {
      const at = delivery.attemptLog.map((a) => a.at.getTime());
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      const label = (n: number) => `${delivery.channel} gap ${n + 1} of ${JSON.stringify(gaps)}`;
      // The quick round's backoff: the n-th redelivery waits BASE × 1.5ⁿ⁻¹, randomised by ±50 %, so
      // each gap is at least half of that, and the waits grow: a constant or immediate retry fails.
      const quick = gaps.slice(0, QUICK - 1);
      const nominal = quick.map((_, n) => BASE_MS * 1.5 ** n);
      // No upper bound: how soon after its wait an attempt goes out is a matter of load (the whole
      // chain is bounded by the waits above; punctuality is bench 4's to measure).
      quick.forEach((gap, n) => expect(gap, label(n)).toBeGreaterThanOrEqual(0.5 * nominal[n]! - 5));
      // The later attempts: never before their wait.
      LATER.forEach((seconds, n) =>
        expect(gaps[QUICK - 1 + n], label(QUICK - 1 + n)).toBeGreaterThanOrEqual(seconds * 1_000),
      );
    }

    // What the user is shown: the occurrence reached no channel, and why each failed.
    const view = await api(pair.fn.url, "GET", `/v1/tasks/${task.id}/reminders`, { auth: user.auth });
    expect(view.body.jobs).toMatchObject([
      { job_name: reminder.job_name, kind: "reminder", delivery: "undelivered" },
    ]);
    expect(
      view.body.deliveries.map((d: { channel: string; status: string; last_error: string }) => [
        d.channel,
        d.status,
        Boolean(d.last_error),
      ]),
    ).toEqual(
      expect.arrayContaining([
        ["push", "failed", true],
        ["email", "failed", true],
      ]),
    );
  },
);

test("a channel that recovers before a later attempt gets the reminder then: delivered, and no attempt more", async () => {
  const { user, task, reminder, subscription } = await firedReminder("Water the ferns", { email: false });
  push.respondWith(subscription.endpoint, 503);
  await publish(reminder);
  const [waiting] = await until(
    "the quick round to end",
    async () => {
      const rows = await ledgerOf(task.id);
      return rows[0]?.nextAttemptAt ? rows : null;
    },
    30_000,
  );
  expect(waiting!.status).toBe("pending");
  // The push service is back before the job wakes notifications for the later attempt.
  push.respondWith(subscription.endpoint, 201);
  const [sent] = await until(
    "the later attempt to deliver it",
    async () => {
      const rows = await ledgerOf(task.id);
      return rows[0]?.status === "sent" ? rows : null;
    },
    15_000,
  );
  expect([sent!.attempts, sent!.nextAttemptAt]).toEqual([6, null]);
  expect(sent!.attemptLog.map((a) => a.status)).toEqual([
    "failed",
    "failed",
    "failed",
    "failed",
    "failed",
    "sent",
  ]);
  const view = await api(pair.fn.url, "GET", `/v1/tasks/${task.id}/reminders`, { auth: user.auth });
  expect(view.body.jobs).toMatchObject([{ job_name: reminder.job_name, delivery: "delivered" }]);
});

test("a copy of the event while a delivery waits sends nothing; a task completed meanwhile is not reminded late (skipped, with why)", async () => {
  const { task, reminder, subscription } = await firedReminder("Book the vet", { email: false });
  push.respondWith(subscription.endpoint, 500);
  await publish(reminder);
  await until("the quick round to end", async () => (await ledgerOf(task.id))[0]?.nextAttemptAt, 30_000);
  const pushesBefore = push.received.filter((r) => r.endpoint === subscription.endpoint).length;
  // Dapr delivers at least once: the same event again, while the delivery waits for its later try.
  await publish(reminder);
  await db.task.update({ where: { id: task.id }, data: { status: "completed", completedAt: new Date() } });
  const [skipped] = await until(
    "the later attempt to be skipped",
    async () => {
      const rows = await ledgerOf(task.id);
      return rows[0]?.status === "skipped" ? rows : null;
    },
    15_000,
  );
  expect(skipped!.attempts).toBe(5);
  expect(skipped!.lastError).toBe("not sent later: the task was completed");
  expect(push.received.filter((r) => r.endpoint === subscription.endpoint)).toHaveLength(pushesBefore);
});
