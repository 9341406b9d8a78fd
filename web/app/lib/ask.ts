// The questions a task page asks without JavaScript. With JavaScript a parent's completion and
// delete ask in a modal dialog first; without it the form reaches the server unasked, and the
// server sends the browser to the task's page with the question in its address
// (`/tasks/:id?ask=complete` or `?ask=delete&scope=series`), answered there by one more post.
import { z } from "zod";

export const askSchema = z.discriminatedUnion("ask", [
  z.object({ ask: z.literal("complete") }),
  z.object({ ask: z.literal("delete"), scope: z.enum(["occurrence", "series"]).catch("occurrence") }),
]);
export type Ask = z.infer<typeof askSchema>;

/** The task page asking `ask`. */
export function askHref(taskId: string, ask: Ask): string {
  const query = new URLSearchParams({ ask: ask.ask });
  if (ask.ask === "delete" && ask.scope === "series") query.set("scope", "series");
  return `/tasks/${taskId}?${query.toString()}`;
}

/** The question in a task page's address, if it asks one. */
export function askOf(url: URL): Ask | null {
  const parsed = askSchema.safeParse(Object.fromEntries(url.searchParams));
  return parsed.success ? parsed.data : null;
}

/**
 * The form field with which a submission says its person was already asked (the dialog) or holds
 * Undo (the toast's commands): the server then does as told.
 */
export const ASKED_FIELD = "asked";
