import { serve } from "#platform/host.ts";
import { routes } from "./handler.ts";

await serve({ name: "complete-task", routes, outbox: true });
