import { serve } from "#platform/host.ts";
import { subscriptions } from "./handler.ts";

await serve({ name: "on-task-completed", subscriptions, outbox: true });
