// One env parser: a zod schema parsed once at boot; a bad value stops the process with a message
// that names every wrong variable.
import { z } from "zod";

export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  DATABASE_URL: z
    .string({ error: "is required (a postgresql:// URL)" })
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Requests waiting for one of the DB_POOL_SIZE slots of a function's routes, at most; beyond it a
   * request is refused at once with 503 and Retry-After (host/admission.ts).
   */
  DB_QUEUE_LIMIT: z.coerce.number().int().min(0).default(256),
  /** Longest a request waits for a slot before it is refused with 503. */
  DB_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** The Dapr sidecar's HTTP port; daprd injects it into the app's environment. */
  DAPR_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(3500),
  DAPR_HOST: z.string().default("127.0.0.1"),
  /** Sent as `dapr-api-token` when the sidecar is configured with an API token. */
  DAPR_API_TOKEN: z.string().optional(),
  /**
   * Dapr's app API token: the sidecar sends it as `dapr-api-token` on every call to the app, and
   * every delivery route (`/dapr/*`, `/events/*`, `/job/*`) refuses a request without it. Required
   * in production (requireDeliveryAuth); unset elsewhere, those routes refuse everything.
   */
  APP_API_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  /**
   * Knative Eventing's OIDC sender identity (the eventing overlay): when set, a delivery may instead
   * carry `Authorization: Bearer <token>` issued for this audience to one of DELIVERY_OIDC_SUBJECTS.
   */
  DELIVERY_OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Comma-separated `system:serviceaccount:<namespace>:<name>` (or `…:<namespace>:*`). */
  DELIVERY_OIDC_SUBJECTS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^system:serviceaccount:[a-z0-9-]+:([a-z0-9.-]+|\*)$/))),
  /** The Kubernetes API server whose OIDC discovery documents and keys sign those tokens. */
  DELIVERY_OIDC_API_SERVER: z.url().default("https://kubernetes.default.svc"),
  /** The pod's service account token, sent to the API server for its discovery documents. */
  DELIVERY_OIDC_TOKEN_FILE: z.string().default("/var/run/secrets/kubernetes.io/serviceaccount/token"),
  PUBSUB_NAME: z.string().min(1).default("pubsub"),
  /** Largest request body accepted, in bytes. */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /** Secret for operator routes (auth "admin"); unset disables them. At least 24 characters. */
  ADMIN_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Requests per minute allowed per API token, per instance. */
  TOKEN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  /** How often the outbox sweeper looks for events the immediate relay could not publish. */
  OUTBOX_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
  /** Most events one relay claims per drain; other instances take the rest meanwhile. */
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
  /**
   * Times the sidecar may refuse one event permanently (HTTP 4xx) before the relay parks it in the
   * dead-letter store and publishes the events behind it; transient failures retry without bound.
   */
  OUTBOX_MAX_PERMANENT_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(5),
  /**
   * Lets requests to user-given URLs (webhooks, push endpoints) reach this machine's loopback
   * (127.0.0.0/8, ::1) and plain http there: for `make dev` (dapr.yaml) and tests with local
   * receivers. Private and other internal ranges stay refused. Never set in production
   * (tests/manifests/outbound-loopback.int.test.ts); see packages/platform/src/outbound.ts.
   */
  OUTBOUND_ALLOW_LOOPBACK: z
    .enum(["true", "false"], { error: "must be true or false" })
    .transform((value) => value === "true")
    .default(false),
  /** Grace period for in-flight requests on SIGTERM before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;

export class EnvError extends Error {}

/**
 * Fails closed at start: in production a function without the app API token would refuse every
 * delivery of its own sidecar, so it does not start; OIDC delivery needs its audience and its
 * subjects together. docs/decisions/012-delivery-authentication.md.
 */
export function requireDeliveryAuth(env: BaseEnv): void {
  const problems: string[] = [];
  if (env.NODE_ENV === "production" && !env.APP_API_TOKEN)
    problems.push(
      "  - APP_API_TOKEN: is required in production (the Dapr app API token, from the Secret orbit-app-token)",
    );
  if (env.DELIVERY_OIDC_AUDIENCE && env.DELIVERY_OIDC_SUBJECTS.length === 0)
    problems.push("  - DELIVERY_OIDC_SUBJECTS: is required with DELIVERY_OIDC_AUDIENCE");
  if (!env.DELIVERY_OIDC_AUDIENCE && env.DELIVERY_OIDC_SUBJECTS.length > 0)
    problems.push("  - DELIVERY_OIDC_AUDIENCE: is required with DELIVERY_OIDC_SUBJECTS");
  if (problems.length > 0) throw new EnvError(`Invalid environment:\n${problems.join("\n")}`);
}

/** Parses `source` with `schema`; throws EnvError listing each bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (issue) => `  - ${issue.path.join(".") || "(env)"}: ${issue.message}`,
  );
  throw new EnvError(`Invalid environment:\n${lines.join("\n")}`);
}
