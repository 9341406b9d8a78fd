// The Notification Service: delivers each `reminders` event through every channel the user
// enabled (web push, email through the Dapr `email` output binding, signed webhooks), and the API
// the web app manages those channels with. Delivery and the ledger: ./delivery.ts.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { deadLetterTopic, reminderEventSchema, TOPICS } from "#core/events.ts";
import { storableString, taskIdSchema } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { NotificationChannel } from "#db/generated/client.ts";
import type { Principal } from "#platform/auth.ts";
import { route, subscription, type FunctionDef } from "#platform/host.ts";
import { needsReseal, openSecret, sealSecret } from "#platform/secret-box.ts";
import { isUniqueViolation } from "#platform/db-errors.ts";
import { Problem, problems, ProblemType, type FieldError } from "#platform/problems.ts";
import { pushEndpointProblem } from "#platform/web-push.ts";
import { webhookUrlProblem } from "#platform/webhooks.ts";
import {
  attemptDelivery,
  mapLimit,
  outboundPolicy,
  reminderNotification,
  resolveTargets,
  testNotification,
  type DeliveryResult,
  webhookKeyring,
  type NotificationDeps,
} from "./delivery.ts";
import {
  addressStatus,
  confirmAddress,
  deliversTo,
  sendConfirmation,
  takeConfirmationAllowance,
  unconfirmedEmail,
} from "./email-confirmation.ts";
import type { NotificationsEnv } from "./env.ts";

/** Targets attempted at once for one event (each attempt holds a pooled connection while it sends). */
const PARALLEL_TARGETS = 4;

const reminderSchema = reminderEventSchema.extend({ task_id: z.uuid(), user_id: z.uuid() });

function owner(principal: Principal | null): string {
  if (!principal) throw problems.unauthorized();
  return principal.userId;
}

const sendTimeout = (env: NotificationsEnv) => Math.max(env.PUSH_TIMEOUT_MS, env.WEBHOOK_TIMEOUT_MS, 5_000);

function resultJson(r: DeliveryResult) {
  return {
    channel: r.channel,
    target: r.target,
    delivery_id: r.deliveryId,
    status: r.status,
    attempts: r.attempts,
    http_status: r.httpStatus,
    error: r.error,
  };
}

// ───── consuming reminders ─────

function remindersSubscription(deps: NotificationDeps) {
  return subscription<z.infer<typeof reminderSchema>, NotificationsEnv>({
    topic: TOPICS.reminders,
    path: "/events/reminders",
    deadLetterTopic: deadLetterTopic(TOPICS.reminders),
    data: reminderSchema,
    async handle(event, ctx) {
      const reminder = event.data;
      // One reminder occurrence: a job re-scheduled for a new due date fires as a new occurrence.
      const reminderKey = `${reminder.job_name}@${reminder.remind_at}`;
      const targets = await resolveTargets(ctx, deps, reminder.user_id, (timeZone) =>
        reminderNotification(reminder, timeZone, ctx.env, ctx.now()),
      );
      const results = await mapLimit(targets, PARALLEL_TARGETS, (target) =>
        attemptDelivery(
          ctx.db,
          target,
          {
            reminderKey,
            userId: reminder.user_id,
            taskId: reminder.task_id,
            maxAttempts: ctx.env.MAX_DELIVERY_ATTEMPTS,
            deadLetter: {
              pubsub: event.pubsubname ?? ctx.env.PUBSUB_NAME,
              topic: TOPICS.reminders,
              eventId: event.id,
              envelope: event.attributes,
            },
          },
          ctx.now,
          sendTimeout(ctx.env),
        ),
      );
      const fresh = results.filter((r) => !r.alreadySettled);
      if (results.length === 0)
        ctx.log.info("no channel enabled; nothing to deliver", { task_id: reminder.task_id });
      else if (fresh.length > 0) ctx.log.info("reminder delivered", { results: fresh.map(resultJson) });
      else ctx.log.info("every channel already settled; redelivery ignored");
      // Redelivery (with the sidecar's backoff) retries what failed; settled targets are skipped.
      return results.some((r) => r.status === "pending") ? "RETRY" : "SUCCESS";
    },
  });
}

// ───── the API ─────

