// A reminder no channel can deliver (issue 16, item 2): notifications does not retry on its own; it
// answers RETRY and the sidecar redelivers the event with the backoff of the resiliency policy the
// project ships (dapr-components/local/resiliency.yaml: exponential, ×1.5 per retry with ±50 %
// jitter, capped at 10 s), until MAX_DELIVERY_ATTEMPTS (5) make each delivery failed. The ledger's
// attempt times show the backoff, and the task's reminders say "undelivered" with each channel's
// last error, which the task page and the list show (tests/web/reminder-actions.e2e).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "#notifications/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { createTask } from "#tasks/commands.ts";
import { api, createTestUser } from "#testing/fixtures.ts";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { commandCtx, until } from "#testing/reminder-actions.ts";
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
      env: { OUTBOUND_ALLOW_LOOPBACK: "true" },
    },
  );
});
afterAll(async () => {
  await pair?.close();
  await push?.close();
});

test(
  "every channel failing: five attempts each, spaced by the policy's exponential backoff, then 'undelivered' with each channel's reason",
  { timeout: 60_000 },
  async () => {
    const user = await createTestUser(db, { timeZone: "Europe/Berlin" });
    const subscription = push.subscribe();
    const registered = await api(pair.fn.url, "POST", "/v1/push-subscriptions", {
      auth: user.auth,
      body: subscription,
    });
    expect(registered.status).toBe(201);
    push.respondWith(subscription.endpoint, 500);
    await db.notificationChannel.create({
      data: {
        userId: user.id,
        kind: "email",
        enabled: true,
        emailConfirmedAddress: user.email.toLowerCase(),
      },
    });
    const due = new Date(Date.now() + 3_600_000);
    const { task } = await createTask(commandCtx(db, user), {
      title: "Renew the passport",
      description: "",
      priority: "none",
      due_at: due,
      tags: [],
      reminders: [{ offset_minutes: 15 }],
      recurrence: null,
    });
    const reminder = {
      task_id: task.id,
      user_id: user.id,
      title: task.title,
      due_at: due.toISOString(),
      remind_at: new Date(due.getTime() - 15 * 60_000).toISOString(),
      job_name: `reminder-${task.id}-o15`,
    };
    await db.reminderJob.create({
      data: {
        jobName: reminder.job_name,
        taskId: task.id,
        userId: user.id,
        dueAt: due,
        remindAt: new Date(reminder.remind_at),
        status: "fired",
        firedAt: new Date(),
      },
    });

    // Published through the sidecar, so its redeliveries (and their backoff) are the sidecar's own.
    const published = await fetch(`${pair.daprUrl}/v1.0/publish/pubsub/${TOPICS.reminders}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(reminder),
    });
    expect(published.status).toBe(204);

    expect(POLICY).toContain(`duration: ${BASE_MS}ms`);
    const ledger = await until(
      "both deliveries to fail for good",
      async () => {
        const rows = await db.notificationDelivery.findMany({
          where: { taskId: task.id },
          orderBy: { channel: "asc" },
          include: { attemptLog: { orderBy: { attempt: "asc" } } },
        });
        return rows.length === 2 && rows.every((row) => row.status === "failed") ? rows : null;
      },
      30_000,
    );
    expect(ledger.map((d) => [d.channel, d.attempts, d.attemptLog.length])).toEqual([
      ["push", 5, 5],
      ["email", 5, 5],
    ]);
    expect(ledger[0]!.lastError).toContain("500");
    expect(ledger[1]!.lastError).toMatch(/binding|email/i);
    expect(push.received.filter((r) => r.endpoint === subscription.endpoint)).toHaveLength(5);

    // The backoff: the n-th redelivery waits BASE × 1.5ⁿ⁻¹, randomised by ±50 %, so each gap is at
    // least half of that, and the waits grow: a constant or immediate retry could not pass.
    for (const delivery of ledger) {
      const at = delivery.attemptLog.map((a) => a.at.getTime());
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      const nominal = gaps.map((_, n) => BASE_MS * 1.5 ** n);
      gaps.forEach((gap, n) => {
        expect(gap, `${delivery.channel} gap ${n + 1} of ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(
          0.5 * nominal[n]! - 5,
        );
        // At most the jittered wait, plus what one delivery of two sends takes on a busy machine.
        expect(gap, `${delivery.channel} gap ${n + 1} of ${JSON.stringify(gaps)}`).toBeLessThanOrEqual(
          1.5 * nominal[n]! + 3_000,
        );
      });
      expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(0.5 * nominal.reduce((a, b) => a + b, 0) - 20);
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
