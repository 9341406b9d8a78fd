// Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), through
// the `web-push` library. Keys come from the environment when set, else from the Dapr secret store
// (production: a Kubernetes secret; `make dev`: .local/secrets.json, see scripts/local-secrets.ts).
import { Agent } from "node:https";
import { isIP } from "node:net";
import webpush from "web-push";
import type { DaprClient } from "./dapr-client.ts";
import { checkOutbound, outboundProblem, type OutboundCheck, type OutboundPolicy } from "./outbound.ts";

export interface VapidKeys {
  /** URL-safe base64 of the uncompressed P-256 public key (65 bytes): what browsers subscribe with. */
  publicKey: string;
  /** URL-safe base64 of the 32-byte private key. */
  privateKey: string;
  /** `mailto:` or `https:` contact for push services (RFC 8292 §2.1). */
  subject: string;
}

export class VapidConfigError extends Error {
  constructor(detail: string) {
    super(
      `Web Push is not configured: ${detail}. Set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT, ` +
        `or store public_key, private_key and subject in the secret "vapid" of the Dapr secret store ` +
        `(\`make dev\` generates them into .local/secrets.json).`,
    );
    this.name = "VapidConfigError";
  }
}

export function generateVapidKeys(subject: string): VapidKeys {
  const keys = webpush.generateVAPIDKeys();
  return { publicKey: keys.publicKey, privateKey: keys.privateKey, subject };
}

/** Throws VapidConfigError unless the keys and subject are usable (web-push checks lengths and form). */
export function checkVapidKeys(keys: VapidKeys): VapidKeys {
  try {
    webpush.getVapidHeaders(
      "https://push.example",
      keys.subject,
      keys.publicKey,
      keys.privateKey,
      "aes128gcm",
    );
  } catch (error) {
    throw new VapidConfigError(`the VAPID keys are invalid (${(error as Error).message})`);
  }
  return keys;
}

export interface VapidEnv {
  VAPID_PUBLIC_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
  VAPID_SUBJECT?: string;
}

/**
 * The VAPID keys: from the environment when both keys are set, else from `secretName` in the Dapr
 * secret store `store` (waiting up to `sidecarTimeoutMs` for the sidecar). VAPID_SUBJECT, when set,
 * overrides the secret's subject. Throws VapidConfigError saying what is missing.
 */
export async function loadVapidKeys(
  env: VapidEnv,
  dapr: DaprClient,
  options: { store?: string; secretName?: string; sidecarTimeoutMs?: number } = {},
): Promise<VapidKeys> {
  const store = options.store ?? "secretstore";
  const secretName = options.secretName ?? "vapid";
  if (env.VAPID_PUBLIC_KEY || env.VAPID_PRIVATE_KEY) {
    if (!env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY)
      throw new VapidConfigError("only one of VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY is set");
    if (!env.VAPID_SUBJECT) throw new VapidConfigError("VAPID_SUBJECT is not set");
    return checkVapidKeys({
      publicKey: env.VAPID_PUBLIC_KEY,
      privateKey: env.VAPID_PRIVATE_KEY,
      subject: env.VAPID_SUBJECT,
    });
  }
  if (!(await dapr.waitUntilReady(options.sidecarTimeoutMs ?? 10_000)))
    throw new VapidConfigError(
      `no VAPID_* variables, and the Dapr sidecar at ${dapr.baseUrl} did not answer`,
    );
  let secret: Record<string, string> | null;
  try {
    secret = await dapr.getSecret(store, secretName);
  } catch (error) {
    throw new VapidConfigError(
      `no VAPID_* variables, and reading secret "${secretName}" from store "${store}" failed (${(error as Error).message})`,
    );
  }
  if (!secret)
    throw new VapidConfigError(`no VAPID_* variables, and store "${store}" has no secret "${secretName}"`);
  const subject = env.VAPID_SUBJECT ?? secret.subject;
  const missing = [
    !secret.public_key && "public_key",
    !secret.private_key && "private_key",
    !subject && "subject",
  ].filter(Boolean);
  if (missing.length > 0)
    throw new VapidConfigError(`secret "${secretName}" in store "${store}" lacks ${missing.join(", ")}`);
  return checkVapidKeys({
    publicKey: secret.public_key!,
    privateKey: secret.private_key!,
    subject: subject!,
  });
}

