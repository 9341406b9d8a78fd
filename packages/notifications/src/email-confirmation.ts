// Confirming an email channel's address before any reminder is mailed to it: otherwise anyone could
// make Orbit mail any address (issue 12, finding 5). When an address counts as confirmed, and what
// the mail says: #core/channels.ts; storing and mailing the links: here.
//
// Turning the channel on for an address nobody confirmed mails one link to it, through the same
// Dapr smtp binding reminders use. The link carries a random 256-bit token; only its SHA-256 is
// stored, with the address it was sent to and an expiry. Opening the link while signed in to the
// account that asked confirms that address for that account, once: the token is cleared as it is
// used, so a second use (or another account's use) is refused and changes nothing. Mail goes out
// only while the confirmed address equals the address the channel delivers to, so changing the
// address (or the account's email, when the channel uses it) needs a new confirmation.
//
// Confirmation mails are rate limited through the shared rate_limits table (every instance sees
// the same counts): per account per hour and per address per day.
import { createHash, randomBytes } from "node:crypto";
import {
  CONFIRMATION_TTL_MS,
  confirmationLimits,
  confirmationMail,
  confirmationVerdict,
  normalizeAddress,
  type ConfirmOutcome,
} from "#core/channels.ts";
import type { Db } from "#db/client.ts";
import type { NotificationChannel } from "#db/generated/client.ts";
import { problems } from "#platform/problems.ts";
import { rateLimitStatus, recordRateLimitHit } from "#platform/rate-limit.ts";
import type { NotificationContext } from "./deps.ts";

export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * 429 (with Retry-After) when a confirmation mail to `address` for `userId` would exceed either
 * limit; otherwise counts it against both. Call before storing anything the mail is for.
 */
export async function takeConfirmationAllowance(
  db: Db,
  userId: string,
  address: string,
  now: Date,
): Promise<void> {
  const limits = confirmationLimits(userId, address);
  for (const { key, rule } of limits) {
    const status = await rateLimitStatus(db, key, rule, now);
    if (status.limited) throw problems.rateLimited(status.retryAfterSeconds);
  }
  // Counted atomically: of concurrent requests, only those within the limit send.
  for (const { key, rule } of limits) {
    if ((await recordRateLimitHit(db, key, rule, now)) > rule.max) {
      const status = await rateLimitStatus(db, key, rule, now);
      throw problems.rateLimited(status.limited ? status.retryAfterSeconds : 1);
    }
  }
}

/**
 * Mails a new confirmation link for `address` to it, replacing any earlier link (which stops
 * working). The caller took the allowance (takeConfirmationAllowance); the channel row exists.
 */
export async function sendConfirmation(
  ctx: NotificationContext,
  userId: string,
  address: string,
): Promise<NotificationChannel> {
  const now = ctx.now();
  const token = randomBytes(32).toString("base64url");
  const row = await ctx.db.notificationChannel.update({
    where: { userId_kind: { userId, kind: "email" } },
    data: {
      emailPendingAddress: normalizeAddress(address),
      emailTokenHash: tokenHash(token),
      emailTokenSentAt: now,
      emailTokenExpiresAt: new Date(now.getTime() + CONFIRMATION_TTL_MS),
    },
  });
  const mail = confirmationMail(ctx.env.WEB_APP_URL, address, token);
  try {
    await ctx.dapr.invokeBinding(ctx.env.EMAIL_BINDING_NAME, "create", mail.html, {
      emailTo: address,
      subject: mail.subject,
      ...(ctx.env.EMAIL_FROM ? { emailFrom: ctx.env.EMAIL_FROM } : {}),
    });
  } catch (error) {
    ctx.log.warn("confirmation mail not sent", { error: (error as Error).message });
    // A link that never went out is not pending.
    await ctx.db.notificationChannel.updateMany({
      where: { id: row.id, emailTokenHash: tokenHash(token) },
      data: {
        emailPendingAddress: null,
        emailTokenHash: null,
        emailTokenSentAt: null,
        emailTokenExpiresAt: null,
      },
    });
    // Still counted against the limits: a failing relay is not retried faster than they allow.
    throw problems.unavailable("The confirmation mail could not be sent. Try again in a moment.");
  }
  return row;
}

/**
 * Confirms the address the link with `token` was sent to, for `userId` only. A token is used once:
 * it is cleared in the same statement that checks it, so of two concurrent uses one wins.
 */
export async function confirmAddress(
  db: Db,
  userId: string,
  token: string,
  now: Date,
): Promise<ConfirmOutcome> {
  const hash = tokenHash(token);
  const row = await db.notificationChannel.findUnique({
    where: { emailTokenHash: hash },
    include: { user: { select: { email: true } } },
  });
  const verdict = confirmationVerdict(row, userId, now);
  if (verdict !== "confirmed") return verdict;
  const { count } = await db.notificationChannel.updateMany({
    where: { id: row!.id, emailTokenHash: hash },
    data: {
      emailConfirmedAddress: row!.emailPendingAddress,
      emailPendingAddress: null,
      emailTokenHash: null,
      emailTokenSentAt: null,
      emailTokenExpiresAt: null,
      updatedAt: now,
    },
  });
  return count === 1 ? "confirmed" : "invalid";
}
