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
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** The Dapr sidecar's HTTP port; daprd injects it into the app's environment. */
  DAPR_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(3500),
  DAPR_HOST: z.string().default("127.0.0.1"),
  /** Sent as `dapr-api-token` when the sidecar is configured with an API token. */
  DAPR_API_TOKEN: z.string().optional(),
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
  /** Grace period for in-flight requests on SIGTERM before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

export type BaseEnv = z.infer<typeof baseEnvSchema>;

export class EnvError extends Error {}

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
