import { createHmac, randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ReminderEvent } from "#core/events.ts";
import { verifyActionToken, type ActionKeyring } from "#core/reminder-action-tokens.ts";
import { REMINDER_ACTIONS } from "#core/reminder-actions.ts";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "#notifications/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { createTask } from "#tasks/commands.ts";
import { CONFIRMATION_SUBJECT, enableConfirmedEmail } from "#testing/email-confirmation.ts";
import { api, createTestUser, deliverAsDapr, FROM_SIDECAR, type TestUser } from "#testing/fixtures.ts";
import { startPushService, type PushService, type TestSubscription } from "#testing/push-service.ts";
import { PUBLIC_TEST_ADDRESS, stubResolver } from "#testing/resolver.ts";
import {
  EMAIL_COMPONENT,
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "./handler.ts";

const HOUR = 3_600_000;
const WEBHOOK_SECRET = "whsec_0123456789abcdef";
const vapid = generateVapidKeys("mailto:reminders@orbit.test");
/** The keys a reminder's buttons are signed with, as on-reminder-fired holds them to check them. */
const actionKeys: ActionKeyring = { current: "k1", keys: new Map([["k1", Buffer.alloc(32, 3)]]) };

let db: Db;
let push: PushService;
let pair: FunctionWithSidecar<NotificationsEnv>;
let url: string;

interface Hook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}
let hookServer: Server;
let hookBase: string;
const hooks: Hook[] = [];
const hookStatus = new Map<string, number>();

