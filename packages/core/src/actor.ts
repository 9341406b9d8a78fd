// Who made a change: a person, one of their API tokens, the MCP agent acting for them, a reminder's
// action button (its id: the channel and the reminder's job), or one of Orbit's own components.
// Every event and audit row names one; the host derives it from the caller's credential. Generic,
// so infrastructure (packages/platform) may use it.
import { z } from "zod";
import { storableString } from "./text.ts";

export const ACTOR_TYPES = ["user", "api_token", "agent", "reminder_action", "system"] as const;
export const actorSchema = z.object({
  type: z.enum(ACTOR_TYPES),
  /** The user id, token id, `<channel>:<reminder job>`, or a system component's name. */
  id: storableString().nullable(),
});
export type Actor = z.infer<typeof actorSchema>;
