import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { workerDb } from "#testing/worker-db.ts";
import { authenticate } from "#platform/auth.ts";
import { signIn, signInSchema, signUp, signUpSchema, SIGN_IN_LIMIT } from "./accounts.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "./api-tokens.ts";
import { csrfToken, verifyCsrfToken } from "./csrf.ts";
import { createSession, destroySession, sessionUser, SESSION_TTL_MS } from "./sessions.ts";

const NOW = new Date("2026-11-23T10:00:00Z");
const email = () => `Person-${randomUUID()}@Example.test`;

async function newUser(password = "correct horse battery") {
  const db = await workerDb();
  const input = signUpSchema.parse({ email: email(), password, time_zone: "Europe/Berlin" });
  const result = await signUp(db, input);
  if (!result.ok) throw new Error(result.message);
  return { db, userId: result.userId, email: input.email, password };
}

test("sign up stores a lower-cased email, the zone and a scrypt hash, never the password", async () => {
  const { db, userId, email: stored } = await newUser();
  const user = await db.user.findUniqueOrThrow({ where: { id: userId } });
  expect(user.email).toBe(stored);
  expect(stored).toBe(stored.toLowerCase());
  expect(user.timeZone).toBe("Europe/Berlin");
  expect(user.passwordHash).toMatch(/^scrypt\$/);
  expect(user.passwordHash).not.toContain("correct horse");
});

test("sign up refuses a short password and a bad email with readable messages", () => {
  const result = signUpSchema.safeParse({ email: "nope", password: "short", time_zone: "UTC" });
  expect(result.success).toBe(false);
  const messages = result.error!.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  expect(messages).toContain("email: Enter a valid email address, like you@example.com.");
  expect(messages).toContain("password: Use at least 10 characters.");
});

test("an unknown time zone falls back to UTC rather than failing sign up", () => {
  expect(
    signUpSchema.parse({ email: "a@b.test", password: "x".repeat(10), time_zone: "Mars/Base" }).time_zone,
  ).toBe("UTC");
});

test("signing up twice with one email names the email field", async () => {
  const { db, email: taken } = await newUser();
  const again = await signUp(
    db,
    signUpSchema.parse({ email: taken.toUpperCase(), password: "x".repeat(12), time_zone: "UTC" }),
  );
  expect(again).toEqual({ ok: false, field: "email", message: expect.stringContaining("already exists") });
});

test("sign in accepts the right password and refuses a wrong one or an unknown email", async () => {
  const { db, userId, email: address, password } = await newUser();
  expect(await signIn(db, signInSchema.parse({ email: address, password }), "10.0.0.1", NOW)).toEqual({
    ok: true,
    userId,
  });
  expect(
    await signIn(db, signInSchema.parse({ email: address, password: "wrong password" }), "10.0.0.1", NOW),
  ).toEqual({ ok: false, reason: "invalid" });
  expect(await signIn(db, signInSchema.parse({ email: email(), password }), "10.0.0.1", NOW)).toEqual({
    ok: false,
    reason: "invalid",
  });
});

test("after five failures in 15 minutes sign in is paused, even with the right password, then resumes", async () => {
  const { db, userId, email: address, password } = await newUser();
  const wrong = signInSchema.parse({ email: address, password: "wrong password" });
  for (let i = 0; i < SIGN_IN_LIMIT.max; i++) await signIn(db, wrong, "10.0.0.2", NOW);
  const limited = await signIn(db, signInSchema.parse({ email: address, password }), "10.0.0.2", NOW);
  expect(limited).toEqual({ ok: false, reason: "rate_limited", retryAfterSeconds: 900 });
  // Another address is not affected.
  expect((await signIn(db, signInSchema.parse({ email: address, password }), "10.0.0.3", NOW)).ok).toBe(true);
  const later = new Date(NOW.getTime() + SIGN_IN_LIMIT.windowMs + 1000);
  expect(await signIn(db, signInSchema.parse({ email: address, password }), "10.0.0.2", later)).toEqual({
    ok: true,
    userId,
  });
});

test("a session resolves to its user, slides its expiry after an hour, and ends at sign out", async () => {
  const { db, userId } = await newUser();
  const { secret, expiresAt } = await createSession(db, userId, "vitest", NOW);
  expect(expiresAt.getTime()).toBe(NOW.getTime() + SESSION_TTL_MS);
  const first = await sessionUser(db, secret, NOW);
  expect(first).toMatchObject({ userId, timeZone: "Europe/Berlin", renewed: false });
  const dayLater = new Date(NOW.getTime() + 86_400_000);
  const second = await sessionUser(db, secret, dayLater);
  expect(second?.renewed).toBe(true);
  expect(second?.expiresAt.getTime()).toBe(dayLater.getTime() + SESSION_TTL_MS);
  // The command functions accept the same secret as `Authorization: Session …`.
  expect((await authenticate(db, `Session ${secret}`, dayLater))?.userId).toBe(userId);
  await destroySession(db, secret);
  expect(await sessionUser(db, secret, dayLater)).toBeNull();
});

test("an expired session is no session", async () => {
  const { db, userId } = await newUser();
  const { secret } = await createSession(db, userId, null, NOW);
  expect(await sessionUser(db, secret, new Date(NOW.getTime() + SESSION_TTL_MS))).toBeNull();
  expect(await sessionUser(db, "not-a-session", NOW)).toBeNull();
});

test("a CSRF token verifies only against its own session's secret", () => {
  const token = csrfToken("secret-a");
  expect(verifyCsrfToken("secret-a", token)).toBe(true);
  expect(verifyCsrfToken("secret-b", token)).toBe(false);
  expect(verifyCsrfToken("secret-a", token.slice(1))).toBe(false);
  expect(verifyCsrfToken("secret-a", undefined)).toBe(false);
});

test("an API token is shown once, listed by prefix, authenticates, and stops working when revoked", async () => {
  const { db, userId } = await newUser();
  const other = await newUser();
  const { secret, token } = await createApiToken(db, userId, { name: "laptop", scope: "read" });
  expect(secret.startsWith(token.prefix)).toBe(true);
  const listed = await listApiTokens(db, userId);
  expect(listed).toEqual([
    expect.objectContaining({ id: token.id, name: "laptop", scope: "read", lastUsedAt: null }),
  ]);
  expect(JSON.stringify(listed)).not.toContain(secret);
  expect((await authenticate(db, `Bearer ${secret}`, NOW))?.scope).toBe("read");
  expect(await revokeApiToken(db, other.userId, token.id, NOW)).toBe(false);
  expect(await revokeApiToken(db, userId, token.id, NOW)).toBe(true);
  await expect(authenticate(db, `Bearer ${secret}`, NOW)).rejects.toThrow(/revoked/);
  expect(await listApiTokens(db, userId)).toEqual([]);
});
