// The email channel mails only addresses their owners confirmed (issue 12, finding 5): otherwise
// any user could make Orbit mail anyone. Through real HTTP to the notifications function beside
// its own sidecar, whose smtp binding records every mail in dapr_local.sent_mail; the links are
// read from those mails, as a user reads them.
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "#notifications/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { CONFIRMATION_SUBJECT, confirmationToken } from "#testing/email-confirmation.ts";
import { api, createTestUser, deliverAsDapr, type TestUser } from "#testing/fixtures.ts";
import {
  EMAIL_COMPONENT,
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "../../functions/notifications/handler.ts";

let db: Db;
let pair: FunctionWithSidecar<NotificationsEnv>;
let url: string;

beforeAll(async () => {
  db = await workerDb();
  const mailDir = await mkdtemp(path.join(tmpdir(), "orbit-confirm-mail-"));
  const resources = await resourcesFolder({
    "pubsub.yaml": PUBSUB_COMPONENT,
    "email.yaml": EMAIL_COMPONENT(mailDir),
  });
  pair = await startFunctionWithSidecar(
    {
      name: "notifications",
      env: notificationsEnvSchema,
      ...notificationsFunction({ vapid: generateVapidKeys("mailto:reminders@orbit.test") }),
    },
    { resourcesPath: resources, env: { WEB_APP_URL: "https://orbit.test" } },
  );
  url = pair.fn.url;
});
afterAll(async () => {
  await pair?.close();
});

const victim = () => `victim-${randomUUID()}@example.test`;

async function mailTo(to: string) {
  return db.$queryRaw<{ subject: string; body: string }[]>`
    SELECT subject, body FROM dapr_local.sent_mail WHERE app_id = ${pair.appId} AND email_to = ${to} ORDER BY id`;
}
const confirmations = async (to: string) =>
  (await mailTo(to)).filter((m) => m.subject === CONFIRMATION_SUBJECT);

const putEmail = (user: TestUser, body: unknown) =>
  api(url, "PUT", "/v1/channels/email", { auth: user.auth, body });
const confirm = (user: TestUser, token: string) =>
  api(url, "POST", "/v1/channels/email/confirm", { auth: user.auth, body: { token } });
const resend = (user: TestUser) =>
  api(url, "POST", "/v1/channels/email/confirmation", { auth: user.auth, body: {} });
const emailChannel = async (user: TestUser) =>
  (await api(url, "GET", "/v1/channels", { auth: user.auth })).body.items.find(
    (c: { kind: string }) => c.kind === "email",
  );

/** A reminder for `user` (with a title the user chose), delivered as daprd delivers it. */
async function remind(user: TestUser, title: string) {
  const due = new Date(Date.now() + 3_600_000);
  const res = await deliverAsDapr(url, "/events/reminders", {
    id: randomUUID(),
    source: "on-reminder-fired",
    type: "orbit.reminder.due",
    topic: "reminders",
    data: {
      task_id: randomUUID(),
      user_id: user.id,
      title,
      due_at: due.toISOString(),
      remind_at: new Date(due.getTime() - 900_000).toISOString(),
      job_name: `reminder-${randomUUID()}-o15`,
    },
  });
  expect(res.status).toBe(200);
}

test("an unconfirmed address gets one confirmation mail and no reminder or test mail", async () => {
  const user = await createTestUser(db);
  const address = victim();
  const put = await putEmail(user, { enabled: true, email_address: address });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ enabled: true, delivers_to: address, address_status: "pending" });

  await remind(user, "Wire 5000 EUR to the account below");
  const test = await api(url, "POST", "/v1/notifications/test", { auth: user.auth, body: {} });
  expect(test.status).toBe(200);
  expect(test.body.results.map((r: { channel: string }) => r.channel)).not.toContain("email");
  // The account's own address is no exception: it was never confirmed either.
  expect((await putEmail(user, { email_address: null })).body.address_status).toBe("pending");
  await remind(user, "Another reminder");

  const [mail, ...rest] = await mailTo(address);
  expect(rest).toEqual([]);
  expect(mail!.subject).toBe(CONFIRMATION_SUBJECT);
  // Nothing the user wrote reaches the address, only the address itself and our own text.
  expect(mail!.body).not.toContain("5000");
  expect(mail!.body.replace(address, "")).not.toMatch(/victim/);
  expect(await db.notificationDelivery.count({ where: { userId: user.id, channel: "email" } })).toBe(0);
  expect((await mailTo(user.email)).map((m) => m.subject)).toEqual([CONFIRMATION_SUBJECT]);
});

test("the confirmation mail is sent once, and its link confirms the address so reminders follow", async () => {
  const user = await createTestUser(db);
  const address = victim();
  expect((await putEmail(user, { enabled: true, email_address: address })).status).toBe(200);
  // Saving again (same address, still pending) sends nothing new.
  expect((await putEmail(user, { enabled: true, email_address: address })).status).toBe(200);
  expect((await putEmail(user, { enabled: true })).status).toBe(200);
  const mails = await confirmations(address);
  expect(mails).toHaveLength(1);
  const token = confirmationToken(mails[0]!.body);
  expect(mails[0]!.body).toContain(`href="https://orbit.test/settings/email/confirm?token=${token}"`);
  // Only a hash is stored.
  const row = await db.notificationChannel.findFirstOrThrow({ where: { userId: user.id, kind: "email" } });
  expect(JSON.stringify(row)).not.toContain(token);

  const confirmed = await confirm(user, token);
  expect(confirmed.status).toBe(200);
  expect(confirmed.body).toMatchObject({ enabled: true, delivers_to: address, address_status: "confirmed" });
  await remind(user, "Water the plants");
  expect((await mailTo(address)).map((m) => m.subject)).toEqual([
    CONFIRMATION_SUBJECT,
    "Reminder: Water the plants",
  ]);
});

