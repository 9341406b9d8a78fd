// Outgoing webhooks: a JSON envelope `{ event, time, data }` POSTed to the user's URL, signed so the
// receiver can tell it came from us and was not altered. The signature scheme is GitHub's
// (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`,
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), under our own
// header names; `time` is inside the signed body, so a receiver can refuse replays of old deliveries.
import { createHmac } from "node:crypto";

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
  timeoutMs: number;
}

export interface WebhookResult {
  ok: boolean;
  /** The receiver's HTTP status; null when no response came (timeout, refused connection). */
  status: number | null;
  error: string | null;
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact bytes sent, keyed with the channel's secret. */
export function signWebhookBody(rawBody: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody, "utf8").digest("hex")}`;
}

/**
 * Why `url` cannot be a webhook target, or null when it can: https only, except plain http to this
 * machine outside production (local receivers in development and tests).
 */
export function webhookUrlProblem(url: string, production: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "must not contain credentials";
  if (parsed.protocol === "https:") return null;
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol === "http:" && loopback && !production) return null;
  return production
    ? "must be an https:// URL"
    : "must be an https:// URL (or http://127.0.0.1 / http://localhost outside production)";
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return `no response within ${timeoutMs} ms`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

/** POSTs one signed delivery. Any 2xx is success; redirects are not followed (they count as failures). */
export async function sendWebhook(request: WebhookRequest): Promise<WebhookResult> {
  const envelope: WebhookEnvelope = {
    event: request.event,
    time: request.time.toISOString(),
    data: request.data,
  };
  const body = JSON.stringify(envelope);
  try {
    const response = await fetch(request.url, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": "Orbit-Webhooks/1.0",
        [WEBHOOK_HEADERS.signature]: signWebhookBody(body, request.secret),
        [WEBHOOK_HEADERS.delivery]: request.deliveryId,
        [WEBHOOK_HEADERS.event]: request.event,
      },
      body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    // Free the connection; the receiver's body is of no interest beyond a short excerpt on failure.
    const text = response.ok ? "" : (await response.text().catch(() => "")).slice(0, 200);
    if (response.ok) {
      await response.body?.cancel().catch(() => {});
      return { ok: true, status: response.status, error: null };
    }
    return {
      ok: false,
      status: response.status,
      error: `the receiver answered HTTP ${response.status}${text ? `: ${text}` : ""}`,
    };
  } catch (error) {
    return { ok: false, status: null, error: describeFetchError(error, request.timeoutMs) };
  }
}