beforeAll(async () => {
  db = await workerDb();
  push = await startPushService();
  // The user's webhook receiver.
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const p = req.url ?? "/";
      hooks.push({ path: p, headers: req.headers, raw: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(hookStatus.get(p) ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  const address = hookServer.address();
  hookBase = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  const mailDir = await mkdtemp(path.join(tmpdir(), "orbit-mail-"));
  const resources = await resourcesFolder({
    "pubsub.yaml": PUBSUB_COMPONENT,
    "email.yaml": EMAIL_COMPONENT(mailDir),
  });
  pair = await startFunctionWithSidecar(
    {
      name: "notifications",
      env: notificationsEnvSchema,
      ...notificationsFunction({
        vapid,
        actionKeys,
        pushCa: push.ca,
        resolve: stubResolver({ "hooks.example.com": [PUBLIC_TEST_ADDRESS] }).resolve,
      }),
    },
    {
      resourcesPath: resources,
      // The push service and the webhook receiver are stand-ins on this machine. Only the quick
      // round here (its redeliveries are this file's `deliver` calls): the later attempts a job
      // wakes are undelivered.int.test.ts's.
      env: {
        WEB_APP_URL: "https://orbit.test",
        WEBHOOK_TIMEOUT_MS: "2000",
        OUTBOUND_ALLOW_LOOPBACK: "true",
        LATER_DELIVERY_DELAYS_SECONDS: "",
      },
    },
  );
  url = pair.fn.url;
});
afterAll(async () => {
  await pair?.close();
  await push?.close();
  hookServer?.closeAllConnections();
  hookServer?.close();
});

// ───── helpers ─────

async function subscribe(user: TestUser): Promise<TestSubscription & { id: string }> {
  const subscription = push.subscribe();
  const res = await api(url, "POST", "/v1/push-subscriptions", {
    auth: user.auth,
    body: { ...subscription, expirationTime: null },
  });
  expect(res.status).toBe(201);
  return { ...subscription, id: res.body.id };
}

/** Turns email on for `address` (null: the account's) and confirms it through the mailed link. */
async function enableEmail(user: TestUser, address: string | null = null) {
  await enableConfirmedEmail(url, user.auth, address, address ?? user.email, sentMail);
}

async function enableWebhook(user: TestUser, hookPath = `/hooks/${randomUUID()}`) {
  const res = await api(url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: hookBase + hookPath, webhook_secret: WEBHOOK_SECRET },
  });
  expect(res.status).toBe(200);
  return hookPath;
}

async function reminderFor(user: TestUser, title = "Submit the grant report"): Promise<ReminderEvent> {
  const due = new Date(Date.now() + HOUR);
  const { task } = await createTask(
    {
      db,
      pubsub: "pubsub",
      actor: { type: "user", id: user.id },
      userId: user.id,
      userTimeZone: "Europe/Berlin",
      defaultReminderMinutes: [],
      now: new Date(),
    },
    {
      title,
      description: "",
      priority: "none",
      due_at: due,
      tags: [],
      reminders: [{ offset_minutes: 15 }],
      recurrence: null,
    },
  );
  return {
    task_id: task.id,
    user_id: user.id,
    title,
    due_at: due.toISOString(),
    remind_at: new Date(due.getTime() - 15 * 60_000).toISOString(),
    job_name: `reminder-${task.id}-o15`,
  };
}

/** Delivers a `reminders` event as daprd does; returns the status the function asked for. */
async function deliver(data: unknown, id = randomUUID()): Promise<string> {
  const res = await deliverAsDapr(url, "/events/reminders", {
    id,
    source: "on-reminder-fired",
    type: "orbit.reminder.due",
    topic: "reminders",
    data,
  });
  expect(res.status).toBe(200);
  return res.body.status;
}

const deliveries = (taskId: string) =>
  db.notificationDelivery.findMany({
    where: { taskId },
    orderBy: [{ channel: "asc" }, { target: "asc" }],
    include: { attemptLog: { orderBy: { attempt: "asc" } } },
  });

async function sentMail(to: string) {
  return db.$queryRaw<{ email_from: string; email_to: string; subject: string; body: string }[]>`
    SELECT email_from, email_to, subject, body FROM dapr_local.sent_mail
    WHERE app_id = ${pair.appId} AND email_to = ${to} ORDER BY id`;
}

/** Mail to `to` other than the confirmation link (reminders, tests). */
async function notificationMail(to: string) {
  return (await sentMail(to)).filter((mail) => mail.subject !== CONFIRMATION_SUBJECT);
}

/** "Mon 23 Nov 2026, 16:24", the way a Berliner reads the instant. */
function berlin(iso: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Berlin",
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.weekday} ${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute}`;
}

const sign = (raw: string) => `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(raw).digest("hex")}`;

// ───── consuming reminders ─────

test("subscribes to reminders with a dead-letter topic", async () => {
  const res = await api(url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR });
  expect(res.body).toEqual([
    {
      pubsubname: "pubsub",
      topic: "reminders",
      routes: { default: "/events/reminders" },
      deadLetterTopic: "reminders-dlq",
    },
  ]);
});

test("a reminder goes out once through every enabled channel: push, email and a signed webhook", async () => {
  const user = await createTestUser(db, { timeZone: "Europe/Berlin" });
  const [phone, laptop] = [await subscribe(user), await subscribe(user)];
  await enableEmail(user, "me@orbit.test");
  const hookPath = await enableWebhook(user);
  const reminder = await reminderFor(user);

  expect(await deliver(reminder)).toBe("SUCCESS");

  for (const sub of [phone, laptop]) {
    const [received] = await push.waitFor(1, sub.endpoint);
    expect(received!.vapid).toMatchObject({ valid: true, publicKey: vapid.publicKey });
    expect(received!.payload).toEqual({
      title: "Submit the grant report",
      body: `Due ${berlin(reminder.due_at)} (Europe/Berlin)`,
      task_id: reminder.task_id,
      due_at: reminder.due_at,
      url: `https://orbit.test/tasks/${reminder.task_id}`,
      actions: [
        { action: "complete", title: "Complete", token: expect.any(String) },
        { action: "snooze_10m", title: "Snooze 10 min", token: expect.any(String) },
        { action: "snooze_1h", title: "Snooze 1 h", token: expect.any(String) },
      ],
    });
    // Each button's token does that one thing, for this user's task and this occurrence, from push.
    for (const { action, token } of received!.payload.actions) {
      const verdict = verifyActionToken(token, actionKeys, new Date(), action);
      expect(verdict.ok && verdict.claims).toMatchObject({
        userId: user.id,
        taskId: reminder.task_id,
        jobName: reminder.job_name,
        remindAt: new Date(reminder.remind_at),
        channel: "push",
      });
    }
  }
  const [mail] = await notificationMail("me@orbit.test");
  expect(mail).toMatchObject({
    email_from: "reminders@orbit.test",
    subject: "Reminder: Submit the grant report",
  });
  expect(mail!.body).toContain("<strong>Submit the grant report</strong> is due");
  expect(mail!.body).toContain(`href="https://orbit.test/tasks/${reminder.task_id}"`);
  // One link per button, to the page that asks before it acts, each with its own email token.
  const links = [...mail!.body.matchAll(/href="([^"]+)" data-action="([^"]+)"/g)];
  expect(links.map((m) => m[2])).toEqual([...REMINDER_ACTIONS]);
  for (const [, href, action] of links) {
    const link = new URL(href!.replace(/&amp;/g, "&"));
    expect(`${link.origin}${link.pathname}`).toBe("https://orbit.test/reminders/action");
    expect(link.searchParams.get("action")).toBe(action);
    const verdict = verifyActionToken(
      link.searchParams.get("token")!,
      actionKeys,
      new Date(),
      action as "complete",
    );
    expect(verdict.ok && verdict.claims.channel).toBe("email");
  }

  const hook = hooks.find((h) => h.path === hookPath)!;
  expect(hook.headers["x-orbit-signature"]).toBe(sign(hook.raw));
  expect(hook.headers["x-orbit-event"]).toBe("reminder.due");
  const body = JSON.parse(hook.raw);
  expect(body).toEqual({
    event: "reminder.due",
    time: expect.any(String),
    data: {
      task_id: reminder.task_id,
      title: "Submit the grant report",
      due_at: reminder.due_at,
      remind_at: reminder.remind_at,
      url: `https://orbit.test/tasks/${reminder.task_id}`,
      actions: REMINDER_ACTIONS.map((action) => ({
        action,
        title: expect.any(String),
        token: expect.any(String),
        url: expect.stringMatching(
          new RegExp(`^https://orbit\\.test/reminders/action\\?action=${action}&token=`),
        ),
        post: "https://orbit.test/reminders/act",
      })),
    },
  });
  // Each action's token is the webhook's own, for that action, and the same in its link.
  for (const { action, token, url } of body.data.actions) {
    const verdict = verifyActionToken(token, actionKeys, new Date(), action);
    expect(verdict.ok && verdict.claims.channel).toBe("webhook");
    expect(new URL(url).searchParams.get("token")).toBe(token);
  }

  const ledger = await deliveries(reminder.task_id);
  const byTarget = (a: unknown[], b: unknown[]) => `${a[0]}|${a[1]}`.localeCompare(`${b[0]}|${b[1]}`);
  expect(ledger.map((d) => [d.channel, d.target, d.status, d.attempts]).sort(byTarget)).toEqual(
    [
      ["email", "me@orbit.test", "sent", 1],
      ["push", phone.id, "sent", 1],
      ["push", laptop.id, "sent", 1],
      ["webhook", hookBase + hookPath, "sent", 1],
    ].sort(byTarget),
  );
  expect(ledger.every((d) => d.reminderKey === `${reminder.job_name}@${reminder.remind_at}`)).toBe(true);
  expect(ledger.every((d) => d.attemptLog.length === 1 && d.attemptLog[0]!.status === "sent")).toBe(true);
  // The receiver can deduplicate by the delivery id, which is the ledger row's.
  expect(hook.headers["x-orbit-delivery"]).toBe(ledger.find((d) => d.channel === "webhook")!.id);
  const subs = await db.pushSubscription.findMany({ where: { userId: user.id } });
  expect(subs.every((s) => s.lastSuccessAt !== null)).toBe(true);
});

