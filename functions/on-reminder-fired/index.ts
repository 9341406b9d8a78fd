import { serve } from "#platform/host.ts";
import { jobs, subscriptions } from "./handler.ts";

await serve({ name: "on-reminder-fired", subscriptions, jobs, outbox: true });
