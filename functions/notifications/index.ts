import { DaprClient } from "#platform/dapr-client.ts";
import { EnvError, parseEnv } from "#platform/env.ts";
import { serve } from "#platform/host.ts";
import { loadVapidKeys, VapidConfigError, type VapidKeys } from "#platform/web-push.ts";
import { notificationsEnvSchema } from "./env.ts";
import { notificationsFunction } from "./handler.ts";

// VAPID keys are read once, before serving: without them no push can be signed, so fail fast.
let vapid: VapidKeys;
try {
  const env = parseEnv(notificationsEnvSchema);
  const dapr = new DaprClient({
    host: env.DAPR_HOST,
    port: env.DAPR_HTTP_PORT,
    apiToken: env.DAPR_API_TOKEN,
  });
  vapid = await loadVapidKeys(env, dapr, { store: env.SECRET_STORE_NAME });
} catch (error) {
  if (!(error instanceof EnvError || error instanceof VapidConfigError)) throw error;
  process.stderr.write(`notifications: ${error.message}\n`);
  process.exit(78); // EX_CONFIG
}

await serve({
  name: "notifications",
  env: notificationsEnvSchema,
  ...notificationsFunction({ vapid }),
  outbox: false,
});
