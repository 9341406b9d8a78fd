// GET /chat/tasks?ids=a,b: the tasks a past conversation's messages touched, for their cards when
// the conversation is opened again (a turn's own cards come with its `tasks` event). The user's own
// tasks only; a task deleted since is simply not among the items.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { problems } from "#platform/problems.ts";
import { loadTaskDtos } from "#tasks/records.ts";
import { asResponse, chatUser } from "../lib/chat-route.server.ts";
import { getDb } from "../lib/db.server.ts";

const idsSchema = z.array(z.uuid()).max(50);

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await chatUser(request);
  const raw = new URL(request.url).searchParams.get("ids") ?? "";
  const ids = idsSchema.safeParse([...new Set(raw.split(",").filter(Boolean))]);
  if (!ids.success)
    return asResponse(
      problems.validation([
        { pointer: "/query/ids", field: "ids", detail: "must be up to 50 task ids (UUIDs)" },
      ]),
    );
  const items = await loadTaskDtos(getDb(), user.userId, ids.data);
  return new Response(JSON.stringify({ items }), {
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}