test("the same reminder delivered again (same or new event id) sends nothing twice", async () => {
  const user = await createTestUser(db);
  const sub = await subscribe(user);
  await enableEmail(user);
  const hookPath = await enableWebhook(user);
  const reminder = await reminderFor(user);
  const eventId = randomUUID();

  expect(await deliver(reminder, eventId)).toBe("SUCCESS");
  expect(await deliver(reminder, eventId)).toBe("SUCCESS");
  expect(await deliver(reminder)).toBe("SUCCESS");
  await Promise.all([deliver(reminder), deliver(reminder)]);

  expect(push.received.filter((r) => r.endpoint === sub.endpoint)).toHaveLength(1);
  expect(await notificationMail(user.email)).toHaveLength(1);
  expect(hooks.filter((h) => h.path === hookPath)).toHaveLength(1);
  expect((await deliveries(reminder.task_id)).map((d) => d.attempts)).toEqual([1, 1, 1]);
});

test("a push service answering 500 is retried through redelivery, then marked failed at the fifth attempt", async () => {
  const user = await createTestUser(db);
  const broken = await subscribe(user);
  push.respondWith(broken.endpoint, 500);
  const hookPath = await enableWebhook(user);
  const reminder = await reminderFor(user);

  const statuses = [];
  for (let i = 0; i < 5; i += 1) statuses.push(await deliver(reminder));
  expect(statuses).toEqual(["RETRY", "RETRY", "RETRY", "RETRY", "SUCCESS"]);
  expect(await deliver(reminder)).toBe("SUCCESS");

  const [pushDelivery, webhookDelivery] = await deliveries(reminder.task_id);
  expect(pushDelivery).toMatchObject({ channel: "push", status: "failed", attempts: 5, httpStatus: 500 });
  expect(pushDelivery!.attemptLog.map((a) => [a.attempt, a.status, a.httpStatus])).toEqual([
    [1, "failed", 500],
    [2, "failed", 500],
    [3, "failed", 500],
    [4, "failed", 500],
    [5, "failed", 500],
  ]);
  expect(pushDelivery!.attemptLog[0]!.error).toContain("HTTP 500");
  expect(push.received.filter((r) => r.endpoint === broken.endpoint)).toHaveLength(5);
  // The webhook succeeded the first time and was never sent again.
  expect(webhookDelivery).toMatchObject({ channel: "webhook", status: "sent", attempts: 1 });
  expect(hooks.filter((h) => h.path === hookPath)).toHaveLength(1);
  // A push subscription failing is not a dead webhook: no dead letter.
  expect(
    await db.deadLetter.count({
      where: { consumer: "notifications", envelope: { path: ["data", "task_id"], equals: reminder.task_id } },
    }),
  ).toBe(0);
});

