import { serve } from "#platform/host.ts";
import { routes, subscriptions } from "./handler.ts";

await serve({ name: "audit-log", routes, subscriptions });
