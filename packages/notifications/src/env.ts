// The notification service's own settings, on top of the base env.
import { z } from "zod";
import { LATER_DELIVERY_DELAYS_SECONDS } from "#core/channels.ts";
import { extendEnv } from "#platform/host.ts";

export const notificationsEnvSchema = extendEnv({
  /** VAPID keys; when unset they are read from the Dapr secret store (secret `vapid`). */
  VAPID_PUBLIC_KEY: z.string().min(1).optional(),
  VAPID_PRIVATE_KEY: z.string().min(1).optional(),
  /** `mailto:` or `https:` contact sent to push services; overrides the secret's `subject`. */
  VAPID_SUBJECT: z.string().min(1).optional(),
  SECRET_STORE_NAME: z.string().min(1).default("secretstore"),
  /**
   * Keys webhook secrets are encrypted at rest with, as JSON `{"current":"<kid>","<kid>":"<base64>"}`;
   * when unset they are read from the Dapr secret store (secret `webhook-secret-key`, same fields).
   */
  WEBHOOK_SECRET_KEYS: z.string().min(1).optional(),
  /**
   * Keys a reminder's action links are signed with, same JSON shape; when unset they are read from
   * the Dapr secret store (secret `reminder-action-key`), as on-reminder-fired reads them to verify.
   */
  REMINDER_ACTION_KEYS: z.string().min(1).optional(),
  /** The Dapr output binding that sends mail (bindings.smtp). */
  EMAIL_BINDING_NAME: z.string().min(1).default("email"),
  /** Sender address; when unset, the binding component's `emailFrom` applies. */
  EMAIL_FROM: z.string().min(3).optional(),
  /** Base URL of the web app, for links in notifications (relative links when unset). */
  WEB_APP_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Attempts per reminder and target before a delivery is marked failed (and a webhook dead-lettered). */
  MAX_DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  /**
   * After those quick attempts, one more after each of these waits (seconds, comma-separated; empty:
   * none), each woken by a Dapr job: an outage of minutes or hours does not lose the reminder.
   */
  LATER_DELIVERY_DELAYS_SECONDS: z
    .string()
    .default(LATER_DELIVERY_DELAYS_SECONDS.join(","))
    .transform((text, ctx) => {
      const parts = text
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
      const delays = parts.map(Number);
      if (delays.some((d) => !Number.isInteger(d) || d < 1 || d > 86_400) || delays.length > 10) {
        ctx.addIssue({
          code: "custom",
          message: "must be up to 10 whole numbers of seconds, 1 to 86400, comma-separated",
        });
        return z.NEVER;
      }
      return delays;
    }),
});

export type NotificationsEnv = z.infer<typeof notificationsEnvSchema>;
