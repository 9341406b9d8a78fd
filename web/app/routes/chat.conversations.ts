// GET /chat/conversations: the signed-in user's conversations with the assistant, newest first.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { conversations } from "../lib/assistant.server.ts";
import { chatUser, methodNotAllowed } from "../lib/chat-route.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  return conversations.list(await chatUser(request));
}

export function action() {
  return methodNotAllowed(["GET"]);
}