test("a 410 from the push service removes that subscription and does not retry", async () => {
  const user = await createTestUser(db);
  const gone = await subscribe(user);
  const alive = await subscribe(user);
  push.respondWith(gone.endpoint, 410);
  const reminder = await reminderFor(user);

  expect(await deliver(reminder)).toBe("SUCCESS");

  expect((await db.pushSubscription.findMany({ where: { userId: user.id } })).map((s) => s.id)).toEqual([
    alive.id,
  ]);
  const goneDelivery = (await deliveries(reminder.task_id)).find((d) => d.target === gone.id)!;
  expect(goneDelivery).toMatchObject({ status: "failed", attempts: 1, httpStatus: 410 });
  expect(goneDelivery.lastError).toContain("the push subscription was removed");
  expect(goneDelivery.attemptLog.map((a) => [a.status, a.httpStatus])).toEqual([["failed", 410]]);
  expect(push.received.filter((r) => r.endpoint === alive.endpoint)).toHaveLength(1);
});

test("a webhook failing five times is marked failed and dead-lettered with the event", async () => {
  const user = await createTestUser(db);
  const hookPath = await enableWebhook(user);
  hookStatus.set(hookPath, 503);
  const reminder = await reminderFor(user);
  const eventId = randomUUID();

  const statuses = [];
  for (let i = 0; i < 5; i += 1) statuses.push(await deliver(reminder, eventId));
  expect(statuses).toEqual(["RETRY", "RETRY", "RETRY", "RETRY", "SUCCESS"]);

  const [delivery] = await deliveries(reminder.task_id);
  expect(delivery).toMatchObject({ channel: "webhook", status: "failed", attempts: 5, httpStatus: 503 });
  expect(hooks.filter((h) => h.path === hookPath)).toHaveLength(5);
  // The same delivery id on every attempt, so the receiver can tell retries apart from new reminders.
  expect(new Set(hooks.filter((h) => h.path === hookPath).map((h) => h.headers["x-orbit-delivery"]))).toEqual(
    new Set([delivery!.id]),
  );
  const [dead] = await db.deadLetter.findMany({ where: { consumer: "notifications", eventId } });
  expect(dead).toMatchObject({ pubsub: "pubsub", topic: "reminders", attempts: 5 });
  expect(dead!.error).toContain("HTTP 503");
  expect(dead!.envelope).toMatchObject({ id: eventId, type: "orbit.reminder.due", data: reminder });
});

