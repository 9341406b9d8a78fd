import { serve } from "#platform/host.ts";
import { routes } from "./handler.ts";

await serve({ name: "create-task", routes, outbox: true });
