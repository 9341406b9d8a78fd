// Issue 12, findings 6 and 10: a push endpoint stays with the account that registered it, and the
// hardening items (password hashing cost, HSTS, webhook secrets at rest, the local sidecar's token).
// Everything goes through real HTTP to the function as it runs in production.
import { createECDH, randomBytes, randomUUID, scryptSync } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { signIn } from "#accounts/accounts.ts";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema } from "#notifications/env.ts";
import type { BaseEnv } from "#platform/env.ts";
import { hashPassword, verifyPassword } from "#platform/passwords.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { api, createTestUser, startFunction, type StartedFunction } from "#testing/fixtures.ts";
import { PUBLIC_TEST_ADDRESS, stubResolver } from "#testing/resolver.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "../../functions/notifications/handler.ts";
import { securityHeaders } from "../../web/app/lib/security.server.ts";

let db: Db;
let notifications: StartedFunction<BaseEnv>;

beforeAll(async () => {
  db = await workerDb();
  notifications = await startFunction({
    name: "notifications",
    env: notificationsEnvSchema,
    ...notificationsFunction({
      vapid: generateVapidKeys("mailto:hardening@orbit.test"),
      resolve: stubResolver({ "fcm.googleapis.com": [PUBLIC_TEST_ADDRESS] }).resolve,
    }),
  });
});
afterAll(async () => {
  await notifications?.close();
});

/** A browser's PushSubscription.toJSON(): its own keys, the push service's endpoint. */
function browserSubscription(endpoint: string) {
  return {
    endpoint,
    expirationTime: null,
    keys: {
      p256dh: createECDH("prime256v1").generateKeys().toString("base64url"),
      auth: randomBytes(16).toString("base64url"),
    },
  };
}

test("a push endpoint registered by one account is never moved to another: 409 problem+json naming endpoint, the owner's row untouched", async () => {
  const alice = await createTestUser(db);
  const mallory = await createTestUser(db);
  const endpoint = `https://fcm.googleapis.com/fcm/send/${randomUUID()}`;
  const hers = browserSubscription(endpoint);
  const created = await api(notifications.url, "POST", "/v1/push-subscriptions", {
    auth: alice.auth,
    body: hers,
  });
  expect(created.status).toBe(201);

  // Mallory learned the endpoint URL and posts it with keys of her own.
  const taken = await api(notifications.url, "POST", "/v1/push-subscriptions", {
    auth: mallory.auth,
    body: browserSubscription(endpoint),
  });
  expect(taken.status).toBe(409);
  expect(taken.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(taken.body.errors).toEqual([
    expect.objectContaining({ field: "endpoint", pointer: "/body/endpoint" }),
  ]);
  expect(JSON.stringify(taken.body)).not.toContain(alice.id);

  const row = await db.pushSubscription.findUniqueOrThrow({ where: { endpoint } });
  expect(row).toMatchObject({
    id: created.body.id,
    userId: alice.id,
    p256dh: hers.keys.p256dh,
    auth: hers.keys.auth,
  });
  const mine = await api(notifications.url, "GET", "/v1/push-subscriptions", { auth: alice.auth });
  expect(mine.body.items.map((s: { endpoint: string }) => s.endpoint)).toEqual([endpoint]);
  const theirs = await api(notifications.url, "GET", "/v1/push-subscriptions", { auth: mallory.auth });
  expect(theirs.body.items).toEqual([]);

  // The owner may still refresh her own subscription's keys.
  const refreshed = browserSubscription(endpoint);
  const again = await api(notifications.url, "POST", "/v1/push-subscriptions", {
    auth: alice.auth,
    body: refreshed,
  });
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(created.body.id);
  expect(await db.pushSubscription.findUniqueOrThrow({ where: { endpoint } })).toMatchObject({
    userId: alice.id,
    p256dh: refreshed.keys.p256dh,
  });
});

test("the web app's security headers include Strict-Transport-Security for a year, subdomains too, on documents and data responses", () => {
  // entry.server.tsx applies securityHeaders to every rendered document (nonce) and every data
  // response (no nonce).
  for (const nonce of ["n0nce", null]) {
    const headers = new Headers();
    securityHeaders(headers, nonce);
    expect(headers.get("Strict-Transport-Security")).toBe("max-age=31536000; includeSubDomains");
  }
});

/** A hash as today's code wrote it before the parameters were raised: scrypt N=2^15, r=8, p=1. */
function legacyHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize("NFKC"), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 << 20 });
  return `scrypt$${2 ** 15}$8$1$${salt.toString("base64")}$${key.toString("base64")}`;
}

test("new password hashes use OWASP's scrypt parameters (N=2^17, r=8, p=1) and carry them", async () => {
  const hash = await hashPassword("correct horse battery staple");
  expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  expect(await verifyPassword("correct horse battery staple", hash)).toBe(true);
  expect(await verifyPassword("correct horse battery stapler", hash)).toBe(false);
  // Hashes written with the old parameters still verify.
  expect(await verifyPassword("old password", legacyHash("old password"))).toBe(true);
});

test("a successful sign-in with a hash of old parameters rehashes it with the current ones; a failed one changes nothing", async () => {
  const email = `rehash-${randomUUID()}@example.test`;
  const old = legacyHash("the right password");
  const user = await db.user.create({ data: { email, passwordHash: old } });
  const now = new Date();
  const address = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;

  expect(await signIn(db, { email, password: "a wrong password" }, address, now)).toMatchObject({
    ok: false,
  });
  expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(old);

  expect(await signIn(db, { email, password: "the right password" }, address, now)).toEqual({
    ok: true,
    userId: user.id,
  });
  const rehashed = (await db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
  expect(rehashed).not.toBe(old);
  expect(rehashed).toMatch(/^scrypt\$131072\$8\$1\$/);
  expect(await verifyPassword("the right password", rehashed)).toBe(true);

  // Current parameters: a later sign-in leaves the hash alone.
  expect(await signIn(db, { email, password: "the right password" }, address, now)).toMatchObject({
    ok: true,
  });
  expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(rehashed);
});
