// What the notification service does once, at start: read its keys (without them no push can be
// signed, no webhook secret stored or read and no reminder's action link signed, so it fails fast), and afterwards re-encrypt stored
// webhook secrets in the background.
import { ACTION_KEY_ENV, ACTION_KEY_SECRET } from "#core/reminder-actions.ts";
import { createDb } from "#db/client.ts";
import { DaprClient } from "#platform/dapr-client.ts";
import { EnvError, parseEnv } from "#platform/env.ts";
import { createLogger } from "#platform/logger.ts";
import { loadSecretKeyring, SecretKeyError, type SecretKeyring } from "#platform/secret-box.ts";
import { loadVapidKeys, VapidConfigError, type VapidKeys } from "#platform/web-push.ts";
import { notificationsEnvSchema, type NotificationsEnv } from "./env.ts";
import { resealWebhookSecrets } from "./webhook-secrets.ts";

export interface NotificationKeys {
  vapid: VapidKeys;
  webhookKeys: SecretKeyring;
  actionKeys: SecretKeyring;
}

/** VAPID keys, the webhook secret keys and the action keys: from the env, else the Dapr secret store. */
export async function loadNotificationKeys(env: NotificationsEnv): Promise<NotificationKeys> {
  const dapr = new DaprClient({
    host: env.DAPR_HOST,
    port: env.DAPR_HTTP_PORT,
    apiToken: env.DAPR_API_TOKEN,
  });
  const vapid = await loadVapidKeys(env, dapr, { store: env.SECRET_STORE_NAME });
  const webhookKeys = await loadSecretKeyring(env.WEBHOOK_SECRET_KEYS, dapr, {
    envName: "WEBHOOK_SECRET_KEYS",
    secretName: "webhook-secret-key",
    store: env.SECRET_STORE_NAME,
  });
  const actionKeys = await loadSecretKeyring(env.REMINDER_ACTION_KEYS, dapr, {
    envName: ACTION_KEY_ENV,
    secretName: ACTION_KEY_SECRET,
    store: env.SECRET_STORE_NAME,
  });
  return { vapid, webhookKeys, actionKeys };
}

/**
 * The env and the keys, read once before serving. A configuration at fault (a bad or missing
 * setting, no VAPID keys, no webhook secret key) ends the process with exit code 78 (EX_CONFIG)
 * and says why on stderr; anything else is thrown.
 */
export async function readStartupConfig(): Promise<{ env: NotificationsEnv; keys: NotificationKeys }> {
  try {
    const env = parseEnv(notificationsEnvSchema);
    return { env, keys: await loadNotificationKeys(env) };
  } catch (error) {
    if (!(error instanceof EnvError || error instanceof VapidConfigError || error instanceof SecretKeyError))
      throw error;
    process.stderr.write(`notifications: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}

/**
 * In the background, so a large table never delays readiness: plain-text secrets from before
 * encryption, and secrets under a key other than `current` after a rotation, are sealed again.
 */
export function resealInBackground(env: NotificationsEnv, webhookKeys: SecretKeyring): void {
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
}
