// GET /chat/conversations/:id, one conversation with its messages; DELETE it (CSRF token in the
// X-CSRF-Token header). Another user's conversation is the assistant's 404, like an unknown one.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { conversations } from "../lib/assistant.server.ts";
import { chatUser, methodNotAllowed, requireCsrf } from "../lib/chat-route.server.ts";

export async function loader({ request, params }: LoaderFunctionArgs) {
  return conversations.get(await chatUser(request), params.id!);
}

export async function action({ request, params }: ActionFunctionArgs) {
  if (request.method !== "DELETE") return methodNotAllowed(["GET", "DELETE"]);
  const user = await chatUser(request);
  requireCsrf(user, request);
  return conversations.delete(user, params.id!);
}
