// What the notification service is built with (its keys, and in tests its network), and what its
// work needs of a request's or an event's context.
import type { Context } from "#platform/host.ts";
import type { OutboundPolicy, Resolver } from "#platform/outbound.ts";
import { generateSecretKey, parseKeyring, type SecretKeyring } from "#platform/secret-box.ts";
import type { VapidKeys } from "#platform/web-push.ts";
import type { NotificationsEnv } from "./env.ts";

export interface NotificationDeps {
  vapid: VapidKeys;
  /** PEM of the certificate authority push services are trusted by (tests' own push service). */
  pushCa?: string;
  /** DNS for checking webhook and push hosts (tests inject answers); the system's when unset. */
  resolve?: Resolver;
  /**
   * The keys webhook secrets are encrypted at rest with (secret `webhook-secret-key`, read at start
   * by functions/notifications/index.ts, which refuses to start without it). Unset only where a
   * test builds the function: then a random key of this instance, so nothing is ever stored in
   * plain text.
   */
  webhookKeys?: SecretKeyring;
  /**
   * The keys a reminder's action tokens are signed with (secret `reminder-action-key`, read at
   * start; #core/reminder-actions.ts). Unset only where a test builds the function: then a random
   * key of this instance, which no other process can verify (tests that press a button pass one).
   */
  actionKeys?: SecretKeyring;
}

/** The parts of a request's or an event's context the notification service uses. */
export type NotificationContext = Pick<Context<NotificationsEnv>, "db" | "dapr" | "env" | "now" | "log">;

/** Keys made for one instance, by which deps field they stand in for. */
const instanceKeys = new WeakMap<NotificationDeps, Map<string, SecretKeyring>>();

/** `deps[field]`, else a random key of this instance (only where a test builds the function). */
function keyringOf(deps: NotificationDeps, field: "webhookKeys" | "actionKeys"): SecretKeyring {
  const given = deps[field];
  if (given) return given;
  let made = instanceKeys.get(deps);
  if (!made) instanceKeys.set(deps, (made = new Map()));
  let keys = made.get(field);
  if (!keys) {
    keys = parseKeyring({ current: "instance", instance: generateSecretKey() }, "an instance key");
    made.set(field, keys);
  }
  return keys;
}

/** The keyring webhook secrets are sealed and opened with (see NotificationDeps.webhookKeys). */
export const webhookKeyring = (deps: NotificationDeps): SecretKeyring => keyringOf(deps, "webhookKeys");

/** The keyring reminder action tokens are signed with (see NotificationDeps.actionKeys). */
export const actionKeyring = (deps: NotificationDeps): SecretKeyring => keyringOf(deps, "actionKeys");

/** Where webhooks and pushes may go: public addresses, and loopback when the env allows it. */
export function outboundPolicy(env: NotificationsEnv, deps: NotificationDeps): OutboundPolicy {
  return { allowLoopback: env.OUTBOUND_ALLOW_LOOPBACK, resolve: deps.resolve };
}
