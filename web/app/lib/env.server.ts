// The web app's environment, parsed once at boot (a bad value stops it with a readable message).
import { z } from "zod";
import { parseEnv } from "#platform/env.ts";

const webEnvSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  DATABASE_URL: z
    .string({ error: "is required (a postgresql:// URL)" })
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  DAPR_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(3500),
  DAPR_HOST: z.string().default("127.0.0.1"),
  DAPR_API_TOKEN: z.string().optional(),
  /** Secure cookies with the __Host- prefix; on by default in production (HTTPS). */
  COOKIE_SECURE: z
    .enum(["true", "false"])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === "true")),
});

export type WebEnv = z.infer<typeof webEnvSchema>;

let parsed: WebEnv | null = null;

export function env(): WebEnv {
  parsed ??= parseEnv(webEnvSchema);
  return parsed;
}