test("push is on by default, email and webhook are off until enabled; a user with nothing enabled gets nothing", async () => {
  const user = await createTestUser(db);
  const reminder = await reminderFor(user);
  expect(await deliver(reminder)).toBe("SUCCESS");
  expect(await deliveries(reminder.task_id)).toEqual([]);

  const sub = await subscribe(user);
  expect(
    (await api(url, "PUT", "/v1/channels/push", { auth: user.auth, body: { enabled: false } })).status,
  ).toBe(200);
  const second = await reminderFor(user, "Second");
  expect(await deliver(second)).toBe("SUCCESS");
  expect(await deliveries(second.task_id)).toEqual([]);
  expect(push.received.filter((r) => r.endpoint === sub.endpoint)).toHaveLength(0);
});

test("an event that is not a reminder is dropped", async () => {
  expect(await deliver({ task_id: "nope" })).toBe("DROP");
});

// ───── the API ─────

test("push subscriptions: register (201, then 200 for the same endpoint), list, delete, isolated per user", async () => {
  const [alice, bob] = [await createTestUser(db), await createTestUser(db)];
  const subscription = push.subscribe();
  const created = await api(url, "POST", "/v1/push-subscriptions", {
    auth: alice.auth,
    body: subscription,
    headers: { "user-agent": "Firefox/140.0" },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    endpoint: subscription.endpoint,
    user_agent: "Firefox/140.0",
    last_success_at: null,
  });
  const again = await api(url, "POST", "/v1/push-subscriptions", { auth: alice.auth, body: subscription });
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(created.body.id);

  const list = await api(url, "GET", "/v1/push-subscriptions", { auth: alice.auth });
  expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([created.body.id]);
  expect((await api(url, "GET", "/v1/push-subscriptions", { auth: bob.auth })).body.items).toEqual([]);

  expect(
    (await api(url, "DELETE", `/v1/push-subscriptions/${created.body.id}`, { auth: bob.auth })).status,
  ).toBe(404);
  expect(
    (await api(url, "DELETE", `/v1/push-subscriptions/${created.body.id}`, { auth: alice.auth })).status,
  ).toBe(204);
  expect(
    (await api(url, "DELETE", `/v1/push-subscriptions/${created.body.id}`, { auth: alice.auth })).status,
  ).toBe(404);
  expect((await api(url, "DELETE", "/v1/push-subscriptions/not-a-uuid", { auth: alice.auth })).status).toBe(
    400,
  );
});

