// Webhook secrets at rest (issue 12, finding 10): the HMAC key a user's receiver shares is stored
// encrypted under a key from the secret store, bound to its owner, and still signs every delivery,
// across a key rotation and for rows stored in plain text before encryption existed. Through real
// HTTP: the notifications function saves and sends; a receiver on loopback checks signatures.
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema } from "#notifications/env.ts";
import { resealWebhookSecrets } from "#notifications/webhook-secrets.ts";
import type { BaseEnv } from "#platform/env.ts";
import { generateSecretKey, parseKeyring } from "#platform/secret-box.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "../../functions/notifications/handler.ts";

const k1 = generateSecretKey();
const k2 = generateSecretKey();
/** Before the rotation, and after `current` moved to k2 (k1 kept for older rows). */
const beforeRotation = parseKeyring({ current: "k1", k1 }, "test");
const afterRotation = parseKeyring({ current: "k2", k1, k2 }, "test");

let db: Db;
let receiver: Server;
let hookBase = "";
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
/** notifications with the key `k1`, and the same function restarted after `current` moved to `k2`. */
let v1: StartedFunction<BaseEnv>;
let rotated: StartedFunction<BaseEnv>;

beforeAll(async () => {
  db = await workerDb();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const address = receiver.address();
  hookBase = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const vapid = generateVapidKeys("mailto:at-rest@orbit.test");
  const start = (webhookKeys: typeof beforeRotation) =>
    startFunction(
      {
        name: "notifications",
        env: notificationsEnvSchema,
        ...notificationsFunction({ vapid, webhookKeys }),
      },
      { OUTBOUND_ALLOW_LOOPBACK: "true", WEBHOOK_TIMEOUT_MS: "3000" },
    );
  [v1, rotated] = await Promise.all([start(beforeRotation), start(afterRotation)]);
});
afterAll(async () => {
  await Promise.all([v1?.close(), rotated?.close()]);
  receiver?.closeAllConnections();
  receiver?.close();
});

const newSecret = () => `whsec_${randomUUID()}`;
const hookPath = () => `/hook/${randomUUID()}`;

