import { notificationsEnvSchema } from "#notifications/env.ts";
import { readStartupConfig, resealInBackground } from "#notifications/startup.ts";
import { serve } from "#platform/host.ts";
import { notificationsFunction } from "./handler.ts";

// The VAPID keys and the webhook secret keys are read once, before serving: without them no push
// can be signed and no webhook secret stored or read, so it fails fast (exit 78).
const { env, keys } = await readStartupConfig();
await serve({ name: "notifications", env: notificationsEnvSchema, ...notificationsFunction(keys) });
resealInBackground(env, keys.webhookKeys);