async function taskRemindersView(db: Db, userId: string, taskId: string) {
  const [task, jobs, deliveries] = await Promise.all([
    db.task.findFirst({
      where: { id: taskId, userId },
      select: {
        status: true,
        dueAt: true,
        reminders: {
          select: { id: true, offsetMinutes: true, remindAt: true },
          orderBy: [{ offsetMinutes: "desc" }, { remindAt: "asc" }],
        },
      },
    }),
    db.reminderJob.findMany({
      where: { taskId, userId },
      orderBy: [{ remindAt: "asc" }, { jobName: "asc" }],
    }),
    db.notificationDelivery.findMany({
      where: { taskId, userId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { attemptLog: { orderBy: { attempt: "asc" } } },
    }),
  ]);
  // A deleted task's reminder history stays readable; a task that never had any is just unknown.
  if (!task && jobs.length === 0 && deliveries.length === 0) return null;
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    task_id: taskId,
    task_status: task?.status ?? "deleted",
    due_at: iso(task?.dueAt ?? null),
    reminders: (task?.reminders ?? []).map((r) => ({
      id: r.id,
      offset_minutes: r.offsetMinutes,
      remind_at: iso(r.remindAt),
    })),
    jobs: jobs.map((j) => ({
      job_name: j.jobName,
      reminder_id: j.reminderId,
      remind_at: j.remindAt.toISOString(),
      due_at: j.dueAt.toISOString(),
      status: j.status,
      fired_at: iso(j.firedAt),
      reason: j.skipReason,
      updated_at: j.updatedAt.toISOString(),
    })),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      reminder_key: d.reminderKey,
      channel: d.channel,
      target: d.target,
      status: d.status,
      attempts: d.attempts,
      http_status: d.httpStatus,
      last_error: d.lastError,
      created_at: d.createdAt.toISOString(),
      sent_at: iso(d.sentAt),
      attempt_log: d.attemptLog.map((a) => ({
        attempt: a.attempt,
        status: a.status,
        http_status: a.httpStatus,
        error: a.error,
        at: a.at.toISOString(),
      })),
    })),
  };
}

export const taskRemindersRoute = route({
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
});

/** URL-safe base64 (padding optional) of exactly `bytes` bytes. */
const base64urlBytes = (bytes: number, what: string) =>
  z
    .string({ error: `must be ${what} as base64url` })
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `must be ${what} as base64url`)
    .refine((value) => Buffer.from(value, "base64url").length === bytes, `must be ${what} (${bytes} bytes)`);

/** What the browser's `PushSubscription.toJSON()` gives. */
export const pushSubscriptionBodySchema = z.strictObject({
  endpoint: z
    .url({ protocol: /^https$/, error: "must be the push service's https:// URL" })
    .max(2048, "must be at most 2048 characters"),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    p256dh: base64urlBytes(65, "an uncompressed P-256 public key").refine(
      (value) => Buffer.from(value, "base64url")[0] === 0x04,
      "must be an uncompressed P-256 public key (starting with 0x04)",
    ),
    auth: base64urlBytes(16, "the 16-byte auth secret"),
  }),
});

const subscriptionJson = (s: {
  id: string;
  endpoint: string;
  userAgent: string | null;
  createdAt: Date;
  lastSuccessAt: Date | null;
}) => ({
  id: s.id,
  endpoint: s.endpoint,
  user_agent: s.userAgent,
  created_at: s.createdAt.toISOString(),
  last_success_at: s.lastSuccessAt?.toISOString() ?? null,
});

export const listPushSubscriptionsRoute = route({
  method: "GET",
  path: "/v1/push-subscriptions",
  auth: "read",
  query: z.strictObject({}),
  summary: "The caller's browser push subscriptions",
  async handle(request, ctx) {
    const rows = await ctx.db.pushSubscription.findMany({
      where: { userId: owner(request.principal) },
      orderBy: { createdAt: "asc" },
    });
    return { body: { items: rows.map(subscriptionJson) } };
  },
});

