// Accounts: sign up and sign in with email + password. Passwords are scrypt hashes
// (#platform/passwords.ts); sign-in failures are rate limited per email and client address.
import { z } from "zod";
import { timeZoneSchema } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { hashPassword, verifyPassword } from "#platform/passwords.ts";
import { PASSWORD_MIN } from "./rules.ts";
import { clearRateLimit, rateLimitStatus, recordRateLimitHit, type RateLimitRule } from "./rate-limit.ts";

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

/** Five failed sign-ins per email and address in 15 minutes, then a pause (OWASP ASVS 2.2.1). */
export const SIGN_IN_LIMIT: RateLimitRule = { max: 5, windowMs: 15 * 60_000 };

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
  const key = `sign-in:${input.email}:${clientAddress}`;
  const status = await rateLimitStatus(db, key, SIGN_IN_LIMIT, now);
  if (status.limited)
    return { ok: false, reason: "rate_limited", retryAfterSeconds: status.retryAfterSeconds };
  const user = await db.user.findUnique({
    where: { email: input.email },
    select: { id: true, passwordHash: true },
  });
  decoyHash ??= hashPassword("not-a-real-password");
  const valid = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash));
  if (!user || !valid) {
    await recordRateLimitHit(db, key, SIGN_IN_LIMIT, now);
    return { ok: false, reason: "invalid" };
  }
  await clearRateLimit(db, key);
  return { ok: true, userId: user.id };
}

export async function updateTimeZone(db: Db, userId: string, timeZone: string): Promise<void> {
  await db.user.update({ where: { id: userId }, data: { timeZone: timeZoneSchema.parse(timeZone) } });
}