test("a push subscription must be an https endpoint with a P-256 key and a 16-byte auth secret", async () => {
  const user = await createTestUser(db);
  const good = push.subscribe();
  const cases: [unknown, string][] = [
    [{ ...good, endpoint: "http://push.example/x" }, "endpoint"],
    [{ ...good, keys: { ...good.keys, p256dh: "AAAA" } }, "keys.p256dh"],
    [{ ...good, keys: { ...good.keys, auth: "not base64!" } }, "keys.auth"],
    [{ ...good, keys: { p256dh: good.keys.p256dh } }, "keys.auth"],
    [{ ...good, extra: 1 }, "extra"],
    [{ keys: good.keys }, "endpoint"],
  ];
  for (const [body, field] of cases) {
    const res = await api(url, "POST", "/v1/push-subscriptions", { auth: user.auth, body });
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
  expect((await api(url, "POST", "/v1/push-subscriptions", { body: good })).status).toBe(401);
  const reader = await createTestUser(db, { scope: "read" });
  expect((await api(url, "POST", "/v1/push-subscriptions", { auth: reader.auth, body: good })).status).toBe(
    403,
  );
});

test("channels: defaults, settings, validation, and a webhook secret that is never returned", async () => {
  const user = await createTestUser(db);
  const initial = await api(url, "GET", "/v1/channels", { auth: user.auth });
  expect(initial.body.items).toEqual([
    { kind: "push", enabled: true, push_subscriptions: 0, updated_at: null },
    {
      kind: "email",
      enabled: false,
      email_address: null,
      delivers_to: user.email,
      address_status: "unconfirmed",
      confirmation_sent_at: null,
      confirmation_expires_at: null,
      updated_at: null,
    },
    { kind: "webhook", enabled: false, webhook_url: null, has_secret: false, updated_at: null },
  ]);

  const hook = await api(url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: "https://hooks.example.com/orbit", webhook_secret: WEBHOOK_SECRET },
  });
  expect(hook.status).toBe(200);
  expect(hook.body).toEqual({
    kind: "webhook",
    enabled: true,
    webhook_url: "https://hooks.example.com/orbit",
    has_secret: true,
    updated_at: expect.any(String),
  });
  expect(JSON.stringify((await api(url, "GET", "/v1/channels", { auth: user.auth })).body)).not.toContain(
    WEBHOOK_SECRET,
  );
  // Omitted fields keep their value: switching off keeps the URL and the secret.
  const off = await api(url, "PUT", "/v1/channels/webhook", { auth: user.auth, body: { enabled: false } });
  expect(off.body).toMatchObject({
    enabled: false,
    webhook_url: "https://hooks.example.com/orbit",
    has_secret: true,
  });

  const fieldsOf = async (kind: string, body: unknown, who = user) => {
    const res = await api(url, "PUT", `/v1/channels/${kind}`, { auth: who.auth, body });
    expect(res.status, JSON.stringify(body)).toBe(400);
    return res.body.errors.map((e: { field: string }) => e.field);
  };
  expect(await fieldsOf("webhook", { webhook_url: "http://hooks.example.com/x" })).toEqual(["webhook_url"]);
  expect(await fieldsOf("webhook", { webhook_secret: "short" })).toEqual(["webhook_secret"]);
  expect(await fieldsOf("email", { email_address: "not an address" })).toEqual(["email_address"]);
  expect(await fieldsOf("push", { webhook_url: "https://x.example" })).toEqual(["webhook_url"]);
  expect(await fieldsOf("sms", { enabled: true })).toEqual(["kind"]);
  const fresh = await createTestUser(db);
  expect(await fieldsOf("webhook", { enabled: true }, fresh)).toEqual(["webhook_url", "webhook_secret"]);

  const email = await api(url, "PUT", "/v1/channels/email", { auth: user.auth, body: { enabled: true } });
  expect(email.body).toMatchObject({
    kind: "email",
    enabled: true,
    email_address: null,
    delivers_to: user.email,
    // Not confirmed yet: a link went to the address, and nothing else will until it is opened.
    address_status: "pending",
    confirmation_sent_at: expect.any(String),
    confirmation_expires_at: expect.any(String),
  });
  const reader = await createTestUser(db, { scope: "read" });
  expect(
    (await api(url, "PUT", "/v1/channels/email", { auth: reader.auth, body: { enabled: true } })).status,
  ).toBe(403);
  expect((await api(url, "GET", "/v1/channels", { auth: reader.auth })).status).toBe(200);
});