function createPushSubscriptionRoute(deps: NotificationDeps) {
  return route<z.infer<typeof pushSubscriptionBodySchema>, unknown, unknown, NotificationsEnv>({
    method: "POST",
    path: "/v1/push-subscriptions",
    auth: "write",
    body: pushSubscriptionBodySchema,
    summary: "Register a browser push subscription (201 new, 200 when the endpoint was known)",
    async handle(request, ctx) {
      const userId = owner(request.principal);
      const { endpoint, keys } = request.body;
      // Only a browser push service's host, resolving to public addresses (SSRF: ADR 011).
      const problem = await pushEndpointProblem(endpoint, outboundPolicy(ctx.env, deps));
      if (problem)
        throw problems.validation([{ pointer: "/body/endpoint", field: "endpoint", detail: problem }]);
      const userAgent = String(request.headers["user-agent"] ?? "").slice(0, 300) || null;
      // An endpoint stays with the account that registered it (issue 12, finding 6): moving it on
      // another account's say-so would let anyone who learns an endpoint URL take over (or, with
      // keys of their own, garble) someone else's notifications. A browser that really changed
      // accounts unsubscribes (PushSubscription.unsubscribe()) and subscribes again: its push
      // service then gives it a new endpoint. Only the owner's row is updated; a concurrent insert
      // by another account loses on the unique endpoint and gets the same 409.
      const data = { p256dh: keys.p256dh, auth: keys.auth, userAgent };
      const { count } = await ctx.db.pushSubscription.updateMany({ where: { endpoint, userId }, data });
      if (count === 1) {
        const row = await ctx.db.pushSubscription.findUniqueOrThrow({ where: { endpoint } });
        return { status: 200, body: subscriptionJson(row) };
      }
      try {
        const row = await ctx.db.pushSubscription.create({ data: { userId, endpoint, ...data } });
        return { status: 201, body: subscriptionJson(row) };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new Problem({
          type: ProblemType.conflict,
          title: "Conflict",
          status: 409,
          detail:
            "This push endpoint is registered to another account. Unsubscribe in the browser and subscribe again to get a new endpoint.",
          errors: [
            { pointer: "/body/endpoint", field: "endpoint", detail: "is registered to another account" },
          ],
        });
      }
    },
  });
}

export const deletePushSubscriptionRoute = route({
  method: "DELETE",
  path: "/v1/push-subscriptions/:id",
  auth: "write",
  params: z.strictObject({ id: z.uuid({ error: "must be a push subscription id (UUID)" }) }),
  summary: "Remove a push subscription",
  async handle(request, ctx) {
    const { count } = await ctx.db.pushSubscription.deleteMany({
      where: { id: request.params.id, userId: owner(request.principal) },
    });
    if (count === 0) throw problems.notFound("No such push subscription.");
    return { status: 204 };
  },
});

const CHANNEL_KINDS = ["push", "email", "webhook"] as const;
type Kind = (typeof CHANNEL_KINDS)[number];

/** Which body fields each channel takes. */
const CHANNEL_FIELDS: Record<Kind, string[]> = {
  push: ["enabled"],
  email: ["enabled", "email_address"],
  webhook: ["enabled", "webhook_url", "webhook_secret"],
};

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

