// Outgoing webhooks: a JSON envelope `{ event, time, data }` POSTed to the user's URL, signed so the
// receiver can tell it came from us and was not altered. The signature scheme is GitHub's
// (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`,
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), under our own
// header names; `time` is inside the signed body, so a receiver can refuse replays of old deliveries.
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import {
  checkOutbound,
  onlyLoopback,
  outboundProblem,
  type OutboundCheck,
  type OutboundPolicy,
} from "./outbound.ts";

export const WEBHOOK_HEADERS = {
  signature: "X-Orbit-Signature",
  delivery: "X-Orbit-Delivery",
  event: "X-Orbit-Event",
} as const;

export interface WebhookEnvelope {
  event: string;
  time: string;
  data: unknown;
}

export interface WebhookRequest {
  url: string;
  secret: string;
  event: string;
  data: unknown;
  /** Sent as X-Orbit-Delivery: the same id on every retry, so the receiver can deduplicate. */
  deliveryId: string;
  time: Date;
  /** For the whole delivery: resolving, connecting and the receiver's answer. */
  timeoutMs: number;
  /** Where the request may go (outbound.ts). */
  policy: OutboundPolicy;
}

export interface WebhookResult {
  ok: boolean;
  /** The receiver's HTTP status; null when no response came (timeout, refused connection). */
  status: number | null;
  /** What went wrong, in our words: never the receiver's body. */
  error: string | null;
  /** False when trying again cannot help: the policy refused the URL. */
  retriable: boolean;
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact bytes sent, keyed with the channel's secret. */
export function signWebhookBody(rawBody: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody, "utf8").digest("hex")}`;
}

/**
 * `url` checked as a webhook target: https only (plain http only to this machine, when the policy
 * allows loopback), no credentials, and a host the outbound policy lets us reach.
 */
export async function checkWebhookUrl(
  url: string,
  policy: OutboundPolicy,
  resolveTimeoutMs?: number,
): Promise<OutboundCheck> {
  const refused = (reason: string) => ({ ok: false, refused: true, reason }) as const;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refused("must be an absolute URL");
  }
  if (parsed.username || parsed.password) return refused("must not contain credentials");
  const httpsOnly = policy.allowLoopback
    ? "must be an https:// URL (or http:// to this machine)"
    : "must be an https:// URL";
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && policy.allowLoopback))
    return refused(httpsOnly);
  const check = await checkOutbound(parsed, policy, resolveTimeoutMs);
  if (check.ok && parsed.protocol === "http:" && !onlyLoopback(check.addresses)) return refused(httpsOnly);
  return check;
}

/** Why `url` cannot be a webhook target (to show the user), or null when it can. */
export async function webhookUrlProblem(url: string, policy: OutboundPolicy): Promise<string | null> {
  const check = await checkWebhookUrl(url, policy);
  if (check.ok) return null;
  return outboundProblem(check);
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}

/**
 * POSTs one signed delivery. Any 2xx is success; redirects are not followed (they count as
 * failures). The URL is checked again (the stored one may predate the policy, and DNS answers
 * change), and the connection goes to the address that was checked. The receiver's body is never
 * read: only its status is reported, so nothing it says reaches the user.
 */
export async function sendWebhook(request: WebhookRequest): Promise<WebhookResult> {
  const deadline = Date.now() + request.timeoutMs;
  const check = await checkWebhookUrl(request.url, request.policy, request.timeoutMs);
  if (!check.ok) {
    if (!check.refused) return { ok: false, status: null, error: check.reason, retriable: true };
    return { ok: false, status: null, error: `refused: ${check.reason}`, retriable: false };
  }
  const envelope: WebhookEnvelope = {
    event: request.event,
    time: request.time.toISOString(),
    data: request.data,
  };
  const body = JSON.stringify(envelope);
  return new Promise<WebhookResult>((resolve) => {
    let timedOut = false;
    const send = check.url.protocol === "https:" ? httpsRequest : httpRequest;
    const outgoing = send(
      check.url,
      {
        method: "POST",
        // A connection of its own, resolved by the pinned lookup: nothing pooled, nothing re-resolved.
        agent: false,
        lookup: check.lookup,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "user-agent": "Orbit-Webhooks/1.0",
          [WEBHOOK_HEADERS.signature]: signWebhookBody(body, request.secret),
          [WEBHOOK_HEADERS.delivery]: request.deliveryId,
          [WEBHOOK_HEADERS.event]: request.event,
        },
      },
      (response) => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        response.destroy();
        if (status >= 200 && status < 300) resolve({ ok: true, status, error: null, retriable: false });
        else resolve({ ok: false, status, error: `the receiver answered HTTP ${status}`, retriable: true });
      },
    );
    const timer = setTimeout(
      () => {
        timedOut = true;
        outgoing.destroy();
      },
      Math.max(1, deadline - Date.now()),
    );
    outgoing.on("error", (error) => {
      clearTimeout(timer);
      resolve({
        ok: false,
        status: null,
        error: timedOut ? `no response within ${request.timeoutMs} ms` : describeError(error),
        retriable: true,
      });
    });
    outgoing.end(body);
  });
}
