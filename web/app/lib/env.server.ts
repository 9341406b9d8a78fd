// The web app's environment, parsed once at boot (a bad value stops it with a readable message).
import { z } from "zod";
import { baseEnvSchema, parseEnv } from "#platform/env.ts";

const webEnvSchema = baseEnvSchema
  .pick({
    NODE_ENV: true,
    DATABASE_URL: true,
    DB_POOL_SIZE: true,
    DAPR_HTTP_PORT: true,
    DAPR_HOST: true,
    DAPR_API_TOKEN: true,
    /**
     * Dapr's app API token, which the sidecar sends as `dapr-api-token`: /dapr/subscribe and
     * /events/task-updates refuse a request without it (delivery.server.ts). Required in production.
     */
    APP_API_TOKEN: true,
  })
  .extend({
    /**
     * How many proxies in front of the app append to X-Forwarded-For; the client's address is the
     * entry this many from the right (#platform/client-address.ts), 0 = the socket's peer (which
     * remix-serve does not pass to routes, so 0 puts every client in one bucket). Production's
     * chain is 3: the ingress (Kourier/Envoy appends the client), Knative's activator (appends the
     * ingress; always in the path because knative/base/web.yaml sets target-burst-capacity -1)
     * and the queue-proxy (appends the activator). Add one per L7 load balancer in front.
     */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(3),
    /** Secure cookies with the __Host- prefix; on by default in production (HTTPS). */
    COOKIE_SECURE: z
      .enum(["true", "false"])
      .optional()
      .transform((value) => (value === undefined ? undefined : value === "true")),
  })
  .refine((env) => env.NODE_ENV !== "production" || env.APP_API_TOKEN !== undefined, {
    path: ["APP_API_TOKEN"],
    message: "is required in production (the Dapr app API token, from the Secret orbit-app-token)",
  });

export type WebEnv = z.infer<typeof webEnvSchema>;

let parsed: WebEnv | null = null;

export function env(): WebEnv {
  parsed ??= parseEnv(webEnvSchema);
  return parsed;
}