/** Defaults when the user never configured a channel: push on (subscribing opts in), the others off. */
function channelJson(
  kind: Kind,
  row: NotificationChannel | undefined,
  account: { email: string; pushSubscriptions: number },
  now: Date,
) {
  const enabled = row?.enabled ?? kind === "push";
  const updatedAt = row?.updatedAt.toISOString() ?? null;
  if (kind === "push")
    return { kind, enabled, push_subscriptions: account.pushSubscriptions, updated_at: updatedAt };
  if (kind === "email") {
    const address = row?.emailAddress ?? null;
    const status = addressStatus(row, account.email, now);
    return {
      kind,
      enabled,
      email_address: address,
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

async function accountOf(db: Db, userId: string) {
  const [user, pushSubscriptions] = await Promise.all([
    db.user.findUnique({ where: { id: userId }, select: { email: true } }),
    db.pushSubscription.count({ where: { userId } }),
  ]);
  if (!user) throw problems.unauthorized();
  return { email: user.email, pushSubscriptions };
}

export const listChannelsRoute = route({
  method: "GET",
  path: "/v1/channels",
  auth: "read",
  query: z.strictObject({}),
  summary: "The caller's notification channels (push, email, webhook) and their settings",
  async handle(request, ctx) {
    const userId = owner(request.principal);
    const [rows, account] = await Promise.all([
      ctx.db.notificationChannel.findMany({ where: { userId } }),
      accountOf(ctx.db, userId),
    ]);
    const byKind = new Map(rows.map((r) => [r.kind, r]));
    const now = ctx.now();
    return {
      body: { items: CHANNEL_KINDS.map((kind) => channelJson(kind, byKind.get(kind), account, now)) },
    };
  },
});

/** The webhook secret to store: `given` sealed, else `stored` (re-sealed when it needs it). */
function sealedWebhookSecret(
  given: string | undefined,
  stored: string | null | undefined,
  userId: string,
  deps: NotificationDeps,
): string | null {
  const keys = webhookKeyring(deps);
  if (given !== undefined) return sealSecret(given, userId, keys);
  if (!stored || !needsReseal(stored, keys)) return stored ?? null;
  try {
    return sealSecret(openSecret(stored, userId, keys), userId, keys);
  } catch {
    return stored; // Not ours to open (its key is gone): left as it is, and delivery reports why.
  }
}

function putChannelRoute(deps: NotificationDeps) {
  return route<z.infer<typeof channelBodySchema>, unknown, { kind: Kind }, NotificationsEnv>({
    method: "PUT",
    path: "/v1/channels/:kind",
    auth: "write",
    params: z.strictObject({ kind: z.enum(CHANNEL_KINDS, { error: "must be push, email or webhook" }) }),
    body: channelBodySchema,
    summary: "Configure one channel; omitted fields keep their value (the webhook secret is write-only)",
    async handle(request, ctx) {
      const userId = owner(request.principal);
      const { kind } = request.params;
      const body = request.body;
      const errors: FieldError[] = [];
      const error = (field: string, detail: string) =>
        errors.push({ pointer: `/body/${field}`, field, detail });
      for (const field of Object.keys(body)) {
        if (!CHANNEL_FIELDS[kind].includes(field)) error(field, `not a setting of the ${kind} channel`);
      }
      if (kind === "webhook" && body.webhook_url) {
        // Resolved and checked now, and again at every send (SSRF: ADR 011).
        const problem = await webhookUrlProblem(body.webhook_url, outboundPolicy(ctx.env, deps));
        if (problem) error("webhook_url", problem);
      }
      if (errors.length > 0) throw problems.validation(errors);

      const existing = await ctx.db.notificationChannel.findUnique({
        where: { userId_kind: { userId, kind } },
      });
      const next = {
        enabled: body.enabled ?? existing?.enabled ?? true,
        emailAddress:
          body.email_address !== undefined ? body.email_address : (existing?.emailAddress ?? null),
        webhookUrl: body.webhook_url !== undefined ? body.webhook_url : (existing?.webhookUrl ?? null),
        // Encrypted at rest; a kept secret stored in plain text or under an old key is sealed again.
        webhookSecret: sealedWebhookSecret(body.webhook_secret, existing?.webhookSecret, userId, deps),
      };
      if (kind === "webhook" && next.enabled) {
        if (!next.webhookUrl) error("webhook_url", "is required to enable the webhook channel");
        if (!next.webhookSecret) error("webhook_secret", "is required to enable the webhook channel");
        if (errors.length > 0) throw problems.validation(errors);
      }
      const now = ctx.now();
      const account = await accountOf(ctx.db, userId);
      // A new address starts unconfirmed, and a link sent to the old one stops working.
      const email =
        kind === "email" && next.emailAddress !== (existing?.emailAddress ?? null) ? unconfirmedEmail : {};
      // Turning the channel on for an address nobody confirmed mails it a link (rate limited,
      // checked before anything is stored so a refused request changes nothing).
      const sendLink =
        kind === "email" &&
        next.enabled &&
        addressStatus({ ...unconfirmedEmail, ...existing, ...next, ...email }, account.email, now) ===
          "unconfirmed";
      const address = deliversTo(next, account.email);
      if (sendLink) await takeConfirmationAllowance(ctx.db, userId, address, now);
      let row = await ctx.db.notificationChannel.upsert({
        where: { userId_kind: { userId, kind } },
        create: { userId, kind, ...next, createdAt: now, updatedAt: now },
        update: { ...next, ...email, updatedAt: now },
      });
      if (sendLink) row = await sendConfirmation(ctx, userId, address);
      return { body: channelJson(kind, row, account, now) };
    },
  });
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

/** The email channel as the API shows it, after a change. */
async function emailChannelJson(db: Db, userId: string, now: Date) {
  const [row, account] = await Promise.all([
    db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind: "email" } } }),
    accountOf(db, userId),
  ]);
  return channelJson("email", row ?? undefined, account, now);
}

