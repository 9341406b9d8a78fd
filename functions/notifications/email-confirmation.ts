// Confirming an email channel's address before any reminder is mailed to it: otherwise anyone could
// make Orbit mail any address (issue 12, finding 5).
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
import { rateLimitStatus, recordRateLimitHit, type RateLimitRule } from "#accounts/rate-limit.ts";
import type { Db } from "#db/client.ts";
import type { NotificationChannel } from "#db/generated/client.ts";
import type { Context } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import type { NotificationsEnv } from "./env.ts";

/** How long a confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 3_600_000;
/** Confirmation mails one account may ask for per hour. */
export const ACCOUNT_LIMIT: RateLimitRule = { max: 3, windowMs: 3_600_000 };
/** Confirmation mails one address may receive per day, whichever accounts ask. */
export const ADDRESS_LIMIT: RateLimitRule = { max: 3, windowMs: 24 * 3_600_000 };

export type AddressStatus = "confirmed" | "pending" | "unconfirmed";

type EmailFields = Pick<
  NotificationChannel,
  "emailAddress" | "emailConfirmedAddress" | "emailPendingAddress" | "emailTokenExpiresAt"
>;

const normalize = (address: string) => address.trim().toLowerCase();

/** Where the channel's mail goes: its own address, else the account's. */
export const deliversTo = (
  row: Pick<NotificationChannel, "emailAddress"> | undefined,
  accountEmail: string,
) => row?.emailAddress ?? accountEmail;

/** Whether mail may go to `address`: its owner confirmed it for this channel. */
export const isConfirmed = (row: Pick<EmailFields, "emailConfirmedAddress"> | undefined, address: string) =>
  Boolean(row?.emailConfirmedAddress) && row!.emailConfirmedAddress === normalize(address);

/** confirmed; pending (a link to this address is out and still works); else unconfirmed. */
export function addressStatus(row: EmailFields | undefined, accountEmail: string, now: Date): AddressStatus {
  const address = deliversTo(row, accountEmail);
  if (isConfirmed(row, address)) return "confirmed";
  const pending =
    row?.emailPendingAddress === normalize(address) &&
    row.emailTokenExpiresAt !== null &&
    row.emailTokenExpiresAt > now;
  return pending ? "pending" : "unconfirmed";
}

export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");

const accountKey = (userId: string) => `email-confirmation:account:${userId}`;
const addressKey = (address: string) => `email-confirmation:address:${normalize(address)}`;

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
  const limits: [string, RateLimitRule][] = [
    [accountKey(userId), ACCOUNT_LIMIT],
    [addressKey(address), ADDRESS_LIMIT],
  ];
  for (const [key, rule] of limits) {
    const status = await rateLimitStatus(db, key, rule, now);
    if (status.limited) throw problems.rateLimited(status.retryAfterSeconds);
  }
  // Counted atomically: of concurrent requests, only those within the limit send.
  for (const [key, rule] of limits) {
    if ((await recordRateLimitHit(db, key, rule, now)) > rule.max) {
      const status = await rateLimitStatus(db, key, rule, now);
      throw problems.rateLimited(status.limited ? status.retryAfterSeconds : 1);
    }
  }
}

/** The confirmation mail: nothing in it comes from the user but the address itself. */
export function confirmationMail(env: NotificationsEnv, address: string, token: string) {
  const path = `/settings/email/confirm?token=${token}`;
  const url = env.WEB_APP_URL ? new URL(path, env.WEB_APP_URL).toString() : path;
  // The address passed z.email(), which admits no <, >, & or quotes; escaped anyway.
  const shown = address.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    subject: "Confirm your email address for Orbit reminders",
    html:
      `<p>Someone asked Orbit to send task reminders to ${shown}.</p>` +
      `<p>If that was you, open this link while signed in to Orbit (it works once, for 24 hours):</p>` +
      `<p><a href="${url}">${url}</a></p>` +
      `<p>If it was not you, ignore this mail: nothing will be sent to this address.</p>`,
  };
}

/** The email fields of a channel nobody confirmed, with no link out: what a new address starts as. */
export const unconfirmedEmail = {
  emailConfirmedAddress: null,
  emailPendingAddress: null,
  emailTokenHash: null,
  emailTokenSentAt: null,
  emailTokenExpiresAt: null,
} satisfies Partial<NotificationChannel>;

/**
 * Mails a new confirmation link for `address` to it, replacing any earlier link (which stops
 * working). The caller took the allowance (takeConfirmationAllowance); the channel row exists.
 */
export async function sendConfirmation(
  ctx: Pick<Context<NotificationsEnv>, "db" | "dapr" | "env" | "now" | "log">,
  userId: string,
  address: string,
): Promise<NotificationChannel> {
  const now = ctx.now();
  const token = randomBytes(32).toString("base64url");
  const row = await ctx.db.notificationChannel.update({
    where: { userId_kind: { userId, kind: "email" } },
    data: {
      emailPendingAddress: normalize(address),
      emailTokenHash: tokenHash(token),
      emailTokenSentAt: now,
      emailTokenExpiresAt: new Date(now.getTime() + CONFIRMATION_TTL_MS),
    },
  });
  const mail = confirmationMail(ctx.env, address, token);
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

export type ConfirmOutcome = "confirmed" | "invalid" | "expired" | "stale";

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
  // Another account's token is as good as no token: say nothing about it.
  if (!row || row.userId !== userId || row.kind !== "email" || !row.emailPendingAddress) return "invalid";
  if (!row.emailTokenExpiresAt || row.emailTokenExpiresAt <= now) return "expired";
  // The address changed since the link was sent (setting a new address also replaces the token).
  if (row.emailPendingAddress !== normalize(deliversTo(row, row.user.email))) return "stale";
  const { count } = await db.notificationChannel.updateMany({
    where: { id: row.id, emailTokenHash: hash },
    data: {
      emailConfirmedAddress: row.emailPendingAddress,
      emailPendingAddress: null,
      emailTokenHash: null,
      emailTokenSentAt: null,
      emailTokenExpiresAt: null,
      updatedAt: now,
    },
  });
  return count === 1 ? "confirmed" : "invalid";
}
