import { serve } from "#platform/host.ts";
import { assistantEnvSchema, routes } from "./handler.ts";

await serve({ name: "assistant", env: assistantEnvSchema, routes });
