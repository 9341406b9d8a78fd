import { readActionKeysOrExit, reminderServiceEnvSchema } from "#tasks/reminder-actions.ts";
import { serve } from "#platform/host.ts";
import { jobs, reminderActionRoutes, subscriptions } from "./handler.ts";

// The keys reminder action tokens are verified with, read once before serving (exit 78 without).
const keys = await readActionKeysOrExit("on-reminder-fired");
await serve({
  name: "on-reminder-fired",
  env: reminderServiceEnvSchema,
  routes: reminderActionRoutes(keys),
  subscriptions,
  jobs,
  outbox: true,
});