test("a wrong, reused, replaced or expired token is refused and changes nothing", async () => {
  const user = await createTestUser(db);
  const address = victim();
  await putEmail(user, { enabled: true, email_address: address });
  const wrong = await confirm(user, "A".repeat(43));
  expect(wrong.status).toBe(404);
  expect(wrong.headers.get("content-type")).toContain("application/problem+json");
  expect((await confirm(user, "not-a-token")).status).toBe(400);

  // A resent link replaces the first: the first no longer works.
  expect((await resend(user)).status).toBe(202);
  const [first, second] = (await confirmations(address)).map((m) => confirmationToken(m.body));
  expect(first).not.toBe(second);
  expect((await confirm(user, first!)).status).toBe(404);
  expect((await emailChannel(user)).address_status).toBe("pending");

  // Used once: a second use is refused, and the address stays confirmed.
  expect((await confirm(user, second!)).status).toBe(200);
  expect((await confirm(user, second!)).status).toBe(404);
  expect((await emailChannel(user)).address_status).toBe("confirmed");

  // Expired: the link's 24 hours are over (moved into the past rather than waited for).
  const other = await createTestUser(db);
  const otherAddress = victim();
  await putEmail(other, { enabled: true, email_address: otherAddress });
  const [expiring] = await confirmations(otherAddress);
  await db.notificationChannel.update({
    where: { userId_kind: { userId: other.id, kind: "email" } },
    data: { emailTokenExpiresAt: new Date(Date.now() - 1_000) },
  });
  expect((await emailChannel(other)).address_status).toBe("unconfirmed");
  const expired = await confirm(other, confirmationToken(expiring!.body));
  expect(expired.status).toBe(400);
  expect(expired.body.errors).toMatchObject([{ field: "token" }]);
  await remind(other, "Should not arrive");
  expect(await mailTo(otherAddress)).toHaveLength(1);
});

test("changing the address needs a new confirmation, and the old address's link stops working", async () => {
  const user = await createTestUser(db);
  const [a, b] = [victim(), victim()];
  await putEmail(user, { enabled: true, email_address: a });
  const tokenA = confirmationToken((await confirmations(a))[0]!.body);
  const moved = await putEmail(user, { email_address: b });
  expect(moved.body).toMatchObject({ delivers_to: b, address_status: "pending" });
  expect((await confirm(user, tokenA)).status).toBe(404);
  await remind(user, "Nobody confirmed b");
  expect((await mailTo(b)).map((m) => m.subject)).toEqual([CONFIRMATION_SUBJECT]);
  expect(await mailTo(a)).toHaveLength(1);
});

test("another account cannot confirm an address with the link mailed for someone else", async () => {
  const alice = await createTestUser(db);
  const mallory = await createTestUser(db);
  const address = victim();
  await putEmail(alice, { enabled: true, email_address: address });
  const token = confirmationToken((await confirmations(address))[0]!.body);
  // Mallory, holding Alice's link (and even asking for the same address herself), gets nothing.
  await putEmail(mallory, { enabled: true, email_address: address });
  const refused = await confirm(mallory, token);
  expect(refused.status).toBe(404);
  expect((await emailChannel(mallory)).address_status).toBe("pending");
  expect((await emailChannel(alice)).address_status).toBe("pending");
  // Alice's own link still works for Alice.
  expect((await confirm(alice, token)).status).toBe(200);
  expect((await emailChannel(mallory)).address_status).toBe("pending");
  await remind(mallory, "Mallory's text");
  expect((await mailTo(address)).every((m) => m.subject === CONFIRMATION_SUBJECT)).toBe(true);
});

test("confirmation mails are limited per account per hour and per address per day (429, Retry-After)", async () => {
  const user = await createTestUser(db);
  const address = victim();
  await putEmail(user, { enabled: true, email_address: address });
  expect((await resend(user)).status).toBe(202);
  expect((await resend(user)).status).toBe(202);
  const limited = await resend(user);
  expect(limited.status).toBe(429);
  expect(limited.headers.get("content-type")).toContain("application/problem+json");
  const retryAfter = Number(limited.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(3_000);
  expect(retryAfter).toBeLessThanOrEqual(3_600);
  // Another address does not reset the account's limit, and a refused change stores nothing.
  const elsewhere = victim();
  expect((await putEmail(user, { email_address: elsewhere })).status).toBe(429);
  expect((await emailChannel(user)).delivers_to).toBe(address);
  expect(await mailTo(elsewhere)).toEqual([]);
  expect(await confirmations(address)).toHaveLength(3);

  // Per address: however many accounts ask, one address gets three a day.
  const target = victim();
  for (let i = 0; i < 3; i++) {
    const asker = await createTestUser(db);
    expect((await putEmail(asker, { enabled: true, email_address: target })).status).toBe(200);
  }
  const fourth = await putEmail(await createTestUser(db), { enabled: true, email_address: target });
  expect(fourth.status).toBe(429);
  expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(3_600);
  expect(await confirmations(target)).toHaveLength(3);
});