test("a test notification goes through every enabled channel now and reports each result", async () => {
  const user = await createTestUser(db);
  const sub = await subscribe(user);
  await enableEmail(user, "test-me@orbit.test");
  const hookPath = await enableWebhook(user);
  hookStatus.set(hookPath, 500);

  const res = await api(url, "POST", "/v1/notifications/test", { auth: user.auth });
  expect(res.status).toBe(200);
  const byChannel = Object.fromEntries(res.body.results.map((r: { channel: string }) => [r.channel, r]));
  expect(byChannel.push).toMatchObject({ target: sub.id, status: "sent", attempts: 1, http_status: 201 });
  expect(byChannel.email).toMatchObject({ target: "test-me@orbit.test", status: "sent", attempts: 1 });
  expect(byChannel.webhook).toMatchObject({ status: "failed", attempts: 1, http_status: 500 });
  const [received] = await push.waitFor(1, sub.endpoint);
  expect(received!.payload).toMatchObject({ title: "Orbit test notification", task_id: null });
  expect(await notificationMail("test-me@orbit.test")).toHaveLength(1);
  const hook = hooks.find((h) => h.path === hookPath)!;
  expect(hook.headers["x-orbit-event"]).toBe("notification.test");
  expect(hook.headers["x-orbit-signature"]).toBe(sign(hook.raw));
  // A failed test is reported, never retried or dead-lettered.
  expect(await db.deadLetter.count({ where: { consumer: "notifications", eventId: null } })).toBe(0);
});

test("a task's reminders view: rules, jobs with their status, deliveries with every attempt; others get 404", async () => {
  const [user, other] = [await createTestUser(db), await createTestUser(db)];
  const sub = await subscribe(user);
  push.respondWith(sub.endpoint, 503);
  const reminder = await reminderFor(user);
  await db.reminderJob.create({
    data: {
      jobName: reminder.job_name,
      taskId: reminder.task_id,
      userId: user.id,
      dueAt: new Date(reminder.due_at),
      remindAt: new Date(reminder.remind_at),
      status: "fired",
      firedAt: new Date(),
    },
  });
  expect(await deliver(reminder)).toBe("RETRY");
  push.respondWith(sub.endpoint, 201);
  expect(await deliver(reminder)).toBe("SUCCESS");

  const res = await api(url, "GET", `/v1/tasks/${reminder.task_id}/reminders`, { auth: user.auth });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    task_id: reminder.task_id,
    task_status: "pending",
    due_at: reminder.due_at,
    reminders: [{ offset_minutes: 15, remind_at: null }],
    jobs: [
      {
        job_name: reminder.job_name,
        kind: "reminder",
        status: "fired",
        remind_at: reminder.remind_at,
        reason: null,
        delivery: "delivered",
      },
    ],
    deliveries: [
      {
        channel: "push",
        target: sub.id,
        status: "sent",
        attempts: 2,
        http_status: 201,
        attempt_log: [
          { attempt: 1, status: "failed", http_status: 503 },
          { attempt: 2, status: "sent", http_status: 201, error: null },
        ],
      },
    ],
  });
  expect(
    (await api(url, "GET", `/v1/tasks/${reminder.task_id}/reminders`, { auth: other.auth })).status,
  ).toBe(404);
  expect((await api(url, "GET", `/v1/tasks/${randomUUID()}/reminders`, { auth: user.auth })).status).toBe(
    404,
  );
  expect((await api(url, "GET", `/v1/tasks/x/reminders`, { auth: user.auth })).status).toBe(400);
  expect((await api(url, "GET", `/v1/tasks/${reminder.task_id}/reminders`)).status).toBe(401);
});

test("the VAPID public key is served to browsers", async () => {
  const res = await api(url, "GET", "/v1/push/vapid-public-key");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ public_key: vapid.publicKey });
});