async function saveWebhook(fn: StartedFunction<BaseEnv>, user: TestUser, body: Record<string, unknown>) {
  const res = await api(fn.url, "PUT", "/v1/channels/webhook", { auth: user.auth, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

async function storedSecret(user: TestUser): Promise<string> {
  const row = await db.notificationChannel.findUniqueOrThrow({
    where: { userId_kind: { userId: user.id, kind: "webhook" } },
  });
  return row.webhookSecret!;
}

/** Sends a test notification and returns what the webhook channel reported and what reached `path`. */
async function deliver(fn: StartedFunction<BaseEnv>, user: TestUser, path: string) {
  const res = await api(fn.url, "POST", "/v1/notifications/test", { auth: user.auth, body: {} });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const result = res.body.results.find((r: { channel: string }) => r.channel === "webhook");
  return { result, requests: received.filter((r) => r.path === path) };
}

const signatureWith = (secret: string, body: string) =>
  `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;

function expectSignedWith(
  request: { headers: IncomingHttpHeaders; body: string } | undefined,
  secret: string,
) {
  expect(request, "no webhook reached the receiver").toBeDefined();
  expect(request!.headers["x-orbit-signature"]).toBe(signatureWith(secret, request!.body));
}

test("a saved webhook secret is not in the database in any readable spelling, nor in the API's answers", async () => {
  const user = await createTestUser(db);
  const secret = newSecret();
  const saved = await saveWebhook(v1, user, { webhook_url: hookBase + hookPath(), webhook_secret: secret });

  const stored = await storedSecret(user);
  expect(stored).toMatch(/^v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/);
  const bytes = Buffer.from(secret, "utf8");
  for (const spelling of [
    secret,
    bytes.toString("base64"),
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
    bytes.toString("hex"),
  ]) {
    expect(stored).not.toContain(spelling);
    expect(stored.toLowerCase()).not.toContain(spelling.toLowerCase());
  }
  // The whole row, as any column might carry it.
  const [row] = await db.$queryRaw<{ text: string }[]>`
    SELECT row_to_json(c)::text AS text FROM notification_channels c WHERE user_id = ${user.id}::uuid AND kind = 'webhook'`;
  expect(row!.text).not.toContain(secret);

  const listed = await api(v1.url, "GET", "/v1/channels", { auth: user.auth });
  for (const answer of [JSON.stringify(saved.body), JSON.stringify(listed.body)]) {
    expect(answer).not.toContain(secret);
    expect(answer).not.toContain(stored);
  }
  expect(listed.body.items.find((c: { kind: string }) => c.kind === "webhook")).toMatchObject({
    has_secret: true,
  });
});

test("a delivered webhook's signature verifies with the user's plaintext secret", async () => {
  const user = await createTestUser(db);
  const secret = newSecret();
  const path = hookPath();
  await saveWebhook(v1, user, { webhook_url: hookBase + path, webhook_secret: secret });

  const { result, requests } = await deliver(v1, user, path);
  expect(result).toMatchObject({ status: "sent", http_status: 204 });
  expect(requests).toHaveLength(1);
  expectSignedWith(requests[0], secret);
});

test("a ciphertext copied into another account's row does not decrypt: nothing is sent with it", async () => {
  const victim = await createTestUser(db);
  const attacker = await createTestUser(db);
  const victimSecret = newSecret();
  await saveWebhook(v1, victim, { webhook_url: `${hookBase}/victim`, webhook_secret: victimSecret });
  const path = hookPath();
  await saveWebhook(v1, attacker, { webhook_url: hookBase + path, webhook_secret: newSecret() });
  // Someone who can write rows (not read keys) moves the victim's ciphertext to their own account.
  await db.notificationChannel.update({
    where: { userId_kind: { userId: attacker.id, kind: "webhook" } },
    data: { webhookSecret: await storedSecret(victim) },
  });

  const { result, requests } = await deliver(v1, attacker, path);
  expect(result).toMatchObject({
    status: "failed",
    http_status: null,
    error: "the stored secret does not authenticate for this account",
  });
  expect(requests).toEqual([]);
  expect(received.some((r) => r.headers["x-orbit-signature"] === signatureWith(victimSecret, r.body))).toBe(
    false,
  );
});

test("rotation: rows under the old key still sign after `current` moves, new ones use the new key, re-encryption moves the rest", async () => {
  const user = await createTestUser(db);
  const secret = newSecret();
  const path = hookPath();
  await saveWebhook(v1, user, { webhook_url: hookBase + path, webhook_secret: secret });
  expect(await storedSecret(user)).toMatch(/^v1:k1:/);

  const first = await deliver(rotated, user, path);
  expect(first.result).toMatchObject({ status: "sent" });
  expectSignedWith(first.requests[0], secret);

  // Saving anything re-encrypts under the current key, secret unchanged.
  await saveWebhook(rotated, user, { enabled: true });
  expect(await storedSecret(user)).toMatch(/^v1:k2:/);
  const second = await deliver(rotated, user, path);
  expectSignedWith(second.requests[1], secret);

  // The start-up step moves rows nobody saved; the old key can then go.
  const other = await createTestUser(db);
  const otherSecret = newSecret();
  const otherPath = hookPath();
  await saveWebhook(v1, other, { webhook_url: hookBase + otherPath, webhook_secret: otherSecret });
  const report = await resealWebhookSecrets(db, afterRotation);
  expect(report.resealed).toBeGreaterThanOrEqual(1);
  expect(await storedSecret(other)).toMatch(/^v1:k2:/);
  const withoutK1 = parseKeyring({ current: "k2", k2 }, "test");
  const again = await resealWebhookSecrets(db, withoutK1);
  expect(again.resealed).toBe(0);
  const third = await deliver(rotated, other, otherPath);
  expectSignedWith(third.requests[0], otherSecret);
});

test("a legacy plain-text row still signs, and is encrypted when the channel is next saved or at start-up", async () => {
  const saved = await createTestUser(db);
  const untouched = await createTestUser(db);
  const secrets = new Map([
    [saved.id, newSecret()],
    [untouched.id, newSecret()],
  ]);
  const paths = new Map([
    [saved.id, hookPath()],
    [untouched.id, hookPath()],
  ]);
  for (const user of [saved, untouched]) {
    // As rows were written before encryption (and as tests/security/ssrf.int.test.ts still writes them).
    await db.notificationChannel.create({
      data: {
        userId: user.id,
        kind: "webhook",
        enabled: true,
        webhookUrl: hookBase + paths.get(user.id)!,
        webhookSecret: secrets.get(user.id)!,
      },
    });
  }
  const before = await deliver(v1, saved, paths.get(saved.id)!);
  expect(before.result).toMatchObject({ status: "sent" });
  expectSignedWith(before.requests[0], secrets.get(saved.id)!);

  await saveWebhook(v1, saved, { enabled: true });
  expect(await storedSecret(saved)).toMatch(/^v1:k1:/);
  expect(await storedSecret(saved)).not.toContain(secrets.get(saved.id)!);
  const after = await deliver(v1, saved, paths.get(saved.id)!);
  expectSignedWith(after.requests[1], secrets.get(saved.id)!);

  await resealWebhookSecrets(db, beforeRotation);
  expect(await storedSecret(untouched)).toMatch(/^v1:k1:/);
  const resealed = await deliver(v1, untouched, paths.get(untouched.id)!);
  expectSignedWith(resealed.requests[0], secrets.get(untouched.id)!);
});
