// Where one notification goes: every target of every channel a user enabled (each push
// subscription, the confirmed email address, the webhook), each able to send it.
import {
  channelEnabled,
  emailTarget,
  webhookTarget,
  type ChannelKind,
  type SendOutcome,
} from "#core/channels.ts";
import type { Notification } from "#core/notification-messages.ts";
import { openSecret } from "#platform/secret-box.ts";
import { sendPush } from "#platform/web-push.ts";
import { sendWebhook } from "#platform/webhooks.ts";
import { outboundPolicy, webhookKeyring, type NotificationContext, type NotificationDeps } from "./deps.ts";

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

/** Every target of every channel `userId` enabled, each able to send `message`. */
export async function resolveTargets(
  ctx: Pick<NotificationContext, "db" | "dapr" | "env" | "now">,
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

  if (channelEnabled("push", channels.get("push"))) {
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
              // The service worker's buttons (web/public/sw.js): each posts its signed token.
              ...(notification.pushActions.length > 0 ? { actions: notification.pushActions } : {}),
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

  // Only to an address its owner confirmed (./email-confirmation.ts): never to anyone a user names.
  const to = emailTarget(channels.get("email"), user.email);
  if (to) {
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
  const hook = webhookTarget(webhook);
  if (webhook && hook) {
    targets.push({
      channel: "webhook",
      target: hook.url,
      deadLetterOnFailure: true,
      send: (deliveryId) => {
        let secret: string;
        try {
          // Bound to the row's owner: a value copied from another account's row does not open.
          secret = openSecret(hook.sealedSecret, webhook.userId, webhookKeyring(deps));
        } catch (error) {
          // Trying again cannot help until an operator restores the key; never sent unsigned.
          const reason = (error as Error).message;
          return Promise.resolve({ ok: false, status: null, error: reason, retriable: false });
        }
        return sendWebhook({
          url: hook.url,
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
