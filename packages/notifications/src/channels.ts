// A user's notification channels (push, email, webhook): reading them, saving one, and confirming
// the email channel's address. The rules (what each channel takes, its defaults, when it may be
// on, when a confirmation link is due) are #core/channels.ts; this is their storage.
import {
  CHANNEL_KINDS,
  channelView,
  deliversTo,
  emailConfirmationPlan,
  enablingErrors,
  foreignSettings,
  nextSettings,
  resendRefusal,
  type ChannelBody,
  type ChannelKind,
  type SettingError,
} from "#core/channels.ts";
import type { Db } from "#db/client.ts";
import { problems } from "#platform/problems.ts";
import { webhookUrlProblem } from "#platform/webhooks.ts";
import { outboundPolicy, webhookKeyring, type NotificationContext, type NotificationDeps } from "./deps.ts";
import { confirmAddress, sendConfirmation, takeConfirmationAllowance } from "./email-confirmation.ts";
import { sealedWebhookSecret } from "./webhook-secrets.ts";

const invalid = (errors: SettingError[]) =>
  problems.validation(errors.map(({ field, detail }) => ({ pointer: `/body/${field}`, field, detail })));

/** The account as the channels show it; 401 when it no longer exists. */
async function accountOf(db: Db, userId: string) {
  const [user, pushSubscriptions] = await Promise.all([
    db.user.findUnique({ where: { id: userId }, select: { email: true } }),
    db.pushSubscription.count({ where: { userId } }),
  ]);
  if (!user) throw problems.unauthorized();
  return { email: user.email, pushSubscriptions };
}

/** Every channel, configured or not (then with its defaults). */
export async function listChannels(db: Db, userId: string, now: Date) {
  const [rows, account] = await Promise.all([
    db.notificationChannel.findMany({ where: { userId } }),
    accountOf(db, userId),
  ]);
  const byKind = new Map(rows.map((r) => [r.kind, r]));
  return CHANNEL_KINDS.map((kind) => channelView(kind, byKind.get(kind), account, now));
}

/**
 * Saves one channel: omitted fields keep their value, the webhook secret is sealed (and a kept one
 * re-sealed when stored in plain text or under an old key). Turning email on for an address nobody
 * confirmed mails it a link, rate limited and checked before anything is stored, so a refused
 * request changes nothing.
 */
export async function saveChannel(
  ctx: NotificationContext,
  deps: NotificationDeps,
  userId: string,
  kind: ChannelKind,
  body: ChannelBody,
) {
  const errors = foreignSettings(kind, body);
  if (kind === "webhook" && body.webhook_url) {
    // Resolved and checked now, and again at every send (SSRF: ADR 011).
    const problem = await webhookUrlProblem(body.webhook_url, outboundPolicy(ctx.env, deps));
    if (problem) errors.push({ field: "webhook_url", detail: problem });
  }
  if (errors.length > 0) throw invalid(errors);

  const existing = await ctx.db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind } } });
  const next = {
    ...nextSettings(existing, body),
    webhookSecret: sealedWebhookSecret(
      body.webhook_secret,
      existing?.webhookSecret,
      userId,
      webhookKeyring(deps),
    ),
  };
  const refused = enablingErrors(kind, next);
  if (refused.length > 0) throw invalid(refused);
  const now = ctx.now();
  const account = await accountOf(ctx.db, userId);
  const { reset, confirmTo } = emailConfirmationPlan(kind, existing, next, account.email, now);
  if (confirmTo !== null) await takeConfirmationAllowance(ctx.db, userId, confirmTo, now);
  let row = await ctx.db.notificationChannel.upsert({
    where: { userId_kind: { userId, kind } },
    create: { userId, kind, ...next, createdAt: now, updatedAt: now },
    update: { ...next, ...reset, updatedAt: now },
  });
  if (confirmTo !== null) row = await sendConfirmation(ctx, userId, confirmTo);
  return channelView(kind, row, account, now);
}

/** Mails a new confirmation link to the email channel's address (the earlier one stops working). */
export async function resendEmailConfirmation(ctx: NotificationContext, userId: string) {
  const now = ctx.now();
  const [row, account] = await Promise.all([
    ctx.db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind: "email" } } }),
    accountOf(ctx.db, userId),
  ]);
  const refusal = resendRefusal(row, account.email, now);
  if (refusal) throw problems.conflict(refusal);
  const address = deliversTo(row, account.email);
  await takeConfirmationAllowance(ctx.db, userId, address, now);
  const sent = await sendConfirmation(ctx, userId, address);
  return channelView("email", sent, account, now);
}

/** Confirms the email channel's address with the token its link carries; the channel after it. */
export async function confirmEmail(db: Db, userId: string, token: string, now: Date) {
  const outcome = await confirmAddress(db, userId, token, now);
  const tokenError = (detail: string) =>
    problems.validation([{ pointer: "/body/token", field: "token", detail }], detail);
  if (outcome === "invalid")
    throw problems.notFound("This confirmation link is not valid for this account, or it was already used.");
  if (outcome === "expired") throw tokenError("This confirmation link has expired: ask for a new one.");
  if (outcome === "stale")
    throw tokenError("This confirmation link was sent to an address the channel no longer uses.");
  const [row, account] = await Promise.all([
    db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind: "email" } } }),
    accountOf(db, userId),
  ]);
  return channelView("email", row, account, now);
}
