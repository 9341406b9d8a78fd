import { createDb } from "#db/client.ts";
import { DaprClient } from "#platform/dapr-client.ts";
import { EnvError, parseEnv } from "#platform/env.ts";
import { serve } from "#platform/host.ts";
import { createLogger } from "#platform/logger.ts";
import { loadSecretKeyring, SecretKeyError, type SecretKeyring } from "#platform/secret-box.ts";
import { loadVapidKeys, VapidConfigError, type VapidKeys } from "#platform/web-push.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "./env.ts";
import { notificationsFunction } from "./handler.ts";
import { resealWebhookSecrets } from "./webhook-secrets.ts";

// VAPID keys and the webhook secret keys are read once, before serving: without them no push can
// be signed and no webhook secret stored or read, so fail fast.
let env: NotificationsEnv;
let vapid: VapidKeys;
let webhookKeys: SecretKeyring;
try {
  env = parseEnv(notificationsEnvSchema);
  const dapr = new DaprClient({
    host: env.DAPR_HOST,
    port: env.DAPR_HTTP_PORT,
    apiToken: env.DAPR_API_TOKEN,
  });
  vapid = await loadVapidKeys(env, dapr, { store: env.SECRET_STORE_NAME });
  webhookKeys = await loadSecretKeyring(env.WEBHOOK_SECRET_KEYS, dapr, {
    envName: "WEBHOOK_SECRET_KEYS",
    secretName: "webhook-secret-key",
    store: env.SECRET_STORE_NAME,
  });
} catch (error) {
  if (!(error instanceof EnvError || error instanceof VapidConfigError || error instanceof SecretKeyError))
    throw error;
  process.stderr.write(`notifications: ${error.message}\n`);
  process.exit(78); // EX_CONFIG
}

await serve({
  name: "notifications",
  env: notificationsEnvSchema,
  ...notificationsFunction({ vapid, webhookKeys }),
  outbox: false,
});

// In the background, so a large table never delays readiness: plain-text secrets from before
// encryption, and secrets under a key other than `current` after a rotation, are sealed again.
void (async () => {
  const log = createLogger("notifications", env.LOG_LEVEL);
  const db = createDb({ url: env.DATABASE_URL, poolSize: 1 });
  try {
    const report = await resealWebhookSecrets(db, webhookKeys);
    log.info("webhook secrets re-encrypted", { current_key: webhookKeys.current, ...report });
  } catch (error) {
    log.error("re-encrypting webhook secrets failed", { err: error });
  } finally {
    await db.$disconnect();
  }
})();
