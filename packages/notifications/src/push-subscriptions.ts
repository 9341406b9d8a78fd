// Browser push subscriptions: what a browser registers (its PushSubscription.toJSON()), stored per
// account, one row per push endpoint.
import { z } from "zod";
import type { Db } from "#db/client.ts";
import { isUniqueViolation } from "#platform/db-errors.ts";
import { Problem, problems, ProblemType } from "#platform/problems.ts";
import { pushEndpointProblem } from "#platform/web-push.ts";
import { outboundPolicy, type NotificationContext, type NotificationDeps } from "./deps.ts";

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
export type PushSubscriptionBody = z.infer<typeof pushSubscriptionBodySchema>;

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

export async function listPushSubscriptions(db: Db, userId: string) {
  const rows = await db.pushSubscription.findMany({ where: { userId }, orderBy: { createdAt: "asc" } });
  return rows.map(subscriptionJson);
}

/** Registers a subscription, or updates the caller's own one for the same endpoint (`created`: false). */
export async function registerPushSubscription(
  ctx: Pick<NotificationContext, "db" | "env">,
  deps: NotificationDeps,
  userId: string,
  { endpoint, keys }: PushSubscriptionBody,
  userAgentHeader: string | string[] | undefined,
) {
  // Only a browser push service's host, resolving to public addresses (SSRF: ADR 011).
  const problem = await pushEndpointProblem(endpoint, outboundPolicy(ctx.env, deps));
  if (problem) throw problems.validation([{ pointer: "/body/endpoint", field: "endpoint", detail: problem }]);
  const userAgent = String(userAgentHeader ?? "").slice(0, 300) || null;
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
    return { created: false, subscription: subscriptionJson(row) };
  }
  try {
    const row = await ctx.db.pushSubscription.create({ data: { userId, endpoint, ...data } });
    return { created: true, subscription: subscriptionJson(row) };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new Problem({
      type: ProblemType.conflict,
      title: "Conflict",
      status: 409,
      detail:
        "This push endpoint is registered to another account. Unsubscribe in the browser and subscribe again to get a new endpoint.",
      errors: [{ pointer: "/body/endpoint", field: "endpoint", detail: "is registered to another account" }],
    });
  }
}

/** 404 unless `id` is one of the caller's subscriptions. */
export async function deletePushSubscription(db: Db, userId: string, id: string): Promise<void> {
  const { count } = await db.pushSubscription.deleteMany({ where: { id, userId } });
  if (count === 0) throw problems.notFound("No such push subscription.");
}