export const resendEmailConfirmationRoute = route<Record<string, never>, unknown, unknown, NotificationsEnv>({
  method: "POST",
  path: "/v1/channels/email/confirmation",
  response: emailChannelSchema,
  auth: "write",
  body: z.strictObject({}),
  summary:
    "Mail a new confirmation link to the email channel's address (the earlier link stops working); rate limited",
  async handle(request, ctx) {
    const userId = owner(request.principal);
    const now = ctx.now();
    const [row, account] = await Promise.all([
      ctx.db.notificationChannel.findUnique({ where: { userId_kind: { userId, kind: "email" } } }),
      accountOf(ctx.db, userId),
    ]);
    if (!row) throw problems.conflict("Turn the email channel on first.");
    if (addressStatus(row, account.email, now) === "confirmed")
      throw problems.conflict("The address is already confirmed.");
    const address = deliversTo(row, account.email);
    await takeConfirmationAllowance(ctx.db, userId, address, now);
    const sent = await sendConfirmation(ctx, userId, address);
    return { status: 202, body: channelJson("email", sent, account, now) };
  },
});

export const confirmEmailRoute = route({
  method: "POST",
  path: "/v1/channels/email/confirm",
  response: emailChannelSchema,
  auth: "write",
  body: z.strictObject({
    token: z
      .string({ error: "must be the token from the confirmation link" })
      .regex(/^[A-Za-z0-9_-]{43}$/, "must be the token from the confirmation link"),
  }),
  summary:
    "Confirm the email channel's address with the token its confirmation link carries (the signed-in account's own link only; once)",
  async handle(request, ctx) {
    const userId = owner(request.principal);
    const now = ctx.now();
    const outcome = await confirmAddress(ctx.db, userId, request.body.token, now);
    const tokenError = (detail: string) =>
      problems.validation([{ pointer: "/body/token", field: "token", detail }], detail);
    if (outcome === "invalid")
      throw problems.notFound(
        "This confirmation link is not valid for this account, or it was already used.",
      );
    if (outcome === "expired") throw tokenError("This confirmation link has expired: ask for a new one.");
    if (outcome === "stale")
      throw tokenError("This confirmation link was sent to an address the channel no longer uses.");
    return { body: await emailChannelJson(ctx.db, userId, now) };
  },
});

function testRoute(deps: NotificationDeps) {
  return route<Record<string, never>, unknown, unknown, NotificationsEnv>({
    method: "POST",
    path: "/v1/notifications/test",
    auth: "write",
    body: z.strictObject({}),
    summary: "Send a test notification through every enabled channel now; one attempt each",
    async handle(request, ctx) {
      const userId = owner(request.principal);
      const targets = await resolveTargets(ctx, deps, userId, () => testNotification(ctx.env, ctx.now()));
      const reminderKey = `test:${randomUUID()}`;
      const results = await mapLimit(targets, PARALLEL_TARGETS, (target) =>
        attemptDelivery(
          ctx.db,
          target,
          { reminderKey, userId, taskId: null, maxAttempts: 1 },
          ctx.now,
          sendTimeout(ctx.env),
        ),
      );
      return { body: { reminder_key: reminderKey, results: results.map(resultJson) } };
    },
  });
}

function vapidKeyRoute(deps: NotificationDeps) {
  return route({
    method: "GET",
    path: "/v1/push/vapid-public-key",
    auth: "none",
    summary: "The VAPID public key browsers subscribe with (applicationServerKey)",
    async handle() {
      return {
        body: { public_key: deps.vapid.publicKey },
        headers: { "cache-control": "public, max-age=3600" },
      };
    },
  });
}

/** The function's routes and subscription, bound to its VAPID keys (read once at start). */
export function notificationsFunction(
  deps: NotificationDeps,
): Required<Pick<FunctionDef<NotificationsEnv>, "routes" | "subscriptions">> {
  return {
    routes: [
      taskRemindersRoute,
      listPushSubscriptionsRoute,
      createPushSubscriptionRoute(deps),
      deletePushSubscriptionRoute,
      listChannelsRoute,
      putChannelRoute(deps),
      resendEmailConfirmationRoute,
      confirmEmailRoute,
      testRoute(deps),
      vapidKeyRoute(deps),
    ],
    subscriptions: [remindersSubscription(deps)],
  };
}
