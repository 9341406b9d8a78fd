import { serve } from "#platform/host.ts";
import { collectMetrics, routes, subscriptions } from "./handler.ts";

await serve({ name: "dead-letters", routes, subscriptions, collectMetrics });
