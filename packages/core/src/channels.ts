// Notification channels (web push, email, signed webhooks): what each one takes, which are on,
// where a reminder goes, when an email address counts as confirmed, and how one delivery attempt
// settles. Pure: stored rows and the clock come in as arguments; storage, sending and encryption
// live in packages/notifications.
import { z } from "zod";
import { reminderEventSchema, type ReminderEvent } from "./events.ts";
import { storableString } from "./text.ts";

// ───── channels and their settings ─────

export const CHANNEL_KINDS = ["push", "email", "webhook"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Which body fields each channel takes. */
export const CHANNEL_FIELDS: Record<ChannelKind, string[]> = {
  push: ["enabled"],
  email: ["enabled", "email_address"],
  webhook: ["enabled", "webhook_url", "webhook_secret"],
};

export const channelParamsSchema = z.strictObject({
  kind: z.enum(CHANNEL_KINDS, { error: "must be push, email or webhook" }),
});

export const channelBodySchema = z.strictObject({
  enabled: z.boolean({ error: "must be true or false" }).optional(),
  /** null: the account's email address. */
  email_address: z.email({ error: "must be an email address" }).max(320).nullable().optional(),
  webhook_url: z
    .string({ error: "must be a URL" })
    .max(2048, "must be at most 2048 characters")
    .nullable()
    .optional(),
  // Stored as text: a NUL would reach PostgreSQL as a 500.
  webhook_secret: storableString()
    .min(16, "must be at least 16 characters")
    .max(256, "must be at most 256 characters")
    .optional(),
});
export type ChannelBody = z.infer<typeof channelBodySchema>;

/** A stored channel, as far as these rules read it (a notification_channels row). */
export interface ChannelRow {
  enabled: boolean;
  emailAddress: string | null;
  webhookUrl: string | null;
  /** Sealed (packages/platform/src/secret-box.ts); only whether there is one matters here. */
  webhookSecret: string | null;
  emailConfirmedAddress: string | null;
  emailPendingAddress: string | null;
  emailTokenSentAt: Date | null;
  emailTokenExpiresAt: Date | null;
  updatedAt: Date;
}

/** A setting refused: the body member and why. */
export interface SettingError {
  field: string;
  detail: string;
}

/** Body fields `kind` does not take (each one named). */
export function foreignSettings(kind: ChannelKind, body: ChannelBody): SettingError[] {
  return Object.keys(body)
    .filter((field) => !CHANNEL_FIELDS[kind].includes(field))
    .map((field) => ({ field, detail: `not a setting of the ${kind} channel` }));
}

/** As stored; never configured: push on (subscribing in a browser is the opt-in), the others off. */
export const channelEnabled = (kind: ChannelKind, row: Pick<ChannelRow, "enabled"> | null | undefined) =>
  row?.enabled ?? kind === "push";

/** The settings a save leaves: each field given, else the stored one; configuring a channel turns it on. */
export function nextSettings(
  existing: Pick<ChannelRow, "enabled" | "emailAddress" | "webhookUrl"> | null | undefined,
  body: ChannelBody,
) {
  return {
    enabled: body.enabled ?? existing?.enabled ?? true,
    emailAddress: body.email_address !== undefined ? body.email_address : (existing?.emailAddress ?? null),
    webhookUrl: body.webhook_url !== undefined ? body.webhook_url : (existing?.webhookUrl ?? null),
  };
}

/** A webhook is on only with a URL to send to and a secret to sign with. */
export function enablingErrors(
  kind: ChannelKind,
  next: Pick<ChannelRow, "enabled" | "webhookUrl" | "webhookSecret">,
): SettingError[] {
  if (kind !== "webhook" || !next.enabled) return [];
  const errors: SettingError[] = [];
  if (!next.webhookUrl)
    errors.push({ field: "webhook_url", detail: "is required to enable the webhook channel" });
  if (!next.webhookSecret)
    errors.push({ field: "webhook_secret", detail: "is required to enable the webhook channel" });
  return errors;
}

/** The webhook to sign and send to: only when on, with both a URL and a secret. */
export function webhookTarget(row: Pick<ChannelRow, "enabled" | "webhookUrl" | "webhookSecret"> | undefined) {
  if (!row?.enabled || !row.webhookUrl || !row.webhookSecret) return null;
  return { url: row.webhookUrl, sealedSecret: row.webhookSecret };
}

/**
 * Whether a reminder would reach the account anywhere now: push on with a subscribed browser, email
 * on to a confirmed address, or a webhook on with its URL and secret.
 */
export function reachesSomewhere(
  channels: readonly ({ kind: ChannelKind } & Pick<
    ChannelRow,
    "enabled" | "webhookUrl" | "webhookSecret" | "emailAddress" | "emailConfirmedAddress"
  >)[],
  pushSubscriptions: number,
  accountEmail: string,
): boolean {
  const byKind = new Map(channels.map((c) => [c.kind, c]));
  const email = byKind.get("email");
  return (
    (channelEnabled("push", byKind.get("push")) && pushSubscriptions > 0) ||
    (email !== undefined &&
      emailTarget({ emailPendingAddress: null, emailTokenExpiresAt: null, ...email }, accountEmail) !==
        null) ||
    webhookTarget(byKind.get("webhook")) !== null
  );
}

// ───── email: only to an address its owner confirmed (issue 12, finding 5) ─────

/** How long a confirmation link works. */
export const CONFIRMATION_TTL_MS = 24 * 3_600_000;
/** Confirmation mails one account may ask for per hour. */
export const ACCOUNT_CONFIRMATION_LIMIT = { max: 3, windowMs: 3_600_000 };
/** Confirmation mails one address may receive per day, whichever accounts ask. */
export const ADDRESS_CONFIRMATION_LIMIT = { max: 3, windowMs: 24 * 3_600_000 };

export type AddressStatus = "confirmed" | "pending" | "unconfirmed";

type EmailFields = Pick<
  ChannelRow,
  "emailAddress" | "emailConfirmedAddress" | "emailPendingAddress" | "emailTokenExpiresAt"
>;

export const normalizeAddress = (address: string) => address.trim().toLowerCase();

/** The rate-limit counters one confirmation mail is counted against: its account's and its address's. */
export function confirmationLimits(userId: string, address: string) {
  return [
    { key: `email-confirmation:account:${userId}`, rule: ACCOUNT_CONFIRMATION_LIMIT },
    { key: `email-confirmation:address:${normalizeAddress(address)}`, rule: ADDRESS_CONFIRMATION_LIMIT },
  ];
}

/** Where the channel's mail goes: its own address, else the account's. */
export const deliversTo = (row: Pick<ChannelRow, "emailAddress"> | null | undefined, accountEmail: string) =>
  row?.emailAddress ?? accountEmail;

/** Whether mail may go to `address`: its owner confirmed it for this channel. */
export const isConfirmed = (
  row: Pick<EmailFields, "emailConfirmedAddress"> | null | undefined,
  address: string,
) => Boolean(row?.emailConfirmedAddress) && row!.emailConfirmedAddress === normalizeAddress(address);

/** confirmed; pending (a link to this address is out and still works); else unconfirmed. */
export function addressStatus(
  row: EmailFields | null | undefined,
  accountEmail: string,
  now: Date,
): AddressStatus {
  const address = deliversTo(row, accountEmail);
  if (isConfirmed(row, address)) return "confirmed";
  const pending =
    row?.emailPendingAddress === normalizeAddress(address) &&
    row.emailTokenExpiresAt !== null &&
    row.emailTokenExpiresAt > now;
  return pending ? "pending" : "unconfirmed";
}

/** The address reminders are mailed to: only when the channel is on and its address confirmed. */
export function emailTarget(
  row: (EmailFields & Pick<ChannelRow, "enabled">) | undefined,
  accountEmail: string,
) {
  const to = deliversTo(row, accountEmail);
  return row?.enabled && isConfirmed(row, to) ? to : null;
}

/** The email fields of a channel nobody confirmed, with no link out: what a new address starts as. */
export const unconfirmedEmail = {
  emailConfirmedAddress: null,
  emailPendingAddress: null,
  emailTokenHash: null,
  emailTokenSentAt: null,
  emailTokenExpiresAt: null,
};

/**
 * What saving a channel means for email confirmation. A new address starts unconfirmed, and a link
 * sent to the old one stops working (`reset`). Turning the channel on for an address nobody
 * confirmed mails it a link (`confirmTo`: the address; null when no link is due).
 */
export function emailConfirmationPlan(
  kind: ChannelKind,
  existing: EmailFields | null | undefined,
  next: Pick<ChannelRow, "enabled" | "emailAddress">,
  accountEmail: string,
  now: Date,
): { reset: Partial<typeof unconfirmedEmail>; confirmTo: string | null } {
  const reset =
    kind === "email" && next.emailAddress !== (existing?.emailAddress ?? null) ? unconfirmedEmail : {};
  const sendLink =
    kind === "email" &&
    next.enabled &&
    addressStatus({ ...unconfirmedEmail, ...existing, ...next, ...reset }, accountEmail, now) ===
      "unconfirmed";
  return { reset, confirmTo: sendLink ? deliversTo(next, accountEmail) : null };
}

/** Why a confirmation link cannot be sent again now. */
export function resendRefusal(row: EmailFields | null | undefined, accountEmail: string, now: Date) {
  if (!row) return "Turn the email channel on first.";
  if (addressStatus(row, accountEmail, now) === "confirmed") return "The address is already confirmed.";
  return null;
}

export type ConfirmOutcome = "confirmed" | "invalid" | "expired" | "stale";

/** A channel row found by a confirmation token, with its account's email. */
export interface TokenHolder extends Pick<
  EmailFields,
  "emailAddress" | "emailPendingAddress" | "emailTokenExpiresAt"
> {
  userId: string;
  kind: ChannelKind;
  user: { email: string };
}

/** Whether the link that found `row` confirms its address for `userId` now ("confirmed": it does). */
export function confirmationVerdict(row: TokenHolder | null, userId: string, now: Date): ConfirmOutcome {
  // Another account's token is as good as no token: say nothing about it.
  if (!row || row.userId !== userId || row.kind !== "email" || !row.emailPendingAddress) return "invalid";
  if (!row.emailTokenExpiresAt || row.emailTokenExpiresAt <= now) return "expired";
  // The address changed since the link was sent (setting a new address also replaces the token).
  if (row.emailPendingAddress !== normalizeAddress(deliversTo(row, row.user.email))) return "stale";
  return "confirmed";
}

/** The confirmation mail: nothing in it comes from the user but the address itself. */
export function confirmationMail(webAppUrl: string | undefined, address: string, token: string) {
  const path = `/settings/email/confirm?token=${token}`;
  const url = webAppUrl ? new URL(path, webAppUrl).toString() : path;
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

export const confirmEmailBodySchema = z.strictObject({
  token: z
    .string({ error: "must be the token from the confirmation link" })
    .regex(/^[A-Za-z0-9_-]{43}$/, "must be the token from the confirmation link"),
});

// ───── channels as the API shows them ─────

/** What the channel list shows of the account: its email and how many browsers subscribed. */
export interface AccountSummary {
  email: string;
  pushSubscriptions: number;
}

/** One channel as GET /v1/channels shows it; the defaults when the user never configured it. */
export function channelView(
  kind: ChannelKind,
  row: ChannelRow | null | undefined,
  account: AccountSummary,
  now: Date,
) {
  const enabled = channelEnabled(kind, row);
  const updatedAt = row?.updatedAt.toISOString() ?? null;
  if (kind === "push")
    return { kind, enabled, push_subscriptions: account.pushSubscriptions, updated_at: updatedAt };
  if (kind === "email") {
    const status = addressStatus(row, account.email, now);
    return {
      kind,
      enabled,
      email_address: row?.emailAddress ?? null,
      delivers_to: deliversTo(row, account.email),
      // Mail goes out only when enabled and confirmed.
      address_status: status,
      confirmation_sent_at: status === "pending" ? (row?.emailTokenSentAt?.toISOString() ?? null) : null,
      confirmation_expires_at:
        status === "pending" ? (row?.emailTokenExpiresAt?.toISOString() ?? null) : null,
      updated_at: updatedAt,
    };
  }
  // The secret is write-only: once set it is never shown again.
  return {
    kind,
    enabled,
    webhook_url: row?.webhookUrl ?? null,
    has_secret: Boolean(row?.webhookSecret),
    updated_at: updatedAt,
  };
}

/** The email channel as GET /v1/channels shows it (its item of kind "email"). */
export const emailChannelSchema = z.object({
  kind: z.literal("email"),
  enabled: z.boolean(),
  email_address: z.string().nullable().describe("null: the account's email address"),
  delivers_to: z.string(),
  address_status: z
    .enum(["confirmed", "pending", "unconfirmed"])
    .describe(
      "Mail goes out only when enabled and confirmed. pending: a confirmation link was mailed and still works; unconfirmed: none is out (POST /v1/channels/email/confirmation sends one)",
    ),
  confirmation_sent_at: z.iso.datetime().nullable(),
  confirmation_expires_at: z.iso.datetime().nullable(),
  updated_at: z.iso.datetime().nullable(),
});

// ───── delivering a reminder ─────

/** A reminder the service can deliver: the topic's contract, with the ids its ledger stores. */
export const deliverableReminderSchema = reminderEventSchema.extend({ task_id: z.uuid(), user_id: z.uuid() });
export type DeliverableReminder = z.infer<typeof deliverableReminderSchema>;

/** One reminder occurrence: a job re-scheduled for a new due date fires as a new occurrence. */
export const reminderKey = (reminder: Pick<ReminderEvent, "job_name" | "remind_at">) =>
  `${reminder.job_name}@${reminder.remind_at}`;

/**
 * The deliveries of one job's occurrence, by its exact key. Never a substring match: one task's
 * job names share a prefix (`…-o1` is the start of `…-o15`, `-o120`, `-o1440`), so matching by
 * inclusion put the 15-minute reminder's deliveries under the 1-minute one.
 */
export function deliveriesOfJob<D extends { reminderKey: string }>(
  deliveries: readonly D[],
  job: { jobName: string; remindAt: Date },
): D[] {
  const key = reminderKey({ job_name: job.jobName, remind_at: job.remindAt.toISOString() });
  return deliveries.filter((d) => d.reminderKey === key);
}

/**
 * How one reminder occurrence's deliveries came out, as its task's page shows it: `delivered` when
 * any channel took it; `retrying` while a failed one is still being retried (the sidecar redelivers
 * the event with exponential backoff: dapr-components/resiliency.yaml, up to MAX_DELIVERY_ATTEMPTS;
 * then a few later attempts, minutes to hours apart: RetryPlan);
 * `undelivered` when every channel failed for good (each delivery's last error says why); `none`
 * when nothing was attempted (no channel was on, or the event is still on its way).
 */
export type OccurrenceDelivery = "delivered" | "retrying" | "undelivered" | "none";

export function occurrenceDelivery(deliveries: readonly { status: string }[]): OccurrenceDelivery {
  // Skipped: a later attempt not made because the task was completed, deleted or moved meanwhile.
  deliveries = deliveries.filter((d) => d.status !== "skipped");
  if (deliveries.length === 0) return "none";
  if (deliveries.some((d) => d.status === "sent")) return "delivered";
  if (deliveries.some((d) => d.status === "pending")) return "retrying";
  return "undelivered";
}

/**
 * One delivery as the task's page words it: "push: sent", "email: failed after 5 attempts (…)",
 * "webhook: next try 14:05, after 5 attempts (…)" (`nextTry`: its later attempt, already worded).
 */
export function deliveryLine(d: {
  channel: string;
  status: string;
  attempts: number;
  error: string | null;
  nextTry?: string | null;
}) {
  const why = d.error ? ` (${d.error})` : "";
  if (d.status === "pending" && d.nextTry)
    return `${d.channel}: next try ${d.nextTry}, after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}${why}`;
  if (d.status === "failed")
    return `${d.channel}: failed after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}${why}`;
  if (d.status === "pending")
    return d.attempts === 0
      ? `${d.channel}: sending`
      : `${d.channel}: retrying after attempt ${d.attempts}${why}`;
  return `${d.channel}: ${d.status}${why}`;
}

/** The longest error text stored with an attempt or a dead letter. */
export const ERROR_TEXT_MAX = 2000;

/** What one send produced. */
export interface SendOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  retriable: boolean;
  /** The push subscription no longer exists (404/410): delete it. */
  gone?: boolean;
}

export type DeliveryStatus = "sent" | "failed" | "pending";

/**
 * How long a delivery keeps trying. First a quick round: `quickAttempts` attempts, redelivered by
 * the sidecar with its resiliency backoff (seconds apart; dapr-components/resiliency.yaml). Then,
 * so that an outage of minutes or hours (a mail relay down, a webhook receiver being deployed)
 * does not lose the reminder, one attempt after each of `laterDelaysSeconds`, each woken by a Dapr
 * job the Notification Service schedules for itself. A test notification makes one attempt.
 */
export interface RetryPlan {
  quickAttempts: number;
  laterDelaysSeconds: readonly number[];
}

/** After the quick round: 1 min, 5 min, 30 min, 2 h (about 2 h 36 min in all). */
export const LATER_DELIVERY_DELAYS_SECONDS = [60, 300, 1_800, 7_200] as const;

export const totalAttempts = (plan: RetryPlan) => plan.quickAttempts + plan.laterDelaysSeconds.length;

/**
 * How attempt number `attempt` leaves its delivery: sent; failed when the send cannot succeed by
 * trying again or no attempt is left in `plan`; else pending: at once (the quick round; the event
 * is redelivered) or at `nextAttemptAt` (a later one). `error` notes a push subscription removed
 * because its push service no longer knows it.
 */
export function settleAttempt(
  outcome: SendOutcome,
  attempt: number,
  plan: RetryPlan,
  isPushSubscription: boolean,
  now: Date,
): { status: DeliveryStatus; error: string | null; removeSubscription: boolean; nextAttemptAt: Date | null } {
  const final = outcome.ok || !outcome.retriable || attempt >= totalAttempts(plan);
  const laterDelay = final ? undefined : plan.laterDelaysSeconds[attempt - plan.quickAttempts];
  return {
    status: outcome.ok ? "sent" : final ? "failed" : "pending",
    ...subscriptionGone(outcome, isPushSubscription),
    nextAttemptAt: laterDelay === undefined ? null : new Date(now.getTime() + laterDelay * 1_000),
  };
}

/** A push subscription its push service no longer knows (404/410) is removed, and the error says so. */
function subscriptionGone(outcome: SendOutcome, isPushSubscription: boolean) {
  const removeSubscription = Boolean(outcome.gone) && isPushSubscription;
  return {
    removeSubscription,
    error: removeSubscription
      ? `${outcome.error ?? "gone"}; the push subscription was removed`
      : outcome.error,
  };
}

/** The stored form of an error text. */
export const storedError = (error: string | null) => error?.slice(0, ERROR_TEXT_MAX) ?? null;

/** Why a webhook that never accepted was dead-lettered. */
export const deadLetterReason = (url: string, attempts: number, error: string | null) =>
  `webhook ${url} failed ${attempts} times; last: ${error ?? "unknown error"}`.slice(0, ERROR_TEXT_MAX);

/** What one target's delivery came to. */
export interface DeliveryResult {
  channel: ChannelKind;
  target: string;
  deliveryId: string;
  /** pending = failed this time, will be retried. */
  status: DeliveryStatus;
  /** True when an earlier delivery of this event already settled it: nothing was sent now. */
  alreadySettled: boolean;
  attempts: number;
  httpStatus: number | null;
  error: string | null;
  /** A pending delivery's later attempt (null: the quick round's next redelivery). */
  nextAttemptAt: Date | null;
}

export function deliveryResultJson(r: DeliveryResult) {
  return {
    channel: r.channel,
    target: r.target,
    delivery_id: r.deliveryId,
    status: r.status,
    attempts: r.attempts,
    http_status: r.httpStatus,
    error: r.error,
    next_attempt_at: r.nextAttemptAt?.toISOString() ?? null,
  };
}

/**
 * What happens after one pass over a reminder's targets: `retry` (a target is in its quick round:
 * have the event redelivered, with the sidecar's backoff; settled targets are skipped then),
 * `later` (every unsettled target waits for a later attempt: wake at the earliest), or `done`.
 */
export type ReminderVerdict = { kind: "retry" } | { kind: "later"; at: Date } | { kind: "done" };

export function reminderVerdict(
  results: readonly Pick<DeliveryResult, "status" | "nextAttemptAt">[],
): ReminderVerdict {
  const pending = results.filter((r) => r.status === "pending");
  if (pending.length === 0) return { kind: "done" };
  if (pending.some((r) => r.nextAttemptAt === null)) return { kind: "retry" };
  const at = Math.min(...pending.map((r) => r.nextAttemptAt!.getTime()));
  return { kind: "later", at: new Date(at) };
}

/**
 * The Dapr job that wakes the Notification Service for a reminder occurrence's later attempt: one
 * per occurrence (re-scheduling it overwrites it). No `@` or `:` (the Scheduler's name rules).
 */
export const redeliveryJobName = (reminder: Pick<ReminderEvent, "job_name" | "remind_at">) =>
  `${REDELIVERY_JOB_PREFIX}${reminder.job_name}-${new Date(reminder.remind_at).getTime()}`;
export const REDELIVERY_JOB_PREFIX = "redeliver-";

/** The log line one handled reminder event gets, and its fields. */
export function reminderLogLine(
  results: DeliveryResult[],
  taskId: string,
): [string, Record<string, unknown>?] {
  const fresh = results.filter((r) => !r.alreadySettled);
  if (results.length === 0) return ["no channel enabled; nothing to deliver", { task_id: taskId }];
  if (fresh.length > 0) return ["reminder delivered", { results: fresh.map(deliveryResultJson) }];
  return ["every channel already settled; redelivery ignored"];
}

// ───── sending a reminder again ("Send again", after the user fixed the cause) ─────

/** Deliveries one user may have sent again per window: each one sends a message to a receiver. */
export const SEND_AGAIN_LIMIT = { max: 10, windowMs: 10 * 60_000 };

/** The rate-limit counter of one user's "Send again" requests. */
export const sendAgainLimitKey = (userId: string) => `send-again:${userId}`;

/** The occurrence a ledger row delivers, from its key (`<job name>@<remind_at>`; job names have no `@`). */
export function parseReminderKey(key: string): { job_name: string; remind_at: string } | null {
  const at = key.lastIndexOf("@");
  if (at <= 0 || Number.isNaN(Date.parse(key.slice(at + 1)))) return null;
  return { job_name: key.slice(0, at), remind_at: key.slice(at + 1) };
}

/** Why an occurrence's reminder is out of date: its task was deleted, completed, or moved to another due date. */
export type Staleness = "task_deleted" | "task_completed" | "due_changed";

export function occurrenceStaleness(
  task: { status: string; dueAt: Date | null } | null,
  occurrenceDueAt: Date | null,
): Staleness | null {
  if (!task) return "task_deleted";
  if (task.status !== "pending") return "task_completed";
  if (!occurrenceDueAt || task.dueAt?.getTime() !== occurrenceDueAt.getTime()) return "due_changed";
  return null;
}

/** Why a delivery cannot be sent again now: each a 409 whose `reason` is this word. */
export type SendAgainRefusal = Staleness | "channel_off" | "no_target" | "already_sent" | "in_progress";

/** A delivery the user may send again: failed, skipped, or waiting for a later attempt ("try now"). */
export const canSendAgain = (d: { status: string; nextAttemptAt: Date | null }) =>
  d.status === "failed" || d.status === "skipped" || (d.status === "pending" && d.nextAttemptAt !== null);

/** What stops sending a ledger row again now, if anything (the row as locked for the attempt). */
export function sendAgainBlock(row: {
  status: string;
  attempts: number;
  nextAttemptAt: Date | null;
}): "already_sent" | "in_progress" | null {
  if (row.status === "sent") return "already_sent";
  // In its quick round the sidecar is redelivering the event right now; a row never attempted is new.
  if (row.status === "pending" && row.nextAttemptAt === null && row.attempts > 0) return "in_progress";
  return null;
}

/** The refusal as the API's problem detail and the task page show it. */
export function sendAgainRefusalText(reason: SendAgainRefusal, channel: ChannelKind): string {
  switch (reason) {
    case "task_deleted":
      return "The task was deleted: its reminders are not sent any more.";
    case "task_completed":
      return "The task is completed: its reminders are not sent any more.";
    case "due_changed":
      return "The task's due date changed since this reminder: its reminders are planned for the new date.";
    case "channel_off":
      return `The ${channel} channel is turned off: turn it on in Settings to send this reminder again.`;
    case "no_target":
      return channel === "push"
        ? "No browser is subscribed to notifications: turn them on in Settings, then send again."
        : channel === "email"
          ? "The email address is not confirmed: confirm it in Settings, then send again."
          : "The webhook has no URL or secret: set them in Settings, then send again.";
    case "already_sent":
      return `This reminder already reached you by ${channel}.`;
    case "in_progress":
      return `This reminder is being sent by ${channel} right now: wait for the outcome.`;
  }
}

/**
 * How a "Send again" attempt leaves its delivery: sent; a push subscription its push service no
 * longer knows is removed (failed); a delivery waiting for a later attempt keeps waiting for it;
 * otherwise failed, as it was. It is one attempt: no quick round, no new later ones.
 */
export function settleManualAttempt(
  outcome: SendOutcome,
  row: { status: string; nextAttemptAt: Date | null },
  isPushSubscription: boolean,
): { status: DeliveryStatus; error: string | null; removeSubscription: boolean; nextAttemptAt: Date | null } {
  const { removeSubscription, error } = subscriptionGone(outcome, isPushSubscription);
  if (outcome.ok) return { status: "sent", error, removeSubscription, nextAttemptAt: null };
  const waiting = row.status === "pending" && row.nextAttemptAt !== null && !removeSubscription;
  return waiting
    ? { status: "pending", error, removeSubscription, nextAttemptAt: row.nextAttemptAt }
    : { status: "failed", error, removeSubscription, nextAttemptAt: null };
}

/** The outcome of a "Send again" in words: "Sent", or "Failed again: HTTP 500" (else the error). */
export const sendAgainOutcome = (r: { status: string; httpStatus: number | null; error: string | null }) =>
  r.status === "sent"
    ? "Sent"
    : `Failed again: ${r.httpStatus ? `HTTP ${r.httpStatus}` : (r.error ?? "unknown error")}`;

/** What POST /v1/tasks/:id/deliveries/:delivery_id/retry answers (200, whether or not it was sent). */
export const sendAgainResultSchema = z.object({
  channel: z.enum(CHANNEL_KINDS),
  target: z.string().describe("The push subscription id, email address or webhook URL it went to"),
  delivery_id: z
    .uuid()
    .describe(
      "The ledger row the attempt was recorded on: the one asked for, or the occurrence's row for the channel's current target when that changed since",
    ),
  requested_delivery_id: z.uuid(),
  status: z
    .enum(["sent", "failed", "pending"])
    .describe("pending: it failed again and still waits for its later attempt"),
  attempts: z.number().int(),
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
  next_attempt_at: z.iso.datetime().nullable(),
  outcome: z.string().describe('"Sent", or "Failed again: HTTP 500" (else the error)'),
});
