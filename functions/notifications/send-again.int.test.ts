// "Send again" (issue 16, item 2): a reminder that could not be delivered, sent once more on its
// owner's request after they fixed the cause. Over real HTTP: the function, a webhook receiver and
// a push service on loopback (stand-ins for the user's own receiver and the browser's push
// service, which are outside our reach). One attempt per delivery here (MAX_DELIVERY_ATTEMPTS=1,
// no later attempts), so a delivery is failed as soon as its reminder was handled.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { SEND_AGAIN_LIMIT } from "#core/channels.ts";
import type { ReminderEvent } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "#notifications/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import {
  api,
  createTestUser,
  deliverAsDapr,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { firedReminderEvent } from "#testing/reminder-actions.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "./handler.ts";

const WEBHOOK_SECRET = "whsec_0123456789abcdef";
const vapid = generateVapidKeys("mailto:reminders@orbit.test");

let db: Db;
let push: PushService;
let fn: StartedFunction<NotificationsEnv>;
let hookServer: Server;
let hookBase: string;
/** Each request the receiver took, by path. */
const received: string[] = [];
/** What the receiver answers, by path (200 when unset). */
const hookStatus = new Map<string, number>();
/** Paths whose answer waits for the test to release it. */
const held = new Map<string, Promise<void>>();

