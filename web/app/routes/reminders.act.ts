// Where the service worker posts a push notification's "Complete" / "Snooze" button (web/public/sw.js):
// `POST /reminders/act` with `{"action": "...", "token": "..."}` as JSON, answered as JSON. No session
// (the worker sends no cookies): the signed token is the credential, checked by the Reminder
// Service (on-reminder-fired). Same origin as the worker, so no CORS; a cross-site page gains
// nothing by posting here, as the token is all that acts, and it cannot read the answer.
import type { ActionFunctionArgs } from "@remix-run/node";
import { reminderActionBodySchema } from "#core/reminder-actions.ts";
import { reminderActions } from "../lib/commands.server.ts";

const json = (body: unknown, status: number) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });

/** Only POST: a GET (or any loader request) is 405, never an action. */
export function loader() {
  return json({ message: "POST the action and its token as JSON." }, 405);
}

export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== "POST") return json({ message: "POST the action and its token as JSON." }, 405);
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? ""))
    return json({ message: "Send the action and its token as application/json.", reason: "invalid" }, 415);
  const text = await request.text();
  if (text.length > 4096) return json({ message: "The request is too large.", reason: "invalid" }, 413);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return json({ message: "The body is not JSON.", reason: "invalid" }, 400);
  }
  const body = reminderActionBodySchema.safeParse(raw);
  if (!body.success) return json({ message: "Send an action and its token.", reason: "invalid" }, 400);
  const result = await reminderActions().perform(body.data);
  if (!result.ok) return json({ message: result.message, reason: result.reason }, result.status);
  return json(result.body, 200);
}
