import { serve } from "#platform/host.ts";
import { routes } from "./handler.ts";

await serve({ name: "delete-task", routes, outbox: true });