/** A browser PushSubscription as stored: the endpoint and the keys its payloads are encrypted for. */
export interface PushTarget {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushOptions {
  vapid: VapidKeys;
  /** Seconds the push service keeps the message for an offline device. */
  ttlSeconds: number;
  urgency?: "very-low" | "low" | "normal" | "high";
  /** For resolving the endpoint's host and the push service's answer together. */
  timeoutMs: number;
  /** Where the request may go (outbound.ts). */
  policy: OutboundPolicy;
  /** PEM of the only certificate authority to trust (tests trust their own push service with it). */
  ca?: string;
}

/**
 * The browsers' push services, the only hosts a subscription's endpoint may name: Chrome, Edge's
 * Chromium and other Blink browsers use FCM (Chromium's push_messaging_constants.h), Firefox
 * Mozilla's autopush, Edge on Windows WNS (`*.notify.windows.com` channel URIs), Safari Apple's
 * (Apple: "allow URLs from *.push.apple.com", Sending web push notifications in web apps and
 * browsers). An entry starting with "." matches the name's subdomains.
 */
export const PUSH_SERVICE_HOSTS = [
  "fcm.googleapis.com",
  "updates.push.services.mozilla.com",
  ".push.services.mozilla.com",
  ".notify.windows.com",
  ".push.apple.com",
] as const;

function isPushServiceHost(host: string): boolean {
  return PUSH_SERVICE_HOSTS.some((entry) => (entry.startsWith(".") ? host.endsWith(entry) : host === entry));
}

/**
 * `endpoint` checked as a push subscription's endpoint: https on a browser push service's host,
 * resolving to public addresses. With the policy's loopback allowance a push service on this
 * machine (the tests' stand-in) is accepted too.
 */
export async function checkPushEndpoint(
  endpoint: string,
  policy: OutboundPolicy,
  resolveTimeoutMs?: number,
): Promise<OutboundCheck> {
  const refused = (reason: string) => ({ ok: false, refused: true, reason }) as const;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return refused("must be an absolute URL");
  }
  if (url.protocol !== "https:") return refused("must be the push service's https:// URL");
  if (url.username || url.password) return refused("must not contain credentials");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.+$/, "");
  const local = policy.allowLoopback && (host === "localhost" || isIP(host) !== 0);
  if (!isPushServiceHost(host) && !local)
    return refused("must be a browser push service's URL (FCM, Mozilla, Windows or Apple push)");
  return checkOutbound(url, policy, resolveTimeoutMs);
}

/** Why `endpoint` cannot be a push subscription's endpoint (to show the user), or null. */
export async function pushEndpointProblem(endpoint: string, policy: OutboundPolicy): Promise<string | null> {
  const check = await checkPushEndpoint(endpoint, policy);
  return check.ok ? null : outboundProblem(check);
}

export interface PushResult {
  ok: boolean;
  /** The push service's HTTP status; null when no response came. */
  status: number | null;
  /** 404/410: the subscription expired or was revoked and must be deleted (RFC 8030 §7.3, §8.3). */
  gone: boolean;
  /** Worth trying again later (5xx, 408, 429, no response). */
  retriable: boolean;
  error: string | null;
}

/**
 * Encrypts `payload` (as JSON) for `target` and hands it to its push service. Never throws. The
 * endpoint is checked again (a stored one may predate the policy, and DNS answers change) and the
 * connection goes to the checked address; the push service's body is never reported.
 */
export async function sendPush(
  target: PushTarget,
  payload: unknown,
  options: PushOptions,
): Promise<PushResult> {
  const deadline = Date.now() + options.timeoutMs;
  const check = await checkPushEndpoint(target.endpoint, options.policy, options.timeoutMs);
  if (!check.ok) {
    const error = check.refused ? `refused: ${check.reason}` : check.reason;
    return { ok: false, status: null, gone: false, retriable: !check.refused, error };
  }
  // web-push takes an https.Agent (instanceof-checked); one per send carries the pinned lookup.
  const agent = new Agent({ lookup: check.lookup, ...(options.ca ? { ca: options.ca } : {}) });
  try {
    const response = await webpush.sendNotification(target, JSON.stringify(payload), {
      vapidDetails: options.vapid,
      TTL: Math.max(0, Math.round(options.ttlSeconds)),
      urgency: options.urgency ?? "high",
      contentEncoding: "aes128gcm",
      // What the lookup left of the budget (web-push's timeout is the socket's idle timeout).
      timeout: Math.max(1, deadline - Date.now()),
      agent,
    });
    return { ok: true, status: response.statusCode, gone: false, retriable: false, error: null };
  } catch (error) {
    if (error instanceof webpush.WebPushError) {
      const status = error.statusCode;
      const gone = status === 404 || status === 410;
      return {
        ok: false,
        status,
        gone,
        // Other 4xx (a malformed request, a payload too large, refused VAPID) would fail again.
        retriable: !gone && (status >= 500 || status === 408 || status === 429),
        error: `the push service answered HTTP ${status}`,
      };
    }
    // No response (timeout, refused or reset connection, TLS failure): worth another try.
    const e = error as { code?: string; message?: string };
    return {
      ok: false,
      status: null,
      gone: false,
      retriable: true,
      error: e?.code ? `${e.code}: ${e.message ?? ""}`.trim() : (e?.message ?? String(error)),
    };
  } finally {
    agent.destroy();
  }
}
