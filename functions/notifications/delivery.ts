// Delivering one notification through each channel a user enabled, with the delivery ledger.
//
// The ledger (notification_deliveries) has one row per reminder occurrence, channel and target
// (a push subscription, an email address, a webhook URL). Each attempt locks that row for the
// whole send, so two copies of one event (Dapr delivers at least once) take turns, and the second
// finds it already sent. Every attempt is appended to delivery_attempts. A transient failure
// leaves the row pending, and the caller asks the sidecar to redeliver the event (RETRY) so its
// resiliency policy paces the retries; at the last allowed attempt the row is marked failed, and a
// webhook that never accepted is written to dead_letters.
import { DateTime } from "luxon";
import { randomUUID } from "node:crypto";
import type { ReminderEvent } from "#core/events.ts";
import type { Db, Tx } from "#db/client.ts";
import type { ChannelKind } from "#db/generated/client.ts";
import type { Context } from "#platform/host.ts";
import type { OutboundPolicy, Resolver } from "#platform/outbound.ts";
import { generateSecretKey, openSecret, parseKeyring, type SecretKeyring } from "#platform/secret-box.ts";
import { sendPush, type VapidKeys } from "#platform/web-push.ts";
import { sendWebhook } from "#platform/webhooks.ts";
import { deliversTo, isConfirmed } from "./email-confirmation.ts";
import type { NotificationsEnv } from "./env.ts";

export interface NotificationDeps {
  vapid: VapidKeys;
  /** PEM of the certificate authority push services are trusted by (tests' own push service). */
  pushCa?: string;
  /** DNS for checking webhook and push hosts (tests inject answers); the system's when unset. */
  resolve?: Resolver;
  /**
   * The keys webhook secrets are encrypted at rest with (secret `webhook-secret-key`, read at start
   * by index.ts, which refuses to start without it). Unset only where a test builds the function:
   * then a random key of this instance, so nothing is ever stored in plain text.
   */
  webhookKeys?: SecretKeyring;
}

const instanceKeys = new WeakMap<NotificationDeps, SecretKeyring>();

/** The keyring webhook secrets are sealed and opened with (see NotificationDeps.webhookKeys). */
export function webhookKeyring(deps: NotificationDeps): SecretKeyring {
  if (deps.webhookKeys) return deps.webhookKeys;
  let keys = instanceKeys.get(deps);
  if (!keys) {
    keys = parseKeyring({ current: "instance", instance: generateSecretKey() }, "an instance key");
    instanceKeys.set(deps, keys);
  }
  return keys;
}

/** Where webhooks and pushes may go: public addresses, and loopback when the env allows it. */
export function outboundPolicy(env: NotificationsEnv, deps: NotificationDeps): OutboundPolicy {
  return { allowLoopback: env.OUTBOUND_ALLOW_LOOPBACK, resolve: deps.resolve };
}

/** What one send produced. */
interface SendOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  retriable: boolean;
  /** The push subscription no longer exists (404/410): delete it. */
  gone?: boolean;
}

export interface Target {
  channel: ChannelKind;
  /** Push subscription id, email address or webhook URL. */
  target: string;
  send(deliveryId: string): Promise<SendOutcome>;
  /** Push only: the subscription this target is. */
  subscriptionId?: string;
  /** Webhook only: a webhook that never accepted is dead-lettered. */
  deadLetterOnFailure?: boolean;
}

export interface DeliveryResult {
  channel: ChannelKind;
  target: string;
  deliveryId: string;
  /** pending = failed this time, will be retried. */
  status: "sent" | "failed" | "pending";
  /** True when an earlier delivery of this event already settled it: nothing was sent now. */
  alreadySettled: boolean;
  attempts: number;
  httpStatus: number | null;
  error: string | null;
}

