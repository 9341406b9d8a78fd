import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { workerDb } from "#testing/worker-db.ts";
import { authenticate } from "#platform/auth.ts";
import { clearRateLimit } from "#platform/rate-limit.ts";
import {
  signIn,
  signInSchema,
  signUp,
  signUpSchema,
  SIGN_IN_ACCOUNT_LOCKOUT,
  SIGN_IN_ADDRESS_LIMIT,
  SIGN_UP_ADDRESS_LIMIT,
  SIGN_UP_GLOBAL_LIMIT,
  takeSignUpAttempt,
  updatePastReminderPolicy,
} from "./accounts.ts";
import { createApiToken, createApiTokenSchema, listApiTokens, revokeApiToken } from "./api-tokens.ts";
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

const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);
/** A client address of its own: the limits' rows outlive a run in the worker's database. */
const client = () => `test-${randomUUID()}`;

test("after five failures the account is locked from every address, even for the right password, with a doubling lockout", async () => {
  const { db, userId, email: address, password } = await newUser();
  const wrong = signInSchema.parse({ email: address, password: "wrong password" });
  const right = signInSchema.parse({ email: address.toUpperCase(), password });
  for (let i = 0; i < SIGN_IN_ACCOUNT_LOCKOUT.threshold; i++)
    expect(await signIn(db, wrong, client(), NOW)).toEqual({ ok: false, reason: "invalid" });
  // No address dodges it, and the right password gets the same refusal.
  expect(await signIn(db, right, client(), NOW)).toEqual({
    ok: false,
    reason: "rate_limited",
    retryAfterSeconds: 900,
  });
  expect(await signIn(db, wrong, client(), minutes(10))).toEqual({
    ok: false,
    reason: "rate_limited",
    retryAfterSeconds: 300,
  });
  // Refused attempts do not extend it: at 15 minutes one more try, which fails and locks for 30.
  expect(await signIn(db, wrong, client(), minutes(15))).toEqual({ ok: false, reason: "invalid" });
  expect(await signIn(db, right, client(), minutes(44))).toEqual({
    ok: false,
    reason: "rate_limited",
    retryAfterSeconds: 60,
  });
  expect(await signIn(db, right, client(), minutes(45))).toEqual({ ok: true, userId });
  // The success cleared the streak: five free attempts again.
  for (let i = 0; i < SIGN_IN_ACCOUNT_LOCKOUT.threshold; i++)
    expect((await signIn(db, wrong, client(), minutes(46))).ok).toBe(false);
  expect((await signIn(db, right, client(), minutes(46))).ok).toBe(false);
}, 60_000);

test("the lockout grows to at most four hours and a streak is forgotten after a day without attempts", async () => {
  const { db, userId, email: address, password } = await newUser();
  const wrong = signInSchema.parse({ email: address, password: "wrong password" });
  const right = signInSchema.parse({ email: address, password });
  // Failures 1–4 are free; after failure n ≥ 5 the account is locked 15·2^(n−5) minutes, ≤ 240.
  let at = 0;
  for (let n = 1; n <= 12; n++) {
    expect(await signIn(db, wrong, client(), minutes(at))).toEqual({ ok: false, reason: "invalid" });
    const lockMinutes = n < 5 ? 0 : Math.min(15 * 2 ** (n - 5), 240);
    if (lockMinutes > 0)
      expect(await signIn(db, right, client(), minutes(at))).toEqual({
        ok: false,
        reason: "rate_limited",
        retryAfterSeconds: lockMinutes * 60,
      });
    at += lockMinutes;
  }
  expect(await signIn(db, right, client(), minutes(at - 240 + 24 * 60))).toEqual({ ok: true, userId });
}, 60_000);

// 34 scrypt checks of 32 MiB each: slow beside other suites, hence the longer ceiling.
test("an address gets 30 failed sign-ins in 15 minutes across accounts; its successes do not count", async () => {
  const db = await workerDb();
  const { userId, email: address, password } = await newUser();
  const right = signInSchema.parse({ email: address, password });
  const [attacker, other] = [client(), client()];
  for (let i = 0; i < SIGN_IN_ADDRESS_LIMIT.max; i++) {
    if (i % 10 === 0) expect(await signIn(db, right, attacker, NOW)).toEqual({ ok: true, userId });
    expect(
      await signIn(db, signInSchema.parse({ email: email(), password: "guess" }), attacker, NOW),
    ).toEqual({
      ok: false,
      reason: "invalid",
    });
  }
  expect(await signIn(db, right, attacker, minutes(5))).toEqual({
    ok: false,
    reason: "rate_limited",
    retryAfterSeconds: 600,
  });
  expect(await signIn(db, right, other, minutes(5))).toEqual({ ok: true, userId });
  expect(await signIn(db, right, attacker, minutes(15))).toEqual({ ok: true, userId });
}, 120_000);

test("sign-up attempts are limited per address and in total", async () => {
  const db = await workerDb();
  // The global counter is one row for the worker's database: start it afresh, leave it clear.
  await clearRateLimit(db, "sign-up:all");
  try {
    const address = client();
    for (let i = 0; i < SIGN_UP_ADDRESS_LIMIT.max; i++)
      expect(await takeSignUpAttempt(db, address, NOW)).toEqual({ limited: false });
    expect(await takeSignUpAttempt(db, address, minutes(1))).toEqual({
      limited: true,
      retryAfterSeconds: 3540,
    });
    for (let i = SIGN_UP_ADDRESS_LIMIT.max; i < SIGN_UP_GLOBAL_LIMIT.max; i++)
      expect(await takeSignUpAttempt(db, client(), NOW)).toEqual({ limited: false });
    expect(await takeSignUpAttempt(db, client(), NOW)).toEqual({ limited: true, retryAfterSeconds: 60 });
    expect(await takeSignUpAttempt(db, client(), minutes(1))).toEqual({ limited: false });
  } finally {
    await clearRateLimit(db, "sign-up:all");
  }
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

test("reminders already past when a task is saved: sent now unless the account chose skip, which its session carries", async () => {
  const { db, userId } = await newUser();
  const { secret } = await createSession(db, userId, null, NOW);
  expect(await sessionUser(db, secret, NOW)).toMatchObject({
    pastReminderPolicy: "send_now",
    defaultReminderMinutes: [15],
  });
  await updatePastReminderPolicy(db, userId, "skip");
  expect((await sessionUser(db, secret, NOW))?.pastReminderPolicy).toBe("skip");
  // Only the two choices are stored: the column's CHECK refuses anything else, as the setter does.
  await expect(updatePastReminderPolicy(db, userId, "later" as "skip")).rejects.toThrow(/Send now/);
  await expect(
    db.$executeRaw`UPDATE users SET past_reminder_policy = 'later' WHERE id = ${userId}::uuid`,
  ).rejects.toThrow(/users_past_reminder_policy_check/);
  expect((await db.user.findUniqueOrThrow({ where: { id: userId } })).pastReminderPolicy).toBe("skip");
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

test("an API token name with a NUL or an unpaired surrogate is refused with a message, never stored", () => {
  for (const [name, message] of [
    ["lap\u0000top", "must not contain a NUL character (U+0000)"],
    ["lap\ud800top", "must be well-formed Unicode (it has an unpaired surrogate)"],
  ]) {
    const parsed = createApiTokenSchema.safeParse({ name, scope: "read" });
    expect(parsed.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      ["name", message],
    ]);
  }
  expect(createApiTokenSchema.parse({ name: " 💻 laptop ", scope: "read" }).name).toBe("💻 laptop");
});
