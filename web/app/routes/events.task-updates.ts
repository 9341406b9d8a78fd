// task-updates deliveries from this app's sidecar (a task's update or a list's). The update is
// stored in live_updates (once per event id) and announced to every web instance
// (#tasks/live-updates.ts). Dapr's contract: answer SUCCESS when stored, RETRY when the database
// failed, DROP for a message that can never be valid
// (https://docs.dapr.io/reference/api/pubsub_api/#expected-http-response). Only the sidecar may
// deliver (its app API token), and no body over 1 MiB is read (413): lib/delivery.server.ts.
import type { ActionFunctionArgs } from "@remix-run/node";
import { taskUpdatesPayloadSchema } from "#core/events.ts";
import { parseCloudEvent } from "#platform/cloudevents.ts";
import { recordLiveUpdate } from "#tasks/live-updates.ts";
import { getDb } from "../lib/db.server.ts";
import { readBodyCapped, refuseUnlessSidecar } from "../lib/delivery.server.ts";

const reply = (status: "SUCCESS" | "RETRY" | "DROP") => Response.json({ status });

export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== "POST") return new Response(null, { status: 405 });
  const refused = refuseUnlessSidecar(request);
  if (refused) return refused;
  const read = await readBodyCapped(request);
  if (!read.ok) return read.response;
  const text = read.text;
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    return reply("DROP");
  }
  const headers = Object.fromEntries(request.headers.entries());
  const parsed = parseCloudEvent(headers, body);
  if (!parsed.ok) return reply("DROP");
  const update = taskUpdatesPayloadSchema.safeParse(parsed.event.data);
  if (!update.success) return reply("DROP");
  try {
    await recordLiveUpdate(getDb(), parsed.event.id, update.data);
    return reply("SUCCESS");
  } catch {
    return reply("RETRY");
  }
}
