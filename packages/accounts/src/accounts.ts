// Accounts: sign up and sign in with email + password. Passwords are scrypt hashes
// (#platform/passwords.ts), each a 32 MiB scrypt hash: sign-in is limited per account (a failure
// streak with an exponential lockout, whatever the address) and per client address, sign-up per
// client address and in total. The client address is the trusted proxy hop's (#platform/client-address.ts).
import { z } from "zod";
import { pastReminderPolicySchema, type PastReminderPolicy } from "#core/reminders.ts";
import { timeZoneSchema } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { hashPassword, needsRehash, verifyPassword } from "#platform/passwords.ts";
import {
  clearRateLimit,
  refundRateLimitHit,
  takeRateLimit,
  type RateLimitRule,
  type RateLimitStatus,
} from "#platform/rate-limit.ts";
import { takeLockoutAttempt, type LockoutRule } from "./lockout.ts";
import { PASSWORD_MIN } from "./rules.ts";

export { PASSWORD_MIN };

export const emailSchema = z
  .string({ error: "Enter your email address." })
  .trim()
  .toLowerCase()
  .max(254, "That email address is too long.")
  .pipe(z.email({ error: "Enter a valid email address, like you@example.com." }));

export const signUpSchema = z.strictObject({
  email: emailSchema,
  password: z
    .string({ error: "Choose a password." })
    .min(PASSWORD_MIN, `Use at least ${PASSWORD_MIN} characters.`)
    .max(200, "Use at most 200 characters."),
  time_zone: timeZoneSchema.catch("UTC"),
});
export type SignUpInput = z.infer<typeof signUpSchema>;

export const signInSchema = z.strictObject({
  email: emailSchema,
  password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(200),
});
export type SignInInput = z.infer<typeof signInSchema>;

const MINUTE = 60_000;

/**
 * Per account (the normalised email, known or not, so the limit says nothing about which exist):
 * five attempts in a row are free; then 15 minutes locked, doubling with each further failure, at
 * most 4 hours; forgotten after a day without attempts; cleared by a success (OWASP ASVS 2.2.1).
 */
export const SIGN_IN_ACCOUNT_LOCKOUT: LockoutRule = {
  threshold: 5,
  baseMs: 15 * MINUTE,
  maxMs: 240 * MINUTE,
  forgetAfterMs: 24 * 60 * MINUTE,
};
/** Per client address: 30 failed sign-ins (any accounts) in a 15-minute window. */
export const SIGN_IN_ADDRESS_LIMIT: RateLimitRule = { max: 30, windowMs: 15 * MINUTE };
/** Per client address: 5 sign-up attempts an hour. */
export const SIGN_UP_ADDRESS_LIMIT: RateLimitRule = { max: 5, windowMs: 60 * MINUTE };
/** All addresses together: 60 sign-up attempts a minute, so hashing cannot starve the web pods. */
export const SIGN_UP_GLOBAL_LIMIT: RateLimitRule = { max: 60, windowMs: MINUTE };

/**
 * Takes one sign-up attempt against the per-address and global limits, before any hashing. A
 * refused attempt still counts against its address (an address over its limit stays over).
 */
export async function takeSignUpAttempt(db: Db, clientAddress: string, now: Date): Promise<RateLimitStatus> {
  const perAddress = await takeRateLimit(db, `sign-up:address:${clientAddress}`, SIGN_UP_ADDRESS_LIMIT, now);
  if (perAddress.limited) return perAddress;
  return takeRateLimit(db, "sign-up:all", SIGN_UP_GLOBAL_LIMIT, now);
}

export type SignUpResult = { ok: true; userId: string } | { ok: false; field: "email"; message: string };

export async function signUp(db: Db, input: SignUpInput): Promise<SignUpResult> {
  const passwordHash = await hashPassword(input.password);
  try {
    const user = await db.user.create({
      data: { email: input.email, passwordHash, timeZone: input.time_zone },
      select: { id: true },
    });
    return { ok: true, userId: user.id };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      return {
        ok: false,
        field: "email",
        message: "An account with this email already exists. Sign in instead.",
      };
    throw error;
  }
}

export type SignInResult =
  | { ok: true; userId: string }
  | { ok: false; reason: "invalid" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

/** A hash to verify against when the email is unknown, so both cases take the same time. */
let decoyHash: Promise<string> | null = null;

export async function signIn(
  db: Db,
  input: SignInInput,
  clientAddress: string,
  now: Date,
): Promise<SignInResult> {
  // Both taken before the password is checked, so parallel guesses cannot pass a check together;
  // a success gives the address its hit back and clears the account's streak.
  const addressKey = `sign-in:address:${clientAddress}`;
  const accountKey = `sign-in:account:${input.email}`;
  const byAddress = await takeRateLimit(db, addressKey, SIGN_IN_ADDRESS_LIMIT, now);
  if (byAddress.limited)
    return { ok: false, reason: "rate_limited", retryAfterSeconds: byAddress.retryAfterSeconds };
  const byAccount = await takeLockoutAttempt(db, accountKey, SIGN_IN_ACCOUNT_LOCKOUT, now);
  // Locked: refused without looking at the password, so a right one gets the same answer.
  if (byAccount.limited)
    return { ok: false, reason: "rate_limited", retryAfterSeconds: byAccount.retryAfterSeconds };
  const user = await db.user.findUnique({
    where: { email: input.email },
    select: { id: true, passwordHash: true },
  });
  decoyHash ??= hashPassword("not-a-real-password");
  const valid = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash));
  if (!user || !valid) return { ok: false, reason: "invalid" };
  if (needsRehash(user.passwordHash)) {
    // Parameters were raised since this hash was made: the password is at hand only now. Only if
    // the hash is unchanged meanwhile (a password change in between wins).
    await db.user.updateMany({
      where: { id: user.id, passwordHash: user.passwordHash },
      data: { passwordHash: await hashPassword(input.password) },
    });
  }
  await clearRateLimit(db, accountKey);
  await refundRateLimitHit(db, addressKey);
  return { ok: true, userId: user.id };
}

export async function updateTimeZone(db: Db, userId: string, timeZone: string): Promise<void> {
  await db.user.update({ where: { id: userId }, data: { timeZone: timeZoneSchema.parse(timeZone) } });
}

/**
 * What becomes of a reminder already past when one of the user's tasks is saved (send now or skip);
 * read by the reminder planner (packages/tasks/src/reminders.ts) from the next task event on.
 */
export async function updatePastReminderPolicy(
  db: Db,
  userId: string,
  policy: PastReminderPolicy,
): Promise<void> {
  await db.user.update({
    where: { id: userId },
    data: { pastReminderPolicy: pastReminderPolicySchema.parse(policy) },
  });
}