beforeAll(async () => {
  db = await workerDb();
  push = await startPushService();
  hookServer = createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      const p = req.url ?? "/";
      received.push(p);
      await held.get(p);
      res.writeHead(hookStatus.get(p) ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  const address = hookServer.address();
  hookBase = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  fn = await startFunction(
    {
      name: "notifications",
      env: notificationsEnvSchema,
      ...notificationsFunction({ vapid, pushCa: push.ca }),
    },
    { OUTBOUND_ALLOW_LOOPBACK: "true", MAX_DELIVERY_ATTEMPTS: "1", LATER_DELIVERY_DELAYS_SECONDS: "" },
  );
});
afterAll(async () => {
  await fn?.close();
  await push?.close();
  hookServer?.closeAllConnections();
  hookServer?.close();
});

async function setWebhook(user: TestUser, body: object) {
  const res = await api(fn.url, "PUT", "/v1/channels/webhook", { auth: user.auth, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** A new user's task due in an hour whose 15-minute reminder fired; its webhook answers `status`. */
async function firedReminder(
  status: number,
  channels: { webhook?: boolean; push?: boolean } = { webhook: true },
) {
  const user = await createTestUser(db);
  const hookPath = `/hooks/${randomUUID()}`;
  hookStatus.set(hookPath, status);
  if (channels.webhook)
    await setWebhook(user, { webhook_url: hookBase + hookPath, webhook_secret: WEBHOOK_SECRET });
  const { task, reminder } = await firedReminderEvent(db, user, "Send the invoice");
  return { user, task, reminder, hookPath };
}

/** Delivers the reminder as daprd would; with one attempt allowed, a failure is final at once. */
async function deliver(reminder: ReminderEvent) {
  const res = await deliverAsDapr(fn.url, "/events/reminders", {
    id: randomUUID(),
    source: "on-reminder-fired",
    type: "orbit.reminder.due",
    topic: "reminders",
    data: reminder,
  });
  expect(res.body.status).toBe("SUCCESS");
  return db.notificationDelivery.findMany({
    where: { taskId: reminder.task_id },
    orderBy: { createdAt: "asc" },
  });
}

const sendAgain = (user: TestUser, taskId: string, deliveryId: string) =>
  api(fn.url, "POST", `/v1/tasks/${taskId}/deliveries/${deliveryId}/retry`, { auth: user.auth, body: {} });

const hits = (hookPath: string) => received.filter((p) => p === hookPath).length;

test("a failed webhook reminder sent again: failing again is recorded with its reason; once the receiver is fixed, sent, on the same delivery, with who asked", async () => {
  const { user, task, reminder, hookPath } = await firedReminder(500);
  const [failed] = await deliver(reminder);
  expect(failed).toMatchObject({ channel: "webhook", status: "failed", attempts: 1, httpStatus: 500 });

  const again = await sendAgain(user, task.id, failed!.id);
  expect(again.status, JSON.stringify(again.body)).toBe(200);
  expect(again.body).toMatchObject({
    delivery_id: failed!.id,
    requested_delivery_id: failed!.id,
    status: "failed",
    attempts: 2,
    http_status: 500,
    error: "the receiver answered HTTP 500",
    outcome: "Failed again: HTTP 500",
  });

  hookStatus.set(hookPath, 204);
  const sent = await sendAgain(user, task.id, failed!.id);
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  expect(sent.body).toMatchObject({ delivery_id: failed!.id, status: "sent", attempts: 3, outcome: "Sent" });
  expect(hits(hookPath)).toBe(3);

  // The ledger as the task page reads it: every attempt, the asked-for ones naming who asked.
  const view = await api(fn.url, "GET", `/v1/tasks/${task.id}/reminders`, { auth: user.auth });
  expect(view.body.jobs).toMatchObject([{ job_name: reminder.job_name, delivery: "delivered" }]);
  expect(view.body.deliveries).toHaveLength(1);
  expect(view.body.deliveries[0]).toMatchObject({ status: "sent", attempts: 3, last_error: null });
  const token = await db.apiToken.findFirstOrThrow({ where: { userId: user.id } });
  expect(
    view.body.deliveries[0].attempt_log.map(
      (a: { status: string; http_status: number; requested_by: unknown }) => [
        a.status,
        a.http_status,
        a.requested_by,
      ],
    ),
  ).toEqual([
    ["failed", 500, null],
    ["failed", 500, { type: "api_token", id: token.id }],
    ["sent", 204, { type: "api_token", id: token.id }],
  ]);

  // Sent now: asking again sends nothing.
  const twice = await sendAgain(user, task.id, failed!.id);
  expect(twice.status).toBe(409);
  expect(twice.body).toMatchObject({
    reason: "already_sent",
    detail: "This reminder already reached you by webhook.",
  });
  expect(hits(hookPath)).toBe(3);
});

test("after the webhook URL is corrected, sending again goes to the new URL (its own ledger row); the old one then reads as already sent", async () => {
  const { user, task, reminder, hookPath } = await firedReminder(404);
  const [failed] = await deliver(reminder);
  expect(failed).toMatchObject({ status: "failed", target: hookBase + hookPath });

  const corrected = `/hooks/${randomUUID()}`;
  await setWebhook(user, { webhook_url: hookBase + corrected });
  const sent = await sendAgain(user, task.id, failed!.id);
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  expect(sent.body).toMatchObject({
    target: hookBase + corrected,
    status: "sent",
    requested_delivery_id: failed!.id,
  });
  expect(sent.body.delivery_id).not.toBe(failed!.id);
  expect([hits(hookPath), hits(corrected)]).toEqual([1, 1]);
  const rows = await db.notificationDelivery.findMany({
    where: { taskId: task.id },
    orderBy: { createdAt: "asc" },
  });
  expect(rows.map((r) => [r.target, r.status])).toEqual([
    [hookBase + hookPath, "failed"],
    [hookBase + corrected, "sent"],
  ]);
  const again = await sendAgain(user, task.id, failed!.id);
  expect([again.status, again.body.reason]).toEqual([409, "already_sent"]);
  expect(hits(corrected)).toBe(1);
});

test("a push whose browser unsubscribed (410): refused until a browser subscribes again, then sent to it", async () => {
  const { user, task, reminder } = await firedReminder(200, { push: true });
  const gone = push.subscribe();
  const registered = await api(fn.url, "POST", "/v1/push-subscriptions", { auth: user.auth, body: gone });
  expect(registered.status).toBe(201);
  push.respondWith(gone.endpoint, 410);
  const [failed] = await deliver(reminder);
  expect(failed).toMatchObject({ channel: "push", status: "failed" });
  expect(failed!.lastError).toContain("the push subscription was removed");

  const none = await sendAgain(user, task.id, failed!.id);
  expect(none.status).toBe(409);
  expect(none.body).toMatchObject({ reason: "no_target" });
  expect(none.body.detail).toMatch(/No browser is subscribed/);

  const fresh = push.subscribe();
  const again = await api(fn.url, "POST", "/v1/push-subscriptions", { auth: user.auth, body: fresh });
  expect(again.status).toBe(201);
  const sent = await sendAgain(user, task.id, failed!.id);
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  expect(sent.body).toMatchObject({
    channel: "push",
    target: again.body.id,
    status: "sent",
    outcome: "Sent",
  });
  expect(push.received.filter((r) => r.endpoint === fresh.endpoint)).toHaveLength(1);
});

test("refused with 409 and the reason: the channel turned off, the task's due date changed, the task completed, the task deleted; nothing is sent", async () => {
  const { user, task, reminder, hookPath } = await firedReminder(500);
  const [failed] = await deliver(reminder);
  hookStatus.set(hookPath, 200);
  const refusal = async (reason: string, detail: RegExp) => {
    const res = await sendAgain(user, task.id, failed!.id);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ reason, title: "Conflict" });
    expect(res.body.detail).toMatch(detail);
  };

  await setWebhook(user, { enabled: false });
  await refusal("channel_off", /webhook channel is turned off/);
  await setWebhook(user, { enabled: true });

  const moved = new Date(Date.now() + 7_200_000);
  await db.task.update({ where: { id: task.id }, data: { dueAt: moved } });
  await refusal("due_changed", /due date changed/);
  await db.task.update({ where: { id: task.id }, data: { dueAt: new Date(reminder.due_at) } });

  await db.task.update({ where: { id: task.id }, data: { status: "completed", completedAt: new Date() } });
  await refusal("task_completed", /completed/);

  await db.task.delete({ where: { id: task.id } });
  await refusal("task_deleted", /deleted/);
  expect(hits(hookPath)).toBe(1);
});

test("a double click sends once: the second request, while the first is sending, is refused as in progress", async () => {
  const { user, task, reminder, hookPath } = await firedReminder(500);
  const [failed] = await deliver(reminder);
  hookStatus.set(hookPath, 200);
  let release!: () => void;
  held.set(hookPath, new Promise<void>((resolve) => (release = resolve)));
  const first = sendAgain(user, task.id, failed!.id);
  // The receiver has the first request: its send holds the delivery.
  while (hits(hookPath) < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  const second = await sendAgain(user, task.id, failed!.id);
  release();
  expect([second.status, second.body.reason]).toEqual([409, "in_progress"]);
  expect((await first).body).toMatchObject({ status: "sent" });
  expect(hits(hookPath)).toBe(2);
});

test("another account's delivery is 404 exactly like an unknown one; a delivery under another task of the owner's is 404; bad ids are 400 naming the field", async () => {
  const { user, task, reminder } = await firedReminder(500);
  const [failed] = await deliver(reminder);
  const other = await createTestUser(db);
  const foreign = await sendAgain(other, task.id, failed!.id);
  const unknown = await sendAgain(other, task.id, randomUUID());
  expect(foreign.status).toBe(404);
  const { instance: _foreign, ...foreignProblem } = foreign.body;
  const { instance: _unknown, ...unknownProblem } = unknown.body;
  expect(foreignProblem).toEqual(unknownProblem);
  expect(JSON.stringify(foreign.body)).not.toContain(task.title);
  expect((await sendAgain(user, randomUUID(), failed!.id)).status).toBe(404);

  const bad = await sendAgain(user, "not-a-task", "42");
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { pointer: string; detail: string }) => [e.pointer, e.detail])).toEqual([
    ["/params/id", "must be a task id (UUID)"],
    ["/params/delivery_id", "must be a delivery id (UUID)"],
  ]);
  const extra = await api(fn.url, "POST", `/v1/tasks/${task.id}/deliveries/${failed!.id}/retry`, {
    auth: user.auth,
    body: { force: true },
  });
  expect(extra.status).toBe(400);
  expect(await db.deliveryAttempt.count({ where: { deliveryId: failed!.id } })).toBe(1);
});

test(`at most ${SEND_AGAIN_LIMIT.max} requests per user in ${SEND_AGAIN_LIMIT.windowMs / 60_000} minutes: then 429 with Retry-After`, async () => {
  const { user, task, reminder, hookPath } = await firedReminder(200);
  const [sent] = await deliver(reminder);
  expect(sent!.status).toBe("sent");
  for (let i = 0; i < SEND_AGAIN_LIMIT.max; i++)
    expect((await sendAgain(user, task.id, sent!.id)).status).toBe(409);
  const limited = await sendAgain(user, task.id, sent!.id);
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(limited.body.type).toBe("https://orbit.invalid/problems/rate-limited");
  // Another user is not limited by it.
  const next = await firedReminder(500);
  const [failed] = await deliver(next.reminder);
  expect((await sendAgain(next.user, next.task.id, failed!.id)).status).toBe(200);
  expect(hits(hookPath)).toBe(1);
});