/** The message, rendered for each channel. */
export interface Notification {
  event: string;
  title: string;
  body: string;
  taskId: string | null;
  dueAt: string | null;
  url: string;
  /** Seconds a push service should keep it for an offline device. */
  ttlSeconds: number;
  emailSubject: string;
  emailHtml: string;
  webhookData: unknown;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

function link(env: NotificationsEnv, path: string): string {
  return env.WEB_APP_URL ? new URL(path, env.WEB_APP_URL).toString() : path;
}

/** A reminder as the user reads it: the due time in their own zone. */
export function reminderNotification(
  event: ReminderEvent,
  timeZone: string,
  env: NotificationsEnv,
  now: Date,
): Notification {
  const zoned = DateTime.fromISO(event.due_at, { zone: timeZone });
  const due = zoned.isValid ? zoned : DateTime.fromISO(event.due_at, { zone: "UTC" });
  // The zone by name: short names ("CET") depend on the runtime's ICU data, the IANA name does not.
  const dueText = `${due.toFormat("ccc d LLL yyyy, HH:mm")} (${due.zoneName})`;
  const url = link(env, `/tasks/${event.task_id}`);
  const secondsToDue = Math.round((Date.parse(event.due_at) - now.getTime()) / 1000);
  return {
    event: "reminder.due",
    title: event.title,
    body: `Due ${dueText}`,
    taskId: event.task_id,
    dueAt: event.due_at,
    url,
    // Kept until the task is due (at least a minute): a reminder delivered after that is noise.
    ttlSeconds: Math.min(2_419_200, Math.max(60, secondsToDue)),
    emailSubject: `Reminder: ${event.title}`,
    emailHtml:
      `<p><strong>${escapeHtml(event.title)}</strong> is due ${escapeHtml(dueText)}.</p>` +
      (env.WEB_APP_URL ? `<p><a href="${escapeHtml(url)}">Open the task in Orbit</a></p>` : ""),
    webhookData: {
      task_id: event.task_id,
      title: event.title,
      due_at: event.due_at,
      remind_at: event.remind_at,
      url,
    },
  };
}

export function testNotification(env: NotificationsEnv, now: Date): Notification {
  return {
    event: "notification.test",
    title: "Orbit test notification",
    body: "Reminders will reach you here.",
    taskId: null,
    dueAt: null,
    url: link(env, "/"),
    ttlSeconds: 300,
    emailSubject: "Orbit test notification",
    emailHtml: "<p>This is a test: Orbit reminders will reach you at this address.</p>",
    webhookData: { message: "This is a test notification from Orbit.", sent_at: now.toISOString() },
  };
}

/** Every target of every channel `userId` enabled, each able to send `message`. */
export async function resolveTargets(
  ctx: Pick<Context<NotificationsEnv>, "db" | "dapr" | "env" | "now">,
  deps: NotificationDeps,
  userId: string,
  message: (timeZone: string) => Notification,
): Promise<Target[]> {
  const user = await ctx.db.user.findUnique({
    where: { id: userId },
    select: { email: true, timeZone: true },
  });
  if (!user) return [];
  const notification = message(user.timeZone);
  const channels = new Map(
    (await ctx.db.notificationChannel.findMany({ where: { userId } })).map((c) => [c.kind, c]),
  );
  const targets: Target[] = [];
  const env = ctx.env;
  const policy = outboundPolicy(env, deps);

  // Push is on unless switched off: subscribing in a browser is already the user's opt-in.
  if (channels.get("push")?.enabled ?? true) {
    const subscriptions = await ctx.db.pushSubscription.findMany({
      where: { userId },
      orderBy: { createdAt: "asc" },
    });
    for (const sub of subscriptions) {
      targets.push({
        channel: "push",
        target: sub.id,
        subscriptionId: sub.id,
        send: () =>
          sendPush(
            { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
            {
              title: notification.title,
              body: notification.body,
              task_id: notification.taskId,
              due_at: notification.dueAt,
              url: notification.url,
            },
            {
              vapid: deps.vapid,
              ttlSeconds: notification.ttlSeconds,
              timeoutMs: env.PUSH_TIMEOUT_MS,
              policy,
              ca: deps.pushCa,
            },
          ),
      });
    }
  }

  const email = channels.get("email");
  const to = deliversTo(email, user.email);
  // Only to an address its owner confirmed (./email-confirmation.ts): never to anyone a user names.
  if (email?.enabled && isConfirmed(email, to)) {
    targets.push({
      channel: "email",
      target: to,
      send: async () => {
        try {
          // The mail goes out through the sidecar's output binding (bindings.smtp in production).
          await ctx.dapr.invokeBinding(env.EMAIL_BINDING_NAME, "create", notification.emailHtml, {
            emailTo: to,
            subject: notification.emailSubject,
            ...(env.EMAIL_FROM ? { emailFrom: env.EMAIL_FROM } : {}),
          });
          return { ok: true, status: null, error: null, retriable: false };
        } catch (error) {
          const status = (error as { status?: number }).status ?? null;
          return { ok: false, status, error: (error as Error).message, retriable: true };
        }
      },
    });
  }

  const webhook = channels.get("webhook");
  if (webhook?.enabled && webhook.webhookUrl && webhook.webhookSecret) {
    const { webhookUrl: url, webhookSecret: stored } = webhook;
    targets.push({
      channel: "webhook",
      target: url,
      deadLetterOnFailure: true,
      send: (deliveryId) => {
        let secret: string;
        try {
          // Bound to the row's owner: a value copied from another account's row does not open.
          secret = openSecret(stored, webhook.userId, webhookKeyring(deps));
        } catch (error) {
          // Trying again cannot help until an operator restores the key; never sent unsigned.
          const reason = (error as Error).message;
          return Promise.resolve({ ok: false, status: null, error: reason, retriable: false });
        }
        return sendWebhook({
          url,
          secret,
          event: notification.event,
          data: notification.webhookData,
          deliveryId,
          time: ctx.now(),
          timeoutMs: env.WEBHOOK_TIMEOUT_MS,
          policy,
        });
      },
    });
  }
  return targets;
}

interface LedgerRow {
  id: string;
  status: "pending" | "sent" | "failed" | "skipped";
  attempts: number;
  http_status: number | null;
  last_error: string | null;
}

export interface AttemptOptions {
  reminderKey: string;
  userId: string;
  taskId: string | null;
  /** The attempt that makes a still-failing delivery final. */
  maxAttempts: number;
  /** For the dead-letter row of a webhook that never accepted. */
  deadLetter?: { pubsub: string; topic: string; eventId: string; envelope: unknown };
}

/** One attempt at one target, under the ledger row's lock; a settled row is left alone. */
export async function attemptDelivery(
  db: Db,
  target: Target,
  options: AttemptOptions,
  now: () => Date,
  sendTimeoutMs: number,
): Promise<DeliveryResult> {
  return db.$transaction(
    async (tx: Tx): Promise<DeliveryResult> => {
      await tx.notificationDelivery.createMany({
        data: [
          {
            id: randomUUID(),
            reminderKey: options.reminderKey,
            userId: options.userId,
            taskId: options.taskId,
            channel: target.channel,
            target: target.target,
          },
        ],
        skipDuplicates: true,
      });
      const [row] = await tx.$queryRaw<LedgerRow[]>`
        SELECT id::text, status::text, attempts, http_status, last_error FROM notification_deliveries
        WHERE reminder_key = ${options.reminderKey} AND channel = ${target.channel}::channel_kind
          AND target = ${target.target}
        FOR UPDATE`;
      const base = { channel: target.channel, target: target.target, deliveryId: row!.id };
      if (row!.status !== "pending") {
        return {
          ...base,
          status: row!.status === "sent" ? "sent" : "failed",
          alreadySettled: true,
          attempts: row!.attempts,
          httpStatus: row!.http_status,
          error: row!.last_error,
        };
      }

      const attempt = row!.attempts + 1;
      const outcome = await target.send(row!.id);
      const at = now();
      const final = outcome.ok || !outcome.retriable || attempt >= options.maxAttempts;
      const status = outcome.ok ? "sent" : final ? "failed" : "pending";
      const error =
        outcome.gone && target.subscriptionId
          ? `${outcome.error ?? "gone"}; the push subscription was removed`
          : outcome.error;
      await tx.deliveryAttempt.create({
        data: {
          deliveryId: row!.id,
          attempt,
          status: outcome.ok ? "sent" : "failed",
          httpStatus: outcome.status,
          error: error?.slice(0, 2000) ?? null,
          at,
        },
      });
      await tx.notificationDelivery.update({
        where: { id: row!.id },
        data: {
          status,
          attempts: attempt,
          httpStatus: outcome.status,
          lastError: error?.slice(0, 2000) ?? null,
          sentAt: outcome.ok ? at : null,
          updatedAt: at,
        },
      });
      if (target.subscriptionId && outcome.ok) {
        await tx.pushSubscription.updateMany({
          where: { id: target.subscriptionId },
          data: { lastSuccessAt: at },
        });
      }
      if (target.subscriptionId && outcome.gone) {
        await tx.pushSubscription.deleteMany({ where: { id: target.subscriptionId } });
      }
      if (status === "failed" && target.deadLetterOnFailure && options.deadLetter) {
        await tx.deadLetter.create({
          data: {
            consumer: "notifications",
            pubsub: options.deadLetter.pubsub,
            topic: options.deadLetter.topic,
            eventId: options.deadLetter.eventId,
            envelope: options.deadLetter.envelope as object,
            error:
              `webhook ${target.target} failed ${attempt} times; last: ${error ?? "unknown error"}`.slice(
                0,
                2000,
              ),
            attempts: attempt,
          },
        });
      }
      return { ...base, status, alreadySettled: false, attempts: attempt, httpStatus: outcome.status, error };
    },
    // The row stays locked while the message is sent: the send's own timeout bounds it.
    { maxWait: 10_000, timeout: sendTimeoutMs + 15_000 },
  );
}

/** Runs `work` over `items`, at most `limit` at a time (each attempt holds a pooled connection). */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
