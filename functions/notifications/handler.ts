// The Notification Service: delivers each `reminders` event through every channel the user
// enabled (web push, email through the Dapr `email` output binding, signed webhooks), and the API
// the web app manages those channels with. Rules: #core/channels.ts; the work: #notifications/*.
import { z } from "zod";
import {
  channelBodySchema,
  channelParamsSchema,
  confirmEmailBodySchema,
  deliverableReminderSchema,
  emailChannelSchema,
  REDELIVERY_JOB_PREFIX,
  sendAgainResultSchema,
} from "#core/channels.ts";
import { deadLetterTopic, TOPICS } from "#core/events.ts";
import { taskIdSchema } from "#core/tasks.ts";
import { confirmEmail, listChannels, resendEmailConfirmation, saveChannel } from "#notifications/channels.ts";
import { deliverReminder, redeliverReminder, sendTestNotification } from "#notifications/delivery.ts";
import type { NotificationDeps } from "#notifications/deps.ts";
import type { NotificationsEnv } from "#notifications/env.ts";
import * as push from "#notifications/push-subscriptions.ts";
import { taskRemindersView } from "#notifications/reminders-view.ts";
import { sendAgain } from "#notifications/send-again.ts";
import type { Principal } from "#platform/auth.ts";
import { route, subscription, type FunctionDef } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";

function owner(principal: Principal | null): string {
  if (!principal) throw problems.unauthorized();
  return principal.userId;
}

/**
 * The function's routes, subscription and redelivery jobs (a delivery's later attempts, which it
 * schedules for itself), bound to its keys (read once at start).
 */
export function notificationsFunction(
  deps: NotificationDeps,
): Required<Pick<FunctionDef<NotificationsEnv>, "routes" | "subscriptions" | "jobs">> {
  return {
    routes: [
      route({
        method: "GET",
        path: "/v1/tasks/:id/reminders",
        auth: "read",
        params: z.strictObject({ id: taskIdSchema }),
        summary: "A task's reminder rules, their scheduled jobs and every delivery with its attempts",
        async handle(request, ctx) {
          const view = await taskRemindersView(ctx.db, owner(request.principal), request.params.id);
          if (!view) throw problems.notFound("No such task.");
          return { body: view };
        },
      }),
      route({
        method: "POST",
        path: "/v1/tasks/:id/deliveries/:delivery_id/retry",
        response: sendAgainResultSchema,
        auth: "write",
        params: z.strictObject({
          id: taskIdSchema,
          delivery_id: z.uuid({ error: "must be a delivery id (UUID)" }),
        }),
        body: z.strictObject({}),
        summary:
          "Send a reminder's failed (or waiting) delivery again now, through the channel's current settings; one attempt, recorded with who asked; rate limited",
        async handle(request, ctx) {
          if (!request.principal) throw problems.unauthorized();
          const { id, delivery_id } = request.params;
          return { body: await sendAgain(ctx, deps, request.principal, id, delivery_id) };
        },
      }),
      route({
        method: "GET",
        path: "/v1/push-subscriptions",
        auth: "read",
        query: z.strictObject({}),
        summary: "The caller's browser push subscriptions",
        handle: async (request, ctx) => ({
          body: { items: await push.listPushSubscriptions(ctx.db, owner(request.principal)) },
        }),
      }),
      route({
        method: "POST",
        path: "/v1/push-subscriptions",
        auth: "write",
        body: push.pushSubscriptionBodySchema,
        summary: "Register a browser push subscription (201 new, 200 when the endpoint was known)",
        async handle(request, ctx) {
          const userId = owner(request.principal);
          const agent = request.headers["user-agent"];
          const saved = await push.registerPushSubscription(ctx, deps, userId, request.body, agent);
          return { status: saved.created ? 201 : 200, body: saved.subscription };
        },
      }),
      route({
        method: "DELETE",
        path: "/v1/push-subscriptions/:id",
        auth: "write",
        params: z.strictObject({ id: z.uuid({ error: "must be a push subscription id (UUID)" }) }),
        summary: "Remove a push subscription",
        async handle(request, ctx) {
          await push.deletePushSubscription(ctx.db, owner(request.principal), request.params.id);
          return { status: 204 };
        },
      }),
      route({
        method: "GET",
        path: "/v1/channels",
        auth: "read",
        query: z.strictObject({}),
        summary: "The caller's notification channels (push, email, webhook) and their settings",
        handle: async (request, ctx) => ({
          body: { items: await listChannels(ctx.db, owner(request.principal), ctx.now()) },
        }),
      }),
      route({
        method: "PUT",
        path: "/v1/channels/:kind",
        auth: "write",
        params: channelParamsSchema,
        body: channelBodySchema,
        summary: "Configure one channel; omitted fields keep their value (the webhook secret is write-only)",
        handle: async (request, ctx) => ({
          body: await saveChannel(ctx, deps, owner(request.principal), request.params.kind, request.body),
        }),
      }),
      route({
        method: "POST",
        path: "/v1/channels/email/confirmation",
        response: emailChannelSchema,
        auth: "write",
        body: z.strictObject({}),
        summary:
          "Mail a new confirmation link to the email channel's address (the earlier link stops working); rate limited",
        handle: async (request, ctx) => ({
          status: 202,
          body: await resendEmailConfirmation(ctx, owner(request.principal)),
        }),
      }),
      route({
        method: "POST",
        path: "/v1/channels/email/confirm",
        response: emailChannelSchema,
        auth: "write",
        body: confirmEmailBodySchema,
        summary:
          "Confirm the email channel's address with the token its confirmation link carries (the signed-in account's own link only; once)",
        handle: async (request, ctx) => ({
          body: await confirmEmail(ctx.db, owner(request.principal), request.body.token, ctx.now()),
        }),
      }),
      route({
        method: "POST",
        path: "/v1/notifications/test",
        auth: "write",
        body: z.strictObject({}),
        summary: "Send a test notification through every enabled channel now; one attempt each",
        handle: async (request, ctx) => ({
          body: await sendTestNotification(ctx, deps, owner(request.principal)),
        }),
      }),
      route({
        method: "GET",
        path: "/v1/push/vapid-public-key",
        auth: "none",
        summary: "The VAPID public key browsers subscribe with (applicationServerKey)",
        handle: async () => ({
          body: { public_key: deps.vapid.publicKey },
          headers: { "cache-control": "public, max-age=3600" },
        }),
      }),
    ],
    subscriptions: [
      subscription({
        topic: TOPICS.reminders,
        path: "/events/reminders",
        deadLetterTopic: deadLetterTopic(TOPICS.reminders),
        data: deliverableReminderSchema,
        handle: (event, ctx) => deliverReminder(ctx, deps, event),
      }),
    ],
    jobs: [
      {
        prefix: REDELIVERY_JOB_PREFIX,
        handle: (name, data, ctx) => redeliverReminder(ctx, deps, name, data),
      },
    ],
  };
}
